//! 我的: who is signed in, a line on where this phone's records are (details in 同步状态), 我的信息 and
//! 投诉建议, the lead's and admin's account pages, location consent, and logging out; and the pages it
//! leads to.

pub mod feedback;
pub mod info;
pub mod join;
pub mod security;
pub mod sync_status;

use leptos::prelude::*;

use super::router;
use super::store;
use super::sync::Ctx;
use crate::api::{Change, Consent, ConsentKind};
use crate::model::{Role, mask_phone};
use crate::outbox::EntryState;

#[component]
pub fn MePage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = router::use_location();
    let user = move || ctx.session.with(|s| s.as_ref().map(|s| s.user.clone()));
    let quarantined = move || {
        ctx.entries.with(|e| {
            e.iter()
                .filter(|e| matches!(e.state, EntryState::Quarantined { .. }))
                .count()
        })
    };
    let log_out = move |_| {
        ctx.log_out(false);
        location.replace("/");
    };
    // Everything of this person leaves the phone, unsent records too: asked first when any wait.
    let log_out_and_clear = move |_| {
        let pending = ctx.pending_count();
        let question = if pending > 0 {
            format!(
                "还有 {pending} 条记录未上传，清除后将无法找回。建议先在“同步状态”中导出未上传记录。确定退出并清除本机数据吗？"
            )
        } else {
            "将退出登录，并清除本机保存的您的全部数据。确定吗？".to_owned()
        };
        if window().confirm_with_message(&question).unwrap_or(false) {
            ctx.log_out(true);
            location.replace("/");
        }
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
        <ElderMode/>
        <section class="card">
            <a href="/me/sync" class="row-link">
                <span>"同步状态"</span>
                <span class="muted">{move || {
                    let quarantined = quarantined();
                    match (ctx.pending_count(), quarantined) {
                        (0, 0) => "记录已全部上传".to_owned(),
                        (p, 0) => format!("{p} 条待上传"),
                        (p, q) => format!("{p} 条待上传，{q} 条未通过"),
                    }
                }}" ›"</span>
            </a>
        </section>
        <section class="card">
            <a href="/me/info" class="row-link"><span>"我的信息"</span><span class="muted">"查看、导出 ›"</span></a>
            <a href="/feedback" class="row-link"><span>"投诉建议"</span><span class="muted">" ›"</span></a>
            <a href="/me/password" class="row-link"><span>"修改密码"</span><span class="muted">" ›"</span></a>
        </section>
        {move || matches!(ctx.role(), Some(Role::Lead | Role::Committee | Role::Admin)).then(|| view! {
            <section class="card">
                <a href="/members" class="row-link"><span>"成员与邀请"</span><span class="muted">" ›"</span></a>
                <a href="/district" class="row-link"><span>"组织生活统计"</span><span class="muted">" ›"</span></a>
                {ctx.role().is_some_and(Role::administers).then(|| view! {
                    <a href="/orgs" class="row-link"><span>"组织管理"</span><span class="muted">" ›"</span></a>
                    <a href="/roster" class="row-link"><span>"导入名册"</span><span class="muted">" ›"</span></a>
                })}
                {(ctx.role() == Some(Role::Admin)).then(|| view! {
                    <a href="/audit" class="row-link"><span>"操作日志"</span><span class="muted">" ›"</span></a>
                    <a href="/settings" class="row-link"><span>"签到与提醒设置"</span><span class="muted">" ›"</span></a>
                })}
                {ctx.role().is_some_and(Role::administers).then(|| view! {
                    <a href="/me/two-factor" class="row-link"><span>"两步验证"</span><span class="muted">" ›"</span></a>
                })}
            </section>
        })}
        <LocationConsent/>
        <section class="card">
            <Show when=move || { ctx.pending_count() > 0 }>
                <p class="hint">{move || format!("还有 {} 条记录未上传。退出后它们仍保存在本机，下次登录会继续上传。", ctx.pending_count())}</p>
            </Show>
            <button type="button" class="secondary" on:click=log_out>"退出登录"</button>
            <p class="hint">"在别人的手机上用过，或手机要转给他人：请用下面的按钮，本机将不留您的数据。"</p>
            <button type="button" class="link danger" on:click=log_out_and_clear>"退出并清除本机数据"</button>
        </section>
    }
}

/// 长辈模式 (适老化): larger text and, with it, larger targets, on this phone.
#[component]
fn ElderMode() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let on = RwSignal::new(store::elder_mode());
    let toggle = move |_| {
        let next = !on.get_untracked();
        if store::set_elder_mode(next).is_err() {
            ctx.notice.set(Some(store::StoreFull::MESSAGE.to_owned()));
        }
        if let Some(html) = document().document_element() {
            let _ = html.class_list().toggle_with_force("elder", next);
        }
        on.set(next);
    };
    view! {
        <section class="card">
            <h2>"长辈模式"</h2>
            <p class="hint">"字更大、按钮更大，看得清、点得准。只改变这部手机上的显示。"</p>
            <button type="button" class="secondary" on:click=toggle>
                {move || if on.get() { "关闭长辈模式" } else { "开启长辈模式" }}
            </button>
        </section>
    }
}

/// 位置签到's separate consent (单独同意), given and withdrawn here; withdrawing stops it at once.
#[component]
fn LocationConsent() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let user_id = ctx.user_id().unwrap_or_default();
    let (consent, set_consent) = signal(store::location_consent(user_id));
    let toggle = move |_| {
        let next = !consent.get_untracked();
        match store::set_location_consent(user_id, next) {
            Ok(()) => set_consent.set(next),
            Err(_) => ctx.notice.set(Some(store::StoreFull::MESSAGE.to_owned())),
        }
        // Takes effect on this phone at once; the record of it reaches the server with the outbox.
        let record = Change::Consent(Consent {
            kind: ConsentKind::Location,
            granted: next,
            version: String::new(),
        });
        if let Err(e) = ctx.record(record) {
            ctx.notice.set(Some(e));
        }
    };
    view! {
        <section class="card">
            <h2>"位置签到"</h2>
            <p class="hint">"同意后，您可以在设置了签到范围的活动中用位置签到：签到时手机取一次位置，只上传是否在范围内、距离和精度，不上传您的坐标，不记录行动轨迹。不同意也可以用签到码或扫码签到。"</p>
            <p data-testid="location-consent">{move || if consent.get() { "已同意位置签到" } else { "未同意位置签到" }}</p>
            <button type="button" class="secondary" on:click=toggle>
                {move || if consent.get() { "撤回位置签到同意" } else { "同意位置签到" }}
            </button>
        </section>
    }
}
