/* The admin console's moderation queue in a real browser (Debian's chromium through playwright-core)
 * against the all-in-one app on loopback, serving the static build (`vite build`, made here first).
 * A tenant's members send and report messages through the SDK (end-to-end encrypted, franked: real
 * reports); the console pages the queue, shows a report as the server recorded it, bans the sender
 * (checked over REST: the sender's token is refused), deletes the message, resolves a report without
 * action, unbans, and the audit log shows every action. The browser fails the test on a console error.
 * Screenshots go to test-output/web (git-ignored). */
import { randomBytes } from 'node:crypto';
import type { Locator } from 'playwright-core';
import request from 'supertest';
import type { E2EChat } from '@chat/sdk';
import { expectApiError, rid, sdkTenant } from './e2e-helpers';
import { BrowserPool, buildWebApps, describeBrowser, screenshot, signInToConsole } from './support/browser';
import { createTenant } from './support/factories';
import { createTestApp, TestApp } from './support/test-app';

jest.setTimeout(600_000);

/** A `datetime-local` value (local time, minutes) some days ahead. */
function localInput(daysAhead: number): string {
  const d = new Date(Date.now() + daysAhead * 86_400_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

describeBrowser('the console moderation queue in a real browser', () => {
  let t: TestApp;
  const browsers = new BrowserPool();

  beforeAll(async () => {
    await buildWebApps();
    // Webhook events are recorded (moderation.*) but not delivered: nothing here listens.
    t = await createTestApp({ env: { WEBHOOK_DISPATCH_INTERVAL_MS: '0', WEBHOOK_SWEEP_INTERVAL_MS: '0', FILES_SWEEP_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await browsers.closeAll();
    await t?.close();
  });

  it('lists, shows and acts on franked reports: ban (token refused), delete, resolve, unban; all in the audit log', async () => {
    // A tenant's group: alice spams, bob and carol report (E2E through the SDK; the reports are franked).
    const a = await sdkTenant(t);
    const [alice, bob, carol] = [rid('alice'), rid('bob'), rid('carol')];
    const clients = await a.users([alice, bob, carol]);
    const [A, B, C] = [await a.device(alice, clients[alice]!), await a.device(bob, clients[bob]!), await a.device(carol, clients[carol]!)];
    const convId = (await A.client.createConversation({ type: 'group', name: 'neighbours', member_ids: [bob, carol] })).id;
    const read = async (reader: E2EChat, messageId: string) => reader.decrypt(await reader.client.getMessage(convId, messageId));
    const marker = randomBytes(4).toString('hex');
    const spam = `Cheap pills at pills.example zq${marker}`;
    const sent = await A.sendText(convId, spam);
    const bobReport = await B.report(await read(B, sent.id), 'harassment', { note: 'third time today' });
    const carolReport = await C.report(await read(C, sent.id), 'spam');
    // Nine more, so the queue (ten a page) has a second page: bob's report, the oldest.
    const fillers: string[] = [];
    for (let i = 1; i <= 9; i++) {
      const m = await A.sendText(convId, `filler ${i} zq${marker}`);
      fillers.push((await C.report(await read(C, m.id), 'other')).id);
    }
    expect([bobReport.verified, carolReport.verified]).toEqual([true, true]);
    const aliceToken = (await a.server.issueUserToken(alice)).token;
    const aliceMe = () => request(t.url).get('/v1/me').set('Authorization', `Bearer ${aliceToken}`);
    await aliceMe().expect(200);

    const { page, errors } = await browsers.launch({ width: 1100, height: 760 });
    await signInToConsole(page, t.url);
    await page.goto(`${t.url}/console/tenants/${a.tenant.tenantId}`);
    await page.getByRole('link', { name: 'Moderation queue and bans' }).click();
    await page.getByRole('heading', { name: 'Moderation queue' }).waitFor();

    // The open queue, newest first, ten a page; bob's report is on the second page.
    const rows = page.locator('table[aria-label=Reports] tbody tr');
    const reportRow = (id: string) => page.locator(`tr[data-report="${id}"]`);
    await reportRow(carolReport.id).waitFor();
    expect(await rows.count()).toBe(10);
    expect(await reportRow(bobReport.id).count()).toBe(0);
    const reportPages = page.getByRole('group', { name: 'Report pages' });
    await reportPages.getByRole('button', { name: 'Next' }).click();
    await reportRow(bobReport.id).waitFor();
    expect(await rows.count()).toBe(1);
    await expectText(reportRow(bobReport.id), ['harassment', alice, bob, 'verified', 'open']);
    await screenshot(page, 'console-moderation-queue');

    // Opened from the keyboard: the report as the server recorded it, with the disclosed text.
    await reportRow(bobReport.id).getByRole('link').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('report-payload').filter({ hasText: spam }).waitFor();
    expect(await page.getByTestId('report-message-id').textContent()).toBe(sent.id);
    expect(await page.getByTestId('report-sender').textContent()).toBe(alice);
    expect(await page.getByTestId('report-reporter').textContent()).toBe(bob);
    expect(await page.getByTestId('report-franking').textContent()).toMatch(/^verified/);
    await page.getByText('third time today').first().waitFor();
    await page.getByTestId('sender-ban').filter({ hasText: 'not banned' }).waitFor();
    await screenshot(page, 'console-moderation-report');

    // Act: ban the sender, with a reason and an expiry. Over REST her token is refused from now on.
    const until = localInput(2);
    const untilIso = await page.evaluate((v) => new Date(v).toISOString(), until);
    await page.getByLabel('Ban the sender tenant-wide').check();
    await page.getByLabel('Ban reason').fill('spam wave');
    await page.locator('input[name=ban-until]').fill(until);
    await page.getByLabel('Note (kept with the resolution)').fill('banned for the pills');
    await page.getByRole('button', { name: 'Act', exact: true }).click();
    await page.getByTestId('report-status').filter({ hasText: 'actioned' }).waitFor();
    await page.getByTestId('report-resolution').filter({ hasText: 'ban user by admin' }).waitFor();
    await page.getByTestId('sender-ban').filter({ hasText: 'banned until' }).waitFor();
    const refused = await aliceMe().expect(403);
    expect(refused.body.error).toMatchObject({ code: 'user_banned', details: { reason: 'spam wave', expires_at: untilIso } });
    await expectApiError(A.client.me(), 403, 'user_banned');

    // Act on carol's report of the same message: delete it (a tombstone for every member).
    await page.getByRole('link', { name: '← Moderation queue' }).click();
    await reportRow(carolReport.id).getByRole('link').click();
    await page.getByTestId('report-payload').filter({ hasText: spam }).waitFor();
    await page.getByLabel('Delete the message (for every member)').check();
    await page.getByRole('button', { name: 'Act', exact: true }).click();
    await page.getByTestId('report-resolution').filter({ hasText: 'delete message by admin' }).waitFor();
    const gone = await B.client.getMessage(convId, sent.id);
    expect(gone.deleted_at).not.toBeNull();
    expect(gone.content).toBeNull();

    // Resolve one without action.
    await page.getByRole('link', { name: '← Moderation queue' }).click();
    await reportRow(fillers[0]!).getByRole('link').click();
    await page.getByTestId('report-payload').filter({ hasText: `filler 1 zq${marker}` }).waitFor();
    await page.getByLabel('Note (kept with the resolution)').fill('not spam');
    await page.getByRole('button', { name: 'Resolve without action' }).click();
    await page.getByTestId('report-status').filter({ hasText: 'resolved: dismissed' }).waitFor();
    await page.getByTestId('report-resolution').filter({ hasText: 'no action' }).waitFor();

    // The filters: open, resolved (either way), actioned, dismissed.
    await page.getByRole('link', { name: '← Moderation queue' }).click();
    const status = page.locator('select[name=report-status]');
    await reportRow(fillers[1]!).waitFor();
    expect(await rows.count()).toBe(8);
    await status.selectOption('resolved');
    await reportRow(bobReport.id).waitFor();
    await reportRow(carolReport.id).waitFor();
    await reportRow(fillers[0]!).waitFor();
    expect(await rows.count()).toBe(3);
    await status.selectOption('actioned');
    await reportRow(fillers[0]!).waitFor({ state: 'detached' });
    await reportRow(bobReport.id).waitFor();
    await reportRow(carolReport.id).waitFor();
    expect(await rows.count()).toBe(2);
    await status.selectOption('dismissed');
    await reportRow(fillers[0]!).waitFor();
    expect(await rows.count()).toBe(1);

    // The tenant's bans: alice, with the reason; unban, and her token works again.
    const banRow = page.locator(`tr[data-ban="${alice}"]`);
    await expectText(banRow, ['spam wave', 'admin']);
    await screenshot(page, 'console-moderation-bans');
    await banRow.getByRole('button', { name: 'Unban' }).click();
    await banRow.waitFor({ state: 'detached' });
    await aliceMe().expect(200);

    // Phone-sized: the report reads without sideways scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${t.url}/console/tenants/${a.tenant.tenantId}/moderation/${bobReport.id}`);
    await page.getByTestId('report-payload').filter({ hasText: spam }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, 'console-moderation-report-phone');
    await page.setViewportSize({ width: 1100, height: 760 });

    // Another tenant's path does not reach this tenant's report (the admin API answers 404).
    const other = await createTenant(t);
    expect((await request(t.url).get(`/admin/tenants/${other.tenantId}/moderation/reports/${bobReport.id}`).set('Authorization', `Bearer ${other.adminToken}`)).status).toBe(404);

    // The audit log shows every action in this tenant.
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('input[name=tenant_id]').fill(a.tenant.tenantId);
    await page.getByRole('button', { name: 'Filter' }).click();
    for (const action of ['moderation.report.act', 'moderation.user.ban', 'moderation.user_banned', 'moderation.message.delete', 'moderation.report.resolve', 'moderation.user_unbanned']) {
      await page.locator('td', { hasText: new RegExp(`^${action.replace(/\./g, '\\.')}\\b`) }).first().waitFor();
    }
    await screenshot(page, 'console-moderation-audit');
    expect(errors).toEqual([]);
  });
});

/** Waits for the element, then checks it holds every text. */
async function expectText(locator: Locator, texts: string[]): Promise<void> {
  await locator.waitFor();
  const text = (await locator.textContent()) ?? '';
  for (const x of texts) expect(text).toContain(x);
}
