//! Accounts and sessions: password login, bearer tokens, the `CurrentUser` extractor, login throttling.
//!
//! Passwords are argon2id hashes. A token is 256 random bits shown to the client once; the database keeps
//! only its SHA-256, with an expiry. An unknown phone and a wrong password get the same answer after the same
//! work, so the login cannot be used to find out who has an account.

use std::sync::OnceLock;

use crate::server::db::{self, Conn};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::{Json, Router, routing::get, routing::post};
use rand::RngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};

use super::db::{groups_of, now_ms, within};
use super::security::notices_at_login;
use super::{AppError, AppState, Deferred, throttle};
use crate::api::{ErrorBody, LoginRequest, LoginResponse, Me, paths};
use crate::model::{Role, mask_phone};
use crate::study::Audience;

/// A session lasts this long; the outbox survives its end (the member just logs in again).
pub const SESSION_MS: i64 = 30 * 24 * 3_600_000;

const WRONG_CREDENTIALS: &str = "手机号或密码不正确";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::LOGOUT, post(logout))
        .route(paths::ME, get(me))
}

/// Logging in: see [`unauthenticated`].
pub fn unauthenticated_router() -> Router<AppState> {
    Router::new().route(paths::LOGIN, post(login).layer(unauthenticated()))
}

/// Routes anyone may call without a session (login, joining): at most so many at once and each within a
/// time limit; past that, a clear "busy" at once rather than a queue a flood could grow without end.
pub fn unauthenticated() -> impl tower::Layer<
    axum::routing::Route,
    Service = impl tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future = impl Send + 'static,
    > + Clone
              + Send
              + Sync
              + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    use axum::error_handling::HandleErrorLayer;
    use axum::response::IntoResponse;
    tower::ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
            AppError::Busy.into_response()
        }))
        .load_shed()
        .concurrency_limit(UNAUTHENTICATED_AT_ONCE)
        .timeout(std::time::Duration::from_secs(20))
}

/// Unauthenticated requests handled at once (password work is bounded separately, see [`hashing`]; one
/// network's share by [`one_network_at_a_time`]).
const UNAUTHENTICATED_AT_ONCE: usize = 256;

/// At most [`throttle::InFlight::PER_NETWORK`] requests without a session in progress per network: a few
/// slow connections cannot take every slot.
pub async fn one_network_at_a_time(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let network = throttle::network_of(&client_address(&state, &req));
    let Some(_slot) = state.in_flight.take(&network) else {
        return AppError::Busy.into_response();
    };
    next.run(req).await
}

/// The person behind a valid bearer token. Extracting it fails with 401 otherwise.
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub id: i64,
    pub role: Role,
    pub org_id: i64,
    /// Raised when what their phones may hold changed (see [`super::sync::history_for`]).
    pub view_epoch: i64,
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
    /// This session's token, as stored (to keep this session when ending the others).
    pub fn token_hash(&self) -> &str {
        &self.token_hash
    }

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
        conn: &mut dyn Conn,
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
        conn: &mut dyn Conn,
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
pub async fn find_person(conn: &mut dyn Conn, id: i64) -> Result<Option<Person>, AppError> {
    let row: Option<(String, i64)> = db::query_as("SELECT role, org_id FROM users WHERE id = $1")
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
        let row: Option<(i64, String, i64, i64)> = db::query_as(
            "SELECT u.id, u.role, u.org_id, u.view_epoch FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(&token_hash)
        .bind(now_ms())
        .fetch_optional(&state.db.reader)
        .await?;
        let (id, role, org_id, view_epoch) = row.ok_or(AppError::Unauthorized(EXPIRED))?;
        let role = stored_role(id, &role)?;
        Ok(CurrentUser {
            id,
            role,
            org_id,
            view_epoch,
            token_hash,
        })
    }
}

