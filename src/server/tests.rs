//! Server tests: the real router (`app(state).oneshot(..)`) on a fresh SQLite file with the demo data.
//!
//! Signposts: `Harness` logs people in and pushes/pulls; then tests by area — login, push idempotency,
//! pull, authorisation, bad input, and the site (shell, CSP, OpenAPI).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::db::engine::Engine;
use super::db::{Location, now_ms};
use super::{AppState, Db, Site, app, demo};
use crate::api::{
    Change, Confirm, Mutation, NewActivity, PROTOCOL, Payload, Settings, SignIn, paths,
};
use crate::model::{ActivityKind, uuid_v7};
use crate::server::db;

mod accounts;
mod committee;
mod district;
mod group_commit;
mod life;
mod matrix;
mod orgs;
mod plans;
pub(crate) mod postgres;
mod properties;
mod study;
mod trust;

/// The engine the server tests run on: SQLite, or PostgreSQL with `HONGYAN_TEST_ENGINE=postgres` (`make
/// unit` runs them on both).
fn engine() -> Engine {
    match std::env::var("HONGYAN_TEST_ENGINE").as_deref() {
        Ok("postgres") => Engine::Postgres,
        _ => Engine::Sqlite,
    }
}

const LEAD: &str = "13800000001";
const MEMBER: &str = "13800000002";
const CADRE: &str = "13800000003";
const OTHER_LEAD: &str = "13800000007";

/// Cheap to clone: a clone talks to the same app and database (for concurrent tasks).
#[derive(Clone)]
struct Harness {
    app: Router,
    _dir: std::sync::Arc<tempfile::TempDir>,
    db: Db,
    location: Location,
}

struct Reply {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Value,
    text: String,
}

impl Harness {
    async fn new() -> Harness {
        Harness::with(|_| {}).await
    }

    /// Behind a reverse proxy at `proxy`.
    async fn with_trusted_proxy(proxy: std::net::IpAddr) -> Harness {
        Harness::with(|state| state.trusted_proxies = std::sync::Arc::new(vec![proxy])).await
    }

    async fn with(configure: impl FnOnce(&mut AppState)) -> Harness {
        Harness::on(engine(), configure).await
    }

    /// A new database with the demo data on `engine`, and a server on it.
    async fn on(engine: Engine, configure: impl FnOnce(&mut AppState)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let location = match engine {
            Engine::Sqlite => Location::File(dir.path().join("test.db")),
            Engine::Postgres => {
                let location = postgres::Cluster::get().url().await.parse().unwrap();
                super::ops::migrate(&location).await.unwrap();
                location
            }
        };
        let db = Db::connect(&location).await.unwrap();
        assert!(demo::seed(&db, &Settings::default()).await.unwrap());
        let site = Site::load(std::path::Path::new("public")).unwrap();
        let mut state = AppState::new(db.clone(), site);
        configure(&mut state);
        Harness {
            app: app(state),
            _dir: std::sync::Arc::new(dir),
            db,
            location,
        }
    }

    /// A server on a database that already holds a district (no demo seeded).
    async fn serving(location: Location) -> Harness {
        let db = Db::connect(&location).await.unwrap();
        let site = Site::load(std::path::Path::new("public")).unwrap();
        Harness {
            app: app(AppState::new(db.clone(), site)),
            _dir: std::sync::Arc::new(tempfile::tempdir().unwrap()),
            db,
            location,
        }
    }

    /// Another server on the same database (several app servers share one PostgreSQL).
    async fn another_server(&self) -> Harness {
        let db = Db::connect(&self.location).await.unwrap();
        let site = Site::load(std::path::Path::new("public")).unwrap();
        Harness {
            app: app(AppState::new(db.clone(), site)),
            _dir: self._dir.clone(),
            db,
            location: self.location.clone(),
        }
    }

    /// The database file this harness serves.
    fn db_path(&self) -> std::path::PathBuf {
        self._dir.path().join("test.db")
    }

    /// Stops serving (closes the database) and starts a new server on the same file, as an operator
    /// does around `hongyan restore`.
    async fn restart(self, between: impl AsyncFnOnce(&std::path::Path)) -> Harness {
        self.db.writer.close().await;
        self.db.reader.close().await;
        between(&self.db_path()).await;
        let db = Db::open(&self.db_path()).await.unwrap();
        let site = Site::load(std::path::Path::new("public")).unwrap();
        let state = AppState::new(db.clone(), site);
        Harness {
            app: app(state),
            _dir: self._dir,
            db,
            location: self.location,
        }
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        self.send(req.unwrap()).await
    }

    /// The database is sound as `hongyan check` sees it: the counts and last participations the triggers
    /// keep agree with the rows, references lead somewhere, the sequence is whole.
    async fn assert_kept_counts(&self) {
        let mut conn = self.db.reader.acquire().await.unwrap();
        let problems = super::ops::integrity(&mut *conn).await.unwrap();
        assert_eq!(problems, Vec::<String>::new());
    }

    async fn try_login(&self, phone: &str, password: &str) -> Reply {
        let body = json!({"phone": phone, "password": password});
        self.call("POST", paths::LOGIN, None, Some(body)).await
    }

