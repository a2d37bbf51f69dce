import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { setIdOnlyLookups } from '@chat/tenancy';
import { detectCapabilities, dialectOf, MongoCapabilities, StoreDialectName } from './mongo-capabilities';
import { ensureFerretDbEqualityIndexes } from './ferretdb-equality-indexes';

/** Holds the detected capabilities once the connection is up (filled during bootstrap). */
@Injectable()
export class DatabaseInfo implements OnApplicationBootstrap {
  private readonly logger = new Logger('Database');
  capabilities?: MongoCapabilities;
  /** Chosen once, from the capabilities, when the connection is up (StoreDialect reads it). */
  dialect: StoreDialectName = 'ferretdb';

  constructor(@InjectConnection() readonly connection: Connection) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      this.capabilities = await detectCapabilities(this.connection);
      this.dialect = dialectOf(this.capabilities);
      // The look-up strategy of the dialect: FerretDB serves a bare {_id} filter fastest, so tenant
      // repositories look up by id alone and check the tenant themselves (libs/tenancy id-lookups.ts).
      setIdOnlyLookups(this.connection, this.dialect === 'ferretdb');
      this.logger.log(`Connected to ${this.capabilities.version} (transactions: ${this.capabilities.transactions})`);
    } catch (err) {
      this.logger.warn(`Could not detect database capabilities: ${(err as Error).message}`);
      return;
    }
    // Before the app serves: the reads these indexes serve (webhook scans) start with the app.
    if (this.dialect === 'ferretdb') {
      await ensureFerretDbEqualityIndexes(this.connection).catch((err: Error) => this.logger.warn(`FerretDB equality indexes not created: ${err.message}`));
    }
  }
}
