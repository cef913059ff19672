//! Faults 11 and 12 of the README's “Proving sync under faults”, against the real server binary (an integration test target, see Cargo.toml).
//!
//! Simulated phones run the app's own outbox rules (`hongyan::outbox`): each makes records, keeps them
//! until a receipt arrives, and pushes the oldest first in batches. Between them and the server:
//!
//! - **fault 11** — a fault-injecting HTTP proxy on loopback that drops requests before they reach the
//!   server, cuts the connection after the server committed, sends requests twice, delays them (which
//!   reorders pushes of different phones) and answers 502 while the server is away; meanwhile the server
//!   is restarted, sometimes gracefully and sometimes with SIGKILL. At the end the database must hold
//!   exactly the records created, each once, with the status its content calls for.
//! - **fault 12** — phones push straight to the server while it is SIGKILLed at random moments; after
//!   each restart every record the server had acknowledged must be in the database as acknowledged.
//!
//! The seed is printed; `HONGYAN_SEED=<n>` replays the same fault schedule. Sizes come from
//! `HONGYAN_FAULT_MUTATIONS` (default 10,000) and `HONGYAN_KILLS` (default 20; `make faults-long` uses 200).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hongyan::api::{
    Change, Confirm, DeviceKey, LoginResponse, Mutation, NewActivity, PROTOCOL, PullResponse,
    PushRequest, PushResponse, ReceiptStatus, SignIn, paths,
};
use hongyan::life::{
    DEFAULT_CODE_STEP_MS, SignInClaim, SignInProof, code_at, judge_sign_in, secret_hex,
};
use hongyan::model::{ActivityKind, uuid_v7};
use hongyan::outbox::{self, Entry};
use hongyan::server::db::engine::Pool;
use hongyan::server::db::{Location, query_as, query_scalar};
use hongyan::server::throwaway_postgres::Cluster;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

