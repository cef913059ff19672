//! The one error type of every handler, and how each variant answers on the wire.
//!
//! Every answer is `ErrorBody { message }` in Chinese saying what happened and what to do. Internal details
//! (SQL errors, paths) are logged and never sent.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::api::{ErrorBody, HISTORY_CHANGED};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed; the message says how.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no valid session (missing, unknown or expired token) or wrong credentials.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 401 with `code: otp_required`: the password was right; the authenticator's code is needed too.
    #[error("second factor required")]
    SecondFactorRequired,
    /// 403: signed in, but this role or branch may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 404: the thing named does not exist (or is not visible to this user).
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 409: the thing exists but is not in a state that allows this.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// 409 with `code: history_changed`: the phone's copy is of a history the server no longer has (its
    /// database was restored); the phone resyncs, then sends again.
    #[error("history changed")]
    HistoryChanged,
    /// 413: the body is larger than the server accepts.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415 / 422 and other rejections from axum's extractors, with their own status.
    #[error("rejected ({0}): {1}")]
    Rejected(StatusCode, String),
    /// 426: the app is older than the server supports.
    #[error("client too old")]
    UpgradeRequired,
    /// 429: too many failed attempts (logins, invitation codes); the message says when to try again.
    #[error("too many attempts")]
    TooManyAttempts(String),
    /// 503: too busy (password checks queued too long); try again shortly.
    #[error("busy")]
    Busy,
    /// 500: something broke on our side; logged with its cause.
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) | AppError::SecondFactorRequired => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) | AppError::HistoryChanged => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Rejected(status, _) => *status,
            AppError::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            AppError::BadRequest(m) | AppError::Rejected(_, m) | AppError::TooManyAttempts(m) => {
                m.clone()
            }
            AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m) => (*m).to_owned(),
            AppError::Busy => "服务器繁忙，请稍后再试".to_owned(),
            AppError::HistoryChanged => {
                "服务器数据已从备份恢复，或您的职务、所在支部有调整，正在重新同步（记录仍保存在手机上）"
                    .to_owned()
            }
            AppError::SecondFactorRequired => "请输入身份验证器中的6位动态码".to_owned(),
            AppError::PayloadTooLarge => "提交的内容过大，请分批上传".to_owned(),
            AppError::UpgradeRequired => {
                "应用版本过旧，请刷新页面或更新应用后再同步（未上传的记录会保留）".to_owned()
            }

            AppError::Internal(_) => "服务器内部错误，请稍后重试（记录仍保存在手机上）".to_owned(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        (
            self.status(),
            Json(ErrorBody {
                message: self.message(),
                code: match self {
                    AppError::SecondFactorRequired => Some("otp_required".to_owned()),
                    AppError::HistoryChanged => Some(HISTORY_CHANGED.to_owned()),
                    _ => None,
                },
            }),
        )
            .into_response()
    }
}

/// The database cannot be reached for now — every connection busy for longer than the pool waits, the
/// connection lost (PostgreSQL restarting, a failover), the server shutting down or recovering — as
/// opposed to a statement that failed. Phones are told to try again later (503), and keep their records.
fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => true,
        // Connection exceptions (08…) and operator intervention (57P…: shutting down, starting up).
        sqlx::Error::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if unavailable(&e) {
            tracing::warn!("database unavailable: {e}");
            return AppError::Busy;
        }
        AppError::Internal(format!("database: {e}"))
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::Rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "请求须为 JSON（Content-Type: application/json）".to_owned(),
            ),
            status => AppError::Rejected(status, format!("请求内容无效：{}", r.body_text())),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(format!("查询参数无效：{}", r.body_text()))
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::BadRequest(format!("路径参数无效：{}", r.body_text()))
    }
}

/// A part of the request — its JSON body, query or path, as axum's extractor `E` reads it — kept until
/// the handler asks for it with `.read()?`, which answers a malformed part as the [`AppError`] above.
/// Handlers ask after their role checks, so that whoever may not call an endpoint is told so (403)
/// before anything about the shape of what they sent (400).
pub struct Deferred<E>(Result<E, AppError>);

impl<E> Deferred<E> {
    pub fn read(self) -> Result<E, AppError> {
        self.0
    }
}

/// A body (`Deferred<Json<T>>`).
impl<S, E> FromRequest<S> for Deferred<E>
where
    E: FromRequest<S>,
    E::Rejection: Into<AppError>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Deferred(
            E::from_request(req, state).await.map_err(Into::into),
        ))
    }
}

/// The query or the path (`Deferred<Query<T>>`, `Deferred<Path<T>>`).
impl<S, E> FromRequestParts<S> for Deferred<E>
where
    E: FromRequestParts<S>,
    E::Rejection: Into<AppError>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(Deferred(
            E::from_request_parts(parts, state)
                .await
                .map_err(Into::into),
        ))
    }
}
