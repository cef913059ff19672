// Lighthouse's mobile preset (a mid-range phone on slow 4G: 150 ms round trips, 1.6 Mbit/s, 4× CPU
// slowdown, simulated) against the running release server, in Debian's Chromium. Fails under performance
// 90, accessibility 100 or best practices 100, and prints what the README reports: the scores, first and
// largest contentful paint, total blocking time and the bytes of the first load.
//
// The aim is 100 on every run; 90 leaves room for a busy machine. A run's performance score moves with the
// machine's load (the simulation scales the CPU time it observes), so a run under 90 is repeated, up to
// three runs, and the check passes if one of them meets every bar.
//
// usage: node end2end/lighthouse.mjs http://127.0.0.1:3304/
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const url = process.argv[2] ?? 'http://127.0.0.1:3304/';
const BARS = { performance: 90, accessibility: 100, 'best-practices': 100 };
const lighthouse = join(dirname(fileURLToPath(import.meta.url)), 'node_modules', '.bin', 'lighthouse');

function run() {
  const dir = mkdtempSync(join(tmpdir(), 'hongyan-lighthouse-'));
  const out = join(dir, 'report.json');
  try {
    execFileSync(lighthouse, [
      url,
      '--only-categories=performance,accessibility,best-practices',
      '--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update',
      '--output=json', `--output-path=${out}`, '--quiet',
    ], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, CHROME_PATH: process.env.CHROME_PATH ?? '/usr/bin/chromium' } });
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let passed = false;
for (let attempt = 1; attempt <= 3 && !passed; attempt++) {
  const report = run();
  const score = (id) => Math.round(report.categories[id].score * 100);
  const audit = (id) => report.audits[id];
  const failing = Object.entries(BARS).filter(([id, bar]) => score(id) < bar);
  console.log(
    `Lighthouse (mobile, slow 4G, 4× CPU), run ${attempt}: performance ${score('performance')}, accessibility ${score('accessibility')}, ` +
    `best practices ${score('best-practices')}; FCP ${audit('first-contentful-paint').displayValue}, ` +
    `LCP ${audit('largest-contentful-paint').displayValue}, TBT ${audit('total-blocking-time').displayValue}, ` +
    `CLS ${audit('cumulative-layout-shift').displayValue}, ${(audit('total-byte-weight').numericValue / 1024).toFixed(1)} KiB`,
  );
  for (const [id] of failing) {
    const below = report.categories[id].auditRefs
      .map((r) => audit(r.id))
      .filter((a) => a.score !== null && a.score < 1 && !['informative', 'notApplicable', 'manual'].includes(a.scoreDisplayMode));
    console.log(`  ${id} under ${BARS[id]}: ${below.map((a) => `${a.id} ${a.displayValue ?? a.score}`).join('; ')}`);
  }
  passed = failing.length === 0;
}
if (!passed) {
  console.error('Lighthouse: under the bar in three runs (performance 90, accessibility 100, best practices 100)');
  process.exit(1);
}
