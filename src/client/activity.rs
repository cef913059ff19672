//! `/activity/:id`: one activity's details, then the lead's view (code, roster, record) for the branch's
//! own lead, or the member's view (status, sign-in, requests) for everyone on its roster.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::lead::LeadView;
use super::member::MemberView;
use super::sync::Ctx;
use crate::api::ActivityView;
use crate::model::{LocalTime, Role};

/// The activity the route's `:id` names, from the phone's copy. A memo: only a change to the activity
/// itself renders a page again (not every pull or record), so forms keep what the person typed while sync
/// runs.
pub fn use_activity() -> Memo<Option<ActivityView>> {
    let ctx = expect_context::<Ctx>();
    let params = use_params_map();
    Memo::new(move |_| {
        let id = params.read().get("id").unwrap_or_default();
        ctx.cache.with(|c| c.activity(&id).cloned())
    })
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let activity = use_activity();
    move || {
        match activity.get() {
        None => view! {
            <p class="empty">"没有找到这个活动。它可能还没有同步到本机，请联网后再试。"<a href="/">"返回首页"</a></p>
        }
        .into_any(),
        Some(a) => {
            let leads_it = ctx.role() == Some(Role::Lead) && (a.secret.is_some() || a.code.is_some());
            let place = if a.place.is_empty() { "未填写".to_owned() } else { a.place.clone() };
            view! {
                <article class="activity-detail">
                    <p class="kind">{a.kind.label()}" · "{a.mode.label()}</p>
                    <h1>{a.title.clone()}</h1>
                    <p class="when">{LocalTime::from_millis(a.starts_at).prose()}" 至 "{LocalTime::from_millis(a.ends_at).table()}</p>
                    <p class="where">"地点："{place}</p>
                    <p class="muted">{a.org_name.clone()}</p>
                    {if leads_it { view! { <LeadView activity=a/> }.into_any() } else { view! { <MemberView activity=a/> }.into_any() }}
                </article>
            }
            .into_any()
        }
    }
    }
}
