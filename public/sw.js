// The service worker serves the app, and only the app: it never touches /api (the page drives sync).
//
// {{BUILD}} is replaced by the server with a hash of this build, so every build is a new worker with its
// own precache. A new worker waits until the page asks it to take over (the person tapped 更新).
const BUILD = '{{BUILD}}';
const CACHE = `hongyan-${BUILD}`;
const SHELL = '/';
// Every file of the built bundle (JS, wasm, CSS and the lazily loaded pages' chunks), written in by the
// server: a page opened for the first time offline must find its code here.
const BUNDLE = JSON.parse('{{BUNDLE}}');
const PRECACHE = [
  SHELL,
  `/boot.js?v=${BUILD}`,
  ...BUNDLE,
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
  '/icons/apple-touch-icon.png',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })))),
  );
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
