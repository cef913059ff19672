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

/// The built bundle: every `.js`, `.wasm` and `.css` file under `pkg/` (the app, its styles, the chunks of
/// lazily loaded pages and wasm-bindgen's JS snippets), in name order. They are hashed into the build id and
/// precached by the service worker.
fn bundle(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, files: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let path = format!("{prefix}/{name}");
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&entry.path(), &path, files);
            } else if [".js", ".wasm", ".css"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&dir.join("pkg"), "pkg", &mut files);
    files.sort();
    files
}

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
        let bundle = bundle(dir);
        for file in &bundle {
            hasher.update(file);
            if let Ok(bytes) = std::fs::read(dir.join(file)) {
                hasher.update(bytes);
            }
        }
        let build = hex(&hasher.finalize()[..6]);
        let urls: Vec<String> = bundle.iter().map(|f| format!("/{f}")).collect();
        // File names are [A-Za-z0-9_.-/]: the JSON needs no escaping inside the script's single quotes.
        let urls = serde_json::to_string(&urls).unwrap_or_else(|_| "[]".to_owned());
        let service_worker = sw_template
            .replace("{{BUILD}}", &build)
            .replace("{{BUNDLE}}", &urls);
        Ok(Site {
            files: ServeDir::new(dir),
            shell: Bytes::from(shell_template.replace("{{BUILD}}", &build)),
            service_worker: Bytes::from(service_worker),
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
