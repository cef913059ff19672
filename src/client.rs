//! The browser app: a Leptos client, rendered in the page (CSR), that works without a network.
//!
//! `start` mounts [`App`] into the shell's `#app`. Pages read and write through [`sync::Ctx`], which keeps
//! records in the outbox (`store`) before anything goes over the network (`http`). Pages stay thin: the
//! rules live in `model` and `outbox`.

// Infrastructure: the outbox on the phone, HTTP, sync, and what every page shares.
mod components;
mod geo;
mod http;
mod load;
mod photo;
mod signing;
mod store;
mod sync;

// The pages, by the domain's own words.
mod life;
mod login;
mod me;
mod org;
mod study;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{Lazy, path};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::JsFuture;

use crate::model::uuid_v7;
use components::{BottomNav, TopBar};
use sync::Ctx;

/// Room in the read-only data for the bundle splitter (`cargo leptos build --split`, wasm-split 0.2.3).
/// It lays each output module's share of a data segment out again, each share aligned; when the result
/// comes out even a few bytes longer than the segment it came from, it gives up and puts the *whole*
/// segment — every page's text, about 60 KiB — into the first load (it warns "Overlong segment 0 …
/// putting it in main module", which `cargo leptos` does not show). Nothing refers to these bytes, so
/// no module carries them: they only make the input segment longer than any layout of what is used can
/// be (the padding is at most one alignment, 16 bytes, per module: under 8 KiB for 500 modules).
/// `make size` catches a relapse: the first load jumps by about 20 KiB.
#[used]
static SPLIT_SLACK: [u8; 8192] = [0; 8192];

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    let Some(root) = document().get_element_by_id("app") else {
        return;
    };
    // Replace the loading skeleton that the shell painted before the wasm arrived.
    root.set_inner_html("");
    leptos::mount::mount_to(root.unchecked_into(), App).forget();
}

#[component]
fn App() -> impl IntoView {
    let ctx = Ctx::start();
    provide_context(ctx);
    let signed_out = move || ctx.session.with(Option::is_none);
    view! {
        <Router>
            <TopBar/>
            <main class="page">
                <SignedOutOr/>
            </main>
            <Show when=move || !signed_out()>
                <BottomNav/>
            </Show>
        </Router>
    }
}

/// The login page while signed out, except for 加入红雁 (`/join`, an invitation link); the pages otherwise.
#[component]
fn SignedOutOr() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = leptos_router::hooks::use_location();
    let login = move || ctx.session.with(Option::is_none) && location.pathname.get() != "/join";
    view! {
        <Show when=login fallback=|| view! { <Pages/> }>
            <login::LoginPage/>
        </Show>
    }
}

#[component]
fn Pages() -> impl IntoView {
    view! {
        <Routes fallback=|| view! { <p class="empty">"页面不存在。"<a href="/">"返回首页"</a></p> }>
            <Route path=path!("/") view=life::home::HomePage/>
            <Route path=path!("/activity/:id") view=life::activity::ActivityPage/>
            <Route path=path!("/activity/:id/code") view={Lazy::<LazyCodeScreen>::new()}/>
            <Route path=path!("/activity/:id/record") view={Lazy::<LazyRecordPage>::new()}/>
            <Route path=path!("/activity/:id/edit") view={Lazy::<LazyEditPage>::new()}/>
            <Route path=path!("/s/:id") view=life::code::SignLink/>
            <Route path=path!("/branch") view={Lazy::<LazyBranchPage>::new()}/>
            <Route path=path!("/study") view={Lazy::<LazyStudyPage>::new()}/>
            <Route path=path!("/study/new") view={Lazy::<LazyStudyEditPage>::new()}/>
            <Route path=path!("/study/overview") view={Lazy::<LazyOverviewPage>::new()}/>
            <Route path=path!("/study/rules") view={Lazy::<LazyRulesPage>::new()}/>
            <Route path=path!("/study/:id") view={Lazy::<LazyStudyEditPage>::new()}/>
            <Route path=path!("/review") view={Lazy::<LazyReviewPage>::new()}/>
            <Route path=path!("/audit") view={Lazy::<LazyAuditPage>::new()}/>
            <Route path=path!("/me") view={Lazy::<LazyMePage>::new()}/>
            <Route path=path!("/me/sync") view={Lazy::<LazySyncHealthPage>::new()}/>
            <Route path=path!("/me/info") view={Lazy::<LazyMyInfoPage>::new()}/>
            <Route path=path!("/me/password") view={Lazy::<LazyPasswordPage>::new()}/>
            <Route path=path!("/me/two-factor") view={Lazy::<LazyTwoFactorPage>::new()}/>
            <Route path=path!("/feedback") view={Lazy::<LazyFeedbackPage>::new()}/>
            <Route path=path!("/members") view={Lazy::<LazyMembersPage>::new()}/>
            <Route path=path!("/members/:id") view={Lazy::<LazyProfilePage>::new()}/>
            <Route path=path!("/roster") view={Lazy::<LazyRosterPage>::new()}/>
            <Route path=path!("/district") view={Lazy::<LazyDistrictPage>::new()}/>
            <Route path=path!("/orgs") view={Lazy::<LazyOrgsPage>::new()}/>
            <Route path=path!("/settings") view={Lazy::<LazySettingsPage>::new()}/>
            <Route path=path!("/join") view={Lazy::<LazyJoinPage>::new()}/>
            <Route path=path!("/login") view=login::LoginPage/>
        </Routes>
    }
}

