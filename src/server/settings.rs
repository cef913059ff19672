//! The settings phones receive ([`Settings`]): stored in the database, so every server of a deployment
//! uses the same ones, and set by the district admin on 设置 (`/settings`). The server's options
//! (`--code-step-secs`, …) only give a new database its first values ([`adopt`]). Every use reads them
//! where it is: a pull in its snapshot, the committer at the start of each group.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::auth::CurrentUser;
use super::db::{Conn, Db, Single, audit, now_ms};
use super::{AppError, AppState, Deferred};
use crate::api::{ErrorBody, Settings, paths};
use crate::model::{Millis, Role};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::SETTINGS, get(get_settings).put(put_settings))
}

/// Where the settings are kept.
const STORED: Single = Single {
    table: "district_settings",
    column: "settings",
};

/// The district's settings as stored, or the defaults.
pub async fn load(conn: &mut dyn Conn) -> Result<Settings, sqlx::Error> {
    STORED.load(conn).await
}

/// At a server's start: a database without settings takes `first` (the server's options), so a deployment
/// configured by options keeps its values; one with settings keeps its own. Answers the settings in force.
pub async fn adopt(db: &Db, first: &Settings) -> Result<Settings, sqlx::Error> {
    let mut conn = db.writer.acquire().await?;
    STORED.save(&mut *conn, first, None, now_ms(), true).await?;
    drop(conn);
    let mut conn = db.reader.acquire().await?;
    let held = load(&mut *conn).await?;
    let ignored: Vec<&str> = Settings::FIELDS
        .iter()
        .filter(|f| (f.get)(&held) != (f.get)(first))
        .map(|f| f.flag)
        .collect();
    if !ignored.is_empty() {
        tracing::warn!(
            "the database's settings apply, not --{}: the district admin sets them (我的 → 签到与提醒设置)",
            ignored.join(", --")
        );
    }
    Ok(held)
}

/// The district's settings (also sent with every pull).
#[utoipa::path(get, path = paths::SETTINGS, tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody)))]
pub async fn get_settings(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<Settings>, AppError> {
    let mut conn = state.db.reader.acquire().await?;
    Ok(Json(load(&mut conn).await?))
}

/// The settings as the admin sends them: every field, and nothing else (a missing field would silently
/// put a setting back to its default).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsSent {
    at_risk_after_ms: Millis,
    code_step_ms: Millis,
    makeup_window_ms: Millis,
    backdate_limit_ms: Millis,
    inactive_after_ms: Millis,
}

/// The district admin changes the settings; every server uses them at once, phones with their next pull.
#[utoipa::path(put, path = paths::SETTINGS, tag = "admin", security(("bearer" = [])), request_body = SettingsSent,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<SettingsSent>>,
) -> Result<Json<Settings>, AppError> {
    if user.role != Role::Admin {
        return Err(AppError::Forbidden("只有区委组织部管理员可以修改设置"));
    }
    let Json(sent) = body.read()?;
    let settings = Settings {
        at_risk_after_ms: sent.at_risk_after_ms,
        code_step_ms: sent.code_step_ms,
        makeup_window_ms: sent.makeup_window_ms,
        backdate_limit_ms: sent.backdate_limit_ms,
        inactive_after_ms: sent.inactive_after_ms,
    };
    settings.check().map_err(AppError::BadRequest)?;
    let now = now_ms();
    let mut tx = state.db.writer.begin().await?;
    let json = STORED
        .save(&mut *tx, &settings, Some(user.id), now, false)
        .await?;
    audit(&mut tx, now, user.id, "settings", &json, None).await?;
    tx.commit().await?;
    Ok(Json(settings))
}