    async fn login(&self, phone: &str) -> String {
        let r = self.try_login(phone, demo::PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Logs in from a phone with this device id (which is then known to the account).
    async fn try_login_on(&self, phone: &str, password: &str, device: &str) -> Reply {
        let body = json!({"phone": phone, "password": password, "device_id": device});
        self.call("POST", paths::LOGIN, None, Some(body)).await
    }

    async fn login_on(&self, phone: &str, device: &str) -> String {
        let r = self.try_login_on(phone, demo::PASSWORD, device).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body["token"].as_str().unwrap().to_owned()
    }

    /// Pushes as the phone does: each payload exactly as written (signatures cover it as sent).
    async fn push(&self, token: &str, device: &str, mutations: &[Mutation]) -> Reply {
        let body = crate::api::PushRequest {
            device_id: device.to_owned(),
            protocol: PROTOCOL,
            mutations: mutations.to_vec(),
            history: 0,
        };
        let req = Request::builder()
            .method("POST")
            .uri(paths::PUSH)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_string(&body).unwrap()))
            .unwrap();
        self.send(req).await
    }

    async fn try_pull(&self, token: &str, cursor: &str) -> Reply {
        let path = format!("{}?cursor={cursor}", paths::PULL);
        self.call("GET", &path, Some(token), None).await
    }

    async fn pull(&self, token: &str, cursor: i64) -> Value {
        let r = self.try_pull(token, &cursor.to_string()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body
    }

    /// Pulls into a phone's copy, as the app does (with its cursor and history), until nothing more waits.
    async fn pull_into(&self, token: &str, copy: &mut crate::outbox::Cache) {
        loop {
            let r = self
                .try_pull(token, &format!("{}&history={}", copy.cursor, copy.history))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text);
            let page: crate::api::PullResponse = serde_json::from_value(r.body).unwrap();
            let more = page.more;
            copy.merge(page);
            if !more {
                return;
            }
        }
    }

    /// Rows of the phone's `copy` that differ from a fresh pull (missing, stale or extra), as text.
    async fn stale_rows(&self, token: &str, copy: &crate::outbox::Cache) -> Vec<String> {
        let mut fresh = crate::outbox::Cache::default();
        self.pull_into(token, &mut fresh).await;
        let rows = |c: &crate::outbox::Cache| -> std::collections::HashSet<String> {
            let activities = c.activities.iter().map(|a| format!("{a:?}"));
            let attendance = c.attendance.iter().map(|r| format!("{r:?}"));
            let study = c.study.iter().map(|r| format!("{r:?}"));
            let feedback = c.feedback.iter().map(|f| format!("{f:?}"));
            activities
                .chain(attendance)
                .chain(study)
                .chain(feedback)
                .collect()
        };
        let (held, fresh) = (rows(copy), rows(&fresh));
        let mut differ: Vec<String> = held.symmetric_difference(&fresh).cloned().collect();
        differ.sort();
        differ
    }

    /// The lead publishes an activity that is on now; returns (activity id, code).
    async fn publish(&self, lead_token: &str) -> (String, String) {
        let now = now_ms();
        let activity = NewActivity {
            activity_id: new_id(),
            kind: ActivityKind::ThemeDay,
            title: "主题党日".into(),
            place: "项目部会议室".into(),
            starts_at: now - 60_000,
            ends_at: now + 3_600_000,
            code: "246810".into(),
            ..Default::default()
        };
        let m = Mutation::new(
            1,
            new_id(),
            &Change::CreateActivity(activity.clone()),
            now,
            0,
        );
        let r = self.push(lead_token, "lead-phone", &[m]).await;
        assert_eq!(r.body["receipts"][0]["status"], "applied", "{}", r.text);
        (activity.activity_id, activity.code)
    }

    async fn user_id(&self, phone: &str) -> i64 {
        self.rows(&format!("SELECT id FROM users WHERE phone = '{phone}'"))
            .await
    }

    async fn rows(&self, sql: &str) -> i64 {
        db::query_scalar(sql)
            .fetch_one(&self.db.reader)
            .await
            .unwrap()
    }
}

fn new_id() -> String {
    uuid_v7(now_ms(), rand::random())
}

fn sign_in(seq: u64, activity_id: &str, code: &str) -> Mutation {
    let change = Change::SignIn(SignIn {
        activity_id: activity_id.into(),
        code: code.into(),
        ..Default::default()
    });
    Mutation::new(seq, new_id(), &change, now_ms(), 0)
}

// ---- login ----

#[tokio::test]
async fn the_demo_accounts_log_in_with_the_demo_password() {
    let h = Harness::new().await;
    let r = h.try_login(MEMBER, "hongyan-demo").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["user"]["role"], "member");
    assert_eq!(r.body["user"]["org_name"], "上海浦东项目部党支部");
    let token = r.body["token"].as_str().unwrap();
    assert!(token.len() >= 32);
    let stored = h
        .rows("SELECT count(*) FROM sessions WHERE token_hash = 'x' OR length(token_hash) = 64")
        .await;
    assert_eq!(stored, 1, "one session, stored as a hash");
    let me = h.call("GET", paths::ME, Some(token), None).await;
    assert_eq!(me.body["phone"], MEMBER);
}

#[tokio::test]
async fn an_unknown_phone_and_a_wrong_password_get_the_same_answer() {
    let h = Harness::new().await;
    let wrong = h.try_login(MEMBER, "nope").await;
    let unknown = h.try_login("13999999999", "nope").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
    assert_eq!(wrong.body["message"], "手机号或密码不正确");
}

