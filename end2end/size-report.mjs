// Prints the brotli-compressed size of what a phone downloads on first load: the shell, boot script,
// JS glue, wasm and CSS of the release build. Fails when it grows past LIMIT_KIB.
//
// TARGET_KIB is where the product wants to be. LIMIT_KIB is the ratchet: today's size plus a little, so
// growth is caught; lower it whenever the bundle shrinks. (Measured 2026-11-28: 250 KiB, of which the wasm
// is 241 KiB — Leptos' reactive and view code about half, serde_json about a sixth, reqwest/http/url a tenth.
// Organisational life (issue 4) took it from 264 to 337 KiB: the lead's roster decisions, closing form,
// printable record, export, code screen, request forms, location sign-in and their views ~60 KiB, the QR
// encoder and HMAC-SHA-256 ~7 KiB. The lead-only pages are the obvious candidates for a split bundle.
// The study ledger (issue 5) took it to 408 KiB: progress, records form, reviewers' queue, overview table,
// rules form ~65 KiB, the photo shrinking (canvas) ~4 KiB. A spike with cargo-leptos `--split` and one
// lazy route moved 9.5 KiB out but added ~11 KiB of loader to the first load: splitting pays only for
// many routes at once, and the service worker must then precache every chunk.)
//
// usage: node end2end/size-report.mjs target/site
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const TARGET_KIB = 100;
const LIMIT_KIB = 409;
const site = process.argv[2] ?? 'target/site';
const files = ['shell.html', 'boot.js', 'pkg/hongyan.js', 'pkg/hongyan.wasm', 'pkg/hongyan.css'];

let raw = 0;
let compressed = 0;
console.log('file                      raw KiB   brotli KiB');
for (const file of files) {
  const bytes = readFileSync(join(site, file));
  const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  raw += bytes.length;
  compressed += br;
  console.log(`${file.padEnd(24)} ${(bytes.length / 1024).toFixed(1).padStart(8)} ${(br / 1024).toFixed(1).padStart(11)}`);
}
const kib = compressed / 1024;
console.log(`${'total'.padEnd(24)} ${(raw / 1024).toFixed(1).padStart(8)} ${kib.toFixed(1).padStart(11)}`);
console.log(`first load: ${kib.toFixed(1)} KiB brotli (target ≤ ${TARGET_KIB} KiB, limit ${LIMIT_KIB} KiB)`);
if (kib > LIMIT_KIB) {
  console.error(`over the ${LIMIT_KIB} KiB limit`);
  process.exit(1);
}
