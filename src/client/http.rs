//! HTTP to the server's `/api/v1` through the browser's `fetch`, with errors sorted by what the app should
//! do about them.
//!
//! "Offline" is not a failure to show: it means the record stays in the outbox and sync tries again later.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::{Closure, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::api::{
    ErrorBody, HISTORY_CHANGED, LoginRequest, LoginResponse, PullResponse, PushRequest,
    PushResponse, UnsentFile, paths,
};

#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// No network, the server is down, or the request timed out: keep the record and retry later.
    Offline,
    /// 401: the session is gone. Records stay; the person logs in again.
    Unauthorized(String),
    /// 401 at login: the password was right; the authenticator's 6-digit code is needed too.
    SecondFactor(String),
    /// 426: this app is older than the server supports.
    UpgradeRequired(String),
    /// 409 `history_changed`: the server's database was restored since the last pull; resync.
    HistoryChanged,
    /// Any other refusal, with the server's message.
    Rejected(String),
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            ApiError::Offline | ApiError::HistoryChanged => {
                "当前无网络，已保存到本机，联网后将自动上传".to_owned()
            }
            ApiError::Unauthorized(m)
            | ApiError::SecondFactor(m)
            | ApiError::UpgradeRequired(m)
            | ApiError::Rejected(m) => m.clone(),
        }
    }
}

/// A request that has had no answer after this long is treated as no network.
const TIMEOUT_MS: i32 = 30_000;

fn url(path: &str) -> String {
    let origin = leptos::prelude::window()
        .location()
        .origin()
        .unwrap_or_default();
    format!("{origin}{path}")
}

/// What a request carries: nothing, JSON, or a file's bytes.
enum Body {
    None,
    Json(String),
    Bytes(Vec<u8>),
}

impl Body {
    fn json<B: Serialize>(body: &B) -> Body {
        Body::Json(serde_json::to_string(body).unwrap_or_default())
    }
}

/// One request through the browser's own `fetch` (what reqwest wraps on wasm, without its URL and HTTP
/// types in the bundle), aborted after [`TIMEOUT_MS`]. Any failure to get an answer is [`ApiError::Offline`].
async fn fetch(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Body,
) -> Result<web_sys::Response, ApiError> {
    let window = leptos::prelude::window();
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| ApiError::Offline)?;
    if let Some(token) = token {
        let _ = headers.set("authorization", &format!("Bearer {token}"));
    }
    match body {
        Body::None => {}
        Body::Json(json) => {
            let _ = headers.set("content-type", "application/json");
            init.set_body(&JsValue::from_str(&json));
        }
        Body::Bytes(bytes) => {
            let _ = headers.set("content-type", "application/octet-stream");
            init.set_body(&js_sys::Uint8Array::from(&bytes[..]));
        }
    }
    init.set_headers(&headers);
    let abort = web_sys::AbortController::new().ok();
    if let Some(abort) = &abort {
        init.set_signal(Some(&abort.signal()));
        let abort = abort.clone();
        let stop = Closure::once_into_js(move || abort.abort());
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            stop.unchecked_ref(),
            TIMEOUT_MS,
        );
    }
    let answer = JsFuture::from(window.fetch_with_str_and_init(&url(path), &init))
        .await
        .map_err(|_| ApiError::Offline)?;
    Ok(answer.unchecked_into())
}

/// The body of an answer as text (a dropped connection mid-body is no network).
async fn text(res: &web_sys::Response) -> Result<String, ApiError> {
    let promise = res.text().map_err(|_| ApiError::Offline)?;
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .ok_or(ApiError::Offline)
}

/// What a refusal means for the app, from its status and the server's error body.
fn refusal(status: u16, body: &str, fallback: String) -> ApiError {
    let (message, code) = match serde_json::from_str::<ErrorBody>(body) {
        Ok(body) => (body.message, body.code),
        Err(_) => (fallback, None),
    };
    match status {
        401 if code.as_deref() == Some("otp_required") => ApiError::SecondFactor(message),
        401 => ApiError::Unauthorized(message),
        426 => ApiError::UpgradeRequired(message),
        409 if code.as_deref() == Some(HISTORY_CHANGED) => ApiError::HistoryChanged,
        // A proxy or gateway in between without the server behind it: the same as no network.
        502..=504 => ApiError::Offline,
        _ => ApiError::Rejected(message),
    }
}

