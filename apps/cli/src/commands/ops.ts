import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { assertTenantExists } from '@chat/backup';
import { action, print } from '../cli-action';
import { demoSignInLinks, runSeed } from './seed';
import { RetentionService } from '@chat/retention';
import { UsageRecorder, UsageRollupService } from '@chat/usage';
import { BillingService } from '@chat/billing';

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** backup, restore, tenant export / erase (libs/backup). */
export function registerOpsCommands(program: Command, json: () => boolean): void {
  program
    .command('backup <target>')
    .description('dump the whole database, or one tenant, to a directory or a .tar.gz (mongodump layout)')
    .option('--tenant <id>', 'only this tenant (its documents in every collection, and its platform records)')
    .action((target: string, o: { tenant?: string }) =>
      action(async (ctx, progress) => {
        if (o.tenant) await assertTenantExists(ctx, o.tenant);
        const { service, close } = await ctx.backupService({ withModels: Boolean(o.tenant) });
        try {
          const m = await service.backup({ target, tenantId: o.tenant, progress });
          print(m, json(), () => {
            const docs = m.databases.flatMap((d) => d.collections).reduce((s, c) => s + c.count, 0);
            const bytes = m.databases.flatMap((d) => d.collections).reduce((s, c) => s + c.bytes, 0);
            console.log(`${m.scope === 'tenant' ? `tenant ${m.tenant_id}` : 'full'} backup written to ${target}: ${docs} documents, ${mb(bytes)}`);
          });
        } finally {
          close();
        }
      })(),
    );

  program
    .command('restore <source>')
    .description('restore a backup (directory or .tar.gz); a tenant backup replaces only that tenant')
    .option('--drop', 'full backups: drop each collection before restoring it (like mongorestore --drop)')
    .option('--target-db <name>', 'restore the main database under another name')
    .action((source: string, o: { drop?: boolean; targetDb?: string }) =>
      action(async (ctx, progress) => {
        const { service, close } = await ctx.backupService({ withModels: false, restore: true });
        try {
          const r = await service.restore({ source, drop: o.drop, targetDb: o.targetDb, progress });
          print(r, json(), () => {
            const inserted = r.collections.reduce((s, c) => s + c.inserted, 0);
            console.log(`restored ${r.scope === 'tenant' ? `tenant ${r.tenant_id}` : 'full backup'}: ${inserted} documents in ${r.collections.length} collections${r.objects ? `, ${r.objects} objects` : ''}`);
          });
        } finally {
          close();
        }
      })(),
    );

  program
    .command('seed')
    .description('create a demo tenant with users, conversations and end-to-end encrypted messages (once per name); demo device keys go to DATA_DIR/demo-devices.json')
    .option('--name <name>', 'tenant name', 'Demo tenant')
    .option('--plan <plan>', 'free | pro | enterprise', 'pro')
    .option('--region <region>', 'data residency region', 'eu')
    .option('--users <n>', 'users', (v) => Number(v), 5)
    .option('--conversations <n>', 'group conversations', (v) => Number(v), 3)
    .option('--messages <n>', 'messages per conversation', (v) => Number(v), 20)
    .action((o: { name: string; plan: string; region: string; users: number; conversations: number; messages: number }) =>
      action(async (ctx, progress) => {
        const app = await ctx.nest();
        const existing = await (await ctx.db()).collection('clients').findOne({ name: o.name, status: { $ne: 'deleted' } }, { sort: { _id: 1 }, projection: { _id: 1 } });
        const devicesFile = resolve(join(ctx.config.DATA_DIR, 'demo-devices.json'));
        const seeded = await runSeed(app, progress, o, { devicesFile, existingTenantId: existing ? String(existing._id) : null });
        const base = `http://${ctx.config.HOST === '0.0.0.0' ? '127.0.0.1' : ctx.config.HOST}:${ctx.config.PORT}`;
        const r = { ...seeded, sign_in_links: await demoSignInLinks(app, seeded, base) };
        print(r, json(), () => {
          console.log(`${r.created ? 'seeded' : 'already seeded:'} tenant ${r.tenant_id} (${o.name}): ${r.users.length} users, ${r.conversations.length} conversations, ${r.messages} messages`);
          console.log(`  application ${r.application_id}, API key ${r.api_key}`);
          console.log(`  demo users' device keys and these credentials: ${r.devices_file} (mode 0600)`);
          console.log(`  sign in as ${r.users[0]}: curl -s -X POST -H 'X-Api-Key: ${r.api_key}' ${base}/v1/users/${r.users[0]}/tokens`);
          console.log(`  chat app sign-in links (valid until ${r.sign_in_links[0]?.expires_at ?? '-'}; run seed again for fresh ones):`);
          for (const l of r.sign_in_links) console.log(`    ${l.user_id}: ${l.url}`);
        });
      })(),
    );

  const retention = program.command('retention').description('message retention and legal hold');
  retention
    .command('run')
    .description('delete expired and purge soft-deleted messages now (bounded batches) and print the report')
    .option('--tenant <id>', 'only this tenant')
    .action((o: { tenant?: string }) =>
      action(async (ctx) => {
        const r = await (await ctx.nest()).get(RetentionService).run({ tenantId: o.tenant });
        if (!r) throw new Error('another retention run holds the lock; try again later');
        print(r, json(), () => {
          console.log(`retention: ${r.expired_deleted} expired and ${r.soft_deleted_purged} soft-deleted messages removed`);
          for (const t of r.tenants) console.log(`  ${t.tenant_id}: expired ${t.expired_deleted}, purged ${t.soft_deleted_purged}${t.legal_hold ? ', LEGAL HOLD' : ''}${t.held_conversations ? `, ${t.held_conversations} conversations held` : ''}${t.truncated ? ' (more next run)' : ''}`);
        });
      })(),
    );
  retention
    .command('set <tenantId>')
    .description('retention of a tenant: --days N (or --keep-forever), --grace-days N for soft-deleted messages')
    .option('--days <n>', 'delete messages older than n days', (v) => Number(v))
    .option('--keep-forever', 'no age limit')
    .option('--grace-days <n>', 'purge soft-deleted messages n days after deletion', (v) => Number(v))
    .action((tenantId: string, o: { days?: number; keepForever?: boolean; graceDays?: number }) =>
      action(async (ctx) => {
        const svc = (await ctx.nest()).get(RetentionService);
        print(await svc.setPolicy(tenantId, { retention_days: o.keepForever ? null : o.days, soft_delete_grace_days: o.graceDays }), true);
      })(),
    );
  retention
    .command('hold <tenantId>')
    .description('legal hold on a tenant, or on one conversation with --conversation; --release lifts it')
    .option('--conversation <id>')
    .option('--release')
    .action((tenantId: string, o: { conversation?: string; release?: boolean }) =>
      action(async (ctx) => {
        const svc = (await ctx.nest()).get(RetentionService);
        print(await svc.setHold(tenantId, !o.release, o.conversation), true);
      })(),
    );
  retention
    .command('status <tenantId>')
    .action((tenantId: string) =>
      action(async (ctx) => {
        print(await (await ctx.nest()).get(RetentionService).policy(tenantId), true);
      })(),
    );

  const usage = program.command('usage').description('usage metering');
  usage
    .command('rollup')
    .description('roll events and metrics up into aggregations now (incremental)')
    .action(() =>
      action(async (ctx) => {
        const app = await ctx.nest();
        await app.get(UsageRecorder).flush();
        print(await app.get(UsageRollupService).rollup(), true);
      })(),
    );
  program
    .command('invoices <period>')
    .description('issue the invoices of a closed month YYYY-MM (idempotent)')
    .option('--tenant <id>')
    .action((period: string, o: { tenant?: string }) =>
      action(async (ctx) => {
        print(await (await ctx.nest()).get(BillingService).generate(period, { tenantId: o.tenant }), true);
      })(),
    );

  const tenant = program.command('tenant').description('data portability and right to erasure');
  tenant
    .command('export <tenantId> <target>')
    .description("export one tenant: every document (mongodump layout) and its file objects, to a directory or .tar.gz")
    .action((tenantId: string, target: string) =>
      action(async (ctx, progress) => {
        await assertTenantExists(ctx, tenantId);
        const { service, close } = await ctx.backupService({ withModels: true });
        try {
          const m = await service.backup({ target, tenantId, includeObjects: true, progress });
          print(m, json(), () => {
            const docs = m.databases.flatMap((d) => d.collections).reduce((s, c) => s + c.count, 0);
            console.log(`tenant ${tenantId} exported to ${target}: ${docs} documents, ${m.objects?.count ?? 0} objects`);
          });
        } finally {
          close();
        }
      })(),
    );
  tenant
    .command('erase <tenantId>')
    .description('delete every document and file object of one tenant (irreversible; export first)')
    .option('--yes', 'confirm')
    .action((tenantId: string, o: { yes?: boolean }) =>
      action(async (ctx, progress) => {
        if (!o.yes) throw new Error(`this deletes tenant ${tenantId} for good: add --yes (and export it first)`);
        // A mistyped id must not look like a successful erase of nothing.
        await assertTenantExists(ctx, tenantId);
        const { service, close } = await ctx.backupService({ withModels: true });
        try {
          const r = await service.eraseTenant({ tenantId, progress });
          print(r, json(), () => {
            console.log(`tenant ${tenantId} erased: ${r.collections.reduce((s, c) => s + c.deleted, 0)} documents, ${r.objects} objects`);
            for (const c of r.collections) if (c.deleted) console.log(`  ${c.db}.${c.name}: ${c.deleted}`);
          });
        } finally {
          close();
        }
      })(),
    );
}
