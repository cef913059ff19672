// Prints the bytes a phone receives on first load — the shell, boot script, JS glue, wasm and CSS — as the
// running release server sends them: asked with `Accept-Encoding: br` (what phones send over HTTPS) and with
// gzip only, counted as they cross the wire (compressed bodies, not files on disk). Fails when the brotli
// first load grows past LIMIT_KIB, when a file comes uncompressed, or when this build's files are not
// cached as immutable.
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
// Delivery (issue 16): until then the server sent every file uncompressed (the wasm 1.17 MB) and
// `no-cache`, so this report's brotli sizes, measured from files on disk, were not what phones received.
// Now the build makes brotli and gzip copies (`--precompress`) and the server picks one by Accept-Encoding;
// the bundle is loaded from `/v/<build>/`, cached for a year. This report now fetches the first load from
// the running server: 363.1 KiB with brotli (the uncompressed shell and the build's own brotli settings
// count 1.3 KiB more than the files did compressed here), 548.2 KiB with gzip only, where a phone received
// 1,297 KiB before. Ratchet: 364. A page of an older build that is sent a newer build's file now reloads
// rather than mix them (boot.js): 363.5, and 363.6 on a fresh clone. Paths built into the wasm differ by
// checkout, so the ratchet keeps a kilobyte of room: 365.
// A phone on a weak signal (issue 16, second part): tables that scroll in their own box, 长辈模式, the
// 已可离线使用 note and the shell's intro line took it to 364.0; then the study ledger and 我的 became lazily
// loaded pages (a member's first load is log in, the activities, signing in and sync): 332.1 KiB, the
// lazily loaded pages 290 files and 464.8 KiB. Ratchet: 334. HTTP through the browser's own `fetch`
// instead of reqwest: 278.5 (fresh clone). Ratchet: 280.
// The client's shape (issue 17: one loader for online-only reads, the forms' records made in `outbox`,
// <Select>, pages by domain): 278.9, the lazily loaded pages 494 → 490 KiB. Measured on the way:
// small changes (the 请假 类别 select written by hand, 组织管理's 保存 disabled while saving, two fields on
// PullResponse for the phone's half of a restore) each moved ~60 KB of lazily loaded pages into the main
// module: 299.2, 299.6 and 300.4 KiB. The cause was found by running wasm-split's own analysis with
// names (the wasm-release profile with `strip = false`): not the code at all, but the read-only data.
// wasm-split 0.2.3 lays each output module's share of a data segment out again, each share aligned, and
// when the result comes out longer than the input segment (here by 45 bytes) it puts the *whole*
// segment, every page's text, into the main module ("Overlong segment 0 … putting it in main module",
// a warning cargo-leptos does not show; the data section of the main module went from 69 to 132 KB).
// `SPLIT_SLACK` in client.rs gives the input segment 8 KiB that nothing refers to, so no layout of what
// is used can outgrow it. With it, the phone's half of a restore landed: 280.0 KiB (its own code: the
// history id, resync, sending delivered records again). Then two cuts that the same names pointed to:
// thirteen unit enums read through one lookup by name instead of a derived visitor each (−0.6), and the
// outbox entry's state read as the plain struct it is stored as instead of through serde's internally
// tagged enum, whose value-buffering machinery was in the first load for that one type (−5.7): 273.7
// KiB (the lazily loaded pages 490.1). Ratchet: 275.
// Measured what a floor would be (a throwaway crate with the same profile and wasm-opt, 2026-12-06):
// Leptos 0.8 alone with one button, 27.4 KiB; with a login form that posts JSON, a list read from JSON and
// a record kept in localStorage, 74.4 KiB; the same behind leptos_router's two routes, 108.5 KiB. So
// the router was a third of that floor, and in this app its nested matching, one copy per route, took
// ~190 KB of the main module before wasm-opt. Our 29 flat paths are now matched by a table and plain
// functions (`route.rs`, `client/router.rs`), and the lazily loaded pages are `#[leptos::lazy]`
// functions: 273.9 → 229.2 KiB. Ratchet: 231.
// Tried and measured, not kept: reading every JSON answer and stored value through a `serde_json::Value`
// (one text parser, each type only walking the tree) made the first load larger, 231.5 KiB: a type's
// reader over a `Value` is no smaller than over the text, and the tree's own code comes on top.
// Acting on the reviews of the router: 正在打开… while a lazily loaded page's code arrives (a `<Suspense>`
// per page cost 4.4 KiB, 23 copies of it; one boxed future and a `<Show>`, 2.7), a 签到 link scanned while
// signed out signing in after login, crafted links refused: 231.9 KiB. Ratchet: 233.
//
// usage: node end2end/size-report.mjs http://127.0.0.1:3302
import { request } from 'node:http';

