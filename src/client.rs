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
mod router;
mod signing;
mod store;
mod sync;

// The pages, by the domain's own words.
mod life;
mod login;
mod me;
mod org;
mod study;

use std::pin::Pin;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::JsFuture;

use crate::model::uuid_v7;
use crate::route;
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
    router::Location::start();
    let signed_out = move || ctx.session.with(Option::is_none);
    view! {
        <TopBar/>
        <main class="page">
            <SignedOutOr/>
        </main>
        <Show when=move || !signed_out()>
            <BottomNav/>
        </Show>
    }
}

/// The login page while signed out, except for 加入红雁 (`/join`, an invitation link); the pages otherwise.
#[component]
fn SignedOutOr() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = router::use_location();
    let joining = move || {
        location
            .path
            .with(|p| route::match_path("/join", p).is_some())
    };
    let login = move || ctx.session.with(Option::is_none) && !joining();
    view! {
        <Show when=login fallback=|| view! { <Pages/> }>
            <login::LoginPage/>
        </Show>
    }
}

/// A page's view, made when its address is opened.
type Page = fn() -> AnyView;

/// Every page by its address (`crate::route::match_path`), the first row that matches. What a member needs
/// first (log in, the activities, signing in) is in the first load; the rest are loaded when first opened.
const PAGES: &[(&str, Page)] = &[
    ("/", || life::home::HomePage().into_any()),
    ("/activity/:id", || {
        life::activity::ActivityPage().into_any()
    }),
    ("/activity/:id/code", || lazy(Box::pin(code_screen()))),
    ("/activity/:id/record", || lazy(Box::pin(record_page()))),
    ("/activity/:id/edit", || lazy(Box::pin(edit_page()))),
    ("/s/:id", || life::code::SignLink().into_any()),
    ("/branch", || lazy(Box::pin(branch_page()))),
    ("/study", || lazy(Box::pin(study_page()))),
    ("/study/new", || lazy(Box::pin(study_edit_page()))),
    ("/study/overview", || lazy(Box::pin(overview_page()))),
    ("/study/rules", || lazy(Box::pin(rules_page()))),
    ("/study/:id", || lazy(Box::pin(study_edit_page()))),
    ("/review", || lazy(Box::pin(review_page()))),
    ("/audit", || lazy(Box::pin(audit_page()))),
    ("/me", || lazy(Box::pin(me_page()))),
    ("/me/sync", || lazy(Box::pin(sync_health_page()))),
    ("/me/info", || lazy(Box::pin(my_info_page()))),
    ("/me/password", || lazy(Box::pin(password_page()))),
    ("/me/two-factor", || lazy(Box::pin(two_factor_page()))),
    ("/feedback", || lazy(Box::pin(feedback_page()))),
    ("/members", || lazy(Box::pin(members_page()))),
    ("/members/:id", || lazy(Box::pin(profile_page()))),
    ("/roster", || lazy(Box::pin(roster_page()))),
    ("/district", || lazy(Box::pin(district_page()))),
    ("/orgs", || lazy(Box::pin(orgs_page()))),
    ("/settings", || lazy(Box::pin(settings_page()))),
    ("/join", || lazy(Box::pin(join_page()))),
    ("/login", || login::LoginPage().into_any()),
];

/// The page at the current address. It is made again when the path changes (another page, or the same
/// page for another `:id`), not when the query does.
#[component]
fn Pages() -> impl IntoView {
    let location = expect_context::<router::Location>();
    let matched = Memo::new(move |_| {
        location.path.with(|path| {
            PAGES
                .iter()
                .enumerate()
                .find_map(|(row, (pattern, _))| Some((row, route::match_path(pattern, path)?)))
        })
    });
    let id = Memo::new(move |_| {
        matched.with(|m| m.as_ref().map(|(_, id)| id.clone()).unwrap_or_default())
    });
    provide_context(router::PageId(id));
    move || match matched.get() {
        Some((row, _)) => (PAGES[row].1)(),
        None => view! { <p class="empty">"页面不存在。"<a href="/">"返回首页"</a></p> }.into_any(),
    }
}

/// A lazily loaded page, with 正在打开… until its code has arrived (from the phone's store, or over a weak
/// signal the first time) rather than an empty screen. (Boxed: one copy of this for every page.)
fn lazy(page: Pin<Box<dyn Future<Output = AnyView> + Send>>) -> AnyView {
    let arrived = RwSignal::new(false);
    let page = async move {
        let page = page.await;
        arrived.set(true);
        page
    };
    view! {
        <Show when=move || !arrived.get()>
            <p class="empty" aria-busy="true">"正在打开…"</p>
        </Show>
        {Suspend::new(page)}
    }
    .into_any()
}

/// A page loaded when first opened: a separate wasm chunk (`cargo leptos build --split`) named after the
/// function, precached by the service worker (in its role's stage, `server::site`) so it opens offline too.
macro_rules! lazy_pages {
    ($($name:ident => $page:path,)*) => {$(
        #[leptos::lazy]
        async fn $name() -> AnyView {
            $page().into_any()
        }
    )*};
}

lazy_pages! {
    study_page => study::ledger::StudyPage,
    study_edit_page => study::ledger::StudyEditPage,
    me_page => me::MePage,
    code_screen => life::code::CodeScreen,
    record_page => life::record::RecordPage,
    edit_page => life::publish::EditPage,
    branch_page => life::branch::BranchPage,
    overview_page => study::review::OverviewPage,
    rules_page => study::requirements::RulesPage,
    review_page => study::review::ReviewPage,
    sync_health_page => me::sync_status::SyncHealthPage,
    audit_page => org::audit::AuditPage,
    my_info_page => me::info::MyInfoPage,
    feedback_page => me::feedback::FeedbackPage,
    members_page => org::members::MembersPage,
    roster_page => org::roster::RosterPage,
    join_page => me::join::JoinPage,
    password_page => me::security::PasswordPage,
    two_factor_page => me::security::TwoFactorPage,
    district_page => org::district::DistrictPage,
    orgs_page => org::tree::OrgsPage,
    settings_page => org::settings::SettingsPage,
    profile_page => org::profile::ProfilePage,
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
