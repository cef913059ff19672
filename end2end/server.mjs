// The release server with demo data on a throwaway database, as the standalone scripts (make webkit,
// make bench-phone) start, stop and restart it, and the API calls they make to it directly.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PASSWORD = 'hongyan-demo';
export const LEAD = '13800000001';
export const MEMBER = '13800000002';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class DemoServer {
  /** `db` is the database file (kept across restarts); `site` the bundle served (default: this build's). */
  constructor({ port, db, site = join(ROOT, 'target/site') }) {
    this.origin = `http://127.0.0.1:${port}`;
    this.port = port;
    this.db = db;
    this.site = site;
    this.log = '';
    this.child = undefined;
  }

  /** Starts the server (on `site` if given: a newer release) and waits until it answers. */
  async start(site = this.site) {
    this.site = site;
    this.child = spawn(join(ROOT, 'target/release/hongyan'), ['--demo', '--port', String(this.port), '--db', this.db, '--site', site], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const out of [this.child.stdout, this.child.stderr]) out.on('data', (d) => { this.log += d; });
    for (let i = 0; i < 200; i++) {
      try { if ((await fetch(`${this.origin}/api/v1/openapi.json`)).ok) return; } catch { /* starting */ }
      await sleep(100);
    }
    throw new Error(`the server did not start:\n${this.log}`);
  }

  /** Stops the server (no signal on site) and waits until it has exited. */
  async stop() {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }

  /** A JSON call to the API: POST when there is a body, else GET. */
  async api(path, { token, body } = {}) {
    const res = await fetch(`${this.origin}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  /** A session token for one of the demo accounts. */
  async login(phone) {
    return (await this.api('/api/v1/auth/login', { body: { phone, password: PASSWORD } })).token;
  }
}