#[tokio::test]
async fn logins_are_throttled_after_five_failures_even_with_the_right_password() {
    let h = Harness::new().await;
    for _ in 0..5 {
        let r = h.try_login(LEAD, "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = h.try_login(LEAD, demo::PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body["message"].as_str().unwrap().contains("秒后再试"),
        "{}",
        r.text
    );
    h.login(MEMBER).await;
}

#[tokio::test]
async fn logout_ends_the_session_and_an_expired_session_is_refused() {
    let h = Harness::new().await;
    let token = h.login(MEMBER).await;
    assert_eq!(
        h.call("POST", paths::LOGOUT, Some(&token), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call("GET", paths::ME, Some(&token), None).await.status,
        StatusCode::UNAUTHORIZED
    );

    let token = h.login(MEMBER).await;
    db::query("UPDATE sessions SET expires_at = 0")
        .execute(&h.db.writer)
        .await
        .unwrap();
    let r = h.try_pull(&token, "0").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["message"].as_str().unwrap().contains("登录已过期"));
}

// ---- push: exactly once ----

#[tokio::test]
async fn a_sign_in_pushed_twice_is_stored_once() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let batch = [sign_in(1, &activity, &code)];

    let first = h.push(&member, "phone-1", &batch).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["receipts"][0]["status"], "applied");
    let second = h.push(&member, "phone-1", &batch).await;
    assert_eq!(second.body["receipts"][0]["status"], "duplicate");
    assert_eq!(
        second.body["receipts"][0]["server_seq"],
        first.body["receipts"][0]["server_seq"]
    );

    assert_eq!(
        h.rows("SELECT count(*) FROM mutations WHERE kind = 'sign_in'")
            .await,
        1
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM attendance WHERE status = 'signed_in'")
            .await,
        1
    );
    assert_eq!(
        h.rows("SELECT last_seq FROM devices WHERE device_id = 'phone-1'")
            .await,
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_of_the_same_batch_store_each_record_once() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let other = h.login("13800000004").await;
    let batch = vec![sign_in(1, &activity, &code)];
    let other_batch = vec![sign_in(1, &activity, &code)];

    // Real tasks on a multi-threaded runtime, so the requests overlap.
    let mut pushes = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (token, batch) = if i % 2 == 0 {
            (member.clone(), batch.clone())
        } else {
            (other.clone(), other_batch.clone())
        };
        let h = h.clone();
        pushes.spawn(async move { h.push(&token, "tab", &batch).await });
    }
    let replies = pushes.join_all().await;
    for r in &replies {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let applied = replies
        .iter()
        .filter(|r| r.body["receipts"][0]["status"] == "applied")
        .count();
    assert_eq!(applied, 2, "each of the two records applied exactly once");
    assert_eq!(
        h.rows("SELECT count(*) FROM mutations WHERE kind = 'sign_in'")
            .await,
        2
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM attendance WHERE status = 'signed_in'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_bad_record_is_quarantined_and_the_ones_behind_it_still_apply() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let mut garbled = sign_in(3, &activity, &code);
    garbled.payload = Payload::of(&json!({"activity_id": 5}));
    let batch = [
        sign_in(1, &activity, "000000"),
        sign_in(2, &new_id(), &code),
        garbled,
        sign_in(4, &activity, &code),
    ];
    let r = h.push(&member, "phone", &batch).await;
    let receipts = r.body["receipts"].as_array().unwrap();
    let statuses: Vec<_> = receipts
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["applied", "quarantined", "quarantined", "applied"],
        "a wrong code is kept (flagged), not refused"
    );
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM attendance WHERE record_id = '{}' AND NOT code_unverified",
            batch[3].id
        ))
        .await,
        1,
        "the sign-in whose code verifies replaces the flagged one"
    );
    assert!(
        receipts[1]["reason"]
            .as_str()
            .unwrap()
            .contains("活动不存在")
    );
    assert!(
        receipts[2]["reason"]
            .as_str()
            .unwrap()
            .starts_with("记录内容无效")
    );

    // A quarantined record answers the same way when retried.
    let again = h.push(&member, "phone", &batch[1..2]).await;
    assert_eq!(again.body["receipts"][0]["status"], "quarantined");
    assert_eq!(again.body["receipts"][0]["reason"], receipts[1]["reason"]);
}

#[tokio::test]
async fn a_sign_in_outside_the_window_is_quarantined_and_clock_skew_is_flagged() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let change = Change::SignIn(SignIn {
        activity_id: activity.clone(),
        code: code.clone(),
        ..Default::default()
    });
    let week = 7 * 24 * 3_600_000;
    // A phone a week behind that never synced: its claimed time is before the window.
    let early = Mutation::new(1, new_id(), &change, now_ms() - week, 0);
    // A phone a week behind that knows its offset: corrected, accepted, flagged.
    let corrected = Mutation::new(2, new_id(), &change, now_ms() - week, week);
    let r = h.push(&member, "phone", &[early, corrected]).await;
    assert_eq!(r.body["receipts"][0]["status"], "quarantined");
    assert_eq!(r.body["receipts"][1]["status"], "applied");
    let pulled = h.pull(&member, 0).await;
    let rows = pulled["attendance"].as_array().unwrap();
    let row = rows
        .iter()
        .find(|r| r["activity_id"] == activity.as_str())
        .unwrap();
    assert_eq!(row["status"], "signed_in");
    assert_eq!(row["clock_skewed"], true);
}

#[tokio::test]
async fn a_record_id_used_by_someone_else_is_not_answered_with_their_receipt() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let other = h.login("13800000004").await;
    let m = sign_in(1, &activity, &code);
    assert_eq!(
        h.push(&member, "a", std::slice::from_ref(&m)).await.body["receipts"][0]["status"],
        "applied"
    );
    let r = h.push(&other, "b", &[m]).await;
    assert_eq!(r.body["receipts"][0]["status"], "quarantined");
    assert_eq!(
        h.rows("SELECT count(*) FROM attendance WHERE status = 'signed_in'")
            .await,
        1
    );
}

