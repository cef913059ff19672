// Fuzzes the API from its own OpenAPI document, as every role, against the release server on a fresh
// database with the demo data (loopback only). Schemathesis generates valid and invalid requests for every
// operation; the run fails on any 5xx, any status the document does not list, any answer whose body does
// not match its documented schema (every error must be `{message}`), or a server that stops answering.
//
//   node end2end/fuzz.mjs <site dir> <examples per operation>   (make test: 12; make fuzz: 600)
//
// The roles run one after another on the same server, so later roles meet the state earlier ones made
// (published activities, pushed records, imported rosters, new organisations). Logging out is left out
// (it would end the session being fuzzed). Prints how many requests each role sent and what was found.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const site = process.argv[2] ?? 'target/site';
const examples = Number(process.argv[3] ?? 15);
const port = 3400 + Math.floor(Math.random() * 400);
const base = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), 'hongyan-fuzz-'));
const schemathesis = resolve(process.env.SCHEMATHESIS ?? 'end2end/.venv/bin/schemathesis');

const server = spawn('target/release/hongyan', ['--demo', '--port', String(port), '--db', join(dir, 'fuzz.db'), '--site', site], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, RUST_LOG: 'hongyan=warn' },
});
const stop = () => { server.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); };
process.on('exit', stop);

async function until(check) {
  for (let i = 0; i < 100; i++) {
    try { if (await check()) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not start');
}
await until(async () => (await fetch(`${base}/api/v1/openapi.json`)).ok);

async function token(phone) {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone, password: 'hongyan-demo', device_id: `fuzz-${phone}` }),
  });
  if (!res.ok) throw new Error(`login ${phone}: ${res.status}`);
  return (await res.json()).token;
}

// Anonymous first; the district admin last, since it can change the most (disable accounts, delete orgs).
const roles = [
  ['nobody', null],
  ['member', '13800000002'],
  ['lead', '13800000001'],
  ['committee admin', '13800000008'],
  ['district admin', '13800000009'],
];
const checks = 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance';
let total = 0;
let failed = false;
for (const [role, phone] of roles) {
  const reportDir = join(dir, `report-${role.replace(/ /g, '-')}`);
  const args = [
    'run', `${base}/api/v1/openapi.json`,
    '--checks', checks,
    '--max-examples', String(examples),
    '--exclude-path', '/api/v1/auth/logout',
    '--workers', '1',
    '--seed', String(process.env.HONGYAN_SEED ?? 20261130),
    '--suppress-health-check', 'all',
    '--request-timeout', '30',
    '--report', 'ndjson',
    '--report-dir', reportDir,
    '--warnings', 'off',
  ];
  if (phone) args.push('-H', `Authorization: Bearer ${await token(phone)}`);
  let status = 0;
  try {
    // In the run's temporary directory: schemathesis keeps its cache (.schemathesis/) where it runs.
    execFileSync(schemathesis, args, { stdio: 'inherit', cwd: dir });
  } catch (e) {
    status = e.status ?? 1;
  }
  // One interaction per request sent: count them from the report.
  const ndjson = readdirSync(reportDir).filter((f) => f.endsWith('.ndjson')).map((f) => readFileSync(join(reportDir, f), 'utf8')).join('\n');
  const requests = (ndjson.match(/"request":/g) ?? []).length;
  total += requests;
  console.log(`fuzz as ${role}: ${requests} requests, ${status === 0 ? 'nothing found' : 'FAILURES above'}`);
  if (status !== 0) failed = true;
  const alive = await fetch(`${base}/api/v1/openapi.json`).then((r) => r.ok).catch(() => false);
  if (!alive) {
    console.error('the server stopped answering');
    failed = true;
    break;
  }
}
console.log(`fuzz: ${total} requests in all, ${examples} examples per operation and role${failed ? ' — FAILED' : ', no failure'}`);
process.exit(failed ? 1 : 0);
