// Reads at a district's size (`make bench-scale`), against a running release server whose database is
// the scale fixture (`hongyan seed-scale`): p50 and p99 of each read as a phone or an admin's browser
// makes it, over loopback, one at a time, after one untimed run. Prints a Markdown table for the README.
//
// usage: node end2end/bench-scale.mjs http://127.0.0.1:3301 [runs]
const base = process.argv[2] ?? 'http://127.0.0.1:3301';
const runs = Number(process.argv[3] ?? 30);
const password = 'hongyan-scale';
// The fixture's sample accounts (printed by `hongyan seed-scale`).
const phones = { member: '13900002000', lead: '13900000000', committee: '13700000001', admin: '13700000000' };

async function login(phone) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone, password, device_id: `bench-scale-${phone}` }),
  });
  if (!res.ok) throw new Error(`login ${phone}: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

async function get(token, path) {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body}`);
  return body;
}

// A first sync from cursor 0, page after page (at most `maxPages`): rows, pages, whether more remain.
async function fullPull(token, maxPages = 1000) {
  let cursor = 0, rows = 0, pages = 0, more = true;
  while (more && pages < maxPages) {
    const page = JSON.parse(await get(token, `/api/v1/sync/pull?cursor=${cursor}`));
    rows += page.activities.length + page.attendance.length + page.study.length + page.feedback.length;
    cursor = page.cursor;
    more = page.more;
    pages += 1;
  }
  return { rows, pages, more };
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const table = [];
async function measure(label, n, read) {
  // One untimed run first: the server's page cache warms as it would under steady use.
  let what = await read();
  const times = [];
  for (let i = 0; i < n; i += 1) {
    const started = performance.now();
    what = await read();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const row = { label, n, p50: quantile(times, 0.5), p99: quantile(times, 0.99), what };
  table.push(row);
  console.error(`${label}: p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms (${what})`);
}

const token = {};
for (const [role, phone] of Object.entries(phones)) token[role] = await login(phone);
const describe = (p) => `${p.rows} rows, ${p.pages} page${p.pages > 1 ? 's' : ''}${p.more ? ', more remain' : ''}`;

await measure("a member's first full pull", runs, async () => describe(await fullPull(token.member)));
await measure("a lead's first full pull", Math.max(3, Math.round(runs / 3)), async () => describe(await fullPull(token.lead)));
// One activity's roster: the register of the lead's latest closed meeting.
const leadPage = JSON.parse(await get(token.lead, '/api/v1/sync/pull?cursor=0'));
const activity = leadPage.activities.at(-1).id;
await measure("one activity's roster (登记表)", runs, async () => `${(await get(token.lead, `/api/v1/activities/${activity}/register?format=csv`)).length} bytes`);
const bytes = (b) => `${(b.length / 1024).toFixed(0)} KiB`;
await measure('the district view for the year (统计)', Math.max(3, Math.round(runs / 3)), async () => bytes(await get(token.admin, '/api/v1/district')));
await measure('… its Excel file', Math.max(3, Math.round(runs / 3)), async () => bytes(await get(token.admin, '/api/v1/district?format=xlsx')));
await measure("a committee's district view", runs, async () => bytes(await get(token.committee, '/api/v1/district')));
// Both lists come a page at a time (whole organisations until 500 people).
const rowsOf = (b) => `${JSON.parse(b).rows.length} people, ${bytes(b)}`;
await measure('完成情况 for the district (a page)', runs, async () => rowsOf(await get(token.admin, '/api/v1/study/overview')));
await measure('the members list for the district (a page)', runs, async () => rowsOf(await get(token.admin, '/api/v1/members')));
await measure('… a search by phone in the district', runs, async () => rowsOf(await get(token.admin, '/api/v1/members?q=13900054321')));
await measure("a district admin's first sync", 3, async () => describe(await fullPull(token.admin, 10)));

console.log('| read | runs | p50 | p99 | what |');
console.log('|---|---|---|---|---|');
for (const r of table) {
  console.log(`| ${r.label} | ${r.n} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${r.what} |`);
}