// ---- pull ----

#[tokio::test]
async fn pull_returns_only_what_changed_after_the_cursor() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let first = h.pull(&member, 0).await;
    assert_eq!(
        first["activities"].as_array().unwrap().len(),
        1,
        "the demo activity"
    );
    let cursor = first["cursor"].as_i64().unwrap();
    let nothing = h.pull(&member, cursor).await;
    assert!(nothing["activities"].as_array().unwrap().is_empty());
    assert_eq!(nothing["cursor"], cursor);

    let lead = h.login(LEAD).await;
    let (activity, _) = h.publish(&lead).await;
    let next = h.pull(&member, cursor).await;
    let ids: Vec<_> = next["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [activity.as_str()]);
    assert!(next["cursor"].as_i64().unwrap() > cursor);
}

#[tokio::test]
async fn after_a_restore_a_phone_that_pulled_the_lost_rows_resyncs_and_its_record_is_stored_again()
{
    // `hongyan backup` and `restore` are SQLite's; PostgreSQL's own tools restore it.
    if engine() == Engine::Postgres {
        return;
    }
    let h = Harness::new().await;
    let (lead, member) = (h.login(LEAD).await, h.login(MEMBER).await);
    let (activity, code) = h.publish(&lead).await;
    let backup = h._dir.path().join("backup.db");
    super::ops::backup(&h.db_path(), &backup).await.unwrap();

    // After the backup: the member signs in and pulls it.
    let signed = sign_in(1, &activity, &code);
    let r = h
        .push(&member, "member-phone", std::slice::from_ref(&signed))
        .await;
    assert_eq!(r.body["receipts"][0]["status"], "applied", "{}", r.text);
    let lost_seq = r.body["receipts"][0]["server_seq"].as_i64().unwrap();
    let pulled = h.pull(&member, 0).await;
    let (lost_cursor, old_history) = (
        pulled["cursor"].as_i64().unwrap(),
        pulled["history"].clone(),
    );
    assert!(lost_cursor >= lost_seq);

    let mut restored = None;
    let h = h
        .restart(async |db: &std::path::Path| {
            restored = Some(super::ops::restore(db, &backup).await.unwrap());
        })
        .await;
    let restored = restored.unwrap();
    assert!(
        restored.kept_upto < lost_seq,
        "the sign-in is not in the backup"
    );
    assert!(
        restored.resumed_from > lost_cursor,
        "the sequence resumes past the lost history"
    );

    // The lead publishes again: a new row that must not hide behind the phone's old cursor.
    let (second, _) = h.publish(&lead).await;
    let up_to_date = h.pull(&lead, 0).await["cursor"].as_i64().unwrap();
    assert!(up_to_date > restored.resumed_from);

    let resync = h.pull(&member, lost_cursor).await;
    assert_eq!(resync["resync"], true, "{resync}");
    let ids: Vec<&str> = resync["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&activity.as_str()) && ids.contains(&second.as_str()),
        "everything again: {ids:?}"
    );
    let mine = resync["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["activity_id"] == activity.as_str())
        .unwrap();
    assert_ne!(
        mine["status"], "signed_in",
        "the lost sign-in is not shown as stored"
    );

    // A phone that sends the history it pulled from is resynced wherever its cursor stands (a pull that
    // failed after its push, or a cursor set back); its pushes wait until it has resynced.
    let behind = h
        .try_pull(
            &member,
            &format!("{}&history={old_history}", restored.kept_upto),
        )
        .await;
    assert_eq!(behind.body["resync"], true, "{}", behind.text);
    let new_history = &behind.body["history"];
    assert_ne!(new_history, &old_history, "a restore makes a new history");
    let push = |history: &Value| json!({"device_id": "member-phone", "protocol": PROTOCOL, "mutations": [], "history": history});
    let stale = h
        .call("POST", paths::PUSH, Some(&member), Some(push(&old_history)))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.text);
    assert_eq!(stale.body["code"], crate::api::HISTORY_CHANGED);
    for fine in [new_history, &json!(0)] {
        let r = h
            .call("POST", paths::PUSH, Some(&member), Some(push(fine)))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let current = h
        .try_pull(&member, &format!("{up_to_date}&history={new_history}"))
        .await;
    assert!(current.body.get("resync").is_none(), "{}", current.text);

    // The phone sends what it held as delivered again: stored anew, once.
    let again = h
        .push(&member, "member-phone", std::slice::from_ref(&signed))
        .await;
    assert_eq!(
        again.body["receipts"][0]["status"], "applied",
        "{}",
        again.text
    );
    assert!(again.body["receipts"][0]["server_seq"].as_i64().unwrap() > restored.resumed_from);
    let twice = h.push(&member, "member-phone", &[signed]).await;
    assert_eq!(twice.body["receipts"][0]["status"], "duplicate");

    // Cursors of the restored history, and of the new one, are ordinary pulls; one past the end resyncs.
    for cursor in [0, restored.kept_upto, restored.resumed_from, up_to_date] {
        let page = h.pull(&member, cursor).await;
        assert!(page.get("resync").is_none(), "cursor {cursor}: {page}");
    }
    let last = h
        .rows("SELECT value FROM counters WHERE name = 'server_seq'")
        .await;
    assert_eq!(h.pull(&member, last + 1).await["resync"], true);
}

#[tokio::test]
async fn a_phone_far_behind_pulls_page_by_page_and_gets_every_row_once() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let publish = |seq: u64| {
        let activity = NewActivity {
            activity_id: new_id(),
            kind: ActivityKind::ThemeDay,
            title: format!("活动{seq}"),
            place: String::new(),
            starts_at: now,
            ends_at: now + 3_600_000,
            code: "246810".into(),
            ..Default::default()
        };
        Mutation::new(seq, new_id(), &Change::CreateActivity(activity), now, 0)
    };
    for chunk in (1..=300).collect::<Vec<u64>>().chunks(150) {
        let batch: Vec<Mutation> = chunk.iter().map(|&i| publish(i)).collect();
        h.push(&lead, "lead-phone", &batch).await;
    }
    let (mut cursor, mut pages) = (0, 0);
    let mut activities = std::collections::HashSet::new();
    let mut rows = std::collections::HashSet::new();
    loop {
        let page = h.pull(&lead, cursor).await;
        pages += 1;
        let attendance = page["attendance"].as_array().unwrap();
        assert!(
            attendance.len() <= super::sync::PULL_PAGE + 5,
            "a page stays bounded"
        );
        for a in page["activities"].as_array().unwrap() {
            assert!(
                activities.insert(a["id"].as_str().unwrap().to_owned()),
                "an activity twice"
            );
        }
        for r in attendance {
            let key = (
                r["activity_id"].as_str().unwrap().to_owned(),
                r["member_id"].as_i64().unwrap(),
            );
            assert!(rows.insert(key), "a roster row twice");
        }
        assert!(
            page["cursor"].as_i64().unwrap() > cursor,
            "every page moves on"
        );
        cursor = page["cursor"].as_i64().unwrap();
        if page["more"] == false {
            break;
        }
    }
    assert!(pages >= 2, "{pages} pages");
    assert_eq!(activities.len(), 301, "300 and the demo activity");
    assert_eq!(
        rows.len(),
        301 * 6,
        "five members and a guest on each roster"
    );
    assert_eq!(
        cursor,
        h.rows("SELECT value FROM counters WHERE name = 'server_seq'")
            .await
    );
}

