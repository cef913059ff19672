//! Accounts and sessions: password login, bearer tokens, the `CurrentUser` extractor, login throttling.
//!
//! Passwords are argon2id hashes. A token is 256 random bits shown to the client once; the database keeps
//! only its SHA-256, with an expiry. An unknown phone and a wrong password get the same answer after the same
//! work, so the login cannot be used to find out who has an account.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::{Json, Router, routing::get, routing::post};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

use super::db::{groups_of, now_ms, within};
use super::{AppError, AppState};
use crate::api::{ErrorBody, LoginRequest, LoginResponse, Me, paths};
use crate::model::Role;
use crate::study::Audience;

/// A session lasts this long; the outbox survives its end (the member just logs in again).
pub const SESSION_MS: i64 = 30 * 24 * 3_600_000;
/// Failed logins allowed per phone number within [`THROTTLE_WINDOW_MS`].
const MAX_FAILURES: u32 = 5;
const THROTTLE_WINDOW_MS: i64 = 15 * 60_000;

const WRONG_CREDENTIALS: &str = "手机号或密码不正确";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGIN, post(login))
        .route(paths::LOGOUT, post(logout))
        .route(paths::ME, get(me))
}

/// The person behind a valid bearer token. Extracting it fails with 401 otherwise.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub role: Role,
    pub org_id: i64,
    token_hash: String,
}

/// Someone records are attributed to: the signed-in user, or for an import the records' author.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Person {
    pub id: i64,
    pub role: Role,
    pub org_id: i64,
}

impl CurrentUser {
    pub fn person(&self) -> Person {
        Person {
            id: self.id,
            role: self.role,
            org_id: self.org_id,
        }
    }
}

impl CurrentUser {
    /// The organisation a lead or admin asks about, as the root of a view: a lead only their own branch
    /// (the default), a committee admin their 党委 or anything below it (the default: the 党委), a district
    /// admin any (`None`: the whole district). Members are refused with `members`, anyone asking about an
    /// organisation outside their part of the tree with `elsewhere`.
    pub async fn scope(
        &self,
        conn: &mut SqliteConnection,
        asked: Option<i64>,
        members: &'static str,
        elsewhere: &'static str,
    ) -> Result<Option<i64>, AppError> {
        match (self.role, asked) {
            (Role::Member, _) => Err(AppError::Forbidden(members)),
            (Role::Lead, Some(org)) if org != self.org_id => Err(AppError::Forbidden(elsewhere)),
            (Role::Lead | Role::Committee, None) => Ok(Some(self.org_id)),
            (Role::Lead, Some(org)) => Ok(Some(org)),
            (Role::Committee, Some(org)) if within(conn, self.org_id, org).await? => Ok(Some(org)),
            (Role::Committee, Some(_)) => Err(AppError::Forbidden(elsewhere)),
            (Role::Admin, org) => Ok(org),
        }
    }

    /// Whether this person administers `org`: a district admin any, a committee admin their 党委's part of
    /// the tree, a lead their own branch (when `leads_count` is true).
    pub async fn administers(
        &self,
        conn: &mut SqliteConnection,
        org: i64,
        leads_count: bool,
    ) -> Result<bool, AppError> {
        Ok(match self.role {
            Role::Admin => true,
            Role::Committee => within(conn, self.org_id, org).await?,
            Role::Lead => leads_count && org == self.org_id,
            Role::Member => false,
        })
    }
}

/// The account with this id, if there is one.
pub async fn find_person(conn: &mut SqliteConnection, id: i64) -> Result<Option<Person>, AppError> {
    let row: Option<(String, i64)> = sqlx::query_as("SELECT role, org_id FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|(role, org_id)| {
        Ok(Person {
            id,
            role: stored_role(id, &role)?,
            org_id,
        })
    })
    .transpose()
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        const EXPIRED: &str = "登录已过期，请重新登录（未上传的记录会保留在手机上）";
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthorized("请先登录"))?;
        let token_hash = hash_token(token.trim());
        let row: Option<(i64, String, i64)> = sqlx::query_as(
            "SELECT u.id, u.role, u.org_id FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ? AND s.expires_at > ?",
        )
        .bind(&token_hash)
        .bind(now_ms())
        .fetch_optional(&state.db.reader)
        .await?;
        let (id, role, org_id) = row.ok_or(AppError::Unauthorized(EXPIRED))?;
        let role = stored_role(id, &role)?;
        Ok(CurrentUser {
            id,
            role,
            org_id,
            token_hash,
        })
    }
}

