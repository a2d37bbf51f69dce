/* The chat app on E2E v2 (MLS), in real browsers (Debian's chromium through playwright-core) against the
 * all-in-one app on loopback, serving the static build made here first:
 * - two users chat; every message the app stored is a v2 envelope (`algorithm`/`version` in the
 *   messages collection) and no document of the tenant holds the plaintext;
 * - both browsers show the same safety numbers for the same users;
 * - a reload keeps reading and sending, without a new device joining the group (MLS state in IndexedDB);
 * - key backup set up in one browser (the recovery key shown once); a fresh browser profile of the same
 *   user says why it cannot read the earlier messages, then restores them with the recovery key; the
 *   other user sees "<user>'s new device joined";
 * - what the app keeps in IndexedDB is sealed under a non-extractable key: a device keyring stored in
 *   clear by the earlier app is sealed on load (same device).
 * Every browser fails the test on a console error. Screenshots go to test-output/web (git-ignored). */
import { randomBytes } from 'node:crypto';
import { getConnectionToken } from '@nestjs/mongoose';
import type { Connection } from 'mongoose';
import type { Page } from 'playwright-core';
import { ChatUserClient, createKeyring, exportKeyring } from '@chat/sdk';
import { createTestApp, TestApp } from './support/test-app';
import { createTenant, userToken } from './support/factories';
import { BrowserPool, buildWebApps, describeBrowser, screenshot, signInToApp } from './support/browser';

jest.setTimeout(600_000);
const V2_ALGORITHM = 'mls-epoch-aes256gcm-ed25519-v2';

/** Opens the device panel of the open conversation; per user shown: fingerprint and (for others) the safety number with me. */
async function safetyNumbers(page: Page, users: string[]): Promise<Record<string, { fingerprint: string; withMe: string | null; devices: string }>> {
  await page.getByRole('button', { name: 'Devices' }).click();
  const out: Record<string, { fingerprint: string; withMe: string | null; devices: string }> = {};
  for (const u of users) {
    const li = page.locator(`[data-testid=safety-numbers] li[data-user="${u}"]`);
    await li.locator('[data-testid=fingerprint]').waitFor();
    const withMe = li.locator('[data-testid=safety-number]');
    out[u] = {
      fingerprint: (await li.locator('[data-testid=fingerprint]').textContent())!,
      withMe: (await withMe.count()) ? await withMe.textContent() : null,
      devices: (await li.locator('.name .muted').textContent())!,
    };
  }
  await page.getByRole('button', { name: 'Close the device list' }).click();
  return out;
}

