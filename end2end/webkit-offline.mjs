// The member's offline flow in WebKit — the engine of every iPhone browser, WeChat's included — through
// WebKitGTK's WebDriver (Debian's `webkit2gtk-driver`, its MiniBrowser under `xvfb`): log in, wait until the
// app says 已可离线使用, sign in with the server stopped, reload with no server, sync when it is back, see
// 已送达, and find the record on the server — with the lead's and admins' files withheld, so a member's
// stage of the service worker's precache is shown to be enough. Playwright's own WebKit cannot be downloaded here, so this
// speaks W3C WebDriver over HTTP itself.
//
// usage: node end2end/webkit-offline.mjs   (after `make build`; starts its own server, Xvfb and driver)
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DemoServer, LEAD, MEMBER, PASSWORD, ROOT } from './server.mjs';

const DRIVER = 'http://127.0.0.1:4445';
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

const dir = mkdtempSync(join(tmpdir(), 'hongyan-webkit-'));
const children = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  children.push(child);
  return child;
}

async function until(what, check, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`WebKit: timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

// ---- the server, which the test stops and starts (no signal on site) ----
// It serves a copy of the build from which every file of the later stages (the lead's and the admins'
// pages) is moved away once the server has listed them: the signal is lost before the service worker got
// past a member's stage, which must be all the member needs. They are put back before the signal returns,
// so the server comes back with the same build (it names its build from the files it finds).
const site = join(dir, 'site');
cpSync(join(ROOT, 'target/site'), site, { recursive: true });
const server = new DemoServer({ port: 3305, db: join(dir, 'webkit.db'), site });
const BASE = server.origin;

const withheld = join(dir, 'withheld');
let later = [];

/** Moves the files of the stages after a member's out of the copy the server serves. */
async function onlyTheMembersStage() {
  const sw = await (await fetch(`${BASE}/sw.js`)).text();
  const bundle = JSON.parse(sw.match(/JSON\.parse\('(.*)'\)/)[1]);
  later = bundle.filter(([, , stage]) => stage > 0).map(([path]) => path);
  if (later.length === 0) throw new Error('the bundle has no later stage to withhold');
  for (const file of laterFiles()) {
    mkdirSync(dirname(join(withheld, file)), { recursive: true });
    renameSync(join(site, file), join(withheld, file));
  }
  return later.length;
}

/** Puts them back. */
function everyStage() {
  for (const file of laterFiles()) renameSync(join(withheld, file), join(site, file));
}

function laterFiles() {
  return later.flatMap((path) => ['', '.br', '.gz'].map((ext) => path + ext)).filter((f) => existsSync(join(site, f)) || existsSync(join(withheld, f)));
}

// ---- WebDriver ----
async function wd(method, path, body) {
  const res = await fetch(`${DRIVER}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value)}`);
  return json.value;
}
let session;
const s = (path) => `/session/${session}${path}`;
const find = async (css) => (await wd('POST', s('/element'), { using: 'css selector', value: css }))[ELEMENT];
const text = async (css) => wd('POST', s('/execute/sync'), { script: 'return document.querySelector(arguments[0])?.textContent ?? null', args: [css] });
const type = async (css, value) => wd('POST', s(`/element/${await find(css)}/value`), { text: value });
const click = async (css) => wd('POST', s(`/element/${await find(css)}/click`), {});
const clickText = async (tag, words) => {
  const id = (await wd('POST', s('/element'), { using: 'xpath', value: `//${tag}[contains(normalize-space(.), '${words}')]` }))[ELEMENT];
  await wd('POST', s(`/element/${id}/click`), {});
};
const textIs = (css, want) => until(`${css} to read "${want}"`, async () => {
  const t = (await text(css))?.trim();
  return (want instanceof RegExp ? want.test(t ?? '') : t === want) ? t : false;
});

