//! 首页: the branch's activities (from the phone's cache, so it works offline) and, for a lead, publishing.

use leptos::prelude::*;

use super::publish::ActivityForm;
use crate::api::ActivityView;
use crate::client::components::OfflineNote;
use crate::client::sync::Ctx;
use crate::life::{ActivityState, roster_synced};
use crate::model::{LocalTime, Role, Tally};
use crate::outbox::my_status_label;

/// Publishing is for leads only: a separately loaded chunk (see `activity::lead_view`).
#[leptos::lazy]
async fn publish_form() -> AnyView {
    view! { <ActivityForm/> }.into_any()
}

#[component]
pub fn HomePage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let is_lead = move || ctx.role() == Some(Role::Lead);
    let activities = move || ctx.cache.with(|c| c.activities.clone());
    view! {
        {move || is_lead().then(|| Suspend::new(publish_form()))}
        <section>
            <h1>"组织生活"</h1>
            <OfflineNote/>
            <Show
                when=move || !activities().is_empty()
                fallback=move || if ctx.role().is_some_and(Role::administers) {
                    // An admin's account belongs to no branch: what they act on is one tap away.
                    view! {
                        <p class="empty">"管理员账号不属于任何支部，这里没有活动。各支部的组织生活请看统计。"</p>
                        <a href="/district" class="row-link"><span>"组织生活统计"</span><span class="muted">" ›"</span></a>
                        <a href="/members" class="row-link"><span>"成员与邀请"</span><span class="muted">" ›"</span></a>
                    }.into_any()
                } else {
                    view! { <p class="empty">"暂无活动。联网后会自动获取本支部的活动。"</p> }.into_any()
                }
            >
                <ul class="activities">
                    <For each=activities key=|a| (a.id.clone(), a.server_seq) let:a>
                        <ActivityItem activity=a/>
                    </For>
                </ul>
            </Show>
        </section>
    }
}

/// One activity in the list, with the member's own status or, for the lead, the counts.
#[component]
fn ActivityItem(activity: ActivityView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = activity.id.clone();
    // An older activity's roster stays on the server until the lead opens it (see `crate::life::roster_synced`).
    let synced = roster_synced(activity.state, activity.ends_at, None, ctx.server_now());
    let status = move || {
        let user_id = ctx.user_id().unwrap_or_default();
        if ctx.role() == Some(Role::Lead) {
            ctx.cache.with(|c| {
                let roster = c.roster(&id);
                if !synced && roster.len() <= 1 {
                    "较早的活动，打开后显示应到名单".to_owned()
                } else if roster.is_empty() {
                    "待上传，联网后显示应到名单".to_owned()
                } else {
                    Tally::of(roster.iter().map(|r| (r.status, r.membership))).summary()
                }
            })
        } else {
            ctx.cache
                .with(|c| ctx.entries.with(|e| my_status_label(&id, user_id, c, e)))
        }
    };
    let state = match activity.state {
        ActivityState::Open => None,
        ActivityState::Cancelled => Some("已取消"),
        ActivityState::Closed => Some("已归档"),
    };
    let kind = activity.kind_label();
    view! {
        <li class="card activity">
            <a href=format!("/activity/{}", activity.id)>
                <span class="kind">{kind}</span>
                <strong class="title">{activity.title.clone()}</strong>
            </a>
            <p class="when">{LocalTime::from_millis(activity.starts_at).prose()}" · "{activity.mode.label()}" · "{activity.place.clone()}</p>
            <p class="status">{state.map(|s| view! { <span class="tag">{s}</span> })}{status}</p>
            {(activity.org_id != ctx.session.with_untracked(|s| s.as_ref().map_or(0, |s| s.user.org_id)))
                .then(|| view! { <p class="muted">{activity.org_name.clone()}</p> })}
        </li>
    }
}
