// Test fixtures: a real server process per test (release build, fresh database, demo data) that tests
// can stop and start, a page object for the app, and a guard that fails any test whose page threw.
import { test as base, expect, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const BINARY = join(ROOT, 'target', 'release', 'hongyan');
const SITE = join(ROOT, 'target', 'site');

export const PASSWORD = 'hongyan-demo';
export const LEAD = '13800000001';
export const MEMBER = '13800000002';
export const CADRE = '13800000003';
/** Another member of the lead's branch. */
export const MEMBER2 = '13800000004';

/** The app's server, as a process we can stop (to be "offline") and start again on the same database. */
export class Server {
  private process?: ChildProcess;
  readonly url: string;
  private readonly dir = mkdtempSync(join(tmpdir(), 'hongyan-e2e-'));
  /** The built site this server serves; `deployNewVersion` switches it. */
  private site = SITE;

  constructor(readonly port: number) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** A copy of the site whose shell differs, so it has a new build id (what a real release looks like to
   * the phone); served from the next `start`. */
  deployNewVersion(): void {
    const next = join(this.dir, 'site-next');
    cpSync(SITE, next, { recursive: true });
    appendFileSync(join(next, 'shell.html'), '\n<!-- next release -->\n');
    this.site = next;
  }

  async start(): Promise<void> {
    const args = ['--demo', '--port', String(this.port), '--db', join(this.dir, 'e2e.db'), '--site', this.site];
    this.process = spawn(BINARY, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${this.url}/api/v1/openapi.json`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`server on ${this.url} did not start`);
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
    this.process = undefined;
  }

  /** `hongyan backup` of the running server's database; answers the backup's path. */
  backup(): string {
    const file = join(this.dir, `backup-${Date.now()}.db`);
    execFileSync(BINARY, ['backup', file, '--db', join(this.dir, 'e2e.db')]);
    return file;
  }

  /** `hongyan restore` of a backup over the database, as an operator does with the server stopped. */
  restore(file: string): void {
    execFileSync(BINARY, ['restore', file, '--db', join(this.dir, 'e2e.db')]);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The app as a person uses it, located by role and label. */
export class App {
  readonly errors: Error[] = [];

  constructor(readonly page: Page) {
    page.on('pageerror', (e) => this.errors.push(e));
  }

  async login(phone: string, password = PASSWORD): Promise<void> {
    await this.page.goto('/');
    await this.page.getByLabel('手机号').fill(phone);
    await this.page.getByLabel('密码').fill(password);
    await this.page.getByRole('button', { name: '登录' }).click();
    await expect(this.page.getByRole('heading', { name: '组织生活' })).toBeVisible();
  }

  syncState() {
    return this.page.getByTestId('sync-state');
  }

  myStatus() {
    return this.page.getByTestId('my-status');
  }

  async syncNow(): Promise<void> {
    await this.page.getByRole('button', { name: '立即同步' }).click();
  }

  /** Waits until the service worker controls the page and has stored every stage of the app (every
   * role's pages, not only the member's that it stores first). */
  async waitForOfflineReady(): Promise<void> {
    // (A plain predicate: waitForFunction takes a returned promise as a truthy value, without awaiting it.)
    await this.page.waitForFunction(
      () => !!navigator.serviceWorker.controller && document.documentElement.dataset.offlineStage === '2',
    );
  }
}

type Fixtures = {
  server: Server;
  newApp: (options?: BrowserContextOptions) => Promise<{ app: App; context: BrowserContext }>;
};

export const test = base.extend<Fixtures>({
  server: async ({}, use, testInfo) => {
    const server = new Server(3100 + testInfo.workerIndex);
    await server.start();
    await use(server);
    await server.stop();
    server.cleanup();
  },
  // Each call is a separate phone: its own browser context, storage and service worker.
  newApp: async ({ browser, server }, use) => {
    const apps: App[] = [];
    const contexts: BrowserContext[] = [];
    await use(async (options = {}) => {
      const context = await browser.newContext({ baseURL: server.url, ...options });
      const app = new App(await context.newPage());
      apps.push(app);
      contexts.push(context);
      return { app, context };
    });
    for (const c of contexts) await c.close();
    // A page that threw is a failed test, whatever the assertions said.
    expect(apps.flatMap((a) => a.errors.map((e) => e.message))).toEqual([]);
  },
});

export { expect };

/** `datetime-local` value for a time `minutes` from now, in Shanghai time. */
export function shanghaiInput(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000 + 8 * 3_600_000).toISOString().slice(0, 16);
}

// ---- the API, straight from the test (to set the scene fast and to check the server's state) ----

export async function apiLogin(server: Server, phone: string): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone, password: PASSWORD }),
  });
  expect(res.status).toBe(200);
  return (await res.json()).token;
}

/** Pushes one record as `phone`, straight to the server; returns its receipt. */
export async function apiPush(server: Server, phone: string, kind: string, payload: object): Promise<any> {
  const token = await apiLogin(server, phone);
  const now = Date.now();
  const mutation = { seq: 1, id: crypto.randomUUID(), kind, payload, device_time: now, server_offset_ms: 0 };
  const res = await fetch(`${server.url}/api/v1/sync/push`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ device_id: `e2e-${phone}`, protocol: 1, mutations: [mutation] }),
  });
  expect(res.status).toBe(200);
  return (await res.json()).receipts[0];
}

/** The lead publishes an activity that is on now (a fixed 签到码, as version 1 of the app made them);
 * returns its id and code. */
export async function apiPublish(server: Server, title: string): Promise<{ id: string; code: string }> {
  const now = Date.now();
  const id = crypto.randomUUID();
  const code = String(100000 + Math.floor(Math.random() * 900000));
  const payload = { activity_id: id, kind: 'theme_day', title, place: '项目部会议室', starts_at: now - 60_000, ends_at: now + 7_200_000, code };
  expect((await apiPush(server, LEAD, 'create_activity', payload)).status).toBe('applied');
  return { id, code };
}

/** The lead publishes an activity with a rotating code, starting `startsInMin` from now. */
export async function apiPublishRotating(
  server: Server,
  title: string,
  { startsInMin, hours = 2, kind = 'theme_day' }: { startsInMin: number; hours?: number; kind?: string },
): Promise<{ id: string; secret: string }> {
  const starts = Date.now() + startsInMin * 60_000;
  const id = crypto.randomUUID();
  const secret = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const payload = { activity_id: id, kind, title, place: '项目部会议室', starts_at: starts, ends_at: starts + hours * 3_600_000, secret, code_step_ms: 60_000 };
  const receipt = await apiPush(server, LEAD, 'create_activity', payload);
  expect(receipt.status, receipt.reason).toBe('applied');
  return { id, secret };
}

/** The rotating 签到码 at `at` — the same HMAC-SHA-256 truncation as `life::code_for_step`, written again
 * here so the test checks the app against an independent implementation. */
export function rotatingCode(secret: string, at = Date.now(), stepMs = 60_000): string {
  const step = Buffer.alloc(8);
  step.writeBigInt64BE(BigInt(Math.floor(at / stepMs)));
  const digest = createHmac('sha256', Buffer.from(secret, 'utf8')).update(step).digest();
  const offset = digest[31] & 0x0f;
  const word = digest.readUInt32BE(offset) & 0x7fffffff;
  return String(word % 1_000_000).padStart(6, '0');
}

/** Everything the lead's branch has on the server: activities and roster rows. */
export async function apiPull(server: Server, phone = LEAD): Promise<{ activities: any[]; attendance: any[] }> {
  const token = await apiLogin(server, phone);
  const res = await fetch(`${server.url}/api/v1/sync/pull?cursor=0`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return res.json();
}
