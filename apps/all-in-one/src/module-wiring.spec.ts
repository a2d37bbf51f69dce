import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';

/**
 * The apps' dependency graphs, resolved in Nest's preview mode (nothing is instantiated, no database
 * or Redis is needed). Optional dependencies are where module wiring fails silently: a service that
 * injects `@Optional()` something its module does not import gets undefined instead of an error. This
 * pins which optional dependencies each app leaves unresolved, so removing a global module or an
 * import cannot quietly switch a feature off.
 */
type Wrapper = { metatype?: { name: string }; isAlias?: boolean; inject?: unknown[]; getCtorMetadata?: () => Array<{ token: unknown } | undefined> };

async function unresolved(rootModule: unknown): Promise<{ missing: string[]; providers: Set<string> }> {
  const app = await NestFactory.createApplicationContext(rootModule as never, { preview: true, logger: false, abortOnError: false });
  const container = (app as unknown as { container: { getModules(): Map<string, { providers: Map<unknown, Wrapper>; controllers: Map<unknown, Wrapper>; injectables: Map<unknown, Wrapper> }> } })
    .container;
  const missing = new Set<string>();
  const providers = new Set<string>();
  for (const m of container.getModules().values()) {
    for (const [token, w] of [...m.providers, ...m.controllers, ...m.injectables]) {
      if (!w.metatype || w.isAlias) continue;
      const name = typeof token === 'function' ? token.name : String(token);
      providers.add(name);
      // Terminus registers every health indicator it knows; the app uses none of the unresolved ones.
      if (/HealthIndicator$/.test(name)) continue;
      const declared = (w.inject ?? Reflect.getMetadata('design:paramtypes', w.metatype) ?? []) as Array<{ name?: string } | undefined>;
      const resolved = w.getCtorMetadata?.() ?? [];
      declared.forEach((d, i) => {
        if (!resolved[i]) missing.add(`${name} <- ${d?.name ?? String(d)}`);
      });
    }
  }
  await app.close().catch(() => undefined);
  return { missing: [...missing].sort(), providers };
}

describe('module wiring of the apps (preview mode)', () => {
  it('all-in-one, api and gateway resolve every optional dependency', async () => {
    const apps = [
      (await import('./app.module')).AppModule,
      (await import('../../api/src/api.module')).ApiModule,
      (await import('../../gateway/src/gateway.module')).GatewayModule,
    ];
    for (const root of apps) {
      const { missing, providers } = await unresolved(root);
      expect(missing).toEqual([]);
      // FileEventRelay looks FilesService up app-wide: these apps have one.
      expect(providers.has('FilesService')).toBe(true);
    }
  }, 120_000);

  it('the admin app has no MLS Delivery Service (v2 sends refused there) and no files', async () => {
    const { missing, providers } = await unresolved((await import('../../admin/src/admin.module')).AdminModule);
    expect(missing).toEqual(['MessageEditService <- E2eV2Gate', 'MessageSendService <- E2eV2Gate']);
    expect(providers.has('FilesService')).toBe(false);
  }, 120_000);
});
