import 'reflect-metadata';
import { Command, CommanderError, Option } from 'commander';
import { MIGRATIONS, Migrator } from '@chat/migrations';
import { applySharding, OpsContext, parseZones, planSharding, runStats, runTenants } from '@chat/backup';
import { runSetup } from '@chat/migrations';
import { action, print } from './cli-action';
import { registerOpsCommands } from './commands/ops';
import { jsonRequested, reportError } from './cli-error';
import { quietAwsSdkNodeWarning } from '@chat/server';

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function buildProgram(): Command {
  const program = new Command('chat-cli')
    .description('Management CLI of the chat platform. Connection settings come from the environment (MONGODB_URI, MONGODB_DB, S3_*), as for the apps.')
    .showHelpAfterError()
    // Usage errors reach main() as CommanderErrors (inherited by every sub-command created below), so
    // they get the same exit code and, with --json, the same JSON error line as any other failure.
    .exitOverride()
    .configureOutput(jsonRequested() ? { writeErr: () => undefined } : {});
  program.addOption(new Option('--json', 'machine-readable output on stdout'));
  const json = () => Boolean(program.opts().json);

  program
    .command('setup')
    .description('create every collection and index of every registered model (idempotent)')
    .option('--sync', 'also drop indexes that no schema declares')
    .action((o: { sync?: boolean }) =>
      action(async (ctx, progress) => {
        await ctx.nest();
        const r = await runSetup(ctx.connection(), [...ctx.dedicated.values()], progress, o);
        print(r, json(), () => {
          for (const d of r.databases) {
            console.log(`${d.db}: ${d.collections.length} collections ready`);
            for (const c of d.collections) console.log(`  ${c.name.padEnd(24)} ${c.indexes.join(', ')}`);
          }
        });
      })(),
    );

  program
    .command('stats')
    .description('database and per-tenant documents, storage and index sizes')
    .option('--tenant <id>', 'only this tenant (indexed counts)')
    .action((o: { tenant?: string }) =>
      action(async (ctx, progress) => {
        const r = await runStats(ctx, progress, o);
        print(r, json(), () => {
          console.log(`${r.server}, database ${r.database.name}: ${r.database.collections} collections, ${r.database.documents} documents, data ${mb(r.database.data_bytes)}, storage ${mb(r.database.storage_bytes)}, indexes ${mb(r.database.index_bytes)}`);
          console.log('\ncollection                documents        data     storage     indexes');
          for (const c of r.collections) console.log(`${c.name.padEnd(24)} ${String(c.documents).padStart(10)} ${mb(c.data_bytes).padStart(11)} ${mb(c.storage_bytes).padStart(11)} ${mb(c.index_bytes).padStart(11)}`);
          console.log('\ntenant                        documents   est. data');
          for (const t of r.tenants) console.log(`${t.tenant_id.padEnd(28)} ${String(t.documents).padStart(10)} ${mb(t.est_bytes).padStart(11)}`);
        });
      })(),
    );

  program
    .command('tenants')
    .description('list tenants (SaaS clients)')
    .option('--counts', 'with user and message counts')
    .option('--status <status>', 'active | suspended | deleted')
    .action((o: { counts?: boolean; status?: string }) =>
      action(async (ctx) => {
        const rows = await runTenants(ctx, o);
        print(rows, json(), () => {
          if (!rows.length) console.log('no tenants');
          for (const t of rows) console.log(`${t.tenant_id}  ${t.status.padEnd(9)} ${t.plan.padEnd(10)} ${t.region.padEnd(8)} ${t.name}${o.counts ? `  users=${t.users} messages=${t.messages}` : ''}`);
        });
      })(),
    );

  const migrate = program.command('migrate').description('versioned migrations, recorded in the `migrations` collection');
  const migrator = async (ctx: OpsContext) => new Migrator(await ctx.db(), MIGRATIONS, (l) => process.stderr.write(`${l}\n`));
  migrate
    .command('status')
    .action(() =>
      action(async (ctx) => {
        const rows = await (await migrator(ctx)).status();
        print(rows, json(), () => rows.forEach((r) => console.log(`${String(r.version).padStart(4)} ${r.applied ? 'applied ' : 'pending '} ${r.name}${r.applied_at ? `  (${r.applied_at.toISOString()})` : ''}`)));
      })(),
    );
  migrate
    .command('up')
    .option('--to <version>', 'stop after this version', (v) => Number(v))
    .action((o: { to?: number }) =>
      action(async (ctx) => {
        const done = await (await migrator(ctx)).up(o.to);
        print({ applied: done }, json(), () => console.log(done.length ? `applied ${done.join(', ')}` : 'nothing to apply'));
      })(),
    );
  migrate
    .command('down')
    .option('--steps <n>', 'how many to revert (default 1)', (v) => Number(v))
    .option('--to <version>', 'revert everything above this version', (v) => Number(v))
    .action((o: { steps?: number; to?: number }) =>
      action(async (ctx) => {
        const done = await (await migrator(ctx)).down(o);
        print({ reverted: done }, json(), () => console.log(done.length ? `reverted ${done.join(', ')}` : 'nothing to revert'));
      })(),
    );

  program
    .command('shard')
    .description('enable sharding, shard collections with the documented keys, zones per region (needs a mongos)')
    .option('--dry-run', 'print the mongosh commands instead of running them')
    .option('--zone <region=shards>', 'zone per region, e.g. --zone eu=shard-eu-1,shard-eu-2 (repeatable)', (v, prev: string[]) => [...prev, v], [] as string[])
    .action((o: { dryRun?: boolean; zone: string[] }) =>
      action(async (ctx) => {
        const zones = parseZones(o.zone);
        const plan = o.dryRun ? await planSharding(ctx, { zones }) : await applySharding(ctx, { zones }, (l) => process.stderr.write(`${l}\n`));
        print(plan, json(), () => {
          for (const w of plan.warnings) process.stderr.write(`warning: ${w}\n`);
          console.log(plan.commands.join('\n'));
        });
      })(),
    );

  registerOpsCommands(program, json);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  quietAwsSdkNodeWarning();
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return; // --help, --version
      // Commander has already printed its message in the human form.
      if (!jsonRequested(argv)) {
        process.exitCode = 1;
        return;
      }
    }
    reportError(err, jsonRequested(argv));
  }
}

if (require.main === module || process.env.CHAT_CLI_MAIN === '1' || require.main?.filename.endsWith('chat-cli.js')) {
  void main();
}
