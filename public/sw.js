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
// hash of its bytes, written in by the server: a page opened for the first time offline must find its code
// here, and a file whose hash an older precache already holds is copied from there, not downloaded again.
const BUNDLE = JSON.parse('{{BUNDLE}}');
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

async function precache() {
  const cache = await caches.open(CACHE);
  const old = await kept();
  await Promise.all(BUNDLE.map(async ([path, hash]) => {
    const url = `${V}${path}`;
    // (This build's URLs never change meaning: what the page already downloaded comes from the browser's
    // cache, not downloaded twice.)
    const response = old.get(`${path}#${hash}`) ?? await fetch(url);
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    // Kept as the bytes the page reads (the browser has already undone any brotli or gzip), as this
    // build's file (the page checks, see boot.js), with the hash that lets the next build keep it.
    const headers = new Headers(response.headers);
    headers.delete('content-encoding');
    headers.delete('content-length');
    headers.set('x-hongyan-build', BUILD);
    headers.set(HASH, hash);
    await cache.put(url, new Response(await response.blob(), { status: response.status, statusText: response.statusText, headers }));
  }));
  await cache.addAll(EXTRAS.map((url) => new Request(url, { cache: 'reload' })));
}

self.addEventListener('install', (event) => {
  event.waitUntil(precache());
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('hongyan-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('message', (event) => {
  if (event.data === 'skip-waiting') self.skipWaiting();
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