/// Every page but what a member needs first (log in, the activities, signing in) is loaded when first
/// opened: the study ledger, 我的, the lead's and reviewers' desks, accounts, the sync diagnostics. Each is
/// a separate wasm chunk (`cargo leptos build --split`), precached by the service worker so that it opens
/// offline too.
macro_rules! lazy_page {
    ($($name:ident => $page:path),* $(,)?) => {$(
        struct $name;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $name {
            fn data() -> Self {
                $name
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_page! {
    LazyStudyPage => study::ledger::StudyPage,
    LazyStudyEditPage => study::ledger::StudyEditPage,
    LazyMePage => me::MePage,
    LazyCodeScreen => life::code::CodeScreen,
    LazyRecordPage => life::record::RecordPage,
    LazyEditPage => life::publish::EditPage,
    LazyBranchPage => life::branch::BranchPage,
    LazyOverviewPage => study::review::OverviewPage,
    LazyRulesPage => study::requirements::RulesPage,
    LazyReviewPage => study::review::ReviewPage,
    LazySyncHealthPage => me::sync_status::SyncHealthPage,
    LazyAuditPage => org::audit::AuditPage,
    LazyMyInfoPage => me::info::MyInfoPage,
    LazyFeedbackPage => me::feedback::FeedbackPage,
    LazyMembersPage => org::members::MembersPage,
    LazyRosterPage => org::roster::RosterPage,
    LazyJoinPage => me::join::JoinPage,
    LazyPasswordPage => me::security::PasswordPage,
    LazyTwoFactorPage => me::security::TwoFactorPage,
    LazyDistrictPage => org::district::DistrictPage,
    LazyOrgsPage => org::tree::OrgsPage,
    LazySettingsPage => org::settings::SettingsPage,
    LazyProfilePage => org::profile::ProfilePage,
}

/// Milliseconds since the Unix epoch by this device's clock.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Random bytes from the browser's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if let Ok(crypto) = window().crypto() {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    bytes
}

/// A new record id (UUIDv7), made on the phone.
pub fn new_id() -> String {
    uuid_v7(now_ms(), random_bytes())
}

/// Asks the browser to keep this site's storage (Safari may otherwise evict it after 7 days unused).
async fn request_persistence() -> Option<bool> {
    let storage = window().navigator().storage();
    let already = JsFuture::from(storage.persisted().ok()?)
        .await
        .ok()?
        .as_bool()?;
    if already {
        return Some(true);
    }
    JsFuture::from(storage.persist().ok()?)
        .await
        .ok()?
        .as_bool()
}

/// Resolves once a service worker holds what a member needs of this build, so the app opens with no
/// signal: the worker becomes active only after it has stored that (`public/sw.js`). False where the
/// browser has no service workers.
async fn offline_ready() -> bool {
    let navigator = window().navigator();
    if !js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false) {
        return false;
    }
    match navigator.service_worker().ready() {
        Ok(ready) => JsFuture::from(ready).await.is_ok(),
        Err(_) => false,
    }
}

/// The last stage the service worker said it has stored (`boot.js` marks it on the page), at least the
/// first, which it stores before it takes over.
fn offline_stage() -> u8 {
    document()
        .document_element()
        .and_then(|html| html.get_attribute("data-offline-stage"))
        .and_then(|stage| stage.parse().ok())
        .unwrap_or(0)
}

/// The build id the server wrote into the shell.
fn build_id() -> String {
    document()
        .query_selector("meta[name=hongyan-build]")
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
        .unwrap_or_default()
}
