//! The lead's side of one activity: the rotating code, the roster with every decision (all recorded through
//! the outbox, so they work with no signal), cancelling, and closing the meeting record.

use leptos::prelude::*;

use super::code::CodePanel;
use crate::api::{
    ActivityView, AddToRoster, AttendanceView, Cancel, Change, CloseRecord, Confirm, Decide, paths,
};
use crate::client::http;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;
use crate::life::{ActivityState, Decision, Quorum, close_problems, roster_synced};
use crate::model::{ActivityKind, AttendanceStatus, LocalTime, Tally, is_valid_phone};
use crate::outbox::{RosterRow, RowMark, lead_roster};

/// `应到…` and, for a 支部党员大会, whether the members with a vote present are more than half.
pub fn counts(kind: ActivityKind, rows: &[AttendanceView]) -> (String, Option<String>) {
    let tally = Tally::of(rows.iter().map(|r| (r.status, r.membership)));
    let quorum = (kind == ActivityKind::GeneralMeeting)
        .then(|| Quorum::of(rows.iter().map(AttendanceView::counted)).summary());
    (tally.summary(), quorum)
}

/// An older activity's roster is no longer synced to a lead's phone (see `crate::life::roster_synced`): fetched
/// when the activity is opened (online) and kept, so it is there offline afterwards. `loader` says what is
/// missing while it is.
pub fn fetch_older_roster(ctx: Ctx, activity: &ActivityView, loader: Loader) {
    if roster_synced(activity.state, activity.ends_at, None, ctx.server_now()) {
        return;
    }
    let path = paths::roster(&activity.id);
    // (Kept even if the lead has left the page meanwhile: `run`, not `get`.)
    let get = move |token: String| async move { http::get(&token, &path).await };
    loader.run(
        "正在获取这次较早活动的应到名单…",
        get,
        move |rows: Vec<AttendanceView>| {
            ctx.cache
                .update(|c| rows.into_iter().for_each(|r| c.put_attendance(r)));
            ctx.save_cache();
            None
        },
    );
}

/// What the lead is told when an older activity's roster cannot be fetched.
pub const OLDER_ROSTER_OFFLINE: &str =
    "这是较早的活动，本机只保存近期活动的应到名单。联网后打开即可查看完整名单。";

