//! Serving the app itself: the shell for `/` and every navigation, the service worker, the built assets.
//!
//! The build id is a hash of the shell and the built bundle, computed at start-up. It is written into the
//! shell (asset URLs carry `?v=<build>`) and into the service worker, so each new build is a new service
//! worker with a new precache, and the open page is offered a reload instead of being broken underneath.

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::AppError;
use super::auth::hex;

/// The files the shell loads; they are hashed into the build id and precached by the service worker.
const BUNDLE: [&str; 3] = ["pkg/hongyan.js", "pkg/hongyan.wasm", "pkg/hongyan.css"];

pub struct Site {
    files: ServeDir,
    pub build: String,
    shell: Bytes,
    service_worker: Bytes,
}

impl Site {
    /// Reads the built site (cargo-leptos' `target/site`). Missing bundle files only change the build id.
    pub fn load(dir: &Path) -> std::io::Result<Site> {
        let shell_template = std::fs::read_to_string(dir.join("shell.html"))?;
        let sw_template = std::fs::read_to_string(dir.join("sw.js"))?;
        let mut hasher = Sha256::new();
        hasher.update(&shell_template);
        hasher.update(&sw_template);
        for file in BUNDLE {
            if let Ok(bytes) = std::fs::read(dir.join(file)) {
                hasher.update(bytes);
            }
        }
        let build = hex(&hasher.finalize()[..6]);
        Ok(Site {
            files: ServeDir::new(dir),
            shell: Bytes::from(shell_template.replace("{{BUILD}}", &build)),
            service_worker: Bytes::from(sw_template.replace("{{BUILD}}", &build)),
            build,
        })
    }

    /// Answers a request that no API route took: a file of the site, the service worker, or the shell.
    pub async fn serve(&self, req: Request<Body>) -> Response {
        let path = req.uri().path().to_owned();
        if path.starts_with("/api/") {
            return AppError::NotFound("没有这个接口").into_response();
        }
        if path == "/sw.js" {
            return no_cache(
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    self.service_worker.clone(),
                )
                    .into_response(),
            );
        }
        if path == "/" || path == "/shell.html" {
            return self.shell();
        }
        let served = self.files.clone().oneshot(req).await;
        match served {
            Ok(res) if res.status() != StatusCode::NOT_FOUND => {
                let mut res = res.map(Body::new);
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                res
            }
            // Client-side routes (`/activity/…`) have no file extension: they get the shell.
            _ if !path.rsplit('/').next().unwrap_or("").contains('.') => self.shell(),
            _ => (StatusCode::NOT_FOUND, "not found").into_response(),
        }
    }

    fn shell(&self) -> Response {
        no_cache(
            (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                self.shell.clone(),
            )
                .into_response(),
        )
    }
}

fn no_cache(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}