/// Each phone holds what its person works with offline: a member and a lead their branch's activities
/// and rosters; a district admin none of the district's (they read statistics and registers online).
#[tokio::test]
async fn a_district_admins_phone_holds_no_copy_of_the_district() {
    let h = Harness::new().await;
    let (activity, _) = h.publish(&h.login(LEAD).await).await;
    let member = h.pull(&h.login(MEMBER).await, 0).await;
    assert!(
        member["activities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == activity.as_str())
    );
    let admin = h.pull(&h.login("13800000009").await, 0).await;
    assert_eq!(admin["activities"], json!([]), "{admin}");
    assert_eq!(admin["attendance"], json!([]), "{admin}");
    assert_eq!(admin["more"], json!(false));
}

/// A lead's phone syncs the rosters of open and recent activities; an older closed one's roster comes when
/// the lead opens it. The member still has their own row of it.
#[tokio::test]
async fn a_leads_phone_fetches_an_old_closed_roster_when_it_is_opened() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, _) = h.publish(&lead).await;
    let long_ago = now_ms() - 120 * 86_400_000;
    db::query(
        "UPDATE activities SET starts_at = $1, ends_at = $1 + 3600000, state = 'closed', closed_at = $1 + 7200000
         WHERE id = $2",
    )
    .bind(long_ago)
    .bind(&activity)
    .execute(&h.db.writer)
    .await
    .unwrap();
    let pulled = h.pull(&lead, 0).await;
    assert!(
        pulled["activities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == activity.as_str())
    );
    let lead_id = h.user_id(LEAD).await;
    let rows = pulled["attendance"].as_array().unwrap();
    assert!(
        rows.iter()
            .filter(|r| r["activity_id"] == activity.as_str())
            .all(|r| r["member_id"] == lead_id),
        "only the lead's own row of an old closed activity: {pulled}"
    );
    let roster = h
        .call("GET", &paths::roster(&activity), Some(&lead), None)
        .await;
    assert_eq!(roster.status, StatusCode::OK, "{}", roster.text);
    assert!(
        roster.body.as_array().unwrap().len() >= 5,
        "{}",
        roster.text
    );
    let member = h.pull(&h.login(MEMBER).await, 0).await;
    assert!(
        member["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["activity_id"] == activity.as_str())
    );
    let other = h
        .call(
            "GET",
            &paths::roster(&activity),
            Some(&h.login(OTHER_LEAD).await),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn only_the_branch_lead_receives_the_code_and_other_branches_see_nothing() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let for_lead = h.pull(&lead, 0).await;
    let mine = for_lead["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == activity.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["code"], code.as_str());
    assert!(
        for_lead["attendance"].as_array().unwrap().len() >= 5,
        "the lead sees the roster"
    );

    let member = h.pull(&h.login(MEMBER).await, 0).await;
    assert!(
        member["activities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("code").is_none())
    );
    assert!(
        member["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["member_name"] == "李明")
    );

    let cadre = h.pull(&h.login(CADRE).await, 0).await;
    assert!(
        cadre["activities"].as_array().unwrap().is_empty(),
        "another branch's activities stay hidden"
    );
}

#[tokio::test]
async fn a_member_cannot_publish_an_activity() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let now = now_ms();
    let a = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::PartyLecture,
        title: "x".into(),
        place: String::new(),
        starts_at: now,
        ends_at: now + 1,
        code: "123456".into(),
        ..Default::default()
    };
    let r = h
        .push(
            &member,
            "p",
            &[Mutation::new(
                1,
                new_id(),
                &Change::CreateActivity(a),
                now,
                0,
            )],
        )
        .await;
    assert_eq!(r.body["receipts"][0]["status"], "quarantined");
    assert_eq!(
        r.body["receipts"][0]["reason"],
        "只有党支部书记可以发布活动"
    );
}

// ---- confirm ----

/// The lead's 确认 of one member, as the phone records it.
fn confirm(seq: u64, activity_id: &str, member_id: i64) -> Mutation {
    let change = Change::Confirm(Confirm {
        activity_id: activity_id.into(),
        member_id,
    });
    Mutation::new(seq, new_id(), &change, now_ms(), 0)
}

/// The status and reason of the one receipt a push of one mutation answers.
async fn pushed(h: &Harness, token: &str, m: Mutation) -> (String, String) {
    let r = h.push(token, "phone", &[m]).await;
    let receipt = &r.body["receipts"][0];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (text(&receipt["status"]), text(&receipt["reason"]))
}

#[tokio::test]
async fn the_lead_confirms_a_sign_in_and_the_member_pulls_the_confirmation() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let cursor = h.pull(&member, 0).await["cursor"].as_i64().unwrap();
    h.push(&member, "phone", &[sign_in(1, &activity, &code)])
        .await;
    let member_id = h.user_id(MEMBER).await;

    let (status, _) = pushed(&h, &lead, confirm(2, &activity, member_id)).await;
    assert_eq!(status, "applied");
    let (status, _) = pushed(&h, &lead, confirm(3, &activity, member_id)).await;
    assert_eq!(status, "applied", "confirming twice is harmless");
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'confirm_attendance'")
            .await,
        1
    );

    let pulled = h.pull(&member, cursor).await;
    let rows = pulled["attendance"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "confirmed");
}

#[tokio::test]
async fn confirming_checks_role_branch_activity_and_state() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, _) = h.publish(&lead).await;
    let member_id = h.user_id(MEMBER).await;
    let member = h.login(MEMBER).await;
    let other_lead = h.login(OTHER_LEAD).await;
    let refused = [
        (
            &member,
            activity.clone(),
            member_id,
            "只有党支部书记可以管理活动",
        ),
        (
            &other_lead,
            activity.clone(),
            member_id,
            "只能管理本支部的活动",
        ),
        (&lead, new_id(), member_id, "活动不存在，可能已被删除"),
        (&lead, activity.clone(), 999_999, "该成员不在应到名单中"),
    ];
    for (seq, (token, activity, member, reason)) in (1..).zip(refused) {
        let outcome = pushed(&h, token, confirm(seq, &activity, member)).await;
        assert_eq!(outcome, ("quarantined".to_owned(), reason.to_owned()));
    }
    db::query("UPDATE attendance SET status = 'leave' WHERE activity_id = $1 AND member_id = $2")
        .bind(&activity)
        .bind(member_id)
        .execute(&h.db.writer)
        .await
        .unwrap();
    let outcome = pushed(&h, &lead, confirm(9, &activity, member_id)).await;
    assert_eq!(outcome.1, "该成员已请假、补签或免参加，无法确认出席");
    let mut garbled = confirm(10, &activity, member_id);
    garbled.payload = Payload::of(&json!({"activity_id": activity, "member_id": "abc"}));
    assert!(
        pushed(&h, &lead, garbled)
            .await
            .1
            .starts_with("记录内容无效")
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM attendance WHERE status = 'confirmed'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_member_confirmed_before_their_offline_sign_in_arrives_has_one_confirmed_row() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let member_id = h.user_id(MEMBER).await;
    // Made on the phone at the meeting, with no signal…
    let offline = sign_in(1, &activity, &code);
    // …while the lead, seeing the member in the room, confirms them.
    let (status, _) = pushed(&h, &lead, confirm(2, &activity, member_id)).await;
    assert_eq!(status, "applied");
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'mark_present'")
            .await,
        1
    );

    let r = h
        .push(&member, "phone", std::slice::from_ref(&offline))
        .await;
    assert_eq!(r.body["receipts"][0]["status"], "applied");
    let rows = h
        .rows(&format!(
            "SELECT count(*) FROM attendance WHERE activity_id = '{activity}' AND member_id = {member_id}
             AND status = 'confirmed' AND record_id = '{}' AND signed_at IS NOT NULL",
            offline.id
        ))
        .await;
    assert_eq!(rows, 1, "the record merged into the confirmed row");
    let pulled = h.pull(&member, 0).await;
    let mine: Vec<_> = pulled["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["activity_id"] == activity.as_str())
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["status"], "confirmed");
}

