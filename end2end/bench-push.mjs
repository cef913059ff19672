// Push throughput against a running server: the demo lead publishes BATCHES × 200 activities (each insert
// also freezes a 5-member roster and writes an audit row), then pushes the same batches again (all
// duplicates); then a member pushes BATCHES × 200 study records (each checked against the district's rules).
// Every commit is durable (WAL, synchronous=FULL). Bounded in count; loopback only.
//
// usage: node end2end/bench-push.mjs http://127.0.0.1:3000 [batches]
import { randomUUID } from 'node:crypto';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const batches = Number(process.argv[3] ?? 20);
async function login(phone) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone, password: 'hongyan-demo' }),
  });
  if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

const device = `bench-${randomUUID()}`;
const now = Date.now();
const today = new Date(now + 8 * 3_600_000).toISOString().slice(0, 10);
let seq = 0;
// BATCHES bodies of 200 records each, `payload(n)` making the n-th record's body.
const batchesOf = (kind, payload) => Array.from({ length: batches }, () => JSON.stringify({
  device_id: device,
  protocol: 1,
  mutations: Array.from({ length: 200 }, () => ({
    seq: ++seq,
    id: randomUUID(),
    kind,
    payload: payload(seq),
    device_time: now,
    server_offset_ms: 0,
  })),
}));

async function run(label, token, bodies) {
  const counts = {};
  const started = performance.now();
  for (const body of bodies) {
    const res = await fetch(`${base}/api/v1/sync/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body,
    });
    if (!res.ok) throw new Error(`push: ${res.status} ${await res.text()}`);
    for (const r of (await res.json()).receipts) counts[r.status] = (counts[r.status] ?? 0) + 1;
  }
  const seconds = (performance.now() - started) / 1000;
  const n = batches * 200;
  console.log(`${label}: ${n} mutations in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)}/s ${JSON.stringify(counts)}`);
}

const publications = batchesOf('create_activity', (n) => ({
  activity_id: randomUUID(), kind: 'group_meeting', title: `党小组会 ${n}`, place: '项目部',
  starts_at: now, ends_at: now + 3_600_000, code: '123456',
}));
const lead = await login('13800000001');
await run('new       ', lead, publications);
await run('duplicates', lead, publications);
const study = batchesOf('save_study', (n) => ({
  study_id: randomUUID(), kind: 'self_study', title: `在职自学 ${n}`, starts_on: today, ends_on: today,
  hours: 2, submit: true,
}));
await run('study     ', await login('13800000002'), study);
