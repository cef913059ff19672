// Starts the wasm app, registers the service worker, and offers a new version when one is ready.
//
// Kept as a file (not inline) so the CSP needs no 'unsafe-inline'. This file is loaded from its build's
// prefix (`/v/<build>/boot.js`), and the bundle by URLs relative to it: the lazily loaded pages' loader
// (pkg/__wasm_split.*.js) imports `./hongyan.js` relative to itself too, and a module is one module only
// under one URL. A build's URLs never change meaning, so the browser keeps them; the shell that names the
// build is checked on every load.
// A running page whose build the server has since replaced must not mix in the new build's files (a lazily
// loaded page's chunk fetched after the release would not fit the running wasm): the server names the
// build of every bundle file it sends, and a page that receives another build's file reloads, once, into
// the new build. Records are in the phone's storage, not in the page, so nothing is lost.
const BUILD = document.querySelector('meta[name=hongyan-build]')?.content;
// 长辈模式 (set in 我的, kept by `store::set_elder_mode`) applies before the app draws anything.
try {
  if (localStorage.getItem('hongyan.elder') === 'true') document.documentElement.classList.add('elder');
} catch {
  // storage blocked: the normal size
}
const plainFetch = window.fetch.bind(window);
let reloading = false;
window.fetch = async (...args) => {
  const response = await plainFetch(...args);
  const served = response.headers.get('x-hongyan-build');
  if (BUILD && served && served !== BUILD) {
    const key = `hongyan.reloaded-for.${served}`;
    if (!reloading && !sessionStorage.getItem(key)) {
      sessionStorage.setItem(key, '1');
      reloading = true;
      location.reload();
    }
    // The page is going: nothing of the other build runs meanwhile (a lazy page fetches several files).
    if (reloading) return new Promise(() => {});
    throw new Error(`build ${served} is not this page's ${BUILD}`);
  }
  return response;
};

/** Puts `text` in place of the app, with a way out to 首页 (a fresh start of the app). */
const fatal = (text) => {
  const app = document.getElementById('app');
  app.replaceChildren();
  const p = document.createElement('p');
  p.className = 'page fatal';
  p.setAttribute('role', 'alert');
  p.textContent = text;
  const home = document.createElement('a');
  home.href = '/';
  home.textContent = '返回首页';
  // A full load, not the app's own link handling: the app is what stopped.
  home.addEventListener('click', (e) => {
    e.preventDefault();
    e.stopPropagation();
    location.assign('/');
  });
  p.append(' ', home);
  app.append(p);
};

try {
  const { default: init } = await import('./pkg/hongyan.js');
  await init({ module_or_path: new URL('./pkg/hongyan.wasm', import.meta.url) });
} catch (err) {
  console.error(err);
  fatal('应用加载失败，请检查网络后刷新页面。已保存在手机上的记录不会丢失。');
}

// The wasm stops for good on a panic (a page's code that could not be fetched, a bug): say so and offer a
// fresh start, rather than leave a page that no longer answers.
const stopped = (err) => {
  if (err instanceof WebAssembly.RuntimeError) fatal('应用出错已停止。已保存在手机上的记录不会丢失，请返回首页重新打开。');
};
window.addEventListener('error', (e) => stopped(e.error));
window.addEventListener('unhandledrejection', (e) => stopped(e.reason));

if ('serviceWorker' in navigator) {
  let updateRequested = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (updateRequested) location.reload();
  });

  // A new version waits until the person taps: reloading under someone typing a 签到码 would lose it.
  const offer = (worker) => {
    if (document.querySelector('.update-banner')) return;
    const bar = document.createElement('div');
    bar.className = 'update-banner';
    bar.setAttribute('role', 'status');
    const text = document.createElement('span');
    text.textContent = '有新版本可用，未上传的记录会保留';
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = '更新';
    button.addEventListener('click', () => {
      updateRequested = true;
      worker.postMessage('skip-waiting');
    });
    bar.append(text, button);
    document.body.append(bar);
  };

  navigator.serviceWorker.register('/sw.js', { scope: '/' }).then((reg) => {
    if (reg.waiting && navigator.serviceWorker.controller) offer(reg.waiting);
    reg.addEventListener('updatefound', () => {
      const worker = reg.installing;
      worker?.addEventListener('statechange', () => {
        if (worker.state === 'installed' && navigator.serviceWorker.controller) offer(worker);
      });
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') reg.update().catch(() => {});
    });
  }).catch((err) => {
    console.warn('service worker not registered', err);
    window.dispatchEvent(new Event('hongyan-offline-refused'));
  });

  // The worker stores what a member needs before it takes over, then the rest by stage (see sw.js); each
  // stored stage is marked on the page, where the app reads it against the person's role (已可离线使用).
  navigator.serviceWorker.addEventListener('message', (event) => {
    // (A newer build's worker, activated from another tab, stores its own files, not this page's.)
    if (event.data?.type !== 'precached' || event.data.build !== BUILD) return;
    const stage = Number(event.data.stage);
    if (!(Number(document.documentElement.dataset.offlineStage) >= stage)) {
      document.documentElement.dataset.offlineStage = String(stage);
      window.dispatchEvent(new Event('hongyan-offline'));
    }
  });
  // Asked again whenever the page is shown or the signal returns: a stage cut off by a lost signal resumes.
  const precache = () => navigator.serviceWorker.ready.then((reg) => reg.active?.postMessage('precache'));
  precache();
  window.addEventListener('online', precache);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') precache();
  });
}