#[tokio::test]
async fn a_retry_takes_no_new_server_sequence() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let batch = [sign_in(1, &activity, &code), sign_in(2, &new_id(), &code)];
    h.push(&member, "phone", &batch).await;
    let counter = "SELECT value FROM counters WHERE name = 'server_seq'";
    let before = h.rows(counter).await;
    for _ in 0..3 {
        let r = h.push(&member, "phone", &batch).await;
        assert_eq!(r.body["receipts"][0]["status"], "duplicate");
        assert_eq!(r.body["receipts"][1]["status"], "quarantined");
    }
    assert_eq!(h.rows(counter).await, before);
}

// ---- import of exported records ----

fn unsent_file(user_id: i64, records: &[Mutation]) -> Value {
    json!({
        "app": "hongyan-unsent", "format": 1, "exported_at": now_ms(), "device_id": "broken-phone",
        "user_id": user_id, "user_name": "李明", "records": records,
    })
}

#[tokio::test]
async fn a_lead_imports_a_members_exported_records_once_and_it_is_audited() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let member_id = h.user_id(MEMBER).await;
    let records = [sign_in(1, &activity, &code), sign_in(2, &new_id(), &code)];
    let file = unsent_file(member_id, &records);

    let r = h
        .call("POST", paths::IMPORT, Some(&lead), Some(file.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["receipts"][0]["status"], "applied");
    assert_eq!(r.body["receipts"][1]["status"], "quarantined");
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM mutations WHERE user_id = {member_id} AND device_id = 'broken-phone'"
        ))
        .await,
        2,
        "stored as the member's own records"
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'import_records'")
            .await,
        1
    );

    // The same file again (or the member's phone coming back to life) changes nothing but the audit log.
    let r = h
        .call("POST", paths::IMPORT, Some(&lead), Some(file.clone()))
        .await;
    assert_eq!(r.body["receipts"][0]["status"], "duplicate");
    let r = h.push(&member, "phone", &records).await;
    assert_eq!(r.body["receipts"][0]["status"], "duplicate");
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM mutations WHERE user_id = {member_id}"
        ))
        .await,
        2
    );
    // The member may import their own file too; only someone else's import is audited.
    let r = h
        .call("POST", paths::IMPORT, Some(&member), Some(file))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'import_records'")
            .await,
        2
    );
}

