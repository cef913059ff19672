//! 我的 → 同步状态: everything about where this phone's records are, and the way out when a phone cannot
//! sync — export the unsent records to a file, and import such a file (the member on a new phone, or
//! their lead or an admin).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::sync::Ctx;
use super::{build_id, http, now_ms, store};
use crate::api::{Mutation, PushResponse, ReceiptStatus, UnsentFile};
use crate::model::{LocalTime, age_label, size_label};
use crate::outbox::{self, Health};

#[component]
pub fn SyncHealthPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let quota = RwSignal::new(None::<(f64, f64)>);
    spawn_local(async move { quota.set(storage_estimate().await) });
    // One list of facts, rebuilt as a whole when anything changes: simpler than a signal per line, and
    // it keeps the page's share of the wasm small.
    let facts = move || {
        let health = ctx.entries.with(|e| Health::of(e, now_ms()));
        let (last_push, last_pull) = ctx.cache.with(|c| (c.last_push, c.last_pull));
        let time =
            |t: Option<i64>| t.map_or("尚未".to_owned(), |t| LocalTime::from_millis(t).table());
        let persisted = match ctx.persisted.get() {
            Some(true) => "已持久保存",
            Some(false) => "未持久保存（长期不用可能被浏览器清除）",
            None => "未知",
        };
        let quota = quota.get().map_or("未知".to_owned(), |(used, total)| {
            format!("已用 {} / 共 {}", size_label(used), size_label(total))
        });
        [
            ("待上传", format!("{} 条", health.pending)),
            (
                "最早一条待上传",
                health
                    .oldest_pending_ms
                    .map_or("无".to_owned(), |age| format!("{}前", age_label(age))),
            ),
            ("已送达（保留14天）", format!("{} 条", health.delivered)),
            ("最近上传", time(last_push)),
            ("最近获取", time(last_pull)),
            ("本机存储", persisted.to_owned()),
            (
                "红雁占用",
                format!(
                    "{}（本机记录上限约 5 MB）",
                    size_label(store::bytes_used() as f64)
                ),
            ),
            ("浏览器存储", quota),
            ("设备编号", store::device_id()),
            ("应用版本", build_id()),
        ]
    };
    let notes = move || {
        let mut notes = Vec::new();
        let unreadable = ctx.unreadable.get();
        if unreadable > 0 {
            notes.push(format!(
                "本机还有 {unreadable} 条记录由更新版本的红雁保存，请更新应用后上传。"
            ));
        }
        let others: usize = ctx
            .user_id()
            .map(store::others_pending)
            .unwrap_or_default()
            .iter()
            .map(|(_, n)| n)
            .sum();
        if others > 0 {
            notes.push(format!(
                "本机还保存着其他用户的 {others} 条待上传记录，请他们登录后同步。"
            ));
        }
        notes
    };
    view! {
        <a class="back" href="/me">"‹ 我的"</a>
        <section class="card">
            <h1>"同步状态"</h1>
            <dl class="facts" data-testid="sync-health">
                {move || facts().into_iter().map(|(term, value)| view! { <dt>{term}</dt><dd>{value}</dd> }).collect_view()}
            </dl>
            {move || notes().into_iter().map(|n| view! { <p class="hint warn">{n}</p> }).collect_view()}
        </section>
        <Quarantined/>
        <Export/>
        <Import/>
    }
}

/// The browser's own estimate of storage used and available (all storage kinds of this site).
async fn storage_estimate() -> Option<(f64, f64)> {
    let estimate = JsFuture::from(window().navigator().storage().estimate().ok()?)
        .await
        .ok()?;
    let number = |name: &str| js_sys::Reflect::get(&estimate, &name.into()).ok()?.as_f64();
    Some((number("usage")?, number("quota")?))
}

/// One record as the member recognises it: what, when, and for which activity.
fn describe(ctx: Ctx, m: &Mutation) -> String {
    let when = LocalTime::from_millis(m.device_time).table();
    let activity = match m.change() {
        Ok(crate::api::Change::SignIn(s)) => ctx.cache.with_untracked(|c| {
            c.activity(&s.activity_id)
                .map(|a| format!("「{}」", a.title))
        }),
        Ok(crate::api::Change::CreateActivity(a)) => Some(format!("「{}」", a.title)),
        Err(_) => None,
    };
    format!("{when} {}{}", m.kind.label(), activity.unwrap_or_default())
}