const PASSWORD: &str = "hongyan-demo";
/// (phone, branch): two leads and the members of their branches; 李明 has two phones.
const PHONES: [(&str, i64); 8] = [
    ("13800000001", 3),
    ("13800000002", 3),
    ("13800000002", 3),
    ("13800000004", 3),
    ("13800000005", 3),
    ("13800000006", 3),
    ("13800000007", 4),
    ("13800000003", 4),
];
const LEADS: [&str; 2] = ["13800000001", "13800000007"];
/// Roster size per branch: members and the lead.
fn roster(org: i64) -> i64 {
    // Branch 3: five members and a guest from branch 4 (钱鹏); branch 4: three members.
    if org == 3 { 6 } else { 3 }
}
const BATCH: usize = 50;
const WRONG_CODE: &str = "000000";

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    match std::env::var("HONGYAN_SEED") {
        Ok(s) => s.parse().expect("HONGYAN_SEED is a number"),
        Err(_) => rand::random(),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- the server process ----

struct Server {
    child: Option<Child>,
    port: u16,
    /// What `--db` says: a SQLite file, or a PostgreSQL database other servers may share.
    db: String,
    security_log: PathBuf,
    starts: usize,
}

impl Server {
    /// A server on a SQLite file of its own in `dir`.
    async fn start(dir: &Path) -> Server {
        Server::on(dir.join("faults.db").display().to_string(), dir).await
    }

    /// A server on the database `db` (with its security log in `dir`).
    async fn on(db: String, dir: &Path) -> Server {
        let port = free_port();
        let mut server = Server {
            child: None,
            port,
            db,
            security_log: dir.join(format!("security-{port}.log")),
            starts: 0,
        };
        server.spawn().await;
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_hongyan"))
            .args([
                "--port",
                &self.port.to_string(),
                "--site",
                "public",
                "--demo",
            ])
            .arg("--db")
            .arg(&self.db)
            .arg("--security-log")
            .arg(&self.security_log)
            .env("RUST_LOG", "hongyan=warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        self.child = Some(child);
        self.starts += 1;
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let up = client
                .get(format!("{}{}", self.url(), paths::OPENAPI))
                .send()
                .await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the server did not come up on port {}", self.port);
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM: a graceful shutdown.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---- the fault-injecting proxy ----

#[derive(Default)]
struct Injected {
    requests: AtomicUsize,
    dropped_before: AtomicUsize,
    dropped_after: AtomicUsize,
    duplicated: AtomicUsize,
    delayed: AtomicUsize,
    unavailable: AtomicUsize,
}

#[derive(Clone)]
struct Proxy {
    /// The servers behind it: each request goes to one of them at random, as from a load balancer.
    upstreams: Vec<String>,
    client: reqwest::Client,
    rng: Arc<Mutex<StdRng>>,
    injected: Arc<Injected>,
}

enum Fault {
    DropBefore,
    DropAfter,
    Duplicate,
    Delay(u64),
    None,
}

impl Proxy {
    fn fault(&self) -> Fault {
        let mut rng = self.rng.lock().unwrap();
        match rng.gen_range(0..100) {
            0..10 => Fault::DropBefore,
            10..25 => Fault::DropAfter,
            25..35 => Fault::Duplicate,
            35..55 => Fault::Delay(rng.gen_range(1..40)),
            _ => Fault::None,
        }
    }

    async fn forward(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Option<Response> {
        let upstream = self
            .upstreams
            .choose(&mut *self.rng.lock().unwrap())
            .unwrap()
            .clone();
        let mut req = self
            .client
            .request(method.clone(), format!("{upstream}{path}"))
            .body(body);
        for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
            if let Some(v) = headers.get(&name) {
                req = req.header(name, v);
            }
        }
        let res = req.send().await.ok()?;
        let status = res.status();
        let bytes = res.bytes().await.ok()?;
        Some((status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response())
    }
}

/// A response whose body breaks off: the phone sees the connection drop.
fn cut_connection() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<Bytes, _>(std::io::Error::other("connection cut by the fault proxy"))
    });
    Response::new(Body::from_stream(broken))
}

async fn proxy_handler(State(proxy): State<Proxy>, req: Request) -> Response {
    let n = &proxy.injected;
    n.requests.fetch_add(1, Ordering::Relaxed);
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let headers = req.headers().clone();
    let Ok(body) = axum::body::to_bytes(req.into_body(), 1 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let fault = proxy.fault();
    if let Fault::DropBefore = fault {
        n.dropped_before.fetch_add(1, Ordering::Relaxed);
        return cut_connection();
    }
    if let Fault::Delay(ms) = fault {
        n.delayed.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let answer = if let Fault::Duplicate = fault {
        n.duplicated.fetch_add(1, Ordering::Relaxed);
        let (a, _) = tokio::join!(
            proxy.forward(&method, &path, &headers, body.clone()),
            proxy.forward(&method, &path, &headers, body)
        );
        a
    } else {
        proxy.forward(&method, &path, &headers, body).await
    };
    let Some(answer) = answer else {
        n.unavailable.fetch_add(1, Ordering::Relaxed);
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if let Fault::DropAfter = fault {
        n.dropped_after.fetch_add(1, Ordering::Relaxed);
        return cut_connection();
    }
    answer
}

async fn start_proxy(upstreams: Vec<String>, seed: u64) -> (SocketAddr, Arc<Injected>) {
    let proxy = Proxy {
        upstreams,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed ^ 0x9e37))),
        injected: Arc::default(),
    };
    let injected = proxy.injected.clone();
    let app = axum::Router::new()
        .fallback(proxy_handler)
        .with_state(proxy);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, injected)
}

// ---- the phones ----

/// What every phone shares: activities it may sign in to, what has been acknowledged, how many records
/// are still to be made.
struct World {
    /// Published and acknowledged activities per branch: (id, secret of the rotating code).
    activities: Mutex<HashMap<i64, Vec<(String, String)>>>,
    /// Every record ever made, with whether its content is valid.
    created: Mutex<HashMap<String, Made>>,
    /// The server's receipts as the phones hold them: id → (quarantined, server_seq).
    acknowledged: Mutex<HashMap<String, (bool, i64)>>,
    /// The people on each branch's rosters (the lead confirms them).
    members: Mutex<HashMap<i64, Vec<i64>>>,
    to_make: AtomicUsize,
    stop_making: AtomicBool,
}

impl World {
    fn new(to_make: usize) -> Arc<World> {
        Arc::new(World {
            activities: Mutex::new(HashMap::from([(3, Vec::new()), (4, Vec::new())])),
            created: Mutex::default(),
            acknowledged: Mutex::default(),
            members: Mutex::default(),
            to_make: AtomicUsize::new(to_make),
            stop_making: AtomicBool::new(false),
        })
    }
}

#[derive(Clone)]
struct Made {
    valid: bool,
    /// Made by a lead of the branch (their own sign-in is never proven by the code they hold).
    by_lead: bool,
    /// A sign-in with a code that does not match its time: stored, flagged for the lead.
    wrong_code: bool,
    author: i64,
    org: i64,
    change: Change,
}

struct Phone {
    token: String,
    /// The key this phone signs its records with, registered for its person.
    key: SigningKey,
    user_id: i64,
    org: i64,
    lead: bool,
    device_id: String,
    seq: u64,
    outbox: Vec<Entry>,
    rng: StdRng,
}

async fn log_in(client: &reqwest::Client, base: &str, phone: &str) -> LoginResponse {
    let res = client
        .post(format!("{base}{}", paths::LOGIN))
        .json(&serde_json::json!({"phone": phone, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "login {phone}: {}", res.status());
    res.json().await.unwrap()
}

fn new_activity(rng: &mut StdRng) -> NewActivity {
    let now = now_ms();
    NewActivity {
        activity_id: uuid_v7(now, rng.r#gen()),
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        place: "项目部会议室".into(),
        starts_at: now - 60_000,
        ends_at: now + 4 * 3_600_000,
        secret: secret_hex(rng.r#gen()),
        ..Default::default()
    }
}

impl Phone {
    /// Makes a record and keeps it in the outbox, as the app does before any network.
    fn make(&mut self, world: &World) -> bool {
        let left = world.to_make.load(Ordering::SeqCst);
        if world.stop_making.load(Ordering::SeqCst)
            || left == 0
            || world
                .to_make
                .compare_exchange(left, left - 1, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
        {
            return false;
        }
        let known = world.activities.lock().unwrap()[&self.org].clone();
        let (activity_id, secret) = known.choose(&mut self.rng).unwrap().clone();
        let mut wrong_code = false;
        let (change, valid) = match (self.lead, self.rng.gen_range(0..10)) {
            (true, 0..4) => (Change::CreateActivity(new_activity(&mut self.rng)), true),
            // The lead confirms someone on the roster, signed in or not (yet).
            (true, 4..7) => {
                // Someone else: a lead's own 确认 is only their own statement.
                let members: Vec<i64> = world.members.lock().unwrap()[&self.org]
                    .iter()
                    .copied()
                    .filter(|&m| m != self.user_id)
                    .collect();
                let member_id = *members.choose(&mut self.rng).unwrap();
                (
                    Change::Confirm(Confirm {
                        activity_id,
                        member_id,
                    }),
                    true,
                )
            }
            _ => {
                wrong_code = self.rng.gen_bool(0.1);
                let code = if wrong_code {
                    WRONG_CODE.to_owned()
                } else {
                    code_at(&secret, now_ms(), DEFAULT_CODE_STEP_MS)
                };
                (
                    Change::SignIn(SignIn {
                        activity_id,
                        code,
                        location: None,
                    }),
                    true,
                )
            }
        };
        self.seq += 1;
        let id = uuid_v7(now_ms(), self.rng.r#gen());
        let mut m = self.signed(Mutation::new(self.seq, id.clone(), &change, now_ms(), 0));
        // Now and then a record is altered after it was signed (on the way, or by a script): the server
        // must refuse it.
        let altered = self.rng.gen_bool(0.02);
        if altered {
            m.device_time += 1;
        }
        let valid = valid && !altered;
        world.created.lock().unwrap().insert(
            id,
            Made {
                valid,
                by_lead: self.lead,
                wrong_code,
                author: self.user_id,
                org: self.org,
                change,
            },
        );
        self.outbox.push(Entry::new(self.user_id, m));
        true
    }

    /// The record signed with this phone's key, as the app signs it.
    fn signed(&self, mut m: Mutation) -> Mutation {
        use p256::ecdsa::signature::Signer;
        let sig: Signature = self
            .key
            .sign(m.signed_text(self.user_id, &self.device_id).as_bytes());
        m.sig = sig.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        m
    }

    /// One push of the oldest pending records; false if the network (or server) failed.
    async fn push(&mut self, client: &reqwest::Client, base: &str, world: &World) -> bool {
        let batch = outbox::next_batch(&self.outbox, BATCH);
        if batch.is_empty() {
            return true;
        }
        let request = PushRequest {
            device_id: self.device_id.clone(),
            protocol: PROTOCOL,
            mutations: batch,
            history: 0,
        };
        let sent = client
            .post(format!("{base}{}", paths::PUSH))
            .bearer_auth(&self.token)
            .json(&request)
            .send()
            .await;
        let Ok(res) = sent else { return false };
        if !res.status().is_success() {
            assert!(
                res.status().is_server_error(),
                "a push was refused: {}",
                res.status()
            );
            assert_ne!(res.status(), 500, "the server failed on a push");
            return false;
        }
        let Ok(resp) = res.json::<PushResponse>().await else {
            return false;
        };
        assert_eq!(resp.receipts.len(), request.mutations.len());
        outbox::apply_receipts(&mut self.outbox, &resp.receipts);
        // The app forgets delivered records after a while (`outbox::expired_deliveries`); here at once.
        self.outbox.retain(Entry::is_pending);
        let mut acknowledged = world.acknowledged.lock().unwrap();
        for r in &resp.receipts {
            let quarantined = r.status == ReceiptStatus::Quarantined;
            if let Some(&(q, seq)) = acknowledged.get(&r.id) {
                assert_eq!(
                    (q, seq),
                    (quarantined, r.server_seq),
                    "a receipt changed: {r:?}"
                );
            }
            acknowledged.insert(r.id.clone(), (quarantined, r.server_seq));
        }
        drop(acknowledged);
        // A lead's activities the server took become ones members sign in to.
        for (m, r) in request.mutations.iter().zip(&resp.receipts) {
            if r.status == ReceiptStatus::Quarantined {
                continue;
            }
            if let Ok(Change::CreateActivity(a)) = m.change() {
                world
                    .activities
                    .lock()
                    .unwrap()
                    .get_mut(&self.org)
                    .unwrap()
                    .push((a.activity_id, a.secret));
            }
        }
        true
    }

    fn pending(&self) -> usize {
        self.outbox.iter().filter(|e| e.is_pending()).count()
    }
}

async fn phones(base: &str, seed: u64, world: &World) -> Vec<Phone> {
    let client = reqwest::Client::new();
    let mut phones = Vec::new();
    for (i, (phone, org)) in PHONES.into_iter().enumerate() {
        let login = log_in(&client, base, phone).await;
        {
            let mut members = world.members.lock().unwrap();
            let roster = members.entry(org).or_default();
            if !roster.contains(&login.user.id) {
                roster.push(login.user.id);
            }
        }
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(i as u64));
        let device_id = uuid_v7(now_ms(), rng.r#gen());
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let public: String = VerifyingKey::from(&key)
            .to_encoded_point(false)
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let registered = client
            .put(format!("{base}{}", paths::DEVICE_KEY))
            .bearer_auth(&login.token)
            .json(&DeviceKey {
                device_id: device_id.clone(),
                public_key: public,
            })
            .send()
            .await
            .unwrap();
        assert!(registered.status().is_success(), "{}", registered.status());
        phones.push(Phone {
            token: login.token,
            key,
            user_id: login.user.id,
            org,
            lead: LEADS.contains(&phone),
            device_id,
            seq: 0,
            outbox: Vec::new(),
            rng,
        });
    }
    // Each lead publishes a few activities first, so members have something to sign in to.
    for p in phones.iter_mut().filter(|p| p.lead) {
        for _ in 0..3 {
            p.seq += 1;
            let id = uuid_v7(now_ms(), p.rng.r#gen());
            let change = Change::CreateActivity(new_activity(&mut p.rng));
            world.created.lock().unwrap().insert(
                id.clone(),
                Made {
                    valid: true,
                    by_lead: true,
                    wrong_code: false,
                    author: p.user_id,
                    org: p.org,
                    change: change.clone(),
                },
            );
            let m = p.signed(Mutation::new(p.seq, id, &change, now_ms(), 0));
            p.outbox.push(Entry::new(p.user_id, m));
        }
        assert!(p.push(&client, base, world).await);
    }
    phones
}

/// A phone's life: make records now and then, push whenever it can, retry failures soon. `pace` is the
/// pause after each successful push.
async fn run_phone(mut phone: Phone, base: String, world: Arc<World>, pace: Duration) -> Phone {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    loop {
        let burst = phone.rng.gen_range(1..25);
        let mut made = 0;
        for _ in 0..burst {
            made += usize::from(phone.make(&world));
        }
        let ok = phone.push(&client, &base, &world).await;
        if made == 0 && phone.pending() == 0 && world_done(&world) {
            return phone;
        }
        if ok {
            tokio::time::sleep(pace).await;
        } else {
            tokio::time::sleep(Duration::from_millis(phone.rng.gen_range(5..40))).await;
        }
    }
}

fn world_done(world: &World) -> bool {
    world.stop_making.load(Ordering::SeqCst) || world.to_make.load(Ordering::SeqCst) == 0
}

// ---- observers: phones that only pull ----

/// Who watches while the others push: a lead (their branch's activities and rosters) and a member who is
/// also a guest on another branch's roster (their branch's activities, their own rows).
const OBSERVERS: [&str; 2] = ["13800000001", "13800000003"];

/// A phone that only pulls, keeping its copy as the app does ([`outbox::Cache::merge`]), and checks each
/// page as it comes: the cursor never goes back, every row lies between the cursor sent and the one
/// received, and no row version ever comes twice.
struct Observer {
    phone: &'static str,
    token: String,
    cache: outbox::Cache,
    /// Every (row, version) received.
    seen: HashSet<(String, i64)>,
    pulls: usize,
}

impl Observer {
    fn new(phone: &'static str, token: String) -> Observer {
        Observer {
            phone,
            token,
            cache: outbox::Cache::default(),
            seen: HashSet::new(),
            pulls: 0,
        }
    }

    /// One pull from `base`: `Some(more)` when a page arrived, `None` when the network or a server failed
    /// (the phone tries again with the same cursor).
    async fn pull(&mut self, client: &reqwest::Client, base: &str) -> Option<bool> {
        let res = client
            .get(format!(
                "{base}{}?cursor={}&history={}",
                paths::PULL,
                self.cache.cursor,
                self.cache.history
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        if !res.status().is_success() {
            assert!(
                res.status().is_server_error() && res.status() != 500,
                "{}: a pull was refused: {}",
                self.phone,
                res.status()
            );
            return None;
        }
        let page: PullResponse = res.json().await.ok()?;
        let sent = self.cache.cursor;
        assert!(
            !page.resync,
            "{}: nothing was restored, yet a pull resyncs",
            self.phone
        );
        assert!(
            page.cursor >= sent,
            "{}: a pull went back from {sent} to {}",
            self.phone,
            page.cursor
        );
        let activities = page
            .activities
            .iter()
            .map(|a| (format!("activity {}", a.id), a.server_seq));
        let attendance = page.attendance.iter().map(|r| {
            (
                format!("attendance {} {}", r.activity_id, r.member_id),
                r.server_seq,
            )
        });
        for (key, version) in activities.chain(attendance) {
            assert!(
                sent < version && version <= page.cursor,
                "{}: {key} version {version} came in the pull from {sent} to {}",
                self.phone,
                page.cursor
            );
            assert!(
                self.seen.insert((key.clone(), version)),
                "{}: {key} version {version} came twice",
                self.phone
            );
        }
        let more = page.more;
        self.cache.merge(page);
        self.pulls += 1;
        Some(more)
    }

    /// Pulls from `base` until nothing more waits (a minute at most).
    async fn catch_up(&mut self, client: &reqwest::Client, base: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "{}: no complete pull from {base} in a minute",
                self.phone
            );
            match self.pull(client, base).await {
                Some(false) => return,
                Some(true) => {}
                None => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

/// A copy's rows by key, whatever order they arrived in.
fn rows(cache: &outbox::Cache) -> BTreeMap<String, serde_json::Value> {
    let activities = cache
        .activities
        .iter()
        .map(|a| (format!("activity {}", a.id), serde_json::to_value(a)));
    let attendance = cache.attendance.iter().map(|r| {
        (
            format!("attendance {} {}", r.activity_id, r.member_id),
            serde_json::to_value(r),
        )
    });
    let study = cache
        .study
        .iter()
        .map(|r| (format!("study {}", r.id), serde_json::to_value(r)));
    let feedback = cache
        .feedback
        .iter()
        .map(|f| (format!("feedback {}", f.id), serde_json::to_value(f)));
    activities
        .chain(attendance)
        .chain(study)
        .chain(feedback)
        .map(|(key, row)| (key, row.unwrap()))
        .collect()
}

/// Logs the observers in (straight to `server`) and starts them pulling from `base` until `done` is set;
/// each then catches up once more, with a pull begun after every push was answered.
async fn start_observers(
    server: &Server,
    base: String,
    seed: u64,
    done: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Observer>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for (i, phone) in OBSERVERS.into_iter().enumerate() {
        let login = log_in(&client, &server.url(), phone).await;
        let mut observer = Observer::new(phone, login.token);
        let (client, base, done) = (client.clone(), base.clone(), done.clone());
        let mut rng = StdRng::seed_from_u64(seed ^ (0x0b5e + i as u64));
        tasks.push(tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let pause = match observer.pull(&client, &base).await {
                    Some(_) => rng.gen_range(0..60),
                    None => 20,
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            observer.catch_up(&client, &base).await;
            observer
        }));
    }
    tasks
}

/// Stops the observers once every phone is done and checks that each one's copy equals a fresh pull
/// straight from every server; answers how many pulls they made.
async fn finish_observers(
    done: &AtomicBool,
    tasks: Vec<tokio::task::JoinHandle<Observer>>,
    servers: &[&Server],
) -> usize {
    done.store(true, Ordering::SeqCst);
    let client = reqwest::Client::new();
    let mut pulls = 0;
    for task in tasks {
        let observer = task.await.unwrap();
        pulls += observer.pulls;
        // Not vacuous: the copy holds rows, and some row came again in a newer version (a sign-in on a
        // roster row the lead already held, or the member's own row confirmed).
        let held = rows(&observer.cache).len();
        assert!(held > 0, "{}: the copy is empty", observer.phone);
        assert!(
            observer.seen.len() > held,
            "{}: no row ever came in a second version",
            observer.phone
        );
        for server in servers {
            let mut fresh = Observer::new(observer.phone, observer.token.clone());
            fresh.catch_up(&client, &server.url()).await;
            assert_eq!(
                fresh.cache.cursor, observer.cache.cursor,
                "{}: the same last number",
                observer.phone
            );
            let (held, new) = (rows(&observer.cache), rows(&fresh.cache));
            let differences: Vec<String> = held
                .keys()
                .chain(new.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|key| held.get(*key) != new.get(*key))
                .take(5)
                .map(|key| {
                    format!(
                        "{key}:\n  held  {:?}\n  fresh {:?}",
                        held.get(key),
                        new.get(key)
                    )
                })
                .collect();
            assert!(
                differences.is_empty(),
                "{}: the copy pulled all along differs from a fresh pull through {}:\n{}",
                observer.phone,
                server.url(),
                differences.join("\n")
            );
        }
    }
    pulls
}

// ---- checks against the database ----

/// Connections beside the servers' to the database `--db` names (on SQLite, WAL lets them read while the
/// server writes); they never write.
async fn open_db(db: &str) -> Pool {
    match db.parse::<Location>().unwrap() {
        Location::File(path) => Pool::Sqlite(
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    SqliteConnectOptions::new()
                        .filename(path)
                        .read_only(true)
                        .busy_timeout(Duration::from_secs(10)),
                )
                .await
                .unwrap(),
        ),
        Location::Postgres(url) => Pool::Postgres(
            PgPoolOptions::new()
                .max_connections(1)
                .connect(&url)
                .await
                .unwrap(),
        ),
    }
}

/// Every acknowledged record is stored as acknowledged, and the database is sound.
async fn check_acknowledged(db: &str, world: &World) -> usize {
    // Receipts first: a record acknowledged by then was committed before its receipt left the server.
    let acknowledged = world.acknowledged.lock().unwrap().clone();
    let pool = open_db(db).await;
    if let Pool::Sqlite(_) = pool {
        let check: String = query_scalar("PRAGMA integrity_check")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(check, "ok");
    }
    let stored: HashMap<String, (bool, i64)> =
        query_as::<(String, String, i64)>("SELECT id, status, server_seq FROM mutations")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, status, seq)| (id, (status == "quarantined", seq)))
            .collect();
    let refused: HashSet<String> = query_scalar::<String>("SELECT record_id FROM refused_records")
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    pool.close().await;
    for (id, told) in &acknowledged {
        // A record refused before it was applied (an altered signature) is kept apart, under no id.
        if *told == (true, 0) {
            assert!(
                refused.contains(id),
                "refused record {id} is not kept as evidence"
            );
            continue;
        }
        assert_eq!(
            stored.get(id),
            Some(told),
            "acknowledged record {id} is missing or changed"
        );
    }
    acknowledged.len()
}

/// The database equals exactly what the phones created: each record once, with the status its content
/// calls for, and each effect once.
async fn check_exact(db: &str, world: &World) {
    let created = world.created.lock().unwrap().clone();
    let pool = open_db(db).await;
    let stored: Vec<(String, String, i64, Option<String>)> =
        query_as("SELECT id, status, user_id, reason FROM mutations")
            .fetch_all(&pool)
            .await
            .unwrap();
    // Every record once; the altered ones (refused before they were applied) under no id.
    let genuine = created.values().filter(|m| m.valid).count();
    if stored.len() != genuine {
        let refused: Vec<(String, String)> =
            query_as("SELECT record_id, reason FROM refused_records")
                .fetch_all(&pool)
                .await
                .unwrap();
        for (id, reason) in refused
            .iter()
            .filter(|(id, _)| created.get(id).is_some_and(|m| m.valid))
        {
            println!("a genuine record was refused: {id}: {reason}");
        }
    }
    assert_eq!(stored.len(), genuine, "lost or duplicated records");
    for (id, status, user_id, reason) in &stored {
        let made = created
            .get(id)
            .unwrap_or_else(|| panic!("{id} was never made"));
        let expected = if made.valid { "applied" } else { "quarantined" };
        assert_eq!(
            (status.as_str(), *user_id),
            (expected, made.author),
            "{id}: {:?} {reason:?}",
            made.change
        );
    }
    let counter: i64 = query_scalar("SELECT value FROM counters WHERE name = 'server_seq'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(counter, 1 + stored.len() as i64, "no sequence spent twice");
    let refused: i64 = query_scalar("SELECT count(DISTINCT record_id) FROM refused_records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        refused as usize,
        created.len() - genuine,
        "each altered record refused and kept"
    );

    let mut rows = roster(3); // the demo activity's roster
    let mut activities = 1;
    let (mut signed, mut confirmed) = (HashSet::new(), HashSet::new());
    for made in created.values().filter(|m| m.valid) {
        match &made.change {
            Change::CreateActivity(_) => {
                activities += 1;
                rows += roster(made.org);
            }
            Change::SignIn(s) => {
                signed.insert((s.activity_id.clone(), made.author));
            }
            Change::Confirm(c) => {
                confirmed.insert((c.activity_id.clone(), c.member_id));
            }
            other => panic!("the phones make no {other:?}"),
        }
    }
    let count = |sql: &'static str| query_scalar::<i64>(sql);
    assert_eq!(
        count("SELECT count(*) FROM activities")
            .fetch_one(&pool)
            .await
            .unwrap(),
        activities
    );
    assert_eq!(
        count("SELECT count(*) FROM attendance")
            .fetch_one(&pool)
            .await
            .unwrap(),
        rows
    );
    let pairs = async |pool: &Pool, sql: &'static str| {
        query_as::<(String, i64)>(sql)
            .fetch_all(pool)
            .await
            .unwrap()
            .into_iter()
            .collect::<HashSet<_>>()
    };
    let with_record = pairs(
        &pool,
        "SELECT activity_id, member_id FROM attendance WHERE record_id IS NOT NULL",
    )
    .await;
    assert_eq!(
        with_record, signed,
        "each member's sign-in once per activity"
    );
    let stored_confirmed = pairs(
        &pool,
        "SELECT activity_id, member_id FROM attendance WHERE status = 'confirmed'",
    )
    .await;
    assert_eq!(
        stored_confirmed, confirmed,
        "each confirmation once, whatever arrived first"
    );
    let signed_in = pairs(
        &pool,
        "SELECT activity_id, member_id FROM attendance WHERE status = 'signed_in'",
    )
    .await;
    let waiting: HashSet<_> = signed.difference(&confirmed).cloned().collect();
    assert_eq!(signed_in, waiting, "signed in and not confirmed");
    // A sign-in its code does not prove is kept and flagged, until one it proves arrives: the rules
    // (wrong codes per activity, checked sign-ins an hour) replayed in the order the server took them.
    let acknowledged = world.acknowledged.lock().unwrap().clone();
    let mut received: Vec<(i64, &Made)> = created
        .iter()
        .filter(|(_, m)| matches!(m.change, Change::SignIn(_)))
        .map(|(id, m)| (acknowledged[id].1, m))
        .collect();
    received.sort_by_key(|(seq, _)| *seq);
    let mut per_person: HashMap<i64, u32> = HashMap::new();
    let mut proofs: HashMap<(String, i64), SignInProof> = HashMap::new();
    // Altered records were refused before they were stored: they count for nothing.
    for (_, made) in received.into_iter().filter(|(_, m)| m.valid) {
        let checked_this_hour = per_person.entry(made.author).or_default();
        *checked_this_hour += 1;
        let Change::SignIn(s) = &made.change else {
            continue;
        };
        let proof = proofs
            .entry((s.activity_id.clone(), made.author))
            .or_default();
        let claim = SignInClaim {
            wrong_codes: proof.wrong_codes,
            checked_this_hour: *checked_this_hour,
            by_location: made.by_lead,
            before_last_sync: false,
        };
        proof.take(judge_sign_in(claim, || !made.wrong_code));
    }
    let expected: HashSet<(String, i64)> = proofs
        .into_iter()
        .filter(|(_, p)| p.unverified)
        .map(|(pair, _)| pair)
        .collect();
    let flagged = pairs(
        &pool,
        "SELECT activity_id, member_id FROM attendance WHERE code_unverified = TRUE",
    )
    .await;
    assert_eq!(
        flagged, expected,
        "flagged exactly where the rules say no code proved it"
    );
    pool.close().await;
}

// ---- the two runs ----

/// Logs the phones in (straight to the server) and starts their lives, pushing to `base`.
async fn start_phones(
    server: &Server,
    seed: u64,
    world: &Arc<World>,
    base: String,
    pace: Duration,
) -> Vec<tokio::task::JoinHandle<Phone>> {
    let mut tasks = Vec::new();
    for phone in phones(&server.url(), seed, world).await {
        tasks.push(tokio::spawn(run_phone(
            phone,
            base.clone(),
            world.clone(),
            pace,
        )));
    }
    tasks
}

/// Waits for every phone to empty its outbox, stops the servers and compares the database with what was
/// made; returns how many records were acknowledged.
async fn settle(
    tasks: Vec<tokio::task::JoinHandle<Phone>>,
    servers: &mut [&mut Server],
    world: &World,
) -> usize {
    for phone in futures_util::future::join_all(tasks).await {
        assert_eq!(phone.unwrap().pending(), 0);
    }
    for server in servers.iter_mut() {
        server.stop();
    }
    let db = &servers[0].db;
    let acknowledged = check_acknowledged(db, world).await;
    check_exact(db, world).await;
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_11_a_random_fault_schedule_loses_and_duplicates_nothing() {
    let seed = seed();
    let mutations = env_number("HONGYAN_FAULT_MUTATIONS", 10_000);
    println!("fault 11: HONGYAN_SEED={seed} HONGYAN_FAULT_MUTATIONS={mutations}");
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path()).await;
    let (proxy, injected) = start_proxy(vec![server.url()], seed).await;
    let world = World::new(mutations);
    let started = Instant::now();
    let tasks = start_phones(
        &server,
        seed,
        &world,
        format!("http://{proxy}"),
        Duration::ZERO,
    )
    .await;
    let done = Arc::new(AtomicBool::new(false));
    let observers = start_observers(&server, format!("http://{proxy}"), seed, done.clone()).await;
    // Restart the server now and then until every phone is done, by SIGKILL or gracefully.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let (mut kills, mut stops) = (0, 0);
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1_500))).await;
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        if rng.gen_bool(0.5) {
            server.kill();
            kills += 1;
        } else {
            server.stop();
            stops += 1;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
        server.spawn().await;
    }
    let pulls = finish_observers(&done, observers, &[&server]).await;
    settle(tasks, &mut [&mut server], &world).await;

    let n = |a: &AtomicUsize| a.load(Ordering::Relaxed);
    let created = world.created.lock().unwrap().len();
    println!(
        "fault 11 (seed {seed}): {created} records from {} phones in {:.1} s; {} requests through the proxy: \
         {} dropped before the server, {} cut after commit, {} sent twice, {} delayed, {} answered 502 \
         while the server was away; {kills} SIGKILLs and {stops} graceful restarts; {pulls} pulls by \
         {} observers, each copy equal to a fresh pull. Lost 0, duplicated 0.",
        PHONES.len(),
        started.elapsed().as_secs_f64(),
        n(&injected.requests),
        n(&injected.dropped_before),
        n(&injected.dropped_after),
        n(&injected.duplicated),
        n(&injected.delayed),
        n(&injected.unavailable),
        OBSERVERS.len(),
    );
    assert!(created >= mutations);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_12_sigkill_mid_batch_never_loses_an_acknowledged_record() {
    let seed = seed();
    let kills = env_number("HONGYAN_KILLS", 20);
    println!("fault 12: HONGYAN_SEED={seed} HONGYAN_KILLS={kills}");
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path()).await;
    let world = World::new(usize::MAX / 2);
    let started = Instant::now();
    // Paced so that records keep arriving throughout the kills rather than piling up first.
    let pace = Duration::from_millis(10);
    let tasks = start_phones(&server, seed, &world, server.url(), pace).await;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x4b11);
    let mut checked = 0;
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..250))).await;
        server.kill();
        server.spawn().await;
        checked = check_acknowledged(&server.db, &world).await;
    }
    world.stop_making.store(true, Ordering::SeqCst);
    let acknowledged = settle(tasks, &mut [&mut server], &world).await;
    let created = world.created.lock().unwrap().len();
    println!(
        "fault 12 (seed {seed}): {kills} SIGKILLs survived in {:.1} s; {created} records made, {acknowledged} \
         acknowledged, all present after every restart ({checked} checked after the last kill). Lost 0, duplicated 0.",
        started.elapsed().as_secs_f64(),
    );
    assert_eq!(server.starts, kills + 1);
}

