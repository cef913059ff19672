//! Seeing attacks: the events of each account that its owner is told about, and the security log.
//!
//! **Account events** (a password reset someone issued, a password set with an invitation or changed, the
//! account disabled or restored) are kept per account. At each login the phone is told what happened since
//! that phone last logged in — so a member whose account someone else took over through a reset learns who
//! issued it and when on their own phone, whatever the other person saw or dismissed. 我的信息 lists them
//! all.
//!
//! **The security log** is a structured record, separate from request logs, of logins (ok, failed,
//! throttled), joins and resets, every 401 and 403, every export of personal data (who, what scope, how many
//! rows) and imports of someone else's records: one JSON object per line in its own file (`--security-log`,
//! by default beside the database), and the same under the tracing target `hongyan::security`. Never a
//! password, token or code.

use crate::server::db::{self, Conn};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::model::{LocalTime, Role};

/// Something that happened to an account, for its owner.
pub async fn account_event(
    conn: &mut dyn Conn,
    user_id: i64,
    at: i64,
    actor: Option<i64>,
    what: &str,
) -> Result<(), sqlx::Error> {
    db::query("INSERT INTO account_events (user_id, at, actor_id, what) VALUES ($1, $2, $3, $4)")
        .bind(user_id)
        .bind(at)
        .bind(actor)
        .bind(what)
        .execute(conn)
        .await
        .map(|_| ())
}

/// How far back a phone that never logged in to this account is told about.
const NEW_DEVICE_LOOKBACK_MS: i64 = 30 * 24 * 3_600_000;

/// The account's events since this phone last logged in (the last 30 days for a phone new to it), as
/// sentences; and this login is remembered for the phone. Call inside the login's write transaction.
pub async fn notices_at_login(
    conn: &mut dyn Conn,
    user_id: i64,
    device_id: &str,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let last: Option<Option<i64>> =
        db::query_scalar("SELECT last_login_at FROM devices WHERE device_id = $1 AND user_id = $2")
            .bind(device_id)
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
    let since = last.flatten().unwrap_or(now - NEW_DEVICE_LOOKBACK_MS);
    let notices = events_since(conn, user_id, since).await?;
    if !device_id.is_empty() {
        db::query(
            "INSERT INTO devices (device_id, user_id, last_seq, last_seen, last_login_at) VALUES ($1, $2, 0, $3, $4)
             ON CONFLICT (device_id, user_id) DO UPDATE SET last_login_at = excluded.last_login_at",
        )
        .bind(device_id)
        .bind(user_id)
        .bind(now)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(notices)
}

/// The account's events after `since`, oldest first: `2026-11-30 10:02 周敏（区委组织部管理员）发起了密码重置`.
pub async fn events_since(
    conn: &mut dyn Conn,
    user_id: i64,
    since: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(i64, Option<String>, Option<String>, String)> = db::query_as(
        "SELECT e.at, a.name, a.role, e.what FROM account_events e LEFT JOIN users a ON a.id = e.actor_id
         WHERE e.user_id = $1 AND e.at > $2 ORDER BY e.at, e.id",
    )
    .bind(user_id)
    .bind(since)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(at, name, role, what)| {
            let who = match (name, role.as_deref().and_then(Role::parse)) {
                (Some(name), Some(role)) => format!("{name}（{}）", role.label()),
                _ => String::new(),
            };
            format!("{} {who}{what}", LocalTime::from_millis(at).table())
        })
        .collect())
}

/// The security log's file (none in tests that do not read it).
#[derive(Default)]
pub struct SecurityLog {
    file: Option<std::sync::Mutex<std::fs::File>>,
    /// Refusals logged per network this minute: a stranger cannot fill the disk with 401s.
    refusals: std::sync::Mutex<std::collections::HashMap<String, (u32, i64)>>,
}

/// Refusals logged per network and minute; past that, one line says how many more were not.
const REFUSALS_PER_MINUTE: u32 = 60;

impl SecurityLog {
    /// Appends to `path`, creating it.
    pub fn open(path: &std::path::Path) -> std::io::Result<SecurityLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(SecurityLog {
            file: Some(std::sync::Mutex::new(file)),
            refusals: Default::default(),
        })
    }

    /// One entry: `{"at": …, "event": …, …fields}`.
    pub fn log(&self, event: &str, fields: serde_json::Value) {
        use std::io::Write;
        tracing::info!(target: "hongyan::security", event, fields = %fields);
        let Some(file) = &self.file else { return };
        let mut entry = serde_json::json!({"at": super::db::now_ms(), "event": event});
        if let (Some(entry), serde_json::Value::Object(fields)) = (entry.as_object_mut(), fields) {
            entry.extend(fields);
        }
        let mut line = entry.to_string();
        line.push('\n');
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            tracing::error!(%e, "cannot write the security log");
        }
    }
}

impl SecurityLog {
    /// Whether one more refusal from `network` is logged now (the minute's first past the limit is, to
    /// say that the rest are not).
    fn refusal_allowed(&self, network: &str, now: i64) -> Option<bool> {
        let mut counts = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (_, since)| now - *since < 60_000);
        }
        let entry = counts.entry(network.to_owned()).or_insert((0, now));
        if now - entry.1 >= 60_000 {
            *entry = (0, now);
        }
        entry.0 += 1;
        match entry.0 {
            n if n <= REFUSALS_PER_MINUTE => Some(false),
            n if n == REFUSALS_PER_MINUTE + 1 => Some(true),
            _ => None,
        }
    }
}

/// Logs every answer of 401 or 403 with the path (its first 120 characters) and the caller's address
/// (never a token or a body), up to a limit per network and minute.
pub async fn log_refusals(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path: String = req.uri().path().chars().take(120).collect();
    let method = req.method().to_string();
    let address = super::auth::client_address(&state, &req);
    let response = next.run(req).await;
    let status = response.status();
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        let network = super::throttle::network_of(&address);
        match state
            .security
            .refusal_allowed(&network, super::db::now_ms())
        {
            None => return response,
            Some(true) => {
                state.security.log(
                    "refusals_not_logged",
                    serde_json::json!({"network": network, "per_minute": REFUSALS_PER_MINUTE}),
                );
                return response;
            }
            Some(false) => {}
        }
        state.security.log(
            if status == StatusCode::UNAUTHORIZED {
                "unauthorized"
            } else {
                "forbidden"
            },
            serde_json::json!({"method": method, "path": path, "address": address}),
        );
    }
    response
}