/// Counts failed logins per phone number in memory; a restart forgets them, which is acceptable for a
/// throttle whose job is to make guessing slow.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl Throttle {
    pub fn is_blocked(&self, key: &str, now: i64) -> bool {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        matches!(map.get(key), Some(&(n, since)) if n >= MAX_FAILURES && now - since < THROTTLE_WINDOW_MS)
    }

    pub fn fail(&self, key: &str, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| now - *since < THROTTLE_WINDOW_MS);
        }
        let entry = map.entry(key.to_owned()).or_insert((0, now));
        if now - entry.1 >= THROTTLE_WINDOW_MS {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    fn succeed(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// Log in with phone number and password.
#[utoipa::path(post, path = paths::LOGIN, tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "Unknown phone or wrong password"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, AppError> {
    let Json(req) = body?;
    let phone = req.phone.trim().to_owned();
    if req.password.len() > 256 || phone.len() > 32 {
        return Err(AppError::BadRequest("手机号或密码过长".to_owned()));
    }
    let now = now_ms();
    if state.throttle.is_blocked(&phone, now) {
        return Err(AppError::TooManyAttempts(
            "登录失败次数过多，请15分钟后再试",
        ));
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE phone = ?")
            .bind(&phone)
            .fetch_optional(&state.db.reader)
            .await?;
    // Verify against a dummy hash for unknown phones so both cases cost the same.
    let (user_id, stored) = match row {
        Some((id, hash)) => (Some(id), hash),
        None => (None, dummy_hash().to_owned()),
    };
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(|e| AppError::Internal(format!("verify task: {e}")))?;
    let Some(user_id) = user_id.filter(|_| ok) else {
        state.throttle.fail(&phone, now);
        return Err(AppError::Unauthorized(WRONG_CREDENTIALS));
    };
    state.throttle.succeed(&phone);

    let mut tx = state.db.writer.begin().await?;
    let (token, expires_at) = start_session(&mut tx, user_id, now).await?;
    tx.commit().await?;
    let user = load_me(&state, user_id).await?;
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user,
    }))
}

/// A new session for `user_id` (expired ones are swept); answers the token, shown to the client once.
pub async fn start_session(
    conn: &mut SqliteConnection,
    user_id: i64,
    now: i64,
) -> Result<(String, i64), sqlx::Error> {
    let token = new_token();
    let expires_at = now + SESSION_MS;
    sqlx::query("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?")
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *conn)
    .await?;
    Ok((token, expires_at))
}

/// End this session (the token stops working at once).
#[utoipa::path(post, path = paths::LOGOUT, tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<axum::http::StatusCode, AppError> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
        .bind(&user.token_hash)
        .execute(&state.db.writer)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Who am I?
#[utoipa::path(get, path = paths::ME, tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Me>, AppError> {
    Ok(Json(load_me(&state, user.id).await?))
}

pub async fn load_me(state: &AppState, user_id: i64) -> Result<Me, AppError> {
    type Row = (i64, String, String, String, i64, String, String);
    let (id, name, phone, role, org_id, org_name, audience): Row = sqlx::query_as(
        "SELECT u.id, u.name, u.phone, u.role, u.org_id, o.name, u.audience
         FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = ?",
    )
    .bind(user_id)
    .fetch_one(&state.db.reader)
    .await?;
    let role = stored_role(id, &role)?;
    let groups = if role == Role::Lead {
        groups_of(&mut *state.db.reader.acquire().await?, org_id).await?
    } else {
        Vec::new()
    };
    Ok(Me {
        id,
        name,
        phone,
        role,
        org_id,
        org_name,
        audience: Audience::parse(&audience).unwrap_or_default(),
        groups,
    })
}

/// A role read from the database; the CHECK constraint makes anything else a bug, hence 500.
fn stored_role(user_id: i64, role: &str) -> Result<Role, AppError> {
    Role::parse(role).ok_or_else(|| AppError::Internal(format!("user {user_id} has role {role}")))
}

/// An argon2id hash (PHC string) of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        // Hashing only fails for out-of-range parameters, and the defaults are in range.
        .unwrap_or_default()
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no account has this password"))
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_salted_argon2id_and_verify() {
        let a = hash_password("hongyan-demo");
        let b = hash_password("hongyan-demo");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("hongyan-demo", &a));
        assert!(!verify_password("hongyan-dem0", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_256_random_bits_and_stored_hashed() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_ne!(hash_token(&t), t);
        assert_eq!(hash_token(&t), hash_token(&t));
    }

    #[test]
    fn the_throttle_blocks_after_five_failures_and_forgets_after_the_window() {
        let th = Throttle::default();
        for _ in 0..MAX_FAILURES {
            assert!(!th.is_blocked("138", 0));
            th.fail("138", 0);
        }
        assert!(th.is_blocked("138", 1));
        assert!(!th.is_blocked("139", 1), "other numbers are not affected");
        assert!(!th.is_blocked("138", THROTTLE_WINDOW_MS));
    }
}
