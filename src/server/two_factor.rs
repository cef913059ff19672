//! Two-step login for the accounts that can see a whole 党委 or district: a committee or district admin may
//! add an authenticator app's 6-digit code (TOTP, RFC 6238: HMAC-SHA-1 of the 30-second step, as every
//! authenticator computes it) to their password. Setting it up takes a code from the app, so nobody turns
//! it on with a secret they did not save; turning it off takes a current code; each code works once.

use crate::server::db::{self, Conn};
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router, routing::post};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;

use super::auth::CurrentUser;
use super::db::now_ms;
use super::security::account_event;
use super::{AppError, AppState, Deferred};
use crate::api::{ErrorBody, TwoFactorChange, TwoFactorSetup, paths};

/// Seconds each code stands for.
const STEP_S: i64 = 30;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::TWO_FACTOR, post(start).put(change))
}

/// The 6-digit code of `secret` for time step `step` (RFC 4226's dynamic truncation).
pub fn code(secret: &[u8], step: i64) -> String {
    // HMAC accepts a key of any length.
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    crate::life::six_digits(&mac.finalize().into_bytes())
}

/// The step `typed` is the code of, one step either side of `now` (phones' clocks drift), if any.
pub fn matching_step(secret: &[u8], typed: &str, now_ms: i64) -> Option<i64> {
    let typed: String = typed.chars().filter(char::is_ascii_digit).collect();
    let step = now_ms / 1_000 / STEP_S;
    (step - 1..=step + 1).find(|&s| code(secret, s) == typed)
}

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Checks the second factor of an account at login: `Ok(())` when it has none or `typed` is a current
/// code not used before (which is then used up).
pub async fn check_login(
    conn: &mut dyn Conn,
    user_id: i64,
    typed: &str,
    now: i64,
) -> Result<(), AppError> {
    let (secret, last): (Option<String>, i64) =
        db::query_as("SELECT totp_secret, totp_last_step FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?;
    let Some(secret) = secret.and_then(|s| from_hex(&s)) else {
        return Ok(());
    };
    if typed.trim().is_empty() {
        return Err(AppError::SecondFactorRequired);
    }
    match matching_step(&secret, typed, now) {
        // Used up in the same statement that checks it is unused: two servers given the same code at
        // once let one of them in.
        Some(step)
            if step > last
                && db::query(
                    "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
                )
                .bind(step)
                .bind(user_id)
                .execute(conn)
                .await?
                    == 1 =>
        {
            Ok(())
        }
        _ => Err(AppError::Unauthorized(
            "动态码不正确或已使用，请等下一个动态码",
        )),
    }
}

fn admin_only(user: &CurrentUser) -> Result<(), AppError> {
    if user.role.administers() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "两步验证用于党委和区委组织部管理员的账号",
        ))
    }
}

/// Start setting up two-step login: a new secret for the authenticator app (not in force until a code
/// from the app confirms it).
#[utoipa::path(post, path = paths::TWO_FACTOR, tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TwoFactorSetup), (status = 403, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<TwoFactorSetup>, AppError> {
    admin_only(&user)?;
    let mut secret = [0u8; 20];
    OsRng.fill_bytes(&mut secret);
    let phone: String = db::query_scalar("SELECT phone FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_one(&state.db.reader)
        .await?;
    db::query("UPDATE users SET totp_pending = $1 WHERE id = $2")
        .bind(super::auth::hex(&secret))
        .bind(user.id)
        .execute(&state.db.writer)
        .await?;
    let secret = base32(&secret);
    Ok(Json(TwoFactorSetup {
        uri: format!(
            "otpauth://totp/%E7%BA%A2%E9%9B%81:{phone}?secret={secret}&issuer=%E7%BA%A2%E9%9B%81"
        ),
        secret,
    }))
}

/// Turn two-step login on (a code from the app being set up) or off (a current code).
#[utoipa::path(put, path = paths::TWO_FACTOR, tag = "auth", security(("bearer" = [])), request_body = TwoFactorChange,
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "Not being set up"),
        (status = 422, body = ErrorBody), (status = 400, body = ErrorBody, description = "Wrong code")))]
pub async fn change(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<TwoFactorChange>>,
) -> Result<StatusCode, AppError> {
    admin_only(&user)?;
    let Json(change) = body.read()?;
    let now = now_ms();
    let mut tx = state.db.writer.begin().await?;
    let (current, pending): (Option<String>, Option<String>) =
        db::query_as("SELECT totp_secret, totp_pending FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
    let against = if change.enabled { pending } else { current };
    let Some(secret) = against.as_deref().and_then(from_hex) else {
        return Err(AppError::Conflict(if change.enabled {
            "请先开始设置两步验证"
        } else {
            "两步验证没有开启"
        }));
    };
    let Some(step) = matching_step(&secret, &change.code, now) else {
        return Err(AppError::BadRequest(
            "动态码不正确，请核对身份验证器中的6位数字".to_owned(),
        ));
    };
    let (sql, what) = if change.enabled {
        (
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 WHERE id = $2",
            "您开启了两步验证",
        )
    } else {
        (
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = $1 WHERE id = $2",
            "您关闭了两步验证",
        )
    };
    db::query(sql)
        .bind(step)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    account_event(&mut tx, user.id, now, None, what).await?;
    tx.commit().await?;
    state.security.log(
        if change.enabled {
            "two_factor_on"
        } else {
            "two_factor_off"
        },
        serde_json::json!({"user": user.id}),
    );
    Ok(StatusCode::NO_CONTENT)
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_ones_of_rfc_6238() {
        // RFC 6238, appendix B (SHA-1, the 8-digit values' last six digits).
        let secret = b"12345678901234567890";
        for (seconds, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code(secret, seconds / STEP_S), expected, "{seconds}");
        }
        assert_eq!(matching_step(secret, "287 082", 59_000), Some(1));
        assert_eq!(
            matching_step(secret, "287082", 59_000 + 90_000),
            None,
            "too old"
        );
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }
}
