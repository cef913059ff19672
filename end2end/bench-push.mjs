// Push throughput against a running server: the demo lead publishes BATCHES × 200 activities (each insert
// also freezes a 5-member roster and writes an audit row), then pushes the same batches again (all
// duplicates). Every commit is durable (WAL, synchronous=FULL). Bounded in count; loopback only.
//
// usage: node end2end/bench-push.mjs http://127.0.0.1:3000 [batches]
import { randomUUID } from 'node:crypto';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const batches = Number(process.argv[3] ?? 20);
const login = await fetch(`${base}/api/v1/auth/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ phone: '13800000001', password: 'hongyan-demo' }),
});
if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
const { token } = await login.json();
const device = `bench-${randomUUID()}`;
const now = Date.now();
let seq = 0;
const bodies = Array.from({ length: batches }, () => JSON.stringify({
  device_id: device,
  protocol: 1,
  mutations: Array.from({ length: 200 }, () => ({
    seq: ++seq,
    id: randomUUID(),
    kind: 'create_activity',
    payload: {
      activity_id: randomUUID(),
      kind: 'group_meeting',
      title: `党小组会 ${seq}`,
      place: '项目部',
      starts_at: now,
      ends_at: now + 3_600_000,
      code: '123456',
    },
    device_time: now,
    server_offset_ms: 0,
  })),
}));

async function run(label) {
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

await run('new       ');
await run('duplicates');
