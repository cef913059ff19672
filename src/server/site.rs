//! Serving the app itself: the shell for `/` and every navigation, the service worker, the built assets.
//!
//! The build id is a hash of the shell and the built bundle, computed at start-up. The shell loads the
//! bundle from `/v/<build>/…` (everything the bundle loads after that is relative to it, so it inherits
//! the prefix): those URLs never change meaning, and are served `immutable` for a year. The shell and
//! `sw.js` are revalidated on every load, so a new build is seen at once, and the service worker is a new
//! one with a new precache, which keeps every file whose hash did not change. Files are sent as the
//! brotli or gzip copies the build made beside them (`--precompress`), as the browser accepts.

use std::collections::BTreeMap;
use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use tower_http::services::ServeDir;

use super::AppError;
use super::auth::hex;

/// Where a build's bundle is served from: `/v/<build>/pkg/hongyan.js`, say.
const VERSIONED: &str = "/v/";

/// The built bundle: `boot.js` and every `.js`, `.wasm` and `.css` file under `pkg/` (the app, its styles,
/// the chunks of lazily loaded pages and wasm-bindgen's JS snippets), in name order. They are hashed into
/// the build id and precached by the service worker.
fn bundle_files(dir: &Path) -> Vec<String> {
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
    let mut files = vec!["boot.js".to_owned()];
    walk(&dir.join("pkg"), "pkg", &mut files);
    files.sort();
    files
}

/// How soon each phone needs a file, as the service worker stores the bundle (`public/sw.js`): stage 0
/// before it says the app opens offline, then stage 1 (the lead's pages), then stage 2 (everyone's), in
/// the background. The app says 已可离线使用 to each person once their role's stage is stored
/// (`Role::offline_stage`). Everything but the lazily loaded pages is stage 0, and so is a page named in
/// no list (a new one is stored first rather than missing offline; a test asks for every route to be
/// placed).
///
/// A lazily loaded page is named by its split point, which wasm-split names after the `#[leptos::lazy]`
/// function (`client::lazy_pages!` makes one per page).
const LEAD_PAGES: [&str; 11] = [
    "lead_view",
    "district_page",
    "publish_form",
    "code_screen",
    "record_page",
    "edit_page",
    "branch_page",
    "members_page",
    "profile_page",
    "review_page",
    "overview_page",
];

const ADMIN_PAGES: [&str; 6] = [
    "audit_page",
    "orgs_page",
    "roster_page",
    "rules_page",
    "settings_page",
    "two_factor_page",
];

/// The stage of a split point (`me_page_1541…`: its name and wasm-split's hash).
fn page_stage(split: &str) -> u8 {
    let name = split.rsplit_once('_').map_or(split, |(name, _hash)| name);
    match name {
        name if LEAD_PAGES.contains(&name) => 1,
        name if ADMIN_PAGES.contains(&name) => 2,
        // A member's page, or one named in no list: stored first.
        _ => 0,
    }
}