#[component]
fn Quarantined() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    move || {
        let rows = ctx.entries.with(|e| Health::of(e, now_ms()).quarantined);
        (!rows.is_empty()).then(|| view! {
            <section class="card">
                <h2>"未通过的记录"</h2>
                <p class="hint">"服务器无法接受这些记录，原因如下。它们保留在本机，可以导出交给党支部书记。"</p>
                <ul class="quarantined" data-testid="quarantined">
                    {rows.into_iter().map(|(m, reason)| view! {
                        <li><span>{describe(ctx, &m)}</span><br/><span class="reason">{reason}</span></li>
                    }).collect_view()}
                </ul>
            </section>
        })
    }
}

#[component]
fn Export() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let message = RwSignal::new(None::<String>);
    let count = move || ctx.entries.with(|e| outbox::unsent(e).len());
    let export = move |_| {
        message.set(Some(match export_unsent(ctx) {
            Ok(n) => format!("已导出 {n} 条记录。请把文件发给党支部书记，由其在“同步状态”中导入。"),
            Err(e) => e,
        }));
    };
    view! {
        <section class="card">
            <h2>"导出未上传记录"</h2>
            <p class="hint">"手机一直无法联网或即将更换手机时，可把未上传和未通过的记录保存为文件。导入后每条记录仍只计一次。"</p>
            <button type="button" class="secondary" disabled=move || count() == 0 on:click=export>
                {move || format!("导出 {} 条记录", count())}
            </button>
            {move || message.get().map(|m| view! { <p class="hint" role="status">{m}</p> })}
        </section>
    }
}

fn export_unsent(ctx: Ctx) -> Result<usize, String> {
    let session = ctx.session.get_untracked().ok_or("请先登录")?;
    let records = ctx.entries.with_untracked(|e| outbox::unsent(e));
    let n = records.len();
    let file = UnsentFile {
        app: UnsentFile::APP.to_owned(),
        format: UnsentFile::FORMAT,
        exported_at: now_ms(),
        device_id: store::device_id(),
        user_id: session.user.id,
        user_name: session.user.name.clone(),
        records,
    };
    let json = serde_json::to_string(&file).map_err(|e| e.to_string())?;
    let day = LocalTime::from_millis(file.exported_at).input_value();
    let name = format!("红雁未上传记录-{}-{}.json", session.user.name, &day[..10]);
    download(&name, &json).map_err(|_| "导出失败：浏览器不允许保存文件".to_owned())?;
    Ok(n)
}

/// Saves `text` as a file through the browser's download.
fn download(name: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

#[component]
fn Import() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let on_change = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        busy.set(true);
        spawn_local(async move {
            message.set(Some(import_file(ctx, file).await));
            busy.set(false);
        });
    };
    view! {
        <section class="card">
            <h2>"导入记录文件"</h2>
            <p class="hint">"导入本人在其他手机上导出的文件；党支部书记可导入本支部党员的文件。需要联网。"</p>
            <label for="import-file">"选择文件"</label>
            <input id="import-file" type="file" accept=".json,application/json" disabled=move || busy.get() on:change=on_change/>
            {move || message.get().map(|m| view! { <p class="hint" role="status" data-testid="import-result">{m}</p> })}
        </section>
    }
}

async fn import_file(ctx: Ctx, file: web_sys::File) -> String {
    let Some(session) = ctx.session.get_untracked() else {
        return "请先登录".to_owned();
    };
    let text = match JsFuture::from(file.text()).await {
        Ok(t) => t.as_string().unwrap_or_default(),
        Err(_) => return "无法读取该文件".to_owned(),
    };
    let Ok(unsent) = serde_json::from_str::<UnsentFile>(&text) else {
        return "这不是红雁导出的未上传记录文件".to_owned();
    };
    match http::import(&session.token, &unsent).await {
        Ok(resp) => {
            // Records of this phone's own outbox that the file carried are delivered now too.
            if unsent.user_id == session.user.id {
                ctx.apply_receipts(&resp.receipts);
            }
            import_summary(&unsent, &resp)
        }
        Err(e) => e.message(),
    }
}

fn import_summary(file: &UnsentFile, resp: &PushResponse) -> String {
    let count = |s: ReceiptStatus| resp.receipts.iter().filter(|r| r.status == s).count();
    format!(
        "已导入{}的 {} 条记录：新送达 {} 条，此前已送达 {} 条，未通过 {} 条。",
        file.user_name,
        resp.receipts.len(),
        count(ReceiptStatus::Applied),
        count(ReceiptStatus::Duplicate),
        count(ReceiptStatus::Quarantined),
    )
}