const TARGET_KIB = 100;
const LIMIT_KIB = 233;
const base = process.argv[2] ?? 'http://127.0.0.1:3302';

/** GET `path` asking for `encoding`: the body's bytes as sent (not decoded) and the headers. */
function fetchRaw(path, encoding) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { headers: { 'accept-encoding': encoding } }, (res) => {
      let bytes = 0;
      const chunks = [];
      res.on('data', (c) => { bytes += c.length; chunks.push(c); });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, bytes, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

// The shell names this build's prefix; the service worker lists the bundle.
const shell = await fetchRaw('/', 'identity');
const html = shell.body.toString('utf8');
const prefix = html.match(/src="(\/v\/[^/]+)\/boot\.js"/)?.[1];
if (!prefix) throw new Error('the shell does not load /v/<build>/boot.js');
const sw = (await fetchRaw('/sw.js', 'identity')).body.toString('utf8');
const bundle = JSON.parse(sw.match(/JSON\.parse\('(.*)'\)/)[1]).map(([path]) => path);
// The first load: boot.js, the app's JS and wasm and CSS, the lazily loaded pages' loader (imported by the
// app's JS) and wasm-bindgen's snippets (the signing key module). The chunks come when a page is opened.
const first = bundle.filter((p) => p === '/boot.js' || /^\/pkg\/(hongyan\.(js|wasm|css)|__wasm_split.*\.js|snippets\/.*\.js)$/.test(p));
const lazy = bundle.filter((p) => !first.includes(p));

const problems = [];
async function measure(encoding) {
  const rows = [['/', await fetchRaw('/', encoding)]];
  for (const path of first) rows.push([path, await fetchRaw(`${prefix}${path}`, encoding)]);
  let total = 0;
  for (const [path, res] of rows) {
    if (res.status !== 200) problems.push(`${path}: ${res.status}`);
    total += res.bytes;
    const sent = res.headers['content-encoding'] ?? 'none';
    // Every file of the bundle must come compressed. (Not the shell: 1.4 KiB made per build in memory,
    // whose 0.8 KiB of savings would cost a compressor in the server.)
    if (encoding !== 'identity' && path !== '/' && sent !== encoding) problems.push(`${path}: sent ${sent} to ${encoding}`);
    if (path !== '/' && !/immutable/.test(res.headers['cache-control'] ?? '')) problems.push(`${path}: cache-control ${res.headers['cache-control']}`);
  }
  return { rows, total };
}

const br = await measure('br');
const gzip = await measure('gzip');
const plain = await measure('identity');
console.log('file                                  brotli KiB   gzip KiB   none KiB');
br.rows.forEach(([path, res], i) => {
  const kib = (r) => (r.bytes / 1024).toFixed(1).padStart(10);
  console.log(`${path.padEnd(36)} ${kib(res)} ${kib(gzip.rows[i][1])} ${kib(plain.rows[i][1])}`);
});
const kib = br.total / 1024;
console.log(`${'total'.padEnd(36)} ${kib.toFixed(1).padStart(10)} ${(gzip.total / 1024).toFixed(1).padStart(10)} ${(plain.total / 1024).toFixed(1).padStart(10)}`);
console.log(`first load on the wire: ${kib.toFixed(1)} KiB with brotli, ${(gzip.total / 1024).toFixed(1)} KiB with gzip only (target ≤ ${TARGET_KIB} KiB, limit ${LIMIT_KIB} KiB)`);
let lazyBytes = 0;
for (const path of lazy) lazyBytes += (await fetchRaw(`${prefix}${path}`, 'br')).bytes;
console.log(`lazily loaded pages: ${lazy.length} files, ${(lazyBytes / 1024).toFixed(1)} KiB with brotli (not in the first load)`);
for (const p of problems) console.error(p);
if (problems.length > 0) process.exit(1);
if (kib > LIMIT_KIB) {
  console.error(`over the ${LIMIT_KIB} KiB limit`);
  process.exit(1);
}
