//! 红雁 (Hongyan) — organisational life and study records for party members who work far from home.
//!
//! One package, two programs:
//!
//! - the **client** (`client`, feature `csr`): a Leptos app compiled to WebAssembly. It keeps every record a
//!   member makes in an outbox in localStorage first, and a sync loop pushes the outbox to the server and
//!   pulls changes back whenever the network allows. The page drives sync; the service worker
//!   (`public/sw.js`) only serves the app offline.
//! - the **server** (`server`, feature `server`): axum + SQLite. It serves the app and a JSON API under
//!   `/api/v1` that applies each pushed record exactly once and answers a receipt for it.
//!
//! Both sides share `model` (domain types and pure rules), `life` (the rules of organisational life) and
//! `api` (the wire contract), so the rules and the field names cannot drift apart.

pub mod api;
pub mod district;
pub mod life;
pub mod model;
pub mod org;
pub mod outbox;
pub mod route;
pub mod study;

#[cfg(feature = "csr")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;
