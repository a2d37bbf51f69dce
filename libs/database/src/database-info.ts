import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { setIdOnlyLookups } from '@chat/tenancy';
import { detectCapabilities, MongoCapabilities } from './mongo-capabilities';

/** Holds the detected capabilities once the connection is up (filled during bootstrap). */
@Injectable()
export class DatabaseInfo implements OnApplicationBootstrap {
  private readonly logger = new Logger('Database');
  capabilities?: MongoCapabilities;

  constructor(@InjectConnection() readonly connection: Connection) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      this.capabilities = await detectCapabilities(this.connection);
      // FerretDB serves only a bare {_id} filter from an index: repositories then look up by id alone.
      setIdOnlyLookups(this.connection, this.capabilities.server === 'ferretdb');
      this.logger.log(`Connected to ${this.capabilities.version} (transactions: ${this.capabilities.transactions})`);
    } catch (err) {
      this.logger.warn(`Could not detect database capabilities: ${(err as Error).message}`);
    }
  }
}