/// Log in with phone number and password. Guessing is slowed per phone and per address, by a budget for
/// the whole server, and not at all for a phone that logged in to this account before (see throttle.rs);
/// the answer tells the phone what happened to the account since it last logged in (a reset, …).
#[utoipa::path(post, path = paths::LOGIN, tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "Unknown phone or wrong password; or `code: otp_required` when the authenticator's code is needed too"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many attempts: the message says when to try again"),
        (status = 503, body = ErrorBody, description = "Too busy checking passwords: try again shortly"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    address: ClientAddress,
    body: Deferred<Json<LoginRequest>>,
) -> Result<Json<LoginResponse>, AppError> {
    let Json(req) = body.read()?;
    let phone = req.phone.trim().to_owned();
    if req.password.len() > 256
        || phone.len() > 32
        || req.device_id.len() > 64
        || req.otp.len() > 16
    {
        return Err(AppError::BadRequest("手机号或密码过长".to_owned()));
    }
    let now = now_ms();
    let row: Option<(i64, String, bool)> = db::query_as(
        "SELECT id, password_hash, disabled_at IS NOT NULL FROM users WHERE phone = $1",
    )
    .bind(&phone)
    .fetch_optional(&state.db.reader)
    .await?;
    let known_device = match &row {
        Some((id, _, _)) if !req.device_id.is_empty() => {
            db::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM devices WHERE device_id = $1 AND user_id = $2 AND last_login_at IS NOT NULL)",
            )
            .bind(&req.device_id)
            .bind(id)
            .fetch_one(&state.db.reader)
            .await?
        }
        _ => false,
    };
    let (phone_key, device_key) = (
        format!("phone:{phone}"),
        format!("device:{phone}:{}", req.device_id),
    );
    let keys = if known_device {
        vec![(device_key.clone(), throttle::KNOWN_DEVICE)]
    } else {
        vec![
            (phone_key.clone(), throttle::PHONE),
            (
                format!("addr:{}", throttle::network_of(&address.0)),
                throttle::ADDRESS,
            ),
        ]
    };
    let attempt = match state.throttle.attempt(&keys, !known_device, now).await? {
        Ok(attempt) => attempt,
        Err(wait) => {
            state.security.log(
                "login_throttled",
                serde_json::json!({"phone": mask_phone(&phone), "address": address.0, "wait_s": wait.0}),
            );
            return Err(AppError::TooManyAttempts(wait.message("登录失败次数过多")));
        }
    };
    // Verify against a dummy hash for unknown phones so both cases cost the same.
    let (user_id, stored, disabled) = match row {
        Some((id, hash, disabled)) => (Some(id), hash, disabled),
        None => (None, dummy_hash().to_owned(), false),
    };
    let password = req.password;
    let ok = hashing(move || verify_password(&password, &stored)).await?;
    let Some(user_id) = user_id.filter(|_| ok && !disabled) else {
        state.security.log(
            "login_failed",
            serde_json::json!({"phone": mask_phone(&phone), "address": address.0, "known_device": known_device}),
        );
        return Err(AppError::Unauthorized(WRONG_CREDENTIALS));
    };
    let mut tx = state.db.writer.begin().await?;
    match super::two_factor::check_login(&mut tx, user_id, &req.otp, now).await {
        Ok(()) => {}
        // The password was right: that try is given back, and the code asked for.
        Err(AppError::SecondFactorRequired) => {
            attempt.succeeded(&[]).await;
            return Err(AppError::SecondFactorRequired);
        }
        Err(wrong) => {
            state.security.log(
                "login_failed",
                serde_json::json!({"user": user_id, "address": address.0, "second_factor": true}),
            );
            return Err(wrong);
        }
    }
    attempt.succeeded(&[&phone_key, &device_key]).await;
    state.security.log(
        "login",
        serde_json::json!({"user": user_id, "address": address.0, "known_device": known_device}),
    );
    signed_in(&state, tx, user_id, &req.device_id, now).await
}

/// Runs password hashing (argon2id: CPU and 19 MiB each) on a blocking thread, at most two per core at a
/// time; a caller who waits too long is told the server is busy, so a flood of logins cannot exhaust CPU
/// or memory.
pub async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(2 * cores)
    });
    let permit = tokio::time::timeout(std::time::Duration::from_secs(10), permits.acquire())
        .await
        .map_err(|_| AppError::Busy)?
        .map_err(|e| AppError::Internal(format!("hashing semaphore: {e}")))?;
    let out = tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?;
    drop(permit);
    Ok(out)
}

/// The caller's address: the connection's peer, or — when the peer is one of the configured trusted
/// proxies (`--trusted-proxy`) — the nearest address in `X-Forwarded-For` that is not one of them. Behind
/// a reverse proxy every connection comes from the proxy, so without this all callers would share one
/// address (and one throttle).
pub fn client_address<B>(state: &AppState, req: &axum::http::Request<B>) -> String {
    address_of(state, req.headers(), req.extensions())
}

