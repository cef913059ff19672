//! `/activity/:id`: one activity's details, then the lead's view (code, roster, record) for the branch's
//! own lead, or the member's view (status, sign-in, requests) for everyone on its roster.

use leptos::prelude::*;

use super::lead::LeadView;
use super::member::MemberView;
use crate::api::ActivityView;
use crate::client::router;
use crate::client::sync::Ctx;
use crate::model::{LocalTime, Role};

/// The activity the route's `:id` names, from the phone's copy. A memo: only a change to the activity
/// itself renders a page again (not every pull or record), so forms keep what the person typed while sync
/// runs.
pub fn use_activity() -> Memo<Option<ActivityView>> {
    let ctx = expect_context::<Ctx>();
    let id = router::id();
    Memo::new(move |_| id.with(|id| ctx.cache.with(|c| c.activity(id).cloned())))
}

/// The lead's view of their own activity — code, roster, decisions, closing — is a separately loaded chunk
/// (members never need it); the service worker precaches it with the rest of the app. It renders from the
/// activity's memo itself, so a change to the activity does not load it again.
#[leptos::lazy]
async fn lead_view(activity: Memo<Option<ActivityView>>) -> AnyView {
    (move || activity.get().map(|a| view! { <LeadView activity=a/> })).into_any()
}

#[component]
pub fn ActivityPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let activity = use_activity();
    // Whether this is the lead's own branch's activity (the code's key, which leaves the phone after the
    // meeting, does not say): changes (almost) never, so the lead's chunk is awaited once.
    let leads_it = Memo::new(move |_| {
        let branch = ctx.session.with(|s| s.as_ref().map(|s| s.user.org_id));
        ctx.role() == Some(Role::Lead)
            && activity.with(|a| a.as_ref().is_some_and(|a| Some(a.org_id) == branch))
    });
    let details = move || {
        activity.get().map(|a| {
            let place = if a.place.is_empty() { "未填写".to_owned() } else { a.place.clone() };
            view! {
                <p class="kind">{a.kind_label()}" · "{a.mode.label()}</p>
                <h1>{a.title.clone()}</h1>
                <p class="when">{LocalTime::from_millis(a.starts_at).prose()}" 至 "{LocalTime::from_millis(a.ends_at).table()}</p>
                <p class="where">"地点："{place}</p>
                <p class="muted">{a.org_name.clone()}</p>
            }
        })
    };
    let body = move || {
        if leads_it.get() {
            Suspend::new(lead_view(activity)).into_any()
        } else {
            (move || activity.get().map(|a| view! { <MemberView activity=a/> })).into_any()
        }
    };
    let present = Memo::new(move |_| activity.with(Option::is_some));
    move || {
        if !present.get() {
            return view! {
                <p class="empty">"没有找到这个活动。它可能还没有同步到本机，请联网后再试。"<a href="/">"返回首页"</a></p>
            }
            .into_any();
        }
        view! {
            <article class="activity-detail">
                {details}
                {body}
            </article>
        }
        .into_any()
    }
}