/// Fault 11 with several servers: two server processes share one PostgreSQL, and the proxy — the load
/// balancer — sends each request to either at random, besides its drops, duplicates, delays and cuts
/// after commit. Meanwhile one server or both are SIGKILLed, and PostgreSQL itself is stopped at once
/// (as a crash would) and started again. The database must end as fault 11's does: every record once,
/// every acknowledged record as acknowledged, no sequence number spent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_13_two_servers_on_one_postgresql_lose_and_duplicate_nothing() {
    let seed = seed();
    let mutations = env_number("HONGYAN_FAULT_MUTATIONS", 10_000);
    println!("fault 13: HONGYAN_SEED={seed} HONGYAN_FAULT_MUTATIONS={mutations}");
    let cluster = Cluster::durable().unwrap();
    let db = cluster.url().await;
    hongyan::server::ops::migrate(&db.parse().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // One after the other: the first seeds the demo data.
    let mut a = Server::on(db.clone(), dir.path()).await;
    let mut b = Server::on(db, dir.path()).await;
    let (proxy, injected) = start_proxy(vec![a.url(), b.url()], seed).await;
    let world = World::new(mutations);
    let started = Instant::now();
    let tasks = start_phones(&a, seed, &world, format!("http://{proxy}"), Duration::ZERO).await;
    let done = Arc::new(AtomicBool::new(false));
    let observers = start_observers(&a, format!("http://{proxy}"), seed, done.clone()).await;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7a0);
    let (mut kills, mut crashes) = (0, 0);
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1_500))).await;
        if tasks.iter().all(|t| t.is_finished()) {
            break;
        }
        match rng.gen_range(0..4) {
            0 => a.kill(),
            1 => b.kill(),
            2 => {
                a.kill();
                b.kill();
            }
            _ => {
                cluster.crash_and_restart().unwrap();
                crashes += 1;
                continue;
            }
        }
        kills += 1;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
        for server in [&mut a, &mut b] {
            if server.child.is_none() {
                server.spawn().await;
            }
        }
    }
    let pulls = finish_observers(&done, observers, &[&a, &b]).await;
    settle(tasks, &mut [&mut a, &mut b], &world).await;
    let n = |a: &AtomicUsize| a.load(Ordering::Relaxed);
    let created = world.created.lock().unwrap().len();
    println!(
        "fault 13 (seed {seed}): {created} records from {} phones in {:.1} s through two servers on one \
         PostgreSQL; {} requests through the proxy: {} dropped before a server, {} cut after commit, {} \
         sent twice, {} delayed, {} answered 502; {kills} SIGKILLs of one server or both, {crashes} \
         crashes of PostgreSQL; {pulls} pulls by {} observers through either server, each copy equal \
         to a fresh pull through both. Lost 0, duplicated 0.",
        PHONES.len(),
        started.elapsed().as_secs_f64(),
        n(&injected.requests),
        n(&injected.dropped_before),
        n(&injected.dropped_after),
        n(&injected.duplicated),
        n(&injected.delayed),
        n(&injected.unavailable),
        OBSERVERS.len(),
    );
    assert!(created >= mutations);
}
