//! HTTP to the server's `/api/v1`, with errors sorted by what the app should do about them.
//!
//! "Offline" is not a failure to show: it means the record stays in the outbox and sync tries again later.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{
    ErrorBody, LoginRequest, LoginResponse, PullResponse, PushRequest, PushResponse, UnsentFile,
    paths,
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
    /// Any other refusal, with the server's message.
    Rejected(String),
}

impl ApiError {
    pub fn message(&self) -> String {
        match self {
            ApiError::Offline => "当前无网络，已保存到本机，联网后将自动上传".to_owned(),
            ApiError::Unauthorized(m)
            | ApiError::SecondFactor(m)
            | ApiError::UpgradeRequired(m)
            | ApiError::Rejected(m) => m.clone(),
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

fn url(path: &str) -> String {
    let origin = leptos::prelude::window()
        .location()
        .origin()
        .unwrap_or_default();
    format!("{origin}{path}")
}

async fn send<R: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<R, ApiError> {
    let res = req
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    let status = res.status();
    // Read as text and parse with `from_str`, the same reader localStorage uses, so each type's
    // deserializer is compiled into the wasm once rather than once per reader.
    let mut body = res.text().await.map_err(|_| ApiError::Offline)?;
    if status.as_u16() == 204 {
        // No content: read as `()`.
        body = "null".to_owned();
    }
    if status.is_success() {
        return serde_json::from_str::<R>(&body)
            .map_err(|_| ApiError::Rejected("服务器的回答无法识别，请稍后重试".to_owned()));
    }
    let (message, code) = match serde_json::from_str::<ErrorBody>(&body) {
        Ok(body) => (body.message, body.code),
        Err(_) => (
            format!("服务器暂时无法处理（{}），稍后将自动重试", status.as_u16()),
            None,
        ),
    };
    Err(match status.as_u16() {
        401 if code.as_deref() == Some("otp_required") => ApiError::SecondFactor(message),
        401 => ApiError::Unauthorized(message),
        426 => ApiError::UpgradeRequired(message),
        // A proxy or gateway in between without the server behind it: the same as no network.
        502..=504 => ApiError::Offline,
        _ => ApiError::Rejected(message),
    })
}

fn post<B: Serialize>(path: &str, token: Option<&str>, body: &B) -> reqwest::RequestBuilder {
    let req = reqwest::Client::new().post(url(path)).json(body);
    match token {
        Some(t) => req.bearer_auth(t),
        None => req,
    }
}

pub async fn login(phone: &str, password: &str, otp: &str) -> Result<LoginResponse, ApiError> {
    let body = LoginRequest {
        phone: phone.to_owned(),
        password: password.to_owned(),
        device_id: super::store::device_id(),
        otp: otp.to_owned(),
    };
    send(post(paths::LOGIN, None, &body)).await
}

/// Ends the session on the server; failures are ignored (the token expires anyway).
pub async fn logout(token: &str) {
    let req = reqwest::Client::new()
        .post(url(paths::LOGOUT))
        .bearer_auth(token);
    let _ = req.timeout(TIMEOUT).send().await;
}

pub async fn push(token: &str, body: &PushRequest) -> Result<PushResponse, ApiError> {
    send(post(paths::PUSH, Some(token), body)).await
}

pub async fn import(token: &str, file: &UnsentFile) -> Result<PushResponse, ApiError> {
    send(post(paths::IMPORT, Some(token), file)).await
}

/// A JSON answer to a GET (an online-only view, such as the lead's quiet list).
pub async fn get<R: DeserializeOwned>(token: &str, path: &str) -> Result<R, ApiError> {
    send(reqwest::Client::new().get(url(path)).bearer_auth(token)).await
}

/// A JSON body sent with POST, answered with JSON (online-only actions: invitations, joining).
pub async fn post_json<B: Serialize, R: DeserializeOwned>(
    token: Option<&str>,
    path: &str,
    body: &B,
) -> Result<R, ApiError> {
    send(post(path, token, body)).await
}

/// A file sent as the body of a POST (the roster), answered with JSON.
pub async fn post_file<R: DeserializeOwned>(
    token: &str,
    path: &str,
    bytes: Vec<u8>,
) -> Result<R, ApiError> {
    send(
        reqwest::Client::new()
            .post(url(path))
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .bearer_auth(token),
    )
    .await
}

/// Deletes what `path` names (an empty organisation); 204 on success.
pub async fn delete(token: &str, path: &str) -> Result<(), ApiError> {
    send(reqwest::Client::new().delete(url(path)).bearer_auth(token)).await
}

/// A JSON body replaced with PUT (the study rules), answered with the stored value.
pub async fn put<B: Serialize, R: DeserializeOwned>(
    token: &str,
    path: &str,
    body: &B,
) -> Result<R, ApiError> {
    send(
        reqwest::Client::new()
            .put(url(path))
            .json(body)
            .bearer_auth(token),
    )
    .await
}

/// A file the server makes (the register as CSV or Excel).
pub async fn get_file(token: &str, path: &str) -> Result<Vec<u8>, ApiError> {
    let res = reqwest::Client::new()
        .get(url(path))
        .bearer_auth(token)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|_| ApiError::Offline)?;
    if res.status().is_success() {
        return Ok(res.bytes().await.map_err(|_| ApiError::Offline)?.to_vec());
    }
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    let message = serde_json::from_str::<ErrorBody>(&body)
        .map(|b| b.message)
        .unwrap_or_else(|_| format!("服务器暂时无法处理（{status}），请稍后重试"));
    Err(match status {
        401 => ApiError::Unauthorized(message),
        502..=504 => ApiError::Offline,
        _ => ApiError::Rejected(message),
    })
}

pub async fn pull(token: &str, cursor: i64) -> Result<PullResponse, ApiError> {
    send(
        reqwest::Client::new()
            .get(url(&format!("{}?cursor={cursor}", paths::PULL)))
            .bearer_auth(token),
    )
    .await
}
