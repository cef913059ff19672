//! The HTTP server: the versioned JSON API under `/api/v1`, and the app's shell, assets and service worker.
//!
//! `app(state)` builds the whole router, so tests drive exactly what production serves with
//! `app(state).oneshot(request)`. Each resource has its own module with its own router.

// Infrastructure: the database, the one error type, accounts and sessions, push and pull, the site.
pub(crate) mod applying;
mod auth;
pub mod bench_postgres;
mod commit;
pub mod db;
mod demo;
mod error;
pub mod ops;
pub use db::{Conn, Location};
pub mod scale;
pub mod security;
pub(crate) mod settings;
mod site;
pub mod storm;
pub(crate) mod sync;
#[cfg(test)]
mod tests;
pub(crate) mod throttle;
pub mod throwaway_postgres;
pub(crate) mod two_factor;

// The features, by the domain's own words: organisational life, the study ledger, the organisation
// (its tree, members, roster import, the district view, the audit log), and members' rights.
pub(crate) mod life;
pub(crate) mod org;
pub(crate) mod rights;
pub(crate) mod study;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use axum::{Json, Router, routing::get};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

use crate::api::Settings;
use life::{activities, attendance, register};
use org::{accounts, audit, district, roster, tree};

pub use db::Db;
pub use error::{AppError, Deferred};
/// A roster file as rows of text (for the parser property tests).
pub use roster::read_table as read_roster;
pub use site::Site;

/// Largest request body accepted (a full push batch is far smaller).
pub const BODY_LIMIT: usize = 512 * 1024;

/// Only what the wasm app needs: its own scripts, `'wasm-unsafe-eval'` to compile the module, its own API.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub site: Arc<Site>,
    pub throttle: Arc<throttle::Throttle>,
    /// Reverse proxies whose `X-Forwarded-For` names the real caller.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    pub security: Arc<security::SecurityLog>,
    /// Requests without a session in progress, per network.
    pub in_flight: Arc<throttle::InFlight>,
    /// Where pushes go to be committed together (see commit.rs).
    pub committer: commit::Committer,
}

impl AppState {
    /// The state of a server; starts its committer task (so: inside a Tokio runtime).
    pub fn new(db: Db, site: Site) -> AppState {
        AppState {
            committer: commit::Committer::start(db.writer.clone()),
            throttle: Arc::new(throttle::Throttle::for_pool(&db.throttle)),
            db,
            site: Arc::new(site),
            trusted_proxies: Arc::default(),
            security: Arc::default(),
            in_flight: Arc::default(),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "红雁 Hongyan API", description = "Offline-first sign-in and study records. All times are milliseconds since the Unix epoch."),
    paths(auth::login, auth::logout, auth::me, sync::register_key, sync::push, sync::pull, sync::import, register::register, register::roster,
        register::participation, study::get_rules, study::put_rules, settings::get_settings, settings::put_settings, study::overview, study::get_evidence,
        study::put_evidence, audit::audit_log, roster::import, accounts::members, accounts::member, accounts::edit_member, accounts::set_access, accounts::change_password, accounts::invite,
        accounts::check, accounts::join, rights::my_data, district::district, tree::tree, tree::create, tree::edit, tree::remove,
        tree::add_admin, tree::remove_admin, two_factor::start, two_factor::change,
        openapi_json),
    modifiers(&BearerAuth, &SharedErrors),
)]
struct ApiDoc;

/// The answers every endpoint of a kind can give, documented once: a body can stop arriving (408); a JSON
/// body can be malformed (400), too large (413), not JSON (415) or of the wrong shape (422); path and query
/// parameters can be invalid
/// (400); a signed-in endpoint refuses a missing or expired session (401); and any endpoint can fail on
/// our side (500). Each is an [`ErrorBody`](crate::api::ErrorBody), so a client generated from the
/// document handles them all.
struct SharedErrors;

