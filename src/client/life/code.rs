//! The rotating 签到码: the lead's full-screen code and QR (computed on the phone, so it works with no
//! signal), and the link the QR carries, which signs a member in when their camera or WeChat opens it.

use leptos::prelude::*;
use qrcodegen::{QrCode, QrCodeEcc};

use super::activity::use_activity;
use crate::api::{ActivityView, Change, SignIn};
use crate::client::router;
use crate::client::sync::Ctx;
use crate::life::{code_at, ms_until_next_code, sign_in_link};
use crate::model::normalize_code;

/// The code an activity shows now: rotating from its secret, or the fixed code of an older activity.
pub fn current_code(a: &ActivityView, server_now: i64) -> Option<String> {
    match (&a.secret, &a.code) {
        (Some(secret), _) => Some(code_at(secret, server_now, a.code_step_ms)),
        (None, Some(code)) => Some(code.clone()),
        (None, None) => None,
    }
}

/// A clock that ticks every second while the page shows it.
pub fn ticking_clock(ctx: Ctx) -> ReadSignal<i64> {
    let (now, set_now) = signal(ctx.server_now());
    let handle = set_interval_with_handle(
        move || set_now.set(ctx.server_now()),
        std::time::Duration::from_secs(1),
    );
    on_cleanup(move || {
        if let Ok(h) = handle {
            h.clear();
        }
    });
    now
}

/// The QR code of `text` as SVG: one path of dark modules, with a quiet zone.
#[component]
pub fn Qr(text: String, #[prop(default = "签到二维码")] label: &'static str) -> impl IntoView {
    let qr = QrCode::encode_text(&text, QrCodeEcc::Medium).ok();
    qr.map(|qr| {
        let size = qr.size();
        let mut d = String::new();
        for y in 0..size {
            for x in 0..size {
                if qr.get_module(x, y) {
                    d.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
                }
            }
        }
        let view_box = format!("0 0 {0} {0}", size + 8);
        view! {
            <svg class="qr" viewBox=view_box role="img" aria-label=label shape-rendering="crispEdges">
                <rect width="100%" height="100%" fill="#fff"/>
                <path d=d fill="#000"/>
            </svg>
        }
    })
}

/// The code in two halves (the first the longer, for an odd length).
fn halves(code: &str) -> (String, String) {
    let middle = code.chars().count().div_ceil(2);
    (
        code.chars().take(middle).collect(),
        code.chars().skip(middle).collect(),
    )
}

/// The lead's code, large, with the QR and the seconds until it changes. Used on the activity page and
/// full screen at the meeting.
#[component]
pub fn CodePanel(activity: ActivityView, #[prop(optional)] with_qr: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let now = ticking_clock(ctx);
    let rotating = activity.secret.is_some();
    let step = activity.code_step_ms;
    let id = activity.id.clone();
    let code = move || current_code(&activity, now.get()).unwrap_or_default();
    let origin = window().location().origin().unwrap_or_default();
    view! {
        // Two groups of three (`284 557`), read aloud and typed more easily; the text stays the digits.
        <p class="code" data-testid="sign-in-code" aria-live="polite">{let code = code.clone(); move || {
            let (first, second) = halves(&code());
            view! { <span>{first}</span><span class="code-group">{second}</span> }
        }}</p>
        {rotating.then(|| view! {
            <p class="hint">{move || format!("{}秒后刷新", (ms_until_next_code(now.get(), step) + 999) / 1000)}</p>
        })}
        {with_qr.then(|| view! {
            {move || view! { <Qr text=sign_in_link(&origin, &id, &code())/> }}
            <p class="hint">"党员可用手机相机或微信扫一扫签到；也可在红雁中输入签到码"</p>
        })}
    }
}

/// `/activity/:id/code`: the code and QR filling the screen, for the lead to hold up at the meeting.
#[component]
pub fn CodeScreen() -> impl IntoView {
    let activity = use_activity();
    move || {
        match activity.get() {
            Some(a) if a.secret.is_some() || a.code.is_some() => view! {
                <section class="code-screen">
                    <h1>{a.title.clone()}</h1>
                    <CodePanel activity=a.clone() with_qr=true/>
                    <a href=format!("/activity/{}", a.id) class="secondary button">"返回"</a>
                </section>
            }
            .into_any(),
            _ => view! { <p class="empty">"签到码只在本支部书记的手机上，签到结束后即从手机清除。"<a href="/">"返回首页"</a></p> }.into_any(),
        }
    }
}

/// `/s/:id?c=123456`: what the QR opens. Signs in at once (saved on the phone first, so it works offline),
/// then shows the activity.
#[component]
pub fn SignLink() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = router::id().get_untracked();
    let code = normalize_code(&router::query("c").unwrap_or_default());
    // Only what a QR of this app carries: anything else is no activity, and records nothing.
    if !crate::model::is_uuid(&id) {
        return Some(
            view! { <p class="error" role="alert">{"这个签到链接不完整或已损坏，请重新扫码。".to_owned()}</p> },
        );
    }
    let result = ctx.record(Change::SignIn(SignIn {
        activity_id: id.clone(),
        code,
        ..Default::default()
    }));
    match result {
        Ok(()) => {
            // Replace the link in history: going back must not sign in again.
            router::use_location().replace(&format!("/activity/{id}"));
            None
        }
        Err(e) => Some(view! { <p class="error" role="alert">{e}</p> }),
    }
}
