// A first visit on a weak signal, as a member's phone receives it: the release server behind a proxy that
// behaves like slow 4G (150 ms round trips, 1.6 Mbit/s down and 750 kbit/s up, shared by every request,
// the service worker's included), in Chromium at 4× CPU slowdown on a 390 px screen. Reports:
//   - time to a usable login form (the app's own form, drawn by the wasm) and the bytes that took;
//   - time until the app says 已可离线使用 (the service worker holds a member's pages) and the bytes that
//     took, then until it holds every role's pages (stored in the background);
//   - tap → record saved and shown, for 签到 (from the tap's event to the next frame after the status reads
//     待上传), measured in the page with Performance marks;
//   - the bytes an update costs when one page changed (a new release whose only different file is one
//     lazily loaded page).
// Numbers, not assertions: the README keeps them.
//
// usage: node end2end/bench-phone.mjs   (after `make build`; starts its own server and proxy)
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { DemoServer, LEAD, MEMBER, PASSWORD, ROOT } from './server.mjs';

const PROXY_PORT = 3307;
const PHONE = `http://127.0.0.1:${PROXY_PORT}`;
const LINK = { rttMs: 150, downKbps: 1600, upKbps: 750 };
const TAPS = 5;
const dir = mkdtempSync(join(tmpdir(), 'hongyan-bench-phone-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const server = new DemoServer({ port: 3306, db: join(dir, 'bench.db') });
const ORIGIN = server.origin;

// ---- slow 4G in front of the server: every byte the phone receives waits its turn on one link ----
let received = 0;
let linkFreeAt = 0;
const proxy = http.createServer((req, res) => {
  const body = [];
  req.on('data', (c) => body.push(c));
  req.on('end', async () => {
    const sent = Buffer.concat(body);
    await sleep(LINK.rttMs / 2 + (sent.length * 8) / LINK.upKbps);
    const upstream = http.request(`${ORIGIN}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      const parts = [];
      answer.on('data', (c) => parts.push(c));
      answer.on('end', async () => {
        const data = Buffer.concat(parts);
        const headerBytes = Object.entries(answer.headers).reduce((n, [k, v]) => n + k.length + String(v).length + 4, 17);
        const bytes = data.length + headerBytes;
        await sleep(LINK.rttMs / 2);
        const now = Date.now();
        const start = Math.max(now, linkFreeAt);
        linkFreeAt = start + (bytes * 8) / LINK.downKbps;
        await sleep(linkFreeAt - now);
        received += bytes;
        res.writeHead(answer.statusCode, answer.headers);
        res.end(data);
      });
    });
    upstream.on('error', () => { res.writeHead(502); res.end(); });
    upstream.end(sent);
  });
});
await new Promise((r) => proxy.listen(PROXY_PORT, '127.0.0.1', r));

const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
const browser = await chromium.launch({ executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-quic', '--disable-background-networking'] });
try {
  await server.start();
  // Meetings on now, each with its code, for the taps.
  const lead = await server.login(LEAD);
  const meetings = [];
  for (let i = 0; i < TAPS; i++) {
    const now = Date.now();
    const m = { id: crypto.randomUUID(), title: `测速会议${i + 1}`, code: String(100000 + Math.floor(Math.random() * 900000)) };
    await server.api('/api/v1/sync/push', {
      token: lead,
      body: { device_id: 'bench-lead', protocol: 1, mutations: [{ seq: i + 1, id: crypto.randomUUID(), kind: 'create_activity', device_time: now, server_offset_ms: 0,
        payload: { activity_id: m.id, kind: 'theme_day', title: m.title, place: '项目部', starts_at: now - 60_000, ends_at: now + 7_200_000, code: m.code } }] },
    });
    meetings.push(m);
  }

  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true, baseURL: PHONE });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });

  received = 0;
  const t0 = Date.now();
  await page.goto('/');
  await page.locator('#login-phone').waitFor();
  const login = { ms: Date.now() - t0, bytes: received };
  await page.getByTestId('offline-ready').filter({ hasText: '已可离线使用' }).waitFor({ timeout: 120_000 });
  const offline = { ms: Date.now() - t0, bytes: received };
  await page.waitForFunction(() => document.documentElement.dataset.offlineStage === '2', null, { timeout: 180_000 });
  const everyone = { ms: Date.now() - t0, bytes: received };
  console.log(`first visit, slow 4G (150 ms RTT, 1.6 Mbit/s) and 4× CPU, 390 px:`);
  console.log(`  usable login form  ${secs(login.ms)}, ${kib(login.bytes)} on the wire`);
  console.log(`  已可离线使用 (a member's pages stored)  ${secs(offline.ms)}, ${kib(offline.bytes)} on the wire`);
  console.log(`  every role's pages stored (background)  ${secs(everyone.ms)}, ${kib(everyone.bytes)} on the wire`);

  await page.locator('#login-phone').fill(MEMBER);
  await page.locator('#login-password').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: '组织生活' }).waitFor();

  // Tap → saved and shown, in the page: from the tap's event time to the first frame after the status
  // reads 待上传 (the record is in the outbox before the view says so).
  const taps = [];
  for (const m of meetings) {
    await page.goto(`/activity/${m.id}`);
    await page.getByTestId('my-status').filter({ hasText: '待签到' }).waitFor();
    await page.locator('#sign-in-code').fill(m.code);
    await page.evaluate(() => {
      window.__tap = new Promise((done) => {
        const form = document.querySelector('#sign-in-code').form;
        form.addEventListener('submit', (ev) => {
          performance.mark('hongyan:tap', { startTime: ev.timeStamp });
          const status = document.querySelector('[data-testid=my-status]');
          const seen = () => {
            if (!/待上传|已送达/.test(status.textContent)) return false;
            requestAnimationFrame(() => setTimeout(() => {
              performance.mark('hongyan:shown');
              done(performance.measure('hongyan:tap-to-shown', 'hongyan:tap', 'hongyan:shown').duration);
            }));
            return true;
          };
          if (!seen()) new MutationObserver((_, o) => { if (seen()) o.disconnect(); }).observe(status, { childList: true, characterData: true, subtree: true });
        }, { capture: true, once: true });
      });
    });
    await page.getByRole('button', { name: '签到', exact: true }).click();
    taps.push(await page.evaluate(() => window.__tap));
  }
  taps.sort((a, b) => a - b);
  console.log(`  tap 签到 → saved and shown  median ${taps[Math.floor(taps.length / 2)].toFixed(0)} ms, slowest ${taps.at(-1).toFixed(0)} ms (${TAPS} taps, 4× CPU)`);

  // A release that changed one page: the same bundle but for one lazily loaded page's file.
  const next = join(dir, 'site-next');
  cpSync(join(ROOT, 'target/site'), next, { recursive: true });
  const pkg = join(next, 'pkg');
  const page1 = readdirSync(pkg).filter((f) => /^split_.*\.wasm$/.test(f)).sort((a, b) => statSync(join(pkg, a)).size - statSync(join(pkg, b)).size)[0];
  for (const f of [page1, `${page1}.br`, `${page1}.gz`]) appendFileSync(join(pkg, f), Buffer.from([0]));
  appendFileSync(join(next, 'shell.html'), '\n<!-- next release -->\n');
  await server.stop();
  await server.start(next);
  received = 0;
  const t1 = Date.now();
  // The new worker installs (stage 0), takes over as if 更新 were tapped, and stores the later stages —
  // the changed page among them.
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.getRegistration();
    await reg.update();
    const worker = reg.installing ?? reg.waiting;
    if (!worker) throw new Error('no new worker');
    if (worker.state !== 'installed') {
      await new Promise((r) => worker.addEventListener('statechange', () => worker.state === 'installed' && r()));
    }
    await new Promise((r) => {
      navigator.serviceWorker.addEventListener('controllerchange', r, { once: true });
      worker.postMessage('skip-waiting');
    });
    await new Promise((r) => {
      navigator.serviceWorker.addEventListener('message', (e) => e.data?.stage === 2 && r());
      navigator.serviceWorker.controller.postMessage('precache');
    });
  });
  console.log(`  update after a one-page change  ${kib(received)} on the wire (every stage stored) in ${secs(Date.now() - t1)}`);
  await context.close();
} finally {
  await browser.close();
  await server.stop().catch(() => {});
  proxy.close();
  rmSync(dir, { recursive: true, force: true });
}