/// A request answered with JSON.
async fn send<R: DeserializeOwned>(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Body,
) -> Result<R, ApiError> {
    let res = fetch(method, path, token, body).await?;
    let status = res.status();
    // Read as text and parse with `from_str`, the same reader localStorage uses, so each type's
    // deserializer is compiled into the wasm once rather than once per reader.
    let mut body = text(&res).await?;
    if status == 204 {
        // No content: read as `()`.
        body = "null".to_owned();
    }
    if res.ok() {
        return serde_json::from_str::<R>(&body)
            .map_err(|_| ApiError::Rejected("服务器的回答无法识别，请稍后重试".to_owned()));
    }
    Err(refusal(
        status,
        &body,
        format!("服务器暂时无法处理（{status}），稍后将自动重试"),
    ))
}

pub async fn login(phone: &str, password: &str, otp: &str) -> Result<LoginResponse, ApiError> {
    let body = LoginRequest {
        phone: phone.to_owned(),
        password: password.to_owned(),
        device_id: super::store::device_id(),
        otp: otp.to_owned(),
    };
    send("POST", paths::LOGIN, None, Body::json(&body)).await
}

/// Ends the session on the server; failures are ignored (the token expires anyway).
pub async fn logout(token: &str) {
    let _ = fetch("POST", paths::LOGOUT, Some(token), Body::None).await;
}

pub async fn push(token: &str, body: &PushRequest) -> Result<PushResponse, ApiError> {
    send("POST", paths::PUSH, Some(token), Body::json(body)).await
}

pub async fn import(token: &str, file: &UnsentFile) -> Result<PushResponse, ApiError> {
    send("POST", paths::IMPORT, Some(token), Body::json(file)).await
}

/// A JSON answer to a GET (an online-only view, such as the lead's quiet list).
pub async fn get<R: DeserializeOwned>(token: &str, path: &str) -> Result<R, ApiError> {
    send("GET", path, Some(token), Body::None).await
}

/// A JSON body sent with POST, answered with JSON (online-only actions: invitations, joining).
pub async fn post_json<B: Serialize, R: DeserializeOwned>(
    token: Option<&str>,
    path: &str,
    body: &B,
) -> Result<R, ApiError> {
    send("POST", path, token, Body::json(body)).await
}

/// A file sent as the body of a POST (the roster), answered with JSON.
pub async fn post_file<R: DeserializeOwned>(
    token: &str,
    path: &str,
    bytes: Vec<u8>,
) -> Result<R, ApiError> {
    send("POST", path, Some(token), Body::Bytes(bytes)).await
}

/// Deletes what `path` names (an empty organisation); 204 on success.
pub async fn delete(token: &str, path: &str) -> Result<(), ApiError> {
    send("DELETE", path, Some(token), Body::None).await
}

/// A JSON body replaced with PUT (the study rules), answered with the stored value.
pub async fn put<B: Serialize, R: DeserializeOwned>(
    token: &str,
    path: &str,
    body: &B,
) -> Result<R, ApiError> {
    send("PUT", path, Some(token), Body::json(body)).await
}

/// A file the server makes (the register as CSV or Excel).
pub async fn get_file(token: &str, path: &str) -> Result<Vec<u8>, ApiError> {
    let res = fetch("GET", path, Some(token), Body::None).await?;
    if res.ok() {
        let promise = res.array_buffer().map_err(|_| ApiError::Offline)?;
        let buffer = JsFuture::from(promise)
            .await
            .map_err(|_| ApiError::Offline)?;
        return Ok(js_sys::Uint8Array::new(&buffer).to_vec());
    }
    let status = res.status();
    let body = text(&res).await.unwrap_or_default();
    Err(
        match refusal(
            status,
            &body,
            format!("服务器暂时无法处理（{status}），请稍后重试"),
        ) {
            // (A file is never the login's second step, nor the app's version.)
            ApiError::SecondFactor(m) => ApiError::Unauthorized(m),
            ApiError::UpgradeRequired(m) => ApiError::Rejected(m),
            other => other,
        },
    )
}

pub async fn pull(token: &str, cursor: i64, history: i64) -> Result<PullResponse, ApiError> {
    let path = format!("{}?cursor={cursor}&history={history}", paths::PULL);
    send("GET", &path, Some(token), Body::None).await
}
