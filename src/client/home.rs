//! 首页: the branch's activities (from the phone's cache, so it works offline) and, for a lead, publishing.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use super::sync::Ctx;
use super::{new_code, new_id, now_ms};
use crate::api::{ActivityView, Change, NewActivity};
use crate::model::{ActivityKind, LocalTime, Role, Tally, check_new_activity};
use crate::outbox::sign_in_view;

#[component]
pub fn HomePage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let is_lead = move || ctx.role() == Some(Role::Lead);
    let activities = move || ctx.cache.with(|c| c.activities.clone());
    view! {
        <Show when=is_lead>
            <PublishForm/>
        </Show>
        <section>
            <h1>"组织生活"</h1>
            <Show
                when=move || !activities().is_empty()
                fallback=|| view! { <p class="empty">"暂无活动。联网后会自动获取本支部的活动。"</p> }
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
    let status = move || {
        let user_id = ctx.user_id().unwrap_or_default();
        if ctx.role() == Some(Role::Lead) {
            ctx.cache.with(|c| {
                let roster = c.roster(&id);
                if roster.is_empty() {
                    "待上传，联网后显示应到名单".to_owned()
                } else {
                    Tally::of(roster.iter().map(|r| (r.status, r.membership))).summary()
                }
            })
        } else {
            ctx.cache.with(|c| {
                ctx.entries
                    .with(|e| sign_in_view(&id, user_id, c, e).label())
            })
        }
    };
    view! {
        <li class="card activity">
            <A href=format!("/activity/{}", activity.id)>
                <span class="kind">{activity.kind.label()}</span>
                <strong class="title">{activity.title.clone()}</strong>
            </A>
            <p class="when">{LocalTime::from_millis(activity.starts_at).prose()}" · "{activity.place.clone()}</p>
            <p class="status">{status}</p>
        </li>
    }
}

/// 发布活动: works offline too — the phone makes the id and the 签到码.
#[component]
fn PublishForm() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let navigate = use_navigate();
    // Default: the next full hour, for two hours.
    let start_default = (now_ms() / 3_600_000 + 1) * 3_600_000;
    let (kind, set_kind) = signal(ActivityKind::ThemeDay.as_str().to_owned());
    let (title, set_title) = signal(String::new());
    let (place, set_place) = signal(String::new());
    let (starts, set_starts) = signal(LocalTime::from_millis(start_default).input_value());
    let (ends, set_ends) =
        signal(LocalTime::from_millis(start_default + 2 * 3_600_000).input_value());
    let (error, set_error) = signal(None::<String>);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let (Some(starts_at), Some(ends_at)) = (
            LocalTime::parse_input(&starts.get_untracked()),
            LocalTime::parse_input(&ends.get_untracked()),
        ) else {
            set_error.set(Some("请填写开始和结束时间".to_owned()));
            return;
        };
        let activity = NewActivity {
            activity_id: new_id(),
            kind: ActivityKind::parse(&kind.get_untracked()).unwrap_or(ActivityKind::Other),
            title: title.get_untracked().trim().to_owned(),
            place: place.get_untracked().trim().to_owned(),
            starts_at,
            ends_at,
            code: new_code(),
        };
        if let Err(problem) = check_new_activity(
            &activity.title,
            &activity.place,
            starts_at,
            ends_at,
            &activity.code,
        ) {
            set_error.set(Some(problem.to_owned()));
            return;
        }
        let Some(user) = ctx.session.get_untracked().map(|s| s.user) else {
            return;
        };
        let view = ActivityView {
            id: activity.activity_id.clone(),
            org_id: user.org_id,
            org_name: user.org_name,
            kind: activity.kind,
            title: activity.title.clone(),
            place: activity.place.clone(),
            starts_at,
            ends_at,
            code: Some(activity.code.clone()),
            server_seq: 0,
        };
        let id = activity.activity_id.clone();
        match ctx.record(Change::CreateActivity(activity)) {
            Ok(()) => {
                ctx.add_local_activity(view);
                set_title.set(String::new());
                set_error.set(None);
                navigate(&format!("/activity/{id}"), Default::default());
            }
            Err(e) => set_error.set(Some(e)),
        }
    };

    view! {
        <section class="card">
            <h2>"发布活动"</h2>
            <form on:submit=submit class="grid">
                <label for="new-kind">"类型"</label>
                <select id="new-kind" on:change=move |ev| set_kind.set(event_target_value(&ev)) prop:value=kind>
                    {ActivityKind::ALL.into_iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                </select>
                <label for="new-title">"主题"</label>
                <input id="new-title" type="text" maxlength="100" required
                    prop:value=title on:input=move |ev| set_title.set(event_target_value(&ev))/>
                <label for="new-place">"地点"</label>
                <input id="new-place" type="text" maxlength="100"
                    prop:value=place on:input=move |ev| set_place.set(event_target_value(&ev))/>
                <label for="new-starts">"开始时间"</label>
                <input id="new-starts" type="datetime-local" prop:value=starts on:input=move |ev| set_starts.set(event_target_value(&ev))/>
                <label for="new-ends">"结束时间"</label>
                <input id="new-ends" type="datetime-local" prop:value=ends on:input=move |ev| set_ends.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary">"发布"</button>
            </form>
        </section>
    }
}
