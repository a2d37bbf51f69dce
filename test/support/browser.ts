/* Real browsers for the web tests: Debian's chromium (.ci/run installs it) driven by playwright-core,
 * headless, one fresh profile directory per browser, on loopback only. Every page's console errors and
 * uncaught exceptions are collected so a test can fail on them. Also here: what every web spec does
 * around them (skip without chromium, build the pages, close the browsers, sign in). */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TEST_ADMIN } from './factories';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Screenshots of the web tests (git-ignored). */
export const TEST_OUTPUT_DIR = join(__dirname, '..', '..', 'test-output', 'web');

/**
 * HTTP answers the E2E v2 protocol expects, which Chromium still logs as console errors ("Failed to
 * load resource: the server responded with a status of 404"): a conversation without an MLS group yet
 * (the first device creates it), a user without a key backup yet, and the Delivery Service's 409 when
 * another commit or send took the epoch first (the SDK catches up and retries). Only these, by status
 * and path; any other failed load still fails the test.
 */
const EXPECTED_NETWORK_ANSWERS: Array<{ status: number; path: RegExp }> = [
  { status: 404, path: /^\/v1\/conversations\/[^/]+\/mls$/ },
  { status: 404, path: /^\/v1\/me\/key-backup$/ },
  { status: 409, path: /^\/v1\/conversations\/[^/]+\/(mls\/commits|messages(\/[^/]+)?)$/ },
];

function expectedNetworkAnswer(text: string, url: string): boolean {
  const status = /^Failed to load resource: the server responded with a status of (\d+)/.exec(text)?.[1];
  if (!status || !url) return false;
  const path = new URL(url).pathname;
  return EXPECTED_NETWORK_ANSWERS.some((e) => e.status === Number(status) && e.path.test(path));
}

export function haveChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * `describe` for a browser spec. CI installs chromium (.ci/run), so there a missing one fails every test;
 * elsewhere, without it, the block is skipped and says so loudly instead of failing every run.
 */
export function describeBrowser(title: string, fn: () => void): void {
  if (haveChromium() || process.env.CI) {
    describe(title, fn);
    return;
  }
  console.warn(`${title}: ${CHROMIUM_PATH} missing (apt-get install -y chromium): browser tests skipped`);
  describe.skip(title, fn);
}

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen so far, on every page of this browser. */
  errors: string[];
  close(): Promise<void>;
}

export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'chat-web-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    viewport: opts.viewport ?? { width: 1200, height: 800 },
    acceptDownloads: true,
    timeout: 120_000,
  });
  context.setDefaultTimeout(60_000);
  const errors: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error' && !expectedNetworkAnswer(m.text(), m.location().url)) errors.push(`console: ${m.text()}`);
    });
    p.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The browsers one spec launched, closed together in its afterAll (each has a profile directory to remove). */
export class BrowserPool {
  private readonly open: TestBrowser[] = [];

  async launch(viewport?: { width: number; height: number }): Promise<TestBrowser> {
    const b = await launchBrowser({ viewport });
    this.open.push(b);
    return b;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((b) => b.close()));
  }
}

/** Opens the chat app signed in as a user (the token in the fragment) and waits until it shows who that is. */
export async function signInToApp(page: Page, url: string, token: string, userId: string): Promise<void> {
  await page.goto(`${url}/app#token=${token}`);
  await page.getByTestId('me').filter({ hasText: userId }).waitFor();
}

/** Signs in to the admin console as the test platform admin and waits for its first page. */
export async function signInToConsole(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/console`);
  await page.locator('input[name=email]').fill(TEST_ADMIN.email);
  await page.locator('input[name=password]').fill(TEST_ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Tenants' }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
  const path = join(TEST_OUTPUT_DIR, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Builds this checkout's browser apps (apps/web → dist/web, as `npm run build` does), so the pages under test are the current ones. */
export async function buildWebApps(): Promise<void> {
  const root = join(__dirname, '..', '..');
  await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', join(root, 'apps', 'web', 'vite.config.mjs')], { cwd: root, timeout: 300_000 });
}
