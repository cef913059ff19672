//! `/activity/:id/record`: the meeting record as the branch files it — 时间、地点、主题、应到/实到（正式/预备）、
//! 请假/缺席人员及原因、主持人、记录人 — filled from the roster on this phone (offline too) and printable.

use leptos::prelude::*;

use super::lead::{Export, OLDER_ROSTER_OFFLINE, counts, fetch_older_roster};
use crate::client::load::Loader;
use crate::client::router;
use crate::client::sync::Ctx;
use crate::life::ActivityState;
use crate::model::{AttendanceStatus, LocalTime, Membership, Tally};
use crate::outbox::lead_roster;

#[component]
pub fn RecordPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = router::id();
    // An older activity's roster is fetched first (see `lead::fetch_older_roster`); printing waits for it.
    let older = Loader::new(OLDER_ROSTER_OFFLINE);
    Effect::new(move |_| {
        let id = id.get();
        if let Some(a) = ctx.cache.with_untracked(|c| c.activity(&id).cloned()) {
            fetch_older_roster(ctx, &a, older);
        }
    });
    move || {
        let id = id.get();
        let Some(a) = ctx.cache.with(|c| c.activity(&id).cloned()) else {
            return view! { <p class="empty">"没有找到这个活动。"<a href="/">"返回首页"</a></p> }
                .into_any();
        };
        let rows: Vec<_> = ctx.cache.with(|c| {
            ctx.entries
                .with(|e| lead_roster(&id, c, e).into_iter().map(|r| r.row).collect())
        });
        let (summary, quorum) = counts(a.kind, &rows);
        let tally = Tally::of(rows.iter().map(|r| (r.status, r.membership)));
        let names = |want: fn(AttendanceStatus) -> bool| {
            rows.iter()
                .filter(|r| want(r.status))
                .map(|r| match &r.reason {
                    Some(reason) => format!("{}（{reason}）", r.member_name),
                    None => r.member_name.clone(),
                })
                .collect::<Vec<_>>()
                .join("、")
        };
        let leave = names(|s| s == AttendanceStatus::Leave);
        let absent = names(|s| {
            matches!(
                s,
                AttendanceStatus::Absent | AttendanceStatus::MakeupRejected
            )
        });
        let mut online = names(|s| s == AttendanceStatus::Online);
        let record = a.record.clone().unwrap_or_default();
        if !record.online_note.is_empty() {
            online = [online, record.online_note.clone()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("、");
        }
        let or_blank = |s: String| if s.is_empty() { "无".to_owned() } else { s };
        let state = match a.state {
            ActivityState::Closed => "已归档",
            ActivityState::Cancelled => "已取消",
            ActivityState::Open => "未归档（数据仍可能变化）",
        };
        view! {
            <article class="record" data-testid="meeting-record">
                <h1>{format!("{}会议记录", a.kind.label())}</h1>
                <dl class="record-fields">
                    <dt>"主题"</dt><dd>{a.title.clone()}</dd>
                    <dt>"党组织"</dt><dd>{a.org_name.clone()}</dd>
                    <dt>"时间"</dt><dd>{LocalTime::from_millis(a.starts_at).prose()}" 至 "{LocalTime::from_millis(a.ends_at).table()}</dd>
                    <dt>"地点"</dt><dd>{format!("{}（{}）", a.place, a.mode.label())}</dd>
                    <dt>"主持人"</dt><dd>{or_blank(record.host.clone())}</dd>
                    <dt>"记录人"</dt><dd>{or_blank(record.recorder.clone())}</dd>
                    <dt>"出席情况"</dt><dd data-testid="record-tally">{summary}</dd>
                    <dt>"实到"</dt><dd>{format!("正式党员{}人，预备党员{}人", tally.present_full, tally.present_probationary)}</dd>
                    {quorum.map(|q| view! { <dt>"表决"</dt><dd data-testid="record-quorum">{q}</dd> })}
                    <dt>"请假人员及原因"</dt><dd>{or_blank(leave)}</dd>
                    <dt>"缺席人员及原因"</dt><dd>{or_blank(absent)}</dd>
                    <dt>"线上参加人员"</dt><dd>{or_blank(online)}</dd>
                    <dt>"状态"</dt><dd>{state}</dd>
                </dl>
                <div class="table-scroll">
                    <table class="register">
                        <thead><tr><th>"姓名"</th><th>"类别"</th><th>"状态"</th><th>"签到时间"</th></tr></thead>
                        <tbody>
                            {rows.iter().map(|r| view! {
                                <tr>
                                    <td>{r.member_name.clone()}{r.guest.then_some("（外支部）")}</td>
                                    <td>{match r.membership { Membership::Full => "正式", Membership::Probationary => "预备" }}</td>
                                    <td>{r.status.label()}</td>
                                    <td>{r.signed_at.map(|t| LocalTime::from_millis(t).table()).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <p class="hint">"会议内容由记录人另行记录。"</p>
                <div class="no-print">
                    {move || older.note().map(|m| view! { <p class="hint warn" role="alert">{m}</p> })}
                    <button type="button" class="primary" disabled=move || older.note().is_some() on:click=|_| { let _ = window().print(); }>"打印"</button>
                    <Export activity=a.clone()/>
                    <a href=format!("/activity/{}", a.id)>"返回活动"</a>
                </div>
            </article>
        }
        .into_any()
    }
}
