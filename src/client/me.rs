//! 我的: who is signed in, where this phone's records are, and logging out.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::build_id;
use super::store;
use super::sync::Ctx;
use crate::model::{LocalTime, mask_phone};
use crate::outbox::EntryState;

#[component]
pub fn MePage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let navigate = use_navigate();
    let user = move || ctx.session.with(|s| s.as_ref().map(|s| s.user.clone()));
    let time =
        |t: Option<i64>| t.map_or("尚未".to_owned(), |t| LocalTime::from_millis(t).table());
    let quarantined = move || {
        ctx.entries.with(|e| {
            e.iter()
                .filter_map(|e| match &e.state {
                    EntryState::Quarantined { receipt } => Some((
                        e.mutation.id.clone(),
                        receipt.reason.clone().unwrap_or_default(),
                    )),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
    };
    let log_out = move |_| {
        ctx.log_out();
        navigate("/", Default::default());
    };
    view! {
        <section class="card">
            <h1>"我的"</h1>
            {move || user().map(|u| view! {
                <p class="name">{format!("{}同志", u.name)}</p>
                <p>{u.org_name.clone()}" · "{u.role.label()}</p>
                <p>"手机号："{mask_phone(&u.phone)}</p>
            })}
        </section>
        <section class="card">
            <h2>"同步状态"</h2>
            <dl class="facts">
                <dt>"待上传"</dt><dd>{move || format!("{} 条", ctx.pending_count())}</dd>
                <dt>"最近上传"</dt><dd>{move || time(ctx.cache.with(|c| c.last_push))}</dd>
                <dt>"最近获取"</dt><dd>{move || time(ctx.cache.with(|c| c.last_pull))}</dd>
                <dt>"本机存储"</dt><dd>{move || match ctx.persisted.get() {
                    Some(true) => "已持久保存",
                    Some(false) => "未持久保存（长期不用可能被浏览器清除，请常联网打开）",
                    None => "未知",
                }}</dd>
                <dt>"设备编号"</dt><dd class="mono">{store::device_id()}</dd>
                <dt>"应用版本"</dt><dd class="mono">{build_id()}</dd>
            </dl>
            <Show when=move || !quarantined().is_empty()>
                <h3>"未通过的记录"</h3>
                <ul class="quarantined">
                    {move || quarantined().into_iter().map(|(id, reason)| view! { <li><span class="mono">{id}</span>" "{reason}</li> }).collect_view()}
                </ul>
            </Show>
        </section>
        <section class="card">
            <Show when=move || { ctx.pending_count() > 0 }>
                <p class="hint">{move || format!("还有 {} 条记录未上传。退出后它们仍保存在本机，下次登录会继续上传。", ctx.pending_count())}</p>
            </Show>
            <button type="button" class="secondary" on:click=log_out>"退出登录"</button>
        </section>
    }
}
