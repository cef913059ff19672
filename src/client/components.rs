//! Pieces every page shares: the top bar with the sync state, and the bottom navigation.

use leptos::prelude::*;

use super::now_ms;
use super::router::Tab;
use super::sync::{Ctx, SyncStatus};
use crate::model::{Choice, LocalTime, Role, age_label, is_skewed};
use crate::outbox::Health;

/// A queue longer than one batch shows a progress bar as well as the count.
const BIG_QUEUE: usize = super::sync::BATCH;

/// Brand, the sync state in words (待上传 N 条 …) and a button to sync now.
#[component]
pub fn TopBar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let pending = move || ctx.pending_count();
    let state = move || {
        let n = pending();
        match ctx.status.get() {
            SyncStatus::Syncing { sent, total } if total > 0 => format!("正在上传 {sent}/{total}…"),
            SyncStatus::Syncing { .. } => "正在同步…".to_owned(),
            SyncStatus::Offline if n > 0 => "当前无网络，已保存到本机，联网后将自动上传".to_owned(),
            SyncStatus::Offline => "当前无网络".to_owned(),
            SyncStatus::Failed(m) => format!("上传失败，点击重试（{m}）"),
            SyncStatus::LoginNeeded => "登录已过期，请重新登录，未上传的记录会保留".to_owned(),
            SyncStatus::UpdateNeeded(m) => m,
            SyncStatus::Idle => match ctx.cache.with(|c| c.last_pull) {
                Some(at) if n == 0 => format!("已同步 {}", LocalTime::from_millis(at).table()),
                _ => String::new(),
            },
        }
    };
    let skewed = move || {
        ctx.cache
            .with(|c| c.last_pull.is_some() && is_skewed(c.server_offset_ms))
    };
    let signed_in = move || ctx.session.with(Option::is_some);
    // Shown once a record has waited a while, so a stuck queue is noticed.
    let oldest = move || {
        ctx.status.track();
        ctx.entries
            .with(|e| Health::of(e, now_ms()).oldest_pending_ms)
            .filter(|&age| age >= 10 * 60_000)
    };
    let progress = move || match ctx.status.get() {
        SyncStatus::Syncing { sent, total } if total > BIG_QUEUE => Some((sent, total)),
        _ => None,
    };
    let at_risk = move || {
        let settings = ctx.cache.with(|c| c.settings);
        let health = ctx.entries.with(|e| Health::of(e, now_ms()));
        health
            .at_risk(ctx.persisted.get(), &settings)
            .then(|| (health.pending, health.oldest_pending_ms.unwrap_or_default()))
    };
    let login_needed = move || ctx.status.get() == SyncStatus::LoginNeeded;
    view! {
        <header class="topbar">
            <span class="brand">"红雁"</span>
            <Show when=signed_in>
                <div class="sync" data-testid="sync-state">
                    <span class={move || if pending() > 0 { "pending has-pending" } else { "pending" }}>
                        {move || match (pending(), oldest()) {
                            (0, _) => "已全部上传".to_owned(),
                            (n, Some(age)) => format!("待上传 {n} 条（最早一条保存于{}前）", age_label(age)),
                            (n, None) => format!("待上传 {n} 条"),
                        }}
                    </span>
                    <span class="sync-detail" role="status">{state}</span>
                    <Show when=login_needed fallback=move || view! {
                        <button type="button" class="link" on:click=move |_| ctx.sync_now()>"立即同步"</button>
                    }>
                        <a class="link" href="/login">"重新登录"</a>
                    </Show>
                </div>
            </Show>
        </header>
        {move || progress().map(|(sent, total)| view! {
            <progress class="sync-progress" max=total value=sent aria-label="上传进度"></progress>
        })}
        {move || at_risk().map(|(n, age)| view! {
            <p class="banner warn" role="alert" data-testid="at-risk">
                {format!("有 {n} 条记录已在本机保存{}仍未上传，浏览器可能清除未上传的记录。请尽快在有网络的地方打开红雁；iPhone 请把红雁添加到主屏幕。也可以", age_label(age))}
                <a href="/me/sync">"导出未上传记录"</a>"交给党支部书记。"
            </p>
        })}
        <Show when=skewed>
            <p class="banner warn" role="alert">"本机时间与服务器相差较大，请核对手机时间"</p>
        </Show>
        {move || ctx.notice.get().map(|m| view! {
            <p class="banner error" role="alert">{m}" "
                <button type="button" class="link" on:click=move |_| ctx.notice.set(None)>"知道了"</button>
            </p>
        })}
    }
}

/// Whether the app would open with no signal, said plainly: members install it at the site office and
/// then walk into a basement.
#[component]
pub fn OfflineNote() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let text = move || match ctx.offline.get().ready_for(ctx.role()) {
        // (Logging in itself needs the network: said on the login form.)
        Some(true) if ctx.role().is_none() => {
            "已可离线使用：登录之后，没有信号也能打开红雁、签到和记录学习。"
        }
        Some(true) => "已可离线使用：没有信号也能打开红雁、签到和记录学习。",
        Some(false) => "正在下载离线使用所需的文件，完成前请保持联网。",
        None => "这个浏览器不能离线打开红雁：请在有网络时使用，或换用手机自带的浏览器。",
    };
    view! { <p class="hint offline-note" role="status" data-testid="offline-ready">{text}</p> }
}

#[component]
pub fn BottomNav() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let is_lead = move || ctx.role() == Some(Role::Lead);
    let is_admin = move || ctx.role().is_some_and(Role::administers);
    view! {
        <nav class="bottom-nav" aria-label="主导航">
            <Tab href="/">"首页"</Tab>
            <Tab href="/study">"学习记录"</Tab>
            <Show when=is_lead>
                <Tab href="/branch">"支部管理"</Tab>
            </Show>
            <Show when=is_admin>
                <Tab href="/district">"统计"</Tab>
            </Show>
            <Tab href="/me">"我的"</Tab>
        </nav>
    }
}

/// What to tell the person when an online-only action or read did not work: `offline` when there is no
/// network (what needs it, and what to do), else the server's own message.
pub fn say(e: super::http::ApiError, offline: &str) -> String {
    match e {
        super::http::ApiError::Offline => offline.to_owned(),
        e => e.message(),
    }
}

/// ‹ 上一年 · 2026年 · 下一年 ›
#[component]
pub fn YearSwitch(year: RwSignal<i64>) -> impl IntoView {
    view! {
        <div class="year-switch">
            <button type="button" class="link" on:click=move |_| year.update(|y| *y -= 1)>"‹ 上一年"</button>
            <strong>{move || format!("{}年", year.get())}</strong>
            <button type="button" class="link" on:click=move |_| year.update(|y| *y += 1)>"下一年 ›"</button>
        </div>
    }
}

/// A `<select>` of every value of `T` in its words, bound to `value`.
#[component]
pub fn Select<T>(id: &'static str, value: RwSignal<T>) -> impl IntoView
where
    T: Choice + Send + Sync,
{
    view! {
        <select id=id on:change=move |ev| if let Some(v) = T::parse(&event_target_value(&ev)) { value.set(v) }>
            {T::ALL.iter().map(|&v| view! {
                <option value=v.as_str() selected=move || value.get() == v>{v.label()}</option>
            }).collect_view()}
        </select>
    }
}

/// Saves `bytes` as a file through the browser's download.
pub fn save_file(name: &str, mime: &str, bytes: &[u8]) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}