#[tokio::test]
async fn an_import_checks_who_may_import_whose_records_and_what_the_file_is() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member_id = h.user_id(MEMBER).await;
    let file = unsent_file(member_id, &[sign_in(1, &activity, &code)]);
    let refused = [
        (OTHER_LEAD, StatusCode::FORBIDDEN),
        (CADRE, StatusCode::FORBIDDEN),
        ("13800000004", StatusCode::FORBIDDEN),
    ];
    for (phone, status) in refused {
        let token = h.login(phone).await;
        let r = h
            .call("POST", paths::IMPORT, Some(&token), Some(file.clone()))
            .await;
        assert_eq!(r.status, status, "{phone}: {}", r.text);
    }
    assert_eq!(
        h.rows("SELECT count(*) FROM mutations WHERE kind = 'sign_in'")
            .await,
        0
    );

    let mut wrong = file.clone();
    wrong["app"] = json!("other-app");
    let r = h
        .call("POST", paths::IMPORT, Some(&lead), Some(wrong))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["message"], "这不是红雁导出的未上传记录文件");
    let mut unknown = file.clone();
    unknown["user_id"] = json!(999_999);
    let r = h
        .call("POST", paths::IMPORT, Some(&lead), Some(unknown))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = h
        .call("POST", paths::IMPORT, None, Some(file.clone()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let admin = h.login("13800000009").await;
    let r = h
        .call("POST", paths::IMPORT, Some(&admin), Some(file))
        .await;
    assert_eq!(r.body["receipts"][0]["status"], "applied", "{}", r.text);
}

#[tokio::test]
async fn an_import_may_be_larger_than_a_push() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let lead_id = h.user_id(LEAD).await;
    // The lead's old phone had published many activities and never sent them.
    let records: Vec<Mutation> = (1..=crate::api::MAX_IMPORT as u64)
        .map(|i| {
            let now = now_ms();
            let activity = NewActivity {
                activity_id: new_id(),
                kind: ActivityKind::ThemeDay,
                title: "主题党日".into(),
                place: "项目部会议室".into(),
                starts_at: now,
                ends_at: now + 3_600_000,
                code: "246810".into(),
                ..Default::default()
            };
            Mutation::new(i, new_id(), &Change::CreateActivity(activity), now, 0)
        })
        .collect();
    let file = unsent_file(lead_id, &records);
    assert!(file.to_string().len() > super::BODY_LIMIT);
    let r = h.call("POST", paths::IMPORT, Some(&lead), Some(file)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["receipts"].as_array().unwrap().len(),
        crate::api::MAX_IMPORT
    );
    assert_eq!(r.body["receipts"][0]["status"], "applied");
}

// ---- bad input ----