fn address_of(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> String {
    use std::net::{IpAddr, SocketAddr};
    let Some(peer) = extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return "unknown".to_owned();
    };
    if !state.trusted_proxies.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !state.trusted_proxies.contains(a))
        .unwrap_or(peer)
        .to_string()
}

/// The caller's address as an extractor (see [`client_address`]).
pub struct ClientAddress(pub String);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(address_of(
            state,
            &parts.headers,
            &parts.extensions,
        )))
    }
}

/// Signs `user_id` in on `device_id` (a login, or joining with a code): a new session and what they must
/// be told at this login, committed with what `tx` holds; answers what the phone keeps.
pub async fn signed_in(
    state: &AppState,
    mut tx: db::Tx<'_>,
    user_id: i64,
    device_id: &str,
    now: i64,
) -> Result<Json<LoginResponse>, AppError> {
    let (token, expires_at) = start_session(&mut tx, user_id, now).await?;
    let notices = notices_at_login(&mut tx, user_id, device_id, now).await?;
    tx.commit().await?;
    let user = load_me(state, user_id).await?;
    Ok(Json(LoginResponse {
        token,
        expires_at,
        user,
        notices,
    }))
}

/// A new session for `user_id` (expired ones are swept); answers the token, shown to the client once.
pub(super) async fn start_session(
    conn: &mut dyn Conn,
    user_id: i64,
    now: i64,
) -> Result<(String, i64), sqlx::Error> {
    let token = new_token();
    let expires_at = now + SESSION_MS;
    db::query("DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2")
        .bind(user_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    db::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
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
    db::query("DELETE FROM sessions WHERE token_hash = $1")
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
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        name: String,
        phone: String,
        role: String,
        org_id: i64,
        org_name: String,
        audience: String,
        two_factor: bool,
    }
    let row: Row = db::query_as(
        "SELECT u.id, u.name, u.phone, u.role, u.org_id, o.name AS org_name, u.audience,
                u.totp_secret IS NOT NULL AS two_factor
         FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(&state.db.reader)
    .await?;
    let role = stored_role(row.id, &row.role)?;
    let groups = if role == Role::Lead {
        groups_of(&mut *state.db.reader.acquire().await?, row.org_id).await?
    } else {
        Vec::new()
    };
    Ok(Me {
        id: row.id,
        name: row.name,
        phone: row.phone,
        role,
        org_id: row.org_id,
        org_name: row.org_name,
        audience: Audience::parse(&row.audience).unwrap_or_default(),
        groups,
        two_factor: row.two_factor,
    })
}

/// A role read from the database; the CHECK constraint makes anything else a bug, hence 500.
fn stored_role(user_id: i64, role: &str) -> Result<Role, AppError> {
    Role::parse(role).ok_or_else(|| AppError::Internal(format!("user {user_id} has role {role}")))
}

/// Ends every session of an account at once (a new password, a disabled account).
pub async fn end_sessions(conn: &mut dyn Conn, user_id: i64) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await
        .map(|_| ())
}

/// Refuses a new password that is easy to guess ([`crate::model::password_problem`]) or among the most
/// common passwords (`common-passwords.txt`).
pub fn check_new_password(password: &str, phone: &str) -> Result<(), AppError> {
    static COMMON: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    if let Some(problem) = crate::model::password_problem(password, phone) {
        return Err(AppError::BadRequest(problem));
    }
    let common = COMMON.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect()
    });
    if common.contains(password.to_lowercase().as_str()) {
        return Err(AppError::BadRequest(
            "这是最常见的密码之一，很容易被猜到，请换一个".to_owned(),
        ));
    }
    Ok(())
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
    fn common_passwords_are_refused_whatever_their_case() {
        assert!(check_new_password("Password1", "13800000002").is_err());
        assert!(check_new_password("woaini1314", "13800000002").is_err());
        assert!(check_new_password("hongyan-demo", "13800000002").is_ok());
    }

    #[test]
    fn tokens_are_256_random_bits_and_stored_hashed() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_ne!(hash_token(&t), t);
        assert_eq!(hash_token(&t), hash_token(&t));
    }
}
