//! 我的 → 同步状态: everything about where this phone's records are, and the way out when a phone cannot
//! sync — export the unsent records (a file, or text to paste into WeChat, whose browser cannot save
//! files), and import them (the member on a new phone, or their lead or an admin).

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::api::{Change, Mutation, PushResponse, ReceiptStatus, UnsentFile};
use crate::client::components::save_file;
use crate::client::sync::Ctx;
use crate::client::{build_id, http, now_ms, store};
use crate::model::{LocalTime, Role, age_label, size_label};
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
            (
                "本机保存",
                ctx.cache
                    .with(|c| c.holdings(ctx.role().unwrap_or(Role::Member))),
            ),
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
    let title = |id: &str| {
        ctx.cache
            .with_untracked(|c| c.activity(id).map(|a| a.title.clone()))
    };
    let activity = match m.change() {
        Ok(Change::CreateActivity(a)) => Some(a.title),
        Ok(Change::SaveStudy(s)) => Some(s.title),
        Ok(change) => match (change.activity_id(), change.study_id()) {
            (Some(id), _) => title(id),
            (None, Some(id)) => ctx
                .cache
                .with_untracked(|c| c.study.iter().find(|s| s.id == id).map(|s| s.title.clone())),
            (None, None) => None,
        },
        Err(_) => None,
    };
    let activity = activity.map(|t| format!("「{t}」")).unwrap_or_default();
    format!("{when} {}{activity}", m.kind.label())
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
    // The file's text, shown for copying where downloads do not work (WeChat's browser).
    let text = RwSignal::new(None::<String>);
    let count = move || ctx.entries.with(|e| outbox::unsent(e).len());
    // Signed before anyone taps: saving a file must happen within the tap itself.
    if let Some(user_id) = ctx.user_id() {
        leptos::task::spawn_local(async move { ctx.sign_unsigned(user_id).await });
    }
    let export = move |_| {
        message.set(Some(match unsent_file(ctx) {
            Ok((name, json, n)) => match save_file(&name, "application/json", json.as_bytes()) {
                Ok(()) => {
                    format!("已导出 {n} 条记录。请把文件发给党支部书记，由其在“同步状态”中导入。")
                }
                Err(_) => "此浏览器不能保存文件，请改用“复制记录内容”。".to_owned(),
            },
            Err(e) => e,
        }));
    };
    let copy = move |_| match unsent_file(ctx) {
        Ok((_, json, n)) => {
            let copied = copy_to_clipboard(&json);
            text.set(Some(json));
            message.set(Some(if copied {
                format!("已复制 {n} 条记录的内容，可粘贴到微信发给党支部书记。")
            } else {
                "请长按下面的内容，全选并复制，再粘贴到微信发给党支部书记。".to_owned()
            }));
        }
        Err(e) => message.set(Some(e)),
    };
    view! {
        <section class="card">
            <h2>"导出未上传记录"</h2>
            <p class="hint">"手机一直无法联网或即将更换手机时，可把未上传和未通过的记录保存为文件，或复制内容用微信发送。导入后每条记录仍只计一次。"</p>
            <div class="actions">
                <button type="button" class="secondary" disabled=move || count() == 0 on:click=export>
                    {move || format!("导出 {} 条记录", count())}
                </button>
                <button type="button" class="secondary" disabled=move || count() == 0 on:click=copy>"复制记录内容"</button>
            </div>
            {move || message.get().map(|m| view! { <p class="hint" role="status">{m}</p> })}
            {move || text.get().map(|t| view! {
                <textarea class="export-text" readonly aria-label="记录内容" data-testid="export-text">{t}</textarea>
            })}
        </section>
    }
}

/// The export file for this phone's unsent records: (file name, JSON, number of records).
fn unsent_file(ctx: Ctx) -> Result<(String, String, usize), String> {
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
    Ok((name, json, n))
}

/// Starts copying `text` to the clipboard where the browser offers it (HTTPS only); false if it does not.
fn copy_to_clipboard(text: &str) -> bool {
    let navigator = window().navigator();
    let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else {
        return false;
    };
    let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) else {
        return false;
    };
    write
        .dyn_ref::<js_sys::Function>()
        .is_some_and(|f| f.call1(&clipboard, &text.into()).is_ok())
}

#[component]
fn Import() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let message = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let pasted = RwSignal::new(String::new());
    let import = move |text: TextSource| {
        busy.set(true);
        spawn_local(async move {
            let text = match text {
                TextSource::File(file) => match JsFuture::from(file.text()).await {
                    Ok(t) => t.as_string().unwrap_or_default(),
                    Err(_) => String::new(),
                },
                TextSource::Pasted(text) => text,
            };
            message.set(Some(import_text(ctx, &text).await));
            busy.set(false);
        });
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            input.set_value("");
            import(TextSource::File(file));
        }
    };
    view! {
        <section class="card">
            <h2>"导入记录"</h2>
            <p class="hint">"导入本人在其他手机上导出的记录；党支部书记可导入本支部党员的记录。需要联网。"</p>
            <label for="import-file">"选择文件"</label>
            <input id="import-file" type="file" accept=".json,application/json" disabled=move || busy.get() on:change=on_file/>
            <label for="import-text">"或粘贴收到的记录内容"</label>
            <textarea id="import-text" class="export-text" prop:value=pasted
                on:input=move |ev| pasted.set(event_target_value(&ev))></textarea>
            <button type="button" class="secondary" disabled=move || busy.get() || pasted.with(|p| p.trim().is_empty())
                on:click=move |_| import(TextSource::Pasted(pasted.get_untracked()))>"导入粘贴的内容"</button>
            {move || message.get().map(|m| view! { <p class="hint" role="status" data-testid="import-result">{m}</p> })}
        </section>
    }
}

enum TextSource {
    File(web_sys::File),
    Pasted(String),
}

async fn import_text(ctx: Ctx, text: &str) -> String {
    let Some(session) = ctx.session.get_untracked() else {
        return "请先登录".to_owned();
    };
    let Ok(unsent) = serde_json::from_str::<UnsentFile>(text.trim()) else {
        return "这不是红雁导出的未上传记录，请检查文件或粘贴的内容是否完整".to_owned();
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
