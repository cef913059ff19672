// The service worker serves the app, and only the app: it never touches /api (the page drives sync).
//
// {{BUILD}} is replaced by the server with a hash of this build, so every build is a new worker with its
// own precache. A new worker waits until the page asks it to take over (the person tapped 更新).
const BUILD = '{{BUILD}}';
const CACHE = `hongyan-${BUILD}`;
const SHELL = '/';
// The shell loads this build's bundle from here (see boot.js).
const V = `/v/${BUILD}`;
// Every file of the built bundle (boot.js, the JS, wasm and CSS, the lazily loaded pages' chunks) with a
// hash of its bytes and its stage, written in by the server: a page opened for the first time offline must
// find its code here, and a file whose hash an older precache already holds is copied from there, not
// downloaded again. Stage 0 is what a member needs (stored before this worker takes over), 1 the lead's
// pages, 2 everyone else's: stored afterwards, in the background, each stage announced to the pages.
const BUNDLE = JSON.parse('{{BUNDLE}}');
const STAGES = 3;
const HASH = 'x-hongyan-hash';
const EXTRAS = [
  SHELL,
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
  '/icons/apple-touch-icon.png',
];

// Files the older precaches hold, by path and hash.
async function kept() {
  const found = new Map();
  for (const name of await caches.keys()) {
    if (!name.startsWith('hongyan-') || name === CACHE) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const hash = response?.headers.get(HASH);
      const path = new URL(request.url).pathname.replace(/^\/v\/[^/]+/, '');
      if (hash) found.set(`${path}#${hash}`, response);
    }
  }
  return found;
}

// Stores the files of `stage` that this build's cache does not hold yet, copying from `old` (what
// `kept()` found) whatever an older build already stored.
async function precache(stage, old) {
  const cache = await caches.open(CACHE);
  await Promise.all(BUNDLE.filter(([, , s]) => s === stage).map(async ([path, hash]) => {
    const url = `${V}${path}`;
    if (await cache.match(url)) return;
    // (This build's URLs never change meaning: what the page already downloaded comes from the browser's
    // cache, not downloaded twice.)
    const kept = old.get(`${path}#${hash}`);
    const response = kept ?? await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    // A server that has since moved to a newer build answers this build's URL with its own file (marked
    // as its build, see site.rs): never stored as this build's. This worker is outdated; the next one
    // stores its own.
    if (!kept && response.headers.get('x-hongyan-build') !== BUILD) throw new Error(`${url}: another build`);
    // Kept as the bytes the page reads (the browser has already undone any brotli or gzip), as this
    // build's file (the page checks, see boot.js), with the hash that lets the next build keep it.
    const headers = new Headers(response.headers);
    headers.delete('content-encoding');
    headers.delete('content-length');
    headers.set('x-hongyan-build', BUILD);
    headers.set(HASH, hash);
    await cache.put(url, new Response(await response.blob(), { status: response.status, statusText: response.statusText, headers }));
  }));
}

// The shell, manifest and icons (stored with stage 0; put back if they went missing).
async function precacheExtras() {
  const cache = await caches.open(CACHE);
  for (const url of EXTRAS) {
    if (!(await cache.match(url))) await cache.add(new Request(url, { cache: 'reload' }));
  }
}

// The later stages, once, however many pages ask: each stored stage is announced to every page of this
// build (boot.js marks it on the page, where the app reads it against the person's role). Then the older
// builds' caches, kept until now to copy from, go — only while no newer worker is installing or waiting,
// whose cache is not older (it deletes the rest itself when its own stages are stored).
let rest;
function precacheRest() {
  rest ??= (async () => {
    const old = await kept();
    for (let stage = 0; stage < STAGES; stage++) {
      await precache(stage, old);
      if (stage === 0) await precacheExtras();
      for (const client of await self.clients.matchAll({ includeUncontrolled: true, type: 'window' })) {
        client.postMessage({ type: 'precached', stage, build: BUILD });
      }
    }
    // (Pages ask the active worker: boot.js posts to `registration.active`.)
    if (self.registration.installing || self.registration.waiting) return;
    const keys = await caches.keys();
    await Promise.all(keys.filter((k) => k.startsWith('hongyan-') && k !== CACHE).map((k) => caches.delete(k)));
  })().catch((err) => {
    rest = undefined; // no signal: the next page that opens asks again
    throw err;
  });
  return rest;
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    await precache(0, await kept());
    await precacheExtras();
    // (An older worker that checked for this one a moment before it began would have removed the cache:
    // the install then fails, and the browser tries again later.)
    if (!(await caches.has(CACHE))) throw new Error('the cache went during install');
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
  // (A page opened after the stages were stored is told so too.)
  if (event.data === 'precache') {
    event.waitUntil(precacheRest().then(() => event.source?.postMessage({ type: 'precached', stage: STAGES - 1, build: BUILD })));
  }
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) {
    return; // network only
  }
  if (request.mode === 'navigate') {
    // Every in-app route is the same shell; the cached one matches this worker's bundle.
    event.respondWith(caches.match(SHELL, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
    return;
  }
  event.respondWith(caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request)));
});
