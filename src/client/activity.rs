//! One activity: for the lead, the 签到码 in large digits and the roster to confirm; for a member, the
//! details, their own status with its receipt, and the sign-in form.

use leptos::either::Either;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::now_ms;
use super::sync::Ctx;
use crate::api::{ActivityView, Change, Confirm, SignIn};
use crate::model::{
    AttendanceStatus, LocalTime, Role, Tally, in_sign_in_window, is_valid_code, normalize_code,
};
use crate::outbox::{RosterRow as LeadRosterRow, RowMark, SignInView, lead_roster, sign_in_view};

#[component]
pub fn ActivityPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let activity = move || ctx.cache.with(|c| c.activity(&id()).cloned());
    move || {
        match activity() {
        None => view! {
            <p class="empty">"没有找到这个活动。它可能还没有同步到本机，请联网后再试。"<a href="/">"返回首页"</a></p>
        }
        .into_any(),
        Some(a) => {
            let leads_it = ctx.role() == Some(Role::Lead) && a.code.is_some();
            view! {
                <article class="activity-detail">
                    <p class="kind">{a.kind.label()}</p>
                    <h1>{a.title.clone()}</h1>
                    <p class="when">{LocalTime::from_millis(a.starts_at).prose()}" 至 "{LocalTime::from_millis(a.ends_at).table()}</p>
                    <p class="where">"地点："{if a.place.is_empty() { "未填写".to_owned() } else { a.place.clone() }}</p>
                    {if leads_it { view! { <LeadView activity=a/> }.into_any() } else { view! { <MemberView activity=a/> }.into_any() }}
                </article>
            }
            .into_any()
        }
    }
    }
}

/// The lead's view: code, counts and the roster with 确认 — which works offline like any record.
#[component]
fn LeadView(activity: ActivityView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = activity.id.clone();
    let roster = move || {
        ctx.cache
            .with(|c| ctx.entries.with(|e| lead_roster(&id, c, e)))
    };
    let tally = {
        let roster = roster.clone();
        move || Tally::of(roster().iter().map(|r| (r.row.status, r.row.membership))).summary()
    };
    let code = activity.code.clone().unwrap_or_default();
    view! {
        <section class="card code-card">
            <p class="code-label">"签到码"</p>
            <p class="code" data-testid="sign-in-code" aria-label=format!("签到码 {code}")>{code.clone()}</p>
            <p class="hint">"请党员在手机上输入此签到码完成签到"</p>
        </section>
        <section class="card">
            <h2>"签到情况"</h2>
            <p class="tally" data-testid="tally">{tally}</p>
            {move || {
                let rows = roster();
                if rows.is_empty() {
                    Either::Left(view! { <p class="empty">"应到名单将在活动上传到服务器后显示。"</p> })
                } else {
                    Either::Right(view! {
                        <ul class="roster">
                            {rows.into_iter().map(|r| view! { <RosterRow row=r/> }).collect_view()}
                        </ul>
                    })
                }
            }}
        </section>
    }
}

#[component]
fn RosterRow(row: LeadRosterRow) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let LeadRosterRow { row, mark } = row;
    let (error, set_error) = signal(None::<String>);
    let (activity_id, member_id) = (row.activity_id.clone(), row.member_id);
    let confirm = move |_| {
        let change = Change::Confirm(Confirm {
            activity_id: activity_id.clone(),
            member_id,
        });
        if let Err(e) = ctx.record(change) {
            set_error.set(Some(e));
        }
    };
    let signed_at = row
        .signed_at
        .map(|t| format!("签到于 {}", LocalTime::from_millis(t).table()));
    let mark = match mark {
        RowMark::None => None,
        RowMark::Waiting => Some(("pending-mark", "确认待上传".to_owned())),
        RowMark::Refused(reason) => Some(("flag", format!("确认未通过：{reason}"))),
    };
    view! {
        <li class="roster-row" data-testid="roster-row">
            <span class="name">{row.member_name.clone()}</span>
            <span class="status">{row.status.label()}</span>
            {signed_at.map(|s| view! { <span class="time">{s}</span> })}
            {row.clock_skewed.then(|| view! { <span class="flag">"手机时间偏差较大"</span> })}
            {mark.map(|(class, text)| view! { <span class=class>{text}</span> })}
            {match row.status {
                AttendanceStatus::SignedIn => Some(view! {
                    <button type="button" class="primary small" on:click=confirm
                        aria-label=format!("确认 {}", row.member_name)>"确认"</button>
                }.into_any()),
                // Seen at the meeting, but the record has not arrived (no signal, or no phone): the lead
                // confirms them; their own record merges into this row when it comes.
                AttendanceStatus::Pending | AttendanceStatus::Absent => Some(view! {
                    <button type="button" class="secondary small" on:click=confirm
                        aria-label=format!("标记出席 {}", row.member_name)>"标记出席"</button>
                }.into_any()),
                _ => None,
            }}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </li>
    }
}

/// The member's view: own status and the sign-in form.
#[component]
fn MemberView(activity: ActivityView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = activity.id.clone();
    let view_state = {
        let id = id.clone();
        move || {
            let user_id = ctx.user_id().unwrap_or_default();
            ctx.cache
                .with(|c| ctx.entries.with(|e| sign_in_view(&id, user_id, c, e)))
        }
    };
    let (code, set_code) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    // Judged by this phone's clock corrected by its last known offset, as the server will judge it.
    let window_open = move || {
        let now = now_ms() + ctx.cache.with(|c| c.server_offset_ms);
        in_sign_in_window(now, activity.starts_at, activity.ends_at)
    };
    let submit = {
        let id = id.clone();
        move |ev: SubmitEvent| {
            ev.prevent_default();
            let typed = normalize_code(&code.get_untracked());
            if !is_valid_code(&typed) {
                set_error.set(Some("请输入书记出示的6位数字签到码".to_owned()));
                return;
            }
            match ctx.record(Change::SignIn(SignIn {
                activity_id: id.clone(),
                code: typed,
            })) {
                Ok(()) => {
                    set_code.set(String::new());
                    set_error.set(None);
                }
                Err(e) => set_error.set(Some(e)),
            }
        }
    };
    let detail = {
        let view_state = view_state.clone();
        move || match view_state() {
            SignInView::Waiting => Some("当前记录已保存到本机，联网后将自动上传".to_owned()),
            SignInView::Delivered { receipt: Some(r) } => Some(format!(
                "服务器已收到（回执 {}，{}），待书记确认",
                r.server_seq,
                LocalTime::from_millis(r.received_at).table()
            )),
            SignInView::Delivered { receipt: None } => Some("服务器已收到，待书记确认".to_owned()),
            SignInView::Confirmed => Some("书记已确认您的签到".to_owned()),
            _ => None,
        }
    };
    view! {
        <section class="card">
            <p class="my-status">"我的状态："<strong data-testid="my-status">{let v = view_state.clone(); move || v().label()}</strong></p>
            {move || detail().map(|d| view! { <p class="hint">{d}</p> })}
            <Show when={let v = view_state.clone(); move || v().can_sign_in() && !window_open()}>
                <p class="hint">"签到时间：活动开始前1小时至结束后30分钟"</p>
            </Show>
            <Show when={let v = view_state.clone(); move || v().can_sign_in() && window_open()}>
                <form on:submit=submit.clone() class="sign-in">
                    <label for="sign-in-code">"签到码"</label>
                    <input id="sign-in-code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="12"
                        prop:value=code on:input=move |ev| set_code.set(event_target_value(&ev))/>
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <button type="submit" class="primary">"签到"</button>
                </form>
            </Show>
        </section>
    }
}