/// The stage of each bundle file: a page's own file (`pkg/split_<split point>.wasm`) is its page's, and a
/// chunk that several pages share (`pkg/chunk_<n>.wasm`, listed per split point in wasm-split's
/// manifest) the earliest of theirs.
fn stages(dir: &Path, files: &[String]) -> Vec<u8> {
    let manifest: BTreeMap<String, Vec<String>> =
        std::fs::read(dir.join("pkg/__wasm_split_manifest.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
    files
        .iter()
        .map(|file| {
            let name = file.strip_prefix("pkg/").unwrap_or(file);
            if let Some(split) = name
                .strip_prefix("split_")
                .and_then(|n| n.strip_suffix(".wasm"))
            {
                page_stage(split)
            } else if let Some(chunk) = name
                .strip_suffix(".wasm")
                .filter(|n| n.starts_with("chunk_"))
            {
                manifest
                    .iter()
                    .filter(|(_, chunks)| chunks.iter().any(|c| c == chunk))
                    .map(|(split, _)| page_stage(split))
                    .min()
                    .unwrap_or(0)
            } else {
                0
            }
        })
        .collect()
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
        // Each file with a hash of its bytes (the service worker keeps a file whose hash it already has)
        // and its stage.
        let files = bundle_files(dir);
        let mut bundle: Vec<(String, String, u8)> = Vec::new();
        for (file, stage) in files.iter().zip(stages(dir, &files)) {
            let bytes = std::fs::read(dir.join(file)).unwrap_or_default();
            hasher.update(file);
            hasher.update(&bytes);
            bundle.push((format!("/{file}"), hex(&Sha256::digest(&bytes)[..8]), stage));
        }
        let build = hex(&hasher.finalize()[..6]);
        // File names are [A-Za-z0-9_.-/]: the JSON needs no escaping inside the script's single quotes.
        let bundle = serde_json::to_string(&bundle).unwrap_or_else(|_| "[]".to_owned());
        let service_worker = sw_template
            .replace("{{BUILD}}", &build)
            .replace("{{BUNDLE}}", &bundle);
        let shell = shell_template
            .replace("{{V}}", &format!("{VERSIONED}{build}"))
            .replace("{{BUILD}}", &build);
        Ok(Site {
            files: ServeDir::new(dir).precompressed_br().precompressed_gzip(),
            shell: Bytes::from(shell),
            service_worker: Bytes::from(service_worker),
            build,
        })
    }

    /// Answers a request that no API route took: a file of the site, the service worker, or the shell.
    pub async fn serve(&self, mut req: Request<Body>) -> Response {
        let path = req.uri().path().to_owned();
        if path.starts_with("/api/") {
            return AppError::NotFound("没有这个接口").into_response();
        }
        // (Kept aside: the request goes to the file service below, and a route without a file gets the shell.)
        let known = req.headers().get(header::IF_NONE_MATCH).cloned();
        if path == "/sw.js" {
            let body = self.service_worker.clone();
            return self.revalidated(known, "text/javascript; charset=utf-8", body);
        }
        if path == "/" || path == "/shell.html" {
            return self.shell(known);
        }
        // `/v/<build>/pkg/x.wasm` is the file `pkg/x.wasm`: kept for a year if it is this build's. (An
        // older build's page asking after a release gets today's file, to be checked each time.)
        // Under a build's prefix: Some(whether it is this build's).
        let mut versioned = None;
        if let Some((build, file)) = path
            .strip_prefix(VERSIONED)
            .and_then(|rest| rest.split_once('/'))
        {
            versioned = Some(build == self.build);
            match Uri::try_from(format!("/{file}")) {
                Ok(uri) => *req.uri_mut() = uri,
                Err(_) => return (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
        let served = self.files.clone().oneshot(req).await;
        match served {
            Ok(res) if res.status() != StatusCode::NOT_FOUND => {
                let mut res = res.map(Body::new);
                let headers = res.headers_mut();
                headers.insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static(if versioned == Some(true) {
                        "public, max-age=31536000, immutable"
                    } else {
                        "no-cache"
                    }),
                );
                // The same URL is brotli, gzip or plain by the request's Accept-Encoding.
                headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                // Which build this file is (a page of another build reloads rather than mix them: boot.js).
                if versioned.is_some()
                    && let Ok(build) = HeaderValue::from_str(&self.build)
                {
                    headers.insert(HeaderName::from_static("x-hongyan-build"), build);
                }
                res
            }
            // Client-side routes (`/activity/…`) have no file extension: they get the shell.
            _ if !path.rsplit('/').next().unwrap_or("").contains('.') => self.shell(known),
            _ => (StatusCode::NOT_FOUND, "not found").into_response(),
        }
    }

    fn shell(&self, known: Option<HeaderValue>) -> Response {
        self.revalidated(known, "text/html; charset=utf-8", self.shell.clone())
    }

    /// The shell or the service worker, which are this build's (their ETag): checked on every load, and
    /// answered 304 with no body while the build is the same.
    fn revalidated(
        &self,
        known: Option<HeaderValue>,
        content_type: &'static str,
        body: Bytes,
    ) -> Response {
        let etag = format!("\"{}\"", self.build);
        let same = known
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
        let mut res = if same {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        };
        let headers = res.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pages of stage 0, listed here so that every page is placed on purpose.
    const MEMBER_PAGES: [&str; 8] = [
        "study_page",
        "study_edit_page",
        "me_page",
        "sync_health_page",
        "my_info_page",
        "password_page",
        "feedback_page",
        "join_page",
    ];

    #[test]
    fn every_lazily_loaded_page_has_its_stage_and_a_shared_chunk_comes_with_its_first_page() {
        // Every split point of the client, named as wasm-split names it: each page of `lazy_pages!` in
        // client.rs, and every other `#[leptos::lazy]` function under src/client.
        let client = include_str!("../client.rs");
        let block = client
            .split("lazy_pages! {")
            .nth(1)
            .unwrap()
            .split('}')
            .next()
            .unwrap();
        let mut routes: Vec<String> = block
            .lines()
            .filter_map(|l| Some(l.trim().split_once(" => ")?.0.to_owned()))
            .collect();
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/client")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let mut lines = text.lines();
                while let Some(line) = lines.next() {
                    if line.trim() == "#[leptos::lazy]" {
                        let next = lines.next().unwrap_or_default();
                        let name = next.split("fn ").nth(1).and_then(|n| n.split('(').next());
                        let name = name.unwrap_or(next).trim();
                        // (`lazy_pages!` itself: its pages are read above.)
                        if !name.starts_with('$') {
                            routes.push(name.to_owned());
                        }
                    }
                }
            }
        }
        assert!(routes.iter().any(|r| r == "lead_view"), "{routes:?}");
        assert!(routes.len() > 20, "{routes:?}");
        for route in &routes {
            let lists = [&MEMBER_PAGES[..], &LEAD_PAGES, &ADMIN_PAGES];
            let placed = lists.iter().filter(|l| l.contains(&route.as_str())).count();
            assert_eq!(placed, 1, "{route} must be in exactly one stage's list");
        }
        assert_eq!(page_stage("me_page_15414680832193763099"), 0);
        assert_eq!(page_stage("lead_view_14666006395404955427"), 1);
        assert_eq!(page_stage("orgs_page_1"), 2);
        assert_eq!(page_stage("district_page_1"), 1, "leads open 统计 too");
        assert_eq!(
            page_stage("a_page_nobody_placed_1"),
            0,
            "stored first rather than missing"
        );

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(
            dir.path().join("pkg/__wasm_split_manifest.json"),
            r#"{"me_page_9": ["chunk_1", "chunk_2"], "orgs_page_9": ["chunk_2", "chunk_3", "chunk_5"], "lead_view_7": ["chunk_3"]}"#,
        )
        .unwrap();
        let files = [
            "boot.js",
            "pkg/hongyan.wasm",
            "pkg/split_orgs_page_9.wasm",
            "pkg/split_lead_view_7.wasm",
            "pkg/chunk_1.wasm",
            "pkg/chunk_2.wasm",
            "pkg/chunk_3.wasm",
            "pkg/chunk_4.wasm",
            "pkg/chunk_5.wasm",
        ]
        .map(str::to_owned);
        assert_eq!(stages(dir.path(), &files), [0, 0, 2, 1, 0, 0, 1, 0, 2]);
    }

    fn get(path: &str, encoding: &str) -> Request<Body> {
        Request::get(path)
            .header(header::ACCEPT_ENCODING, encoding)
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn a_builds_files_come_compressed_and_immutable_under_its_prefix_and_the_shell_is_revalidated()
     {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret.txt"), "not the site's").unwrap();
        let root = &dir.path().join("site");
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::write(
            root.join("shell.html"),
            r#"<script type="module" src="{{V}}/boot.js"></script>"#,
        )
        .unwrap();
        std::fs::write(
            root.join("sw.js"),
            "const BUNDLE = JSON.parse('{{BUNDLE}}');",
        )
        .unwrap();
        std::fs::write(root.join("boot.js"), "import('./pkg/hongyan.js');").unwrap();
        std::fs::write(root.join("pkg/hongyan.wasm"), vec![7u8; 4096]).unwrap();
        std::fs::write(root.join("pkg/hongyan.wasm.br"), b"brotli").unwrap();
        std::fs::write(root.join("pkg/hongyan.wasm.gz"), b"gzip").unwrap();
        let site = Site::load(root).unwrap();
        let prefix = format!("/v/{}", site.build);

        let shell = site.serve(get("/", "br")).await;
        assert_eq!(shell.headers()[header::CACHE_CONTROL], "no-cache");
        // Checked on every load, sent again only for a new build.
        let etag = shell.headers()[header::ETAG].clone();
        for path in ["/", "/sw.js", "/activity/abc"] {
            let mut again = get(path, "br");
            again
                .headers_mut()
                .insert(header::IF_NONE_MATCH, etag.clone());
            assert_eq!(
                site.serve(again).await.status(),
                StatusCode::NOT_MODIFIED,
                "{path}"
            );
            let mut older = get(path, "br");
            older
                .headers_mut()
                .insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"0123\""));
            assert_eq!(site.serve(older).await.status(), StatusCode::OK, "{path}");
        }
        let body = axum::body::to_bytes(shell.into_body(), 1 << 20)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            format!(r#"<script type="module" src="{prefix}/boot.js"></script>"#)
        );
        // The service worker knows each file by path and content hash.
        let sw = site.serve(get("/sw.js", "br")).await;
        let sw = axum::body::to_bytes(sw.into_body(), 1 << 20).await.unwrap();
        let sw = std::str::from_utf8(&sw).unwrap();
        assert!(
            sw.contains(r#"["/boot.js",""#) && sw.contains(r#"["/pkg/hongyan.wasm",""#),
            "{sw}"
        );

        for (encoding, sent, body) in [
            ("br, gzip", Some("br"), &b"brotli"[..]),
            ("gzip", Some("gzip"), &b"gzip"[..]),
            ("identity", None, &[7u8; 4096][..]),
        ] {
            let res = site
                .serve(get(&format!("{prefix}/pkg/hongyan.wasm"), encoding))
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            let headers = res.headers().clone();
            assert_eq!(
                headers
                    .get(header::CONTENT_ENCODING)
                    .map(|v| v.to_str().unwrap()),
                sent
            );
            assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
            assert_eq!(headers[header::VARY], "accept-encoding");
            assert_eq!(
                headers[header::CACHE_CONTROL],
                "public, max-age=31536000, immutable"
            );
            assert_eq!(headers["x-hongyan-build"], site.build.as_str());
            let got = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            assert_eq!(&got[..], body);
        }
        // Another build's prefix, or none: the file, to be checked each time.
        // (Named as this build's: a running page of another build reloads rather than mix the two.)
        for (path, named) in [
            (
                "/v/0123456789ab/pkg/hongyan.wasm",
                Some(site.build.as_str()),
            ),
            ("/pkg/hongyan.wasm", None),
        ] {
            let res = site.serve(get(path, "br")).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache", "{path}");
            assert_eq!(
                res.headers()
                    .get("x-hongyan-build")
                    .map(|v| v.to_str().unwrap()),
                named
            );
        }
        // Nothing outside the site, however the prefix is spelt.
        for path in [
            &format!("{prefix}/pkg/missing.wasm"),
            &format!("{prefix}/../secret.txt"),
            "/v/../secret.txt",
            "/v/x/%2e%2e/secret.txt",
        ] {
            let res = site.serve(get(path, "br")).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }
}
