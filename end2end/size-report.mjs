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
// rules form ~65 KiB, the photo shrinking (canvas) ~4 KiB. Then eight pages most people never open (the
// code screen, record, edit, 支部管理, 学时认定, 完成情况, 学时要求设置, 同步状态) became lazily loaded chunks
// (`cargo leptos build --split`, precached by the service worker): first load 360 KiB, the chunks 104 KiB.
// One lazy page alone did not pay (−9.5 KiB moved, +11 KiB of loader); eight do. Then the lead's view
// of an activity (code, QR, roster, decisions, closing) and the publishing form, as `#[lazy]` functions
// inside member pages: first load 330 KiB, chunks 152 KiB. What is left is mostly what every member
// needs (Leptos' reactive core and router, serde, reqwest, the member's pages). The admins' audit log (a
// lazy page) added 2 KiB of route and link to the first load. Organisation and accounts (issue 6) took it
// from 332 to 347 KiB: 投诉建议 and consents travel through the outbox, so their records and the cached
// feedback are read by every phone (new outbox kinds, the cache's feedback and its overlay), plus the routes
// and links of nine lazy pages (导入名册, 成员与邀请, 成员资料, 加入红雁, 投诉建议, 我的信息, 统计, 组织管理);
// the pages themselves are chunks (164 → 327 KiB in all). Measured on the way: a second <Routes> for the signed-out
// /join page cost 5 KiB (now one Routes, the login page shown unless the path is /join); dropping the lazy
// routes altogether made the first load *larger* (382 KiB: wasm-split then keeps the code they share in
// the main module). 党委管理员 and 党小组 took it from 346.9 to 348.8 KiB: the lead's publishing form (in the
// first load) chooses the 党小组 of a 党小组会 from the signed-in account, lists name the group, and the role
// and organisation forms grew by one each. A fresh clone measured 348.9 KiB — paths built into the wasm
// differ by checkout — so the ratchet leaves a little room: 350.
// Records nobody can fake (issue 14) took it from 348.9 to 358.9 KiB: signing every record in the browser
// (the WebCrypto key module, a wasm-bindgen snippet now counted here, and the signing in the sync loop),
// login notices and the device id, logging out that clears the cache, the codes' keys forgotten after a
// meeting, sign-ins' proof and lateness on the wire, two-step login at the login form; the new pages
// (修改密码, 两步验证, 停用账号, 我的信息's additions) are chunks. Ratchet: 360.)
// A district of 100,000 members (issue 15) took it to 360.3 KiB (fresh clone): the phone lets go of what its
// role no longer syncs (an admin's copy of the district), the list says when an older activity's roster
// waits on the server, and 同步状态 says what the phone holds; the paged lists and the older roster's fetch
// are chunks. Ratchet: 361. Acting on the reviews of that issue (a search that finds nobody says so, the
// code in two groups, a sign-in no code proved said as such, an admin's home pointing to 统计): 361.8
// (fresh clone). Ratchet: 362.
//
// usage: node end2end/size-report.mjs target/site
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';

const TARGET_KIB = 100;
const LIMIT_KIB = 362;
const site = process.argv[2] ?? 'target/site';
// The lazily loaded pages' loader is imported by the app's JS, so it is part of the first load; their wasm
// chunks are fetched when a page is first opened (and precached by the service worker in the background).
const pkg = readdirSync(join(site, 'pkg'));
const loader = pkg.filter((f) => f.startsWith('__wasm_split') && f.endsWith('.js')).map((f) => `pkg/${f}`);
// wasm-bindgen's JS snippets (the signing key module) are imported by the app's JS: first load too.
const snippets = [];
const walk = (dir) => {
  for (const entry of readdirSync(join(site, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(path);
    else if (entry.name.endsWith('.js')) snippets.push(path);
  }
};
if (pkg.includes('snippets')) walk('pkg/snippets');
const files = ['shell.html', 'boot.js', 'pkg/hongyan.js', ...loader, ...snippets, 'pkg/hongyan.wasm', 'pkg/hongyan.css'];
const lazy = pkg.filter((f) => f.endsWith('.wasm') && f !== 'hongyan.wasm').map((f) => `pkg/${f}`);
const brotli = (file) => brotliCompressSync(readFileSync(join(site, file)), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

let raw = 0;
let compressed = 0;
console.log('file                      raw KiB   brotli KiB');
for (const file of files) {
  const bytes = readFileSync(join(site, file));
  const br = brotli(file);
  raw += bytes.length;
  compressed += br;
  console.log(`${file.padEnd(24)} ${(bytes.length / 1024).toFixed(1).padStart(8)} ${(br / 1024).toFixed(1).padStart(11)}`);
}
const kib = compressed / 1024;
console.log(`${'total'.padEnd(24)} ${(raw / 1024).toFixed(1).padStart(8)} ${kib.toFixed(1).padStart(11)}`);
console.log(`first load: ${kib.toFixed(1)} KiB brotli (target ≤ ${TARGET_KIB} KiB, limit ${LIMIT_KIB} KiB)`);
const lazyKib = lazy.reduce((sum, f) => sum + brotli(f), 0) / 1024;
console.log(`lazily loaded pages: ${lazy.length} chunks, ${lazyKib.toFixed(1)} KiB brotli (not in the first load)`);
if (kib > LIMIT_KIB) {
  console.error(`over the ${LIMIT_KIB} KiB limit`);
  process.exit(1);
}
