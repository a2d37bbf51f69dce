import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import { mongo } from 'mongoose';
import { BackupManifest, BackupService, EraseReport, S3ObjectStore, TenantScopeRule, tenantScopeFromConnection } from '@chat/backup';
import { AppConfig } from '@chat/config';
import { asTenantId, TenantConnectionResolver } from '@chat/tenancy';

/**
 * Kept when a tenant is deleted: the tenant record itself (a tombstone with status `deleted`), the
 * audit trail (accountability outlives the tenant) and issued invoices (accounting records).
 */
export const KEPT_ON_TENANT_DELETE = ['clients', 'audit_logs', 'billing'] as const;

/**
 * Every document and file object of one tenant, through the operations tooling (libs/backup, the code
 * the CLI's `tenant export` / `tenant erase` run): raw BSON, bounded batches, any collection.
 */
@Injectable()
export class TenantDataRepository implements OnApplicationShutdown {
  private readonly objects: S3ObjectStore;

  constructor(
    @InjectConnection() private readonly connection: Connection,
    private readonly config: AppConfig,
    private readonly resolver: TenantConnectionResolver,
  ) {
    this.objects = new S3ObjectStore(config);
  }

  onApplicationShutdown(): void {
    this.objects.destroy();
  }

  /**
   * The rules of the registered models, plus any other collection that holds documents of the tenant:
   * a process that runs only the admin app does not register the chat models (users, messages, files,
   * keys...), and their collections must still be covered.
   */
  private async rules(tenantId: string): Promise<{ rules: TenantScopeRule[]; dedicated: Map<string, string> }> {
    const client = this.connection.getClient() as unknown as mongo.MongoClient;
    const mainDb = this.config.MONGODB_DB;
    const dedicatedDb = this.resolver.databaseFor(asTenantId(tenantId));
    const rules = tenantScopeFromConnection(this.connection);
    // Keyed by the database a rule resolves to, so a collection is never visited twice.
    const dbOf = (owned: boolean) => (owned ? (dedicatedDb ?? mainDb) : mainDb);
    const seen = new Set(rules.map((r) => `${dbOf(r.tenantOwned)}/${r.collection}`));
    for (const owned of dedicatedDb ? [false, true] : [false]) {
      const db = client.db(dbOf(owned));
      for (const c of await db.listCollections({}, { nameOnly: true }).toArray()) {
        const key = `${db.databaseName}/${c.name}`;
        if (c.name.startsWith('system.') || seen.has(key)) continue;
        if (!(await db.collection(c.name).findOne({ tenant_id: tenantId }, { projection: { _id: 1 } }))) continue;
        seen.add(key);
        rules.push({ collection: c.name, filter: (t) => ({ tenant_id: t }), tenantOwned: owned });
      }
    }
    return { rules, dedicated: new Map(dedicatedDb ? [[tenantId, dedicatedDb]] : []) };
  }

  private async backup(tenantId: string, keep: readonly string[] = []): Promise<BackupService> {
    const { rules, dedicated } = await this.rules(tenantId);
    return new BackupService({
      client: this.connection.getClient() as unknown as mongo.MongoClient,
      mainDb: this.config.MONGODB_DB,
      dedicated,
      rules: rules.filter((r) => !keep.includes(r.collection)),
      objects: this.objects,
    });
  }

  /** A tenant export (the CLI's format: restorable with `restore`) written to `target` (.tar.gz or a directory). */
  async export(tenantId: string, target: string): Promise<BackupManifest> {
    return (await this.backup(tenantId)).backup({ target, tenantId, includeObjects: true });
  }

  /** Deletes the tenant's file objects, then its documents everywhere except KEPT_ON_TENANT_DELETE. */
  async erase(tenantId: string): Promise<EraseReport> {
    return (await this.backup(tenantId, KEPT_ON_TENANT_DELETE)).eraseTenant({ tenantId });
  }
}
