// Each person's signing key on this phone: ECDSA P-256 made by the browser (WebCrypto), the private half
// not extractable, kept in IndexedDB (a CryptoKey can be stored there; localStorage holds only text). The
// app registers the public half when the person logs in and signs every record it sends with it
// (src/client/signing.rs), so a record can be carried by anyone but changed by no one.
const DB = 'hongyan-keys';
const STORE = 'keys';
const pairs = new Map();

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run(mode, action) {
  return open().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = action(tx.objectStore(STORE));
    tx.oncomplete = () => { db.close(); resolve(request.result); };
    tx.onerror = () => { db.close(); reject(tx.error); };
    tx.onabort = () => { db.close(); reject(tx.error); };
  }));
}

async function pairOf(user, create) {
  const name = String(user);
  if (pairs.has(name)) return pairs.get(name);
  let pair = await run('readonly', (store) => store.get(name));
  if (!pair && create) {
    pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await run('readwrite', (store) => store.put(pair, name));
  }
  if (pair) pairs.set(name, pair);
  return pair;
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

/** The public half of this person's key on this phone (made now if there is none), in hex. */
export async function publicKey(user) {
  const pair = await pairOf(user, true);
  return hex(await crypto.subtle.exportKey('raw', pair.publicKey));
}

/** `text` signed with this person's key (r‖s in hex), or null when this phone has no key for them. */
export async function sign(user, text) {
  const pair = await pairOf(user, false);
  if (!pair) return null;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, new TextEncoder().encode(text));
  return hex(signature);
}

/** Forgets this person's key on this phone (退出并清除本机数据). */
export async function forget(user) {
  pairs.delete(String(user));
  await run('readwrite', (store) => store.delete(String(user)));
}
