//! 发布活动 and 修改活动: one form, offline too — the phone makes the id and the secret of the rotating
//! 签到码 when it publishes; an edit keeps both.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use super::activity::use_activity;
use crate::api::{ActivityView, Change};
use crate::client::components::Select;
use crate::client::geo::one_fix;
use crate::client::router;
use crate::client::sync::Ctx;
use crate::client::{new_id, now_ms, random_bytes};
use crate::life::{ActivityState, Fence, gcj02_to_wgs84, secret_hex};
use crate::model::ActivityKind;
use crate::outbox::{ActivityDraft, published};

/// `/activity/:id/edit`
#[component]
pub fn EditPage() -> impl IntoView {
    let activity = use_activity();
    move || match activity.get() {
        Some(a) if a.state == ActivityState::Open && (a.secret.is_some() || a.code.is_some()) => {
            view! { <ActivityForm existing=a/> }.into_any()
        }
        _ => {
            view! { <p class="empty">"这个活动不能修改。"<a href="/">"返回首页"</a></p> }.into_any()
        }
    }
}

#[component]
pub fn ActivityForm(#[prop(optional)] existing: Option<ActivityView>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = router::use_location();
    let editing = existing.is_some();
    // A 党小组会 is for one of the branch's 党小组 (or, when it has none, the whole branch).
    let groups = ctx
        .session
        .with_untracked(|s| s.as_ref().map(|s| s.user.groups.clone()))
        .unwrap_or_default();
    let start = match &existing {
        Some(a) => ActivityDraft::of(a),
        None => ActivityDraft::new(now_ms(), groups.first().map(|g| g.id)),
    };
    let kind = RwSignal::new(start.kind);
    let mode = RwSignal::new(start.mode);
    let title = RwSignal::new(start.title);
    let place = RwSignal::new(start.place);
    let starts = RwSignal::new(start.starts);
    let ends = RwSignal::new(start.ends);
    let study = RwSignal::new(start.study);
    let fence = RwSignal::new(start.fence);
    let group = RwSignal::new(start.group_id);
    let (error, set_error) = signal(None::<String>);
    let group_names = groups.clone();

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let draft = ActivityDraft {
            kind: kind.get_untracked(),
            mode: mode.get_untracked(),
            title: title.get_untracked(),
            place: place.get_untracked(),
            starts: starts.get_untracked(),
            ends: ends.get_untracked(),
            study: study.get_untracked(),
            fence: fence.get_untracked(),
            group_id: group.get_untracked(),
        };
        let (id, secret) = match &existing {
            Some(a) => (a.id.clone(), String::new()),
            None => (new_id(), secret_hex(random_bytes())),
        };
        let settings = ctx.cache.with_untracked(|c| c.settings);
        let activity = match draft.to_new_activity(id, secret, &settings, ctx.server_now()) {
            Ok(activity) => activity,
            Err(e) => return set_error.set(Some(e)),
        };
        let Some(user) = ctx.session.get_untracked().map(|s| s.user) else {
            return;
        };
        let base = existing.clone().unwrap_or_else(|| ActivityView {
            id: activity.activity_id.clone(),
            org_id: user.org_id,
            org_name: user.org_name,
            secret: Some(activity.secret.clone()),
            code_step_ms: activity.code_step_ms,
            fence: activity.fence,
            group_name: activity
                .group_id
                .and_then(|id| group_names.iter().find(|g| g.id == id))
                .map(|g| g.name.clone()),
            ..ActivityView::default()
        });
        let view = published(&activity, base);
        let id = activity.activity_id.clone();
        let change = if editing {
            Change::EditActivity(activity)
        } else {
            Change::CreateActivity(activity)
        };
        match ctx.record(change) {
            Ok(()) => {
                ctx.put_local_activity(view);
                title.set(String::new());
                set_error.set(None);
                location.go(&format!("/activity/{id}"));
            }
            Err(e) => set_error.set(Some(e)),
        }
    };

    view! {
        <section class="card">
            <h2>{if editing { "修改活动" } else { "发布活动" }}</h2>
            <form on:submit=submit class="grid">
                <label for="new-kind">"类型"</label>
                <Select id="new-kind" value=kind/>
                {(!editing && !groups.is_empty()).then(|| view! {
                    <Show when=move || kind.get() == ActivityKind::GroupMeeting>
                        <label for="new-group">"党小组"</label>
                        <select id="new-group" on:change=move |ev| group.set(event_target_value(&ev).parse().ok())>
                            {groups.clone().into_iter().map(|g| {
                                let gid = g.id;
                                view! { <option value=gid.to_string() selected=move || group.get() == Some(gid)>{g.name}</option> }
                            }).collect_view()}
                        </select>
                    </Show>
                })}
                <label for="new-title">"主题"</label>
                <input id="new-title" type="text" maxlength="100" required bind:value=title/>
                <label for="new-mode">"形式"</label>
                <Select id="new-mode" value=mode/>
                <label for="new-place">"地点"</label>
                <input id="new-place" type="text" maxlength="100" bind:value=place/>
                {(!editing).then(|| view! { <FenceInput fence/> })}
                <label for="new-starts">"开始时间"</label>
                <input id="new-starts" type="datetime-local" bind:value=starts/>
                <label for="new-ends">"结束时间"</label>
                <input id="new-ends" type="datetime-local" bind:value=ends/>
                <label for="new-study">"计入学时（选填，如党课、书记讲坛）"</label>
                <input id="new-study" type="text" inputmode="decimal" placeholder="确认出席后自动计入"
                    bind:value=study/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary">{if editing { "保存修改" } else { "发布" }}</button>
            </form>
        </section>
    }
}