#[component]
pub fn LeadView(activity: ActivityView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = activity.id.clone();
    // Worked out once per change of the cache or the outbox, however many parts of the page read it.
    let roster = {
        let id = id.clone();
        Memo::new(move |_| {
            ctx.cache
                .with(|c| ctx.entries.with(|e| lead_roster(&id, c, e)))
        })
    };
    let kind = activity.kind;
    let rows = move || roster.get().into_iter().map(|r| r.row).collect::<Vec<_>>();
    let counts = move || counts(kind, &rows());
    let open = activity.state == ActivityState::Open;
    // Sign-ins their code proves, of others: anything else is for the lead to judge one by one, and the
    // lead's own row for another lead.
    let me = ctx.user_id();
    let confirmable = move || {
        rows()
            .into_iter()
            .filter(|r| r.verified_sign_in() && Some(r.member_id) != me)
            .map(|r| r.member_id)
            .collect::<Vec<_>>()
    };
    let (error, set_error) = signal(None::<String>);
    let confirm_all = {
        let id = id.clone();
        move |_| {
            for member_id in confirmable() {
                let change = Change::Confirm(Confirm {
                    activity_id: id.clone(),
                    member_id,
                });
                if let Err(e) = ctx.record(change) {
                    set_error.set(Some(e));
                    return;
                }
            }
        }
    };
    // The code's key leaves the phone once signing in is over (see `Cache::forget_ended_secrets`).
    let has_code = activity.secret.is_some() || activity.code.is_some();
    let older = Loader::new(OLDER_ROSTER_OFFLINE);
    fetch_older_roster(ctx, &activity, older);
    view! {
        {(open && has_code).then(|| view! {
            <section class="card code-card">
                <p class="code-label">"签到码"</p>
                <CodePanel activity=activity.clone()/>
                <a class="primary button" href=format!("/activity/{id}/code")>"全屏出示签到码和二维码"</a>
            </section>
        })}
        <section class="card">
            <h2>"签到情况"</h2>
            <Status of=older/>
            <p class="tally" data-testid="tally">{move || counts().0}</p>
            {move || counts().1.map(|q| view! { <p class="tally" data-testid="quorum">{q}</p> })}
            {open.then(|| view! {
                <Show when=move || !confirmable().is_empty()>
                    <button type="button" class="primary" on:click=confirm_all.clone()>
                        {move || format!("一键确认全部（{}人）", confirmable().len())}
                    </button>
                </Show>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            // Keyed by each row's content: a sync that changes one row redraws that row only, so a reason
            // being typed in another row's form is not lost.
            <Show
                when=move || roster.with(|r| !r.is_empty())
                fallback=|| view! { <p class="empty">"应到名单将在活动上传到服务器后显示。"</p> }
            >
                <ul class="roster">
                    <For each=move || roster.get() key=row_key let:row>
                        <LeadRow row=row open=open/>
                    </For>
                </ul>
            </Show>
            {open.then(|| view! { <AddToRosterForm activity_id=id.clone()/> })}
        </section>
        <section class="card">
            <h2>"会议记录"</h2>
            <p><a href=format!("/activity/{id}/record")>"查看和打印会议记录"</a></p>
            <Export activity=activity.clone()/>
        </section>
        {open.then(|| view! {
            <CloseForm activity=activity.clone()/>
            <section class="card">
                <h2>"修改或取消"</h2>
                <a class="secondary button" href=format!("/activity/{id}/edit")>"修改活动"</a>
                <CancelForm activity=activity.clone()/>
            </section>
        })}
    }
}

/// What makes a roster row look different: a row is drawn again when this changes.
fn row_key(r: &RosterRow) -> (i64, String, RowMark) {
    let content = serde_json::to_string(&r.row).unwrap_or_default();
    (r.row.member_id, content, r.mark.clone())
}

/// One member's row with the decisions that apply to it now.
#[component]
fn LeadRow(row: RosterRow, open: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let RosterRow { row, mark } = row;
    let (asking, set_asking) = signal(None::<Decision>);
    let (reason, set_reason) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let (activity_id, member_id) = (row.activity_id.clone(), row.member_id);
    let name = row.member_name.clone();
    let record = {
        let activity_id = activity_id.clone();
        move |change: Option<Decision>| {
            let change = match change {
                None => Change::Confirm(Confirm {
                    activity_id: activity_id.clone(),
                    member_id,
                }),
                Some(decision) => Change::Decide(Decide {
                    activity_id: activity_id.clone(),
                    member_id,
                    decision,
                    reason: reason.get_untracked().trim().to_owned(),
                }),
            };
            match ctx.record(change) {
                Ok(()) => {
                    set_asking.set(None);
                    set_reason.set(String::new());
                    set_error.set(None);
                }
                Err(e) => set_error.set(Some(e)),
            }
        }
    };
    use AttendanceStatus::*;
    let own = ctx.user_id() == Some(member_id);
    let actions: &[(Option<Decision>, &str)] = match row.status {
        _ if !open => &[],
        // The lead's own row: their own statement that they were there, or their absence.
        Pending | Absent if own => &[(None, "标记本人出席"), (Some(Decision::Absent), "缺席原因")],
        _ if own => &[],
        SignedIn => &[(None, "确认"), (Some(Decision::RejectSignIn), "不予确认")],
        Pending | Absent => &[
            (None, "标记出席"),
            (Some(Decision::Online), "线上参加"),
            (Some(Decision::Absent), "缺席原因"),
            (Some(Decision::Exempt), "免参加"),
        ],
        LeavePending => &[
            (Some(Decision::ApproveLeave), "准假"),
            (Some(Decision::RejectLeave), "不准假"),
        ],
        MakeupPending => &[
            (Some(Decision::ApproveMakeup), "同意补签"),
            (Some(Decision::RejectMakeup), "补签不通过"),
        ],
        _ => &[],
    };
    let buttons = actions
        .iter()
        .map(|&(decision, label)| {
            let record = record.clone();
            let click = move |_| match decision {
                Some(d) if d.needs_reason() => set_asking.set(Some(d)),
                other => record(other),
            };
            let class = if decision.is_none() { "primary small" } else { "secondary small" };
            view! {
                <button type="button" class=class on:click=click aria-label=format!("{label} {name}")>{label}</button>
            }
        })
        .collect_view();
    let signed_at = row.signed_at.map(|t| {
        let what = if row.self_marked {
            "本人标记于"
        } else {
            "签到于"
        };
        format!("{what} {}", LocalTime::from_millis(t).table())
    });
    let mark = match mark {
        RowMark::None => None,
        RowMark::Waiting => Some(("pending-mark", "待上传".to_owned())),
        RowMark::Refused(reason) => Some(("flag", format!("未通过：{reason}"))),
    };
    let detail = [
        row.category
            .map(|c| format!("{}：", c.label()))
            .unwrap_or_default()
            + row.reason.as_deref().unwrap_or_default(),
        row.study
            .as_ref()
            .map(|s| format!("补学：{s}"))
            .unwrap_or_default(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join("；");
    view! {
        <li class="roster-row" data-testid="roster-row">
            <span class="name">{row.member_name.clone()}</span>
            {row.guest.then(|| view! { <span class="tag">"外支部"</span> })}
            <span class="status">{row.status.label()}</span>
            {signed_at.map(|s| view! { <span class="time">{s}</span> })}
            {row.clock_skewed.then(|| view! { <span class="flag">"手机时间偏差较大"</span> })}
            {row.proof_notes().into_iter().map(|note| view! { <span class="flag">{note}</span> }).collect_view()}
            {row.lateness().map(|late| view! { <span class="muted detail">{late}</span> })}
            {(own && open && !row.self_marked).then(|| view! { <span class="muted detail">"本人的出席由支部其他委员确认"</span> })}
            {mark.map(|(class, text)| view! { <span class=class>{text}</span> })}
            {(!detail.is_empty()).then(|| view! { <span class="muted detail">{detail}</span> })}
            <span class="actions">{buttons}</span>
            {move || asking.get().map(|d| {
                let record = record.clone();
                view! {
                    <form class="reason" on:submit=move |ev| { ev.prevent_default(); record(Some(d)); }>
                        <label>{format!("{}：请填写原因", d.label())}
                            <input type="text" maxlength="200" prop:value=reason
                                on:input=move |ev| set_reason.set(event_target_value(&ev))/>
                        </label>
                        <button type="submit" class="primary small">"确定"</button>
                        <button type="button" class="link" on:click=move |_| set_asking.set(None)>"取消"</button>
                    </form>
                }
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </li>
    }
}

/// 加入应到名单: a member who joined after publication, or a mobile member invited as a guest — by phone
/// number, offline too; the row appears once the server has it.
#[component]
fn AddToRosterForm(activity_id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (phone, set_phone) = signal(String::new());
    let (message, set_message) = signal(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = phone.get_untracked().trim().to_owned();
        if !is_valid_phone(&typed) {
            set_message.set(Some("请输入11位手机号".to_owned()));
            return;
        }
        let change = Change::AddToRoster(AddToRoster {
            activity_id: activity_id.clone(),
            phone: typed,
        });
        set_message.set(Some(match ctx.record(change) {
            Ok(()) => {
                set_phone.set(String::new());
                "已添加，上传后显示在名单中".to_owned()
            }
            Err(e) => e,
        }));
    };
    view! {
        <form class="reason" on:submit=submit>
            <label for="roster-add">"加入应到名单（本支部新党员，或邀请的外支部流动党员）"</label>
            <input id="roster-add" type="tel" inputmode="numeric" maxlength="11" placeholder="手机号"
                prop:value=phone on:input=move |ev| set_phone.set(event_target_value(&ev))/>
            <button type="submit" class="secondary">"加入"</button>
            {move || message.get().map(|m| view! { <p class="hint" role="status">{m}</p> })}
        </form>
    }
}

/// 归档会议记录: the problems are shown at once from the phone's copy; the server checks again.
#[component]
fn CloseForm(activity: ActivityView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lead_name = ctx
        .session
        .with_untracked(|s| s.as_ref().map(|s| s.user.name.clone()));
    let (host, set_host) = signal(lead_name.unwrap_or_default());
    let (recorder, set_recorder) = signal(String::new());
    let (online, set_online) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let id = activity.id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if ctx.server_now() < activity.starts_at {
            set_error.set(Some("活动开始后才能归档会议记录".to_owned()));
            return;
        }
        let rows = ctx
            .cache
            .with_untracked(|c| ctx.entries.with_untracked(|e| lead_roster(&id, c, e)));
        let me = ctx.user_id();
        let problems = close_problems(
            rows.iter().map(|r| {
                (
                    r.row.member_name.as_str(),
                    r.row.status,
                    r.row.reason.as_deref(),
                    Some(r.row.member_id) == me,
                )
            }),
            &host.get_untracked(),
            &recorder.get_untracked(),
        );
        if !problems.is_empty() {
            set_error.set(Some(problems.join("；")));
            return;
        }
        let record = CloseRecord {
            activity_id: id.clone(),
            host: host.get_untracked().trim().to_owned(),
            recorder: recorder.get_untracked().trim().to_owned(),
            online_note: online.get_untracked().trim().to_owned(),
        };
        let mut local = activity.clone();
        local.state = ActivityState::Closed;
        local.record = Some(record.clone());
        match ctx.record(Change::CloseRecord(record)) {
            Ok(()) => {
                ctx.put_local_activity(local);
                set_error.set(None);
            }
            Err(e) => set_error.set(Some(e)),
        }
    };
    view! {
        <section class="card">
            <h2>"归档会议记录"</h2>
            <p class="hint">"归档前请确认签到、审批请假和补签，并为每位缺席人员填写缺席原因。归档后不能再修改。"</p>
            <form on:submit=submit>
                <label for="close-host">"主持人"</label>
                <input id="close-host" type="text" maxlength="50" prop:value=host on:input=move |ev| set_host.set(event_target_value(&ev))/>
                <label for="close-recorder">"记录人"</label>
                <input id="close-recorder" type="text" maxlength="50" prop:value=recorder on:input=move |ev| set_recorder.set(event_target_value(&ev))/>
                <label for="close-online">"其他线上参加人员（选填）"</label>
                <input id="close-online" type="text" maxlength="200" prop:value=online on:input=move |ev| set_online.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary">"归档"</button>
            </form>
        </section>
    }
}

#[component]
fn CancelForm(activity: ActivityView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (open, set_open) = signal(false);
    let (reason, set_reason) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let reason = reason.get_untracked().trim().to_owned();
        if reason.is_empty() {
            set_error.set(Some("请填写取消原因，党员将看到它".to_owned()));
            return;
        }
        let mut local = activity.clone();
        local.state = ActivityState::Cancelled;
        local.cancel_reason = Some(reason.clone());
        let change = Change::CancelActivity(Cancel {
            activity_id: activity.id.clone(),
            reason,
        });
        match ctx.record(change) {
            Ok(()) => ctx.put_local_activity(local),
            Err(e) => set_error.set(Some(e)),
        }
    };
    view! {
        <Show when=move || open.get() fallback=move || view! {
            <button type="button" class="secondary" on:click=move |_| set_open.set(true)>"取消活动"</button>
        }>
            <form on:submit=submit.clone()>
                <label for="cancel-reason">"取消原因"</label>
                <input id="cancel-reason" type="text" maxlength="200" prop:value=reason on:input=move |ev| set_reason.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary">"确认取消活动"</button>
            </form>
        </Show>
    }
}

/// Downloads the register from the server (online only), as CSV or Excel.
#[component]
pub fn Export(activity: ActivityView) -> impl IntoView {
    let loader = Loader::new("");
    let fetch = move |format: &'static str| {
        let (id, title) = (&activity.id, &activity.title);
        loader.download(
            paths::register(id, format),
            format!("签到登记-{title}.{format}"),
            None,
        );
    };
    let csv = fetch.clone();
    view! {
        <div class="export">
            <button type="button" class="secondary" on:click=move |_| csv("csv")>"导出 CSV"</button>
            <button type="button" class="secondary" on:click=move |_| fetch("xlsx")>"导出 Excel"</button>
            <Status of=loader/>
        </div>
    }
}