describeBrowser('chat app on E2E v2 (MLS) in a real browser', () => {
  let t: TestApp;
  const browsers = new BrowserPool();

  beforeAll(async () => {
    await buildWebApps();
    t = await createTestApp();
  });
  afterAll(async () => {
    await browsers.closeAll();
    await t?.close();
  });

  it('chats in v2, keeps its state over a reload, shows equal safety numbers, and restores history with the recovery key in a fresh profile', async () => {
    const tenant = await createTenant(t);
    const marker = randomBytes(6).toString('hex');
    const who = randomBytes(3).toString('hex');
    const [alice, bob] = [`alice-${who}`, `bob-${who}`];
    const [tokenA, tokenB] = [await userToken(t, tenant, alice), await userToken(t, tenant, bob)];
    const A = await browsers.launch({ width: 1100, height: 700 });
    const B = await browsers.launch({ width: 1100, height: 700 });
    await signInToApp(A.page, t.url, tokenA, alice);
    await signInToApp(B.page, t.url, tokenB, bob);

    // Alice opens a chat with Bob and writes; Bob reads it decrypted and answers.
    await A.page.getByRole('button', { name: 'New chat' }).click();
    await A.page.locator('input[name=who]').fill(bob);
    await A.page.getByRole('button', { name: 'Open chat' }).click();
    await A.page.getByTestId('conversation-title').filter({ hasText: bob }).waitFor();
    const first = `The orchard gate is open zq${marker}`;
    await A.page.locator('input[name=message]').fill(first);
    await A.page.locator('input[name=message]').press('Enter');
    await A.page.locator('.msg.mine .text', { hasText: first }).waitFor();
    const conv = B.page.locator('li[data-conversation]', { hasText: alice });
    await conv.locator('.preview', { hasText: first }).waitFor(); // preview under the v1 conversation key, as before
    await conv.click();
    await B.page.locator('.msg .text', { hasText: first }).waitFor();
    const answer = `Bring the ladder zq${marker}`;
    await B.page.locator('input[name=message]').fill(answer);
    await B.page.locator('input[name=message]').press('Enter');
    await A.page.locator('.msg:not(.mine) .text', { hasText: answer }).waitFor();

    // What the server stored: v2 envelopes only, and no plaintext in any document of the tenant.
    const db = t.app.get<Connection>(getConnectionToken()).db!;
    const stored = await db.collection('messages').find({ tenant_id: tenant.tenantId, 'content.type': 'text' }).toArray();
    expect(stored.length).toBe(2);
    for (const m of stored) expect({ algorithm: m.content.algorithm, version: m.content.version }).toEqual({ algorithm: V2_ALGORITHM, version: 2 });
    const noPlaintext = async () => {
      for (const { name } of await db.listCollections().toArray()) {
        const dump = JSON.stringify(await db.collection(name).find({ tenant_id: tenant.tenantId }).toArray());
        expect(`${name}: ${dump.includes(marker) || dump.includes('orchard') || dump.includes('ladder')}`).toBe(`${name}: false`);
      }
    };
    await noPlaintext();

    // Safety numbers: the same for each user in both browsers.
    const seenByA = await safetyNumbers(A.page, [alice, bob]);
    const seenByB = await safetyNumbers(B.page, [alice, bob]);
    expect(seenByA[alice]!.fingerprint).toMatch(/^(\d{5} ){5}\d{5}$/);
    expect(seenByA[alice]!.fingerprint).toBe(seenByB[alice]!.fingerprint);
    expect(seenByA[bob]!.fingerprint).toBe(seenByB[bob]!.fingerprint);
    expect(seenByA[bob]!.withMe).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(seenByA[bob]!.withMe).toBe(seenByB[alice]!.withMe);
    await screenshot(A.page, 'v2-conversation');

    // A reload: Alice's browser reads what it read and sends, and no device of hers joined again.
    const aliceJoins = async () => {
      const commits = await db.collection('messages').find({ tenant_id: tenant.tenantId, 'content.type': 'mls_commit' }).toArray();
      return commits.filter((c) => (c.content.joined ?? []).some((j: { user_id: string }) => j.user_id === alice)).length;
    };
    const joinsBefore = await aliceJoins();
    await A.page.reload();
    await A.page.getByTestId('me').filter({ hasText: alice }).waitFor();
    await A.page.locator('li[data-conversation]', { hasText: bob }).click();
    await A.page.locator('.msg .text', { hasText: first }).waitFor();
    await A.page.locator('.msg .text', { hasText: answer }).waitFor();
    const afterReload = `Back after a reload zq${marker}`;
    await A.page.locator('input[name=message]').fill(afterReload);
    await A.page.locator('input[name=message]').press('Enter');
    await B.page.locator('.msg .text', { hasText: afterReload }).waitFor();
    expect(await aliceJoins()).toBe(joinsBefore);

    // Key backup in Alice's browser: the recovery key shown once, confirmed as saved.
    await A.page.getByRole('button', { name: 'Key backup', exact: true }).click();
    await A.page.getByRole('button', { name: 'Set up key backup' }).click();
    const recoveryKey = (await A.page.getByTestId('recovery-key').textContent())!.trim();
    expect(recoveryKey).toMatch(/^([0-9A-Z]{5}-){10}[0-9A-Z]{5}$/);
    await screenshot(A.page, 'v2-recovery-key');
    await A.page.getByRole('checkbox', { name: 'I have saved my recovery key' }).check();
    await A.page.getByRole('button', { name: 'Done' }).click();
    await A.page.getByRole('button', { name: 'Key backup', exact: true }).click();
    await A.page.getByTestId('backup-on').waitFor();
    await A.page.getByRole('button', { name: 'Close key backup' }).click();
    await noPlaintext();

    // A fresh profile of Alice: a new device. The earlier messages say why they cannot be read; Bob sees it join.
    // (Alice's first device may have joined Bob's group already: count the notices about her so far.)
    const aliceJoined = B.page.locator('[data-testid=notice]', { hasText: `${alice}'s new device joined` });
    const noticesBefore = await aliceJoined.count();
    const A2 = await browsers.launch({ width: 1100, height: 700 });
    await signInToApp(A2.page, t.url, tokenA, alice);
    await A2.page.getByTestId('restore-offer').waitFor();
    await A2.page.locator('li[data-conversation]', { hasText: bob }).click();
    await A2.page.locator('[data-testid=decrypt-error]', { hasText: 'not in your key backup' }).first().waitFor();
    expect(await A2.page.locator('.msg .text', { hasText: first }).count()).toBe(0);
    await aliceJoined.nth(noticesBefore).waitFor();
    await A2.page.getByRole('button', { name: 'Restore with recovery key' }).click();
    await A2.page.getByLabel('Recovery key', { exact: true }).fill(recoveryKey.toLowerCase());
    await A2.page.getByRole('button', { name: 'Restore with recovery key' }).click();
    await A2.page.getByTestId('backup-done').waitFor();
    await A2.page.locator('.msg .text', { hasText: first }).waitFor();
    await A2.page.locator('.msg .text', { hasText: answer }).waitFor();
    await A2.page.locator('.msg .text', { hasText: afterReload }).waitFor();
    await A2.page.locator('li[data-conversation] .preview', { hasText: afterReload }).waitFor(); // the list's preview too
    await screenshot(A2.page, 'v2-restored');

    // The new device sends; both others read it; Alice's safety number now covers two devices, the same in every browser.
    const fromNew = `Sent from the new browser zq${marker}`;
    await A2.page.locator('input[name=message]').fill(fromNew);
    await A2.page.locator('input[name=message]').press('Enter');
    await B.page.locator('.msg .text', { hasText: fromNew }).waitFor();
    await A.page.locator('.msg .text', { hasText: fromNew }).waitFor();
    const seenByA2 = await safetyNumbers(A2.page, [alice, bob]);
    const seenByB2 = await safetyNumbers(B.page, [alice, bob]);
    expect(seenByA2[alice]!.devices).toContain('2 devices');
    expect(seenByA2[alice]!.fingerprint).toBe(seenByB2[alice]!.fingerprint);
    expect(seenByA2[alice]!.fingerprint).not.toBe(seenByA[alice]!.fingerprint);
    expect(seenByA2[bob]!.withMe).toBe(seenByB2[alice]!.withMe);
    await noPlaintext();

    expect(A.errors).toEqual([]);
    expect(B.errors).toEqual([]);
    expect(A2.errors).toEqual([]);
  });

  it('seals a v1 keyring stored in clear by the earlier app on load (same device), under a non-extractable wrapping key', async () => {
    const tenant = await createTenant(t);
    const user = `carol-${randomBytes(3).toString('hex')}`;
    const token = await userToken(t, tenant, user);
    const tid = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { tid: string }).tid;
    const old = exportKeyring(createKeyring(`web-old-${randomBytes(4).toString('hex')}`));
    const C = await browsers.launch();
    // The earlier app's database: version 1, one store, the keyring as it is.
    await C.page.goto(`${t.url}/app`);
    await C.page.evaluate(
      ({ id, value }) =>
        new Promise<void>((resolve, reject) => {
          const req = indexedDB.open('chat-app', 1);
          req.onupgradeneeded = () => req.result.createObjectStore('keyrings');
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            const tx = req.result.transaction('keyrings', 'readwrite');
            tx.objectStore('keyrings').put(value, id);
            tx.oncomplete = () => (req.result.close(), resolve());
            tx.onerror = () => reject(tx.error);
          };
        }),
      { id: `${tid}/${user}`, value: old },
    );
    await C.page.goto('about:blank'); // a new document: a fragment change alone does not load the app again
    await signInToApp(C.page, t.url, token, user);

    // The same device (its public key was published again), and the record is sealed now.
    const devices = await new ChatUserClient({ baseUrl: t.url, token }).myDevices();
    expect(devices.data.map((d) => d.device_id)).toContain(old.device_id);
    const stored = await C.page.evaluate(
      (id) =>
        new Promise<{ record: string; extractable: boolean; exported: string }>((resolve, reject) => {
          const req = indexedDB.open('chat-app');
          req.onerror = () => reject(req.error);
          req.onsuccess = () => {
            const tx = req.result.transaction(['keyrings', 'wrapping'], 'readonly');
            const rec = tx.objectStore('keyrings').get(id);
            const key = tx.objectStore('wrapping').get('v1');
            tx.oncomplete = () => {
              req.result.close();
              const k = key.result as CryptoKey;
              crypto.subtle.exportKey('raw', k).then(
                () => resolve({ record: JSON.stringify(Object.keys(rec.result as object)), extractable: k.extractable, exported: 'yes' }),
                (err: Error) => resolve({ record: JSON.stringify(Object.keys(rec.result as object)), extractable: k.extractable, exported: err.name }),
              );
            };
          };
        }),
      `${tid}/${user}`,
    );
    expect(stored).toEqual({ record: JSON.stringify(['sealed', 'iv', 'data']), extractable: false, exported: 'InvalidAccessError' });
    expect(C.errors).toEqual([]);
  });
});