/// The optional location fence: from the lead's own fix at the venue (WGS-84, as members' phones will
/// measure), or from coordinates copied from a Chinese map (GCJ-02, converted to WGS-84 here).
#[component]
fn FenceInput(fence: RwSignal<Option<Fence>>) -> impl IntoView {
    let (radius, set_radius) = signal(200u32);
    let (message, set_message) = signal(None::<String>);
    let here = move |_| {
        set_message.set(Some("正在获取位置…".to_owned()));
        leptos::task::spawn_local(async move {
            match one_fix().await {
                Ok((lat, lng, _)) => {
                    let Some(radius) = radius.try_get_untracked() else {
                        return;
                    };
                    fence.set(Some(Fence::around(lat, lng, radius)));
                    set_message.set(None);
                }
                Err(e) => set_message.set(Some(e)),
            }
        });
    };
    let typed = move |ev| {
        let text = event_target_value(&ev);
        // The browser's number parser (Rust's would add its float tables to the app).
        let parsed: Vec<f64> = text
            .split([',', '，', ' '])
            .filter(|s| !s.is_empty())
            .map(js_sys::Number::parse_float)
            .collect();
        match parsed.as_slice() {
            [lat, lng] if lat.is_finite() && lng.is_finite() => {
                let (lat, lng) = gcj02_to_wgs84(*lat, *lng);
                fence.set(Some(Fence::around(lat, lng, radius.get_untracked())));
                set_message.set(None);
            }
            _ => set_message.set(Some(
                "请按「纬度,经度」填写，如 31.2304,121.4737".to_owned(),
            )),
        }
    };
    let set_r = move |ev| {
        let r = event_target_value(&ev).parse().unwrap_or(200);
        set_radius.set(r);
        fence.update(|f| {
            if let Some(f) = f {
                f.radius_m = r;
            }
        });
    };
    view! {
        <label for="fence-radius">"位置签到范围（选填）"</label>
        <select id="fence-radius" on:change=set_r>
            <option value="200">"半径200米"</option>
            <option value="500">"半径500米"</option>
            <option value="1000">"半径1000米"</option>
        </select>
        <button type="button" class="secondary" on:click=here>"以我当前位置为中心"</button>
        <label for="fence-map">"或填写地图坐标（高德、腾讯地图，纬度,经度）"</label>
        <input id="fence-map" type="text" inputmode="decimal" on:change=typed/>
        <p class="hint" data-testid="fence">{move || match fence.get() {
            Some(f) => format!("已设置位置签到：半径{}米", f.radius_m),
            None => "未设置位置签到（党员用签到码或扫码签到）".to_owned(),
        }}</p>
        {move || message.get().map(|m| view! { <p class="hint" role="status">{m}</p> })}
    }
}