impl utoipa::Modify for SharedErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::Ref;
        use utoipa::openapi::{ContentBuilder, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                let json_body = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                let mut shared = vec![("500", "Failed on the server (logged); try again")];
                if op.request_body.is_some() {
                    shared.push(("408", "The body stopped arriving"));
                }
                if json_body {
                    shared.extend([
                        ("400", "Malformed request"),
                        ("413", "Body too large"),
                        ("415", "Body is not JSON (Content-Type: application/json)"),
                        ("422", "Body is JSON of the wrong shape"),
                    ]);
                }
                if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    shared.push(("400", "Invalid path or query parameter"));
                }
                if op.security.is_some() {
                    shared.push(("401", "No valid session: log in again"));
                }
                for (status, description) in shared {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// This document.
#[utoipa::path(get, path = crate::api::paths::OPENAPI, tag = "meta", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The whole application: API, site, and the headers every response carries.
pub fn app(state: AppState) -> Router {
    // Logging in and joining: each network's share of the slots, before any of its body is read.
    let unauthenticated = Router::new()
        .merge(auth::unauthenticated_router())
        .merge(accounts::unauthenticated_router())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::one_network_at_a_time,
        ));
    let api = Router::new()
        .merge(unauthenticated)
        .merge(auth::router())
        .merge(sync::router())
        .merge(register::router())
        .merge(study::router())
        .merge(settings::router())
        .merge(audit::router())
        .merge(roster::router())
        .merge(accounts::router())
        .merge(rights::router())
        .merge(district::router())
        .merge(tree::router())
        .merge(two_factor::router())
        .route(crate::api::paths::OPENAPI, get(openapi_json))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // A body that stops arriving is given up (a connection held open a byte at a time).
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            std::time::Duration::from_secs(10),
        ));
    let header = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    api.fallback(serve_site)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::log_refusals,
        ))
        .with_state(state)
        .layer(header(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(header(
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(self)",
        ))
        .layer(header(header::CACHE_CONTROL, "no-store"))
}

async fn serve_site(State(state): State<AppState>, req: Request) -> Response {
    state.site.serve(req).await
}

/// How to run the server; from the command line and environment (see main.rs).
#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub db: Location,
    pub site_dir: PathBuf,
    /// Seed demo data into an empty database.
    pub demo: bool,
    pub settings: Settings,
    /// Reverse proxies in front of the server (their `X-Forwarded-For` is believed).
    pub trusted_proxies: Vec<IpAddr>,
    /// Where the security log goes (by default beside the database).
    pub security_log: PathBuf,
}

/// Opens the database, seeds demo data if asked, and serves until Ctrl-C or SIGTERM.
pub async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    // Held while serving a SQLite file: `hongyan restore` and a second server on it are refused. Several
    // servers share a PostgreSQL database (see db::Sequence), which PostgreSQL's own tools restore.
    let _lock = match &config.db {
        Location::File(path) => Some(ops::lock(path)?),
        Location::Postgres(_) => None,
    };
    let db = Db::connect(&config.db).await?;
    if config.demo && demo::seed(&db, &config.settings).await? {
        tracing::info!("seeded demo data (password {})", demo::PASSWORD);
    }
    let site = Site::load(&config.site_dir).map_err(|e| {
        format!(
            "cannot read the built site in {}: {e} (build it with `make build`)",
            config.site_dir.display()
        )
    })?;
    tracing::info!(build = %site.build, db = %config.db, "红雁 listening on http://{}", config.addr);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    settings::adopt(&db, &config.settings).await?;
    let mut state = AppState::new(db, site);
    state.trusted_proxies = Arc::new(config.trusted_proxies);
    state.security = Arc::new(
        security::SecurityLog::open(&config.security_log).map_err(|e| {
            format!(
                "cannot open the security log {}: {e}",
                config.security_log.display()
            )
        })?,
    );
    let app = app(state);
    // The caller's address throttles wrong invitation codes (see accounts.rs).
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