try {
  if (!process.env.DISPLAY) {
    start('Xvfb', [':99', '-screen', '0', '1024x768x24', '-nolisten', 'tcp']);
    process.env.DISPLAY = ':99';
    await sleep(500);
  }
  start('WebKitWebDriver', ['--port=4445']);
  await until('the WebDriver', async () => (await fetch(`${DRIVER}/status`)).ok);
  await server.start();
  console.log(`WebKit: ${await onlyTheMembersStage()} files of the lead's and admins' stages withheld`);

  // The lead publishes a meeting that is on now, with a code the member will be told.
  const code = String(100000 + Math.floor(Math.random() * 900000));
  const activity = crypto.randomUUID();
  const now = Date.now();
  const published = await server.api('/api/v1/sync/push', {
    token: await server.login(LEAD),
    body: {
      device_id: 'webkit-lead', protocol: 1,
      mutations: [{ seq: 1, id: crypto.randomUUID(), kind: 'create_activity', device_time: now, server_offset_ms: 0,
        payload: { activity_id: activity, kind: 'theme_day', title: '夜校安全学习', place: '工地会议室', starts_at: now - 60_000, ends_at: now + 7_200_000, code } }],
    },
  });
  if (published.receipts[0].status !== 'applied') throw new Error(`publishing: ${JSON.stringify(published.receipts[0])}`);

  session = (await wd('POST', '/session', {
    capabilities: { alwaysMatch: { browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } },
  })).sessionId;
  const started = Date.now();
  await wd('POST', s('/url'), { url: `${BASE}/` });
  await until('the login form', () => find('#login-phone'));
  await type('#login-phone', MEMBER);
  await type('#login-password', PASSWORD);
  await click('button[type=submit]');
  await textIs('main h1', '组织生活');
  await textIs('[data-testid=offline-ready]', /^已可离线使用/);
  console.log(`WebKit: logged in and 已可离线使用 after ${((Date.now() - started) / 1000).toFixed(1)} s`);

  await until('the meeting in the list', () => text('main').then((t) => t?.includes('夜校安全学习')));
  await clickText('a', '夜校安全学习');
  await textIs('[data-testid=my-status]', '待签到');

  // No signal: the server is gone. The app opens from the phone, and the sign-in waits on it.
  await server.stop();
  await wd('POST', s('/refresh'), {});
  await until('the meeting, reloaded with no server', () => find('#sign-in-code'));
  await type('#sign-in-code', code);
  await clickText('button', '签到');
  await textIs('[data-testid=my-status]', '待上传');
  await wd('POST', s('/refresh'), {});
  await textIs('[data-testid=my-status]', '待上传');
  await until('待上传 1 条', () => text('[data-testid=sync-state]').then((t) => t?.includes('待上传 1 条')));
  console.log('WebKit: signed in with no server; the record survived a reload');

  // Signal returns: one tap sends it, exactly once.
  everyStage();
  await server.start();
  await clickText('button', '立即同步');
  await textIs('[data-testid=my-status]', /^已送达/);
  const pulled = await server.api('/api/v1/sync/pull?cursor=0', { token: await server.login(LEAD) });
  const row = pulled.attendance.find((a) => a.activity_id === activity && a.member_name === '李明');
  if (row?.status !== 'signed_in' || row.code_unverified) throw new Error(`the server's roster row: ${JSON.stringify(row)}`);
  // The phone made its signing key with WebKit's WebCrypto and the server took it.
  if (!server.log.includes('device_key_registered')) throw new Error('the WebKit phone registered no signing key');
  console.log('WebKit: synced, 已送达, on the lead\'s roster as signed in by its code, from a phone that signs — the member\'s offline flow passes');
} finally {
  if (session) await wd('DELETE', `/session/${session}`).catch(() => {});
  await server.stop().catch(() => {});
  for (const c of children.reverse()) c.kill('SIGTERM');
  await sleep(300);
  rmSync(dir, { recursive: true, force: true });
}
