/* The browser apps, in a real browser (Debian's chromium through playwright-core) against the all-in-one
 * app on loopback, serving the static build (`npm run build:web`, made here first):
 * - two browsers chat end to end: a message typed in one appears decrypted in the other, and the
 *   database holds no plaintext of it; a reply, the read receipt and typing travel back; a file sent
 *   in one is opened (downloaded and decrypted) in the other;
 * - the admin console creates a tenant, an application and an API key, and the key works over REST;
 * - how the pages are served: CSP, caching, client-side routes.
 * Every browser fails the test on a console error. Screenshots go to test-output/web (git-ignored). */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { createTestApp, TestApp } from './support/test-app';
import { createTenant, userToken } from './support/factories';
import { BrowserPool, buildWebApps, describeBrowser, screenshot, signInToApp, signInToConsole } from './support/browser';
import { sdkTenant } from './e2e-helpers';

jest.setTimeout(600_000);

describeBrowser('web apps in a real browser', () => {
  let t: TestApp;
  const browsers = new BrowserPool();

  beforeAll(async () => {
    // The pages under test are the ones this checkout builds.
    await buildWebApps();
    // Webhook endpoints on loopback, never called (this node delivers nothing): the console only lists them.
    t = await createTestApp({ env: { WEBHOOK_ALLOW_INSECURE_URLS: 'true', WEBHOOK_DISPATCH_INTERVAL_MS: '0', WEBHOOK_SWEEP_INTERVAL_MS: '0' } });
  });
  afterAll(async () => {
    await browsers.closeAll();
    await t?.close();
  });

  it('serves the pages with a strict CSP, no inline script, SPA fallback and immutable assets', async () => {
    const page = await request(t.url).get('/app/some/client/route').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    const csp = page.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain(`connect-src 'self' ${new URL(process.env.S3_ENDPOINT!).origin}`);
    expect(page.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const asset = /src="(\/web-assets\/[^"]+\.js)"/.exec(page.text)![1]!;
    const js = await request(t.url).get(asset).expect(200);
    expect(js.headers['cache-control']).toContain('immutable');
    await request(t.url).get('/console').expect(200);
    await request(t.url).get('/web-assets/nope.js').expect(404);
    // Only GET and HEAD are pages; the API is untouched.
    await request(t.url).post('/app').send({}).expect(404);
    await request(t.url).get('/health').expect(200);
  });

  it('two browsers chat end to end; the database holds no plaintext; a file sent in one opens in the other', async () => {
    const tenant = await createTenant(t);
    // The texts carry a marker of their own (the user ids are stored in clear, of course).
    const marker = randomBytes(6).toString('hex');
    const who = randomBytes(3).toString('hex');
    const alice = `alice-${who}`;
    const bob = `bob-${who}`;
    const [tokenA, tokenB] = [await userToken(t, tenant, alice), await userToken(t, tenant, bob)];
    const A = await browsers.launch({ width: 1000, height: 600 });
    const B = await browsers.launch({ width: 390, height: 844 }); // phone-sized

    await signInToApp(A.page, t.url, tokenA, alice);
    await signInToApp(B.page, t.url, tokenB, bob);
    // The token left the address bar at once.
    expect(A.page.url()).not.toContain('token=');

    await A.page.getByRole('button', { name: 'New chat' }).click();
    await A.page.locator('input[name=who]').fill(bob);
    await A.page.getByRole('button', { name: 'Open chat' }).click();
    await A.page.getByTestId('conversation-title').filter({ hasText: bob }).waitFor();

    const secret = `Meet at the old mill zq${marker}`;
    await A.page.locator('input[name=message]').fill(secret);
    await A.page.locator('input[name=message]').press('Enter');
    await A.page.locator('.msg.mine .text', { hasText: secret }).waitFor();

    // Bob's list shows the conversation with its unread count and decrypted preview; opening it shows the message.
    const conv = B.page.locator('li[data-conversation]', { hasText: alice });
    await conv.locator('.badge').waitFor();
    await conv.locator('.preview', { hasText: secret }).waitFor();
    await screenshot(B.page, 'chat-list-phone');
    await conv.click();
    await B.page.locator('.msg .text', { hasText: secret }).waitFor();

    // Presence: each sees the other online.
    await A.page.locator('.main .bar .row', { hasText: bob }).locator('.dot.online').waitFor();

    // Alice sees the read receipt; Bob's typing shows on Alice's screen; his reply arrives decrypted.
    await A.page.locator('.msg.mine [data-testid=receipt]', { hasText: 'read' }).waitFor();
    const reply = `Bring the lantern zq${marker}`;
    await B.page.locator('input[name=message]').pressSequentially('Bring', { delay: 20 });
    await A.page.locator('.typing', { hasText: `${bob} is typing` }).waitFor();
    await B.page.locator('input[name=message]').fill(reply);
    await B.page.getByRole('button', { name: 'Send' }).click();
    await A.page.locator('.msg:not(.mine) .text', { hasText: reply }).waitFor();

    // A reaction made by Bob reaches Alice, decrypted.
    await B.page.locator('.msg', { hasText: secret }).getByRole('button', { name: 'React 👍' }).click();
    await A.page.locator('.msg.mine', { hasText: secret }).locator('.reactions', { hasText: '👍 1' }).waitFor();

    // A thread: Alice replies in the thread of her message; Bob opens the thread and reads the reply.
    const threadReply = `Only after sunset zq${marker}`;
    await A.page.locator('.messages > .msg.mine', { hasText: secret }).getByRole('button', { name: 'Reply in thread' }).click();
    await A.page.locator('input[name=reply]').fill(threadReply);
    await A.page.getByRole('button', { name: 'Reply', exact: true }).click();
    await A.page.locator('[aria-label=Thread] .msg .text', { hasText: threadReply }).waitFor();
    await A.page.getByRole('button', { name: 'Close the thread' }).click();
    await B.page.locator('.messages > .msg', { hasText: secret }).getByRole('button', { name: /Thread \(1\)|Reply in thread/ }).click();
    await B.page.locator('[aria-label=Thread] .msg .text', { hasText: threadReply }).waitFor();
    await B.page.getByRole('button', { name: 'Close the thread' }).click();

    // Search: tokens made in Alice's browser find Bob's reply, shown decrypted.
    await A.page.getByRole('button', { name: 'Search in this conversation' }).click();
    await A.page.locator('input[name=search]').fill('lantern');
    await A.page.locator('input[name=search]').press('Enter');
    await A.page.locator('[aria-label=Search] .msg .text', { hasText: reply }).waitFor();
    await A.page.getByRole('button', { name: 'Close the search' }).click();

    // An edit and a delete by Alice reach Bob.
    const edited = `Meet at the new mill zq${marker}`;
    const first = A.page.locator('.messages > .msg.mine', { hasText: secret });
    await first.getByRole('button', { name: 'Edit' }).click();
    await A.page.getByLabel('Edit message').fill(edited);
    await A.page.getByRole('button', { name: 'Save' }).click();
    await B.page.locator('.messages > .msg', { hasText: edited }).locator('.meta', { hasText: 'edited' }).waitFor();
    await A.page.locator('input[name=message]').fill(`to be deleted zq${marker}`);
    await A.page.locator('input[name=message]').press('Enter');
    await B.page.locator('.msg .text', { hasText: `to be deleted zq${marker}` }).waitFor();
    await A.page.locator('.messages > .msg.mine', { hasText: `to be deleted zq${marker}` }).getByRole('button', { name: 'Delete' }).click();
    await B.page.locator('.msg:not(.mine)', { hasText: 'message deleted' }).waitFor();
    expect(await B.page.locator('.msg', { hasText: `to be deleted zq${marker}` }).count()).toBe(0);

    // The server stored ciphertext only: no message, conversation or key document holds either text.
    const db = t.app.get<Connection>(getConnectionToken()).db!;
    const stored = await db.collection('messages').find({ tenant_id: tenant.tenantId }).toArray();
    expect(stored.length).toBeGreaterThanOrEqual(2);
    for (const name of ['messages', 'conversations']) {
      const dump = JSON.stringify(await db.collection(name).find({ tenant_id: tenant.tenantId }).toArray());
      expect(dump).not.toContain(marker);
      for (const words of ['old mill', 'new mill', 'lantern', 'sunset', 'to be deleted']) expect(dump).not.toContain(words);
    }

    // A file: encrypted in Alice's browser, uploaded to S3, opened (downloaded, decrypted) in Bob's.
    const fileText = `the map is under the third stone ${marker}`;
    await A.page.locator('input[name=file]').setInputFiles({ name: `map-${marker}.txt`, mimeType: 'text/plain', buffer: Buffer.from(fileText) });
    // Either the file message appears or the app shows why not (then fail with it, not a timeout).
    await A.page.locator('.msg.mine button.file', { hasText: `map-${marker}.txt` }).or(A.page.locator('[role=alert]')).first().waitFor();
    expect({ alert: await A.page.locator('[role=alert]').allTextContents(), errors: A.errors }).toEqual({ alert: [], errors: [] });
    const fileButton = B.page.locator('.msg button.file', { hasText: `map-${marker}.txt` });
    await fileButton.waitFor();
    const [download] = await Promise.all([B.page.waitForEvent('download'), fileButton.click()]);
    expect(download.suggestedFilename()).toBe(`map-${marker}.txt`);
    expect(readFileSync((await download.path())!, 'utf8')).toBe(fileText);
    const files = JSON.stringify(await db.collection('files').find({ tenant_id: tenant.tenantId }).toArray());
    expect(files).not.toContain(marker);

    // A group: Alice creates one with Bob; Bob gets it live and reads its first message.
    await A.page.getByRole('button', { name: 'New group' }).click();
    await A.page.getByLabel('Group name').fill(`Mill crew ${who}`);
    await A.page.locator('input[name=who]').fill(bob);
    await A.page.getByRole('button', { name: 'Create group' }).click();
    await A.page.getByTestId('conversation-title').filter({ hasText: `Mill crew ${who}` }).waitFor();
    await A.page.locator('input[name=message]').fill(`Group hello zq${marker}`);
    await A.page.locator('input[name=message]').press('Enter');
    await B.page.getByRole('button', { name: 'Back to chats' }).click();
    const group = B.page.locator('li[data-conversation]', { hasText: `Mill crew ${who}` });
    await group.locator('.preview', { hasText: `Group hello zq${marker}` }).waitFor();
    await group.click();
    await B.page.locator('.msg .text', { hasText: `Group hello zq${marker}` }).waitFor();
    await A.page.locator('li[data-conversation]', { hasText: bob }).click();
    await A.page.locator('.msg .text', { hasText: reply }).waitFor();
    // The open conversation is read: no unread badge on it (nor on the group Bob has open).
    await A.page.locator('li[data-conversation].active:not(:has(.badge))', { hasText: bob }).waitFor();
    await B.page.locator('li[data-conversation].active:not(:has(.badge))', { hasText: `Mill crew ${who}` }).waitFor({ state: 'attached' }); // the list is hidden on a phone
    // Bob has the group open: a direct message reaches his device (delivered) but is not read yet.
    const ping = `Still there zq${marker}`;
    await A.page.locator('input[name=message]').fill(ping);
    await A.page.locator('input[name=message]').press('Enter');
    await A.page.locator('.msg.mine', { hasText: ping }).locator('[data-testid=receipt]', { hasText: 'delivered' }).waitFor();

    await screenshot(A.page, 'chat-conversation');
    await screenshot(B.page, 'chat-conversation-phone');
    expect(A.errors).toEqual([]);
    expect(B.errors).toEqual([]);
  });

  it('pages back through history: the newest page first, older ones on demand', async () => {
    const a = await sdkTenant(t);
    const tag = randomBytes(3).toString('hex');
    const [alice, bob] = [`alice-${tag}`, `bob-${tag}`];
    const { [bob]: bobClient } = await a.users([alice, bob]);
    const { token } = await a.server.issueUserToken(alice);
    const A = await browsers.launch();
    await signInToApp(A.page, t.url, token, alice);
    // Bob (an SDK client in this test) writes 40 messages, encrypted for Alice's browser device too.
    const B = await a.device(bob, bobClient!);
    const conv = await bobClient!.openDirect(alice);
    for (let i = 1; i <= 40; i++) await B.sendText(conv.id, `line ${i} of ${tag}`);
    const item = A.page.locator('li[data-conversation]', { hasText: bob });
    await item.locator('.preview', { hasText: `line 40 of ${tag}` }).waitFor();
    await item.click();
    await A.page.locator('.msg .text', { hasText: `line 40 of ${tag}` }).waitFor();
    expect(await A.page.locator('.msg .text', { hasText: new RegExp(`^line 1 of ${tag}$`) }).count()).toBe(0);
    await A.page.getByRole('button', { name: 'Load older messages' }).click();
    await A.page.locator('.msg .text', { hasText: new RegExp(`^line 1 of ${tag}$`) }).waitFor();
    expect(await A.page.locator('.msg .text', { hasText: tag }).count()).toBe(40);
    expect(A.errors).toEqual([]);
  });

  it('the console creates a tenant, an application and an API key, and the key works over REST', async () => {
    const C = await browsers.launch({ width: 1100, height: 720 });
    const { page } = C;
    await signInToConsole(page, t.url);

    const name = `Acme ${randomBytes(4).toString('hex')}`;
    await page.locator('input[name=tenant-name]').fill(name);
    await page.locator('select[name=tenant-plan]').selectOption('pro');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByTestId('tenant-name').filter({ hasText: name }).waitFor();
    const tenantUrl = page.url();
    await page.getByTestId('usage-charts').waitFor();
    await screenshot(page, 'console-tenant');

    await page.locator('input[name=app-name]').fill('Acme web');
    await page.getByRole('button', { name: 'Create application' }).click();
    await page.getByTestId('app-secret').waitFor();
    await page.getByRole('link', { name: 'Acme web' }).click();
    await page.getByTestId('application-name').filter({ hasText: 'Acme web' }).waitFor();

    await page.locator('input[name=key-name]').fill('backend');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('revealed-secret').textContent())!.trim();
    expect(key).toMatch(/^ck_/);
    await page.locator('tr', { hasText: 'backend' }).waitFor();
    await screenshot(page, 'console-application');

    // The key the console revealed works over REST, for this tenant.
    const who = await request(t.url).get('/v1/auth/whoami').set('X-Api-Key', key).expect(200);
    expect(JSON.stringify(who.body)).toContain(page.url().split('/').pop()!);
    await request(t.url).put('/v1/users/console-made-user').set('X-Api-Key', key).send({ profile: { display_name: 'From the console key' } }).expect((r) => expect([200, 201]).toContain(r.status));

    // With the key just revealed, the console makes a chat sign-in link (through /v1, as a SaaS backend would).
    await page.locator('input[name=link-user]').fill('console-demo');
    await page.getByRole('button', { name: 'Make a chat sign-in link' }).click();
    const link = (await page.getByTestId('sign-in-link').getAttribute('href'))!;
    expect(link).toMatch(/\/app#token=/);
    const chat = await C.context.newPage();
    await chat.goto(link);
    await chat.getByTestId('me').filter({ hasText: 'console-demo' }).waitFor();
    await chat.close();

    // A webhook endpoint: its secret revealed once; a test event shows up among its deliveries.
    await page.locator('input[name=webhook-url]').fill('http://127.0.0.1:9/hooks/chat');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByTestId('revealed-secret').filter({ hasNotText: key }).waitFor();
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByRole('button', { name: 'Deliveries' }).click();
    await page.locator('tr', { hasText: 'webhook.test' }).locator('td', { hasText: 'pending' }).waitFor();

    // Rotate: a new key revealed once (the old one still works during the grace period); revoke: refused at once.
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('tr', { hasText: 'backend' }).getByRole('button', { name: 'Rotate' }).click();
    const rotated = (await page.getByTestId('revealed-secret').textContent())!.trim();
    expect(rotated).toMatch(/^ck_/);
    expect(rotated).not.toBe(key);
    await request(t.url).get('/v1/auth/whoami').set('X-Api-Key', rotated).expect(200);
    await request(t.url).get('/v1/auth/whoami').set('X-Api-Key', key).expect(200);
    page.once('dialog', (d) => void d.accept());
    const prefix = rotated.split('_')[1]!;
    await page.locator('tr', { hasText: prefix }).getByRole('button', { name: 'Revoke' }).click();
    await page.locator('tr', { hasText: prefix }).locator('.tag', { hasText: 'revoked' }).waitFor();
    const refused = await request(t.url).get('/v1/auth/whoami').set('X-Api-Key', rotated);
    expect([401, 403]).toContain(refused.status);

    // Suspend and reactivate the tenant.
    await page.getByRole('link', { name: '← Tenant' }).click();
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByTestId('tenant-status').filter({ hasText: 'suspended' }).waitFor();
    await page.getByRole('button', { name: 'Reactivate' }).click();
    await page.getByTestId('tenant-status').filter({ hasText: 'active' }).waitFor();

    // The audit log shows what was done, filtered by action.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('input[name=action]').fill('api_key.revoke');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.locator('td', { hasText: 'api_key.revoke' }).first().waitFor();
    await screenshot(page, 'console-audit');
    await page.getByRole('link', { name: 'Invoices' }).click();
    await page.getByRole('heading', { name: 'Invoices' }).waitFor();

    // Suspend, export (a .tar.gz download), delete: the tenant ends deleted.
    await page.goto(tenantUrl);
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByTestId('tenant-status').filter({ hasText: 'suspended' }).waitFor();
    const [archive] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export (.tar.gz)' }).click()]);
    expect(archive.suggestedFilename()).toMatch(/\.tar\.gz$/);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('tenant-status').filter({ hasText: 'deleted' }).waitFor();
    expect(C.errors).toEqual([]);
  });
});