#[tokio::test]
async fn malformed_requests_get_a_clear_json_error_never_a_500() {
    let h = Harness::new().await;
    let token = h.login(MEMBER).await;
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = Request::builder()
            .method("POST")
            .uri(paths::PUSH)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        req.body(Body::from(body)).unwrap()
    };
    let cases = [
        (
            raw("{not json", Some("application/json")),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                r#"{"device_id": 5, "protocol": 1, "mutations": []}"#,
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(r#"{"device_id": "d"}"#, Some("application/json")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                r#"{"device_id": "d", "protocol": 1, "mutations": []}"#,
                None,
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            raw(
                r#"{"device_id": "", "protocol": 1, "mutations": []}"#,
                Some("application/json"),
            ),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (req, expected) in cases {
        let r = h.send(req).await;
        assert_eq!(r.status, expected, "{}", r.text);
        assert!(
            r.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            r.text
        );
    }
    let r = h.try_pull(&token, "abc").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.try_pull(&token, "-1").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let body = json!({"phone": MEMBER, "password": "x", "extra": 1});
    let r = h.call("POST", paths::LOGIN, None, Some(body)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let h = Harness::new().await;
    let token = h.login(MEMBER).await;
    let huge = json!({"device_id": "d", "protocol": PROTOCOL, "mutations": [], "pad": "x".repeat(super::BODY_LIMIT + 1)});
    let r = h.call("POST", paths::PUSH, Some(&token), Some(huge)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["message"], "提交的内容过大，请分批上传");
}

#[tokio::test]
async fn an_old_client_is_asked_to_update() {
    let h = Harness::new().await;
    let token = h.login(MEMBER).await;
    let r = h
        .call(
            "POST",
            paths::PUSH,
            Some(&token),
            Some(json!({"device_id": "d", "protocol": 0, "mutations": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UPGRADE_REQUIRED);
    assert!(r.body["message"].as_str().unwrap().contains("更新"));
}

#[tokio::test]
async fn a_batch_over_the_limit_is_refused_whole() {
    let h = Harness::new().await;
    let token = h.login(MEMBER).await;
    let batch: Vec<_> = (0..=crate::api::MAX_BATCH as u64)
        .map(|i| sign_in(i + 1, "x", "123456"))
        .collect();
    let r = h.push(&token, "d", &batch).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.rows("SELECT count(*) FROM mutations").await, 0);
}

// ---- the site ----

#[tokio::test]
async fn navigations_get_the_shell_with_a_strict_csp_and_unknown_api_paths_get_json() {
    let h = Harness::new().await;
    for path in ["/", "/activity/abc", "/login"] {
        let r = h.call("GET", path, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.text.contains("<div id=\"app\""), "{path}");
        assert!(!r.text.contains("{{BUILD}}"));
        let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
    }
    let r = h.call("GET", "/api/v1/nothing", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body["message"].is_string());
    let sw = h.call("GET", "/sw.js", None, None).await;
    assert!(
        sw.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(!sw.text.contains("{{BUILD}}"));
    assert!(!sw.text.contains("{{BUNDLE}}"));
    assert_eq!(
        h.call("GET", "/pkg/missing.js", None, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_wire_types() {
    // That it lists every path is checked with the authorisation matrix (tests/matrix.rs).
    let h = Harness::new().await;
    let r = h.call("GET", paths::OPENAPI, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["components"]["schemas"]["PushRequest"].is_object());
}

#[tokio::test]
async fn the_audit_log_is_for_district_admins_newest_first_a_page_at_a_time() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, _) = h.publish(&lead).await;
    let admin = h.login("13800000009").await;
    let r = h.call("GET", paths::AUDIT, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let newest = &r.body["entries"][0];
    assert_eq!(newest["label"], "发布活动");
    assert_eq!(newest["actor"], "王建国");
    assert_eq!(newest["actor_role"], "lead");
    // Named by its title, not its id.
    assert_eq!(newest["subject"], "《主题党日》", "{activity}");
    for token in [Some(lead.as_str()), Some(&h.login(MEMBER).await), None] {
        let r = h.call("GET", paths::AUDIT, token, None).await;
        let expected = if token.is_some() {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(r.status, expected);
    }
    let r = h
        .call(
            "GET",
            &format!("{}?before=x", paths::AUDIT),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // 250 more entries: pages of 100, newest first, each entry once.
    for i in 0..250 {
        db::query(
            "INSERT INTO audit_log (at, actor_id, action, subject) VALUES ($1, 1, 'decide', $2)",
        )
        .bind(now_ms())
        .bind(format!("entry {i}"))
        .execute(&h.db.writer)
        .await
        .unwrap();
    }
    let total = h.rows("SELECT count(*) FROM audit_log").await;
    let mut seen = Vec::new();
    let mut path = paths::AUDIT.to_owned();
    loop {
        let page = h.call("GET", &path, Some(&admin), None).await.body;
        let ids: Vec<i64> = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect();
        assert!(ids.len() <= 100 && ids.windows(2).all(|w| w[0] > w[1]));
        seen.extend(ids);
        match page["next"].as_i64() {
            Some(next) => path = format!("{}?before={next}", paths::AUDIT),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    assert_eq!(
        seen.iter().collect::<std::collections::HashSet<_>>().len() as i64,
        total
    );
}

#[tokio::test]
async fn whoever_may_not_call_an_endpoint_is_told_so_before_anything_about_what_they_sent() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let admin = h.login("13800000009").await;
    let broken = json!(["not", "an", "object"]);
    // A member's malformed body to an admin's endpoint: 403, not a hint at the body's shape.
    for (method, path) in [("POST", paths::ORGS), ("PUT", paths::STUDY_RULES)] {
        let refused = h
            .call(method, path, Some(&member), Some(broken.clone()))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{method} {path}");
        let malformed = h
            .call(method, path, Some(&admin), Some(broken.clone()))
            .await;
        assert_eq!(
            malformed.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path}"
        );
    }
    // Rules with a field missing or unknown would have become the defaults: refused, and kept as they were.
    let before = h.call("GET", paths::STUDY_RULES, Some(&admin), None).await;
    for partial in [json!({}), json!({"name": 5}), json!({"day_hours": 15})] {
        let reply = h
            .call("PUT", paths::STUDY_RULES, Some(&admin), Some(partial))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let after = h.call("GET", paths::STUDY_RULES, Some(&admin), None).await;
    assert_eq!(before.body, after.body);
    // The same for a malformed query (an admin's gets 400: see the audit log's test).
    let refused = h
        .call(
            "GET",
            &format!("{}?before=x", paths::AUDIT),
            Some(&member),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
