//! Organisational life as this phone shows it: rosters and a member's own row, with the phone's own
//! unsent records laid over the server's copy (the overlays of sign-ins, requests, confirmations, decisions).

use super::*;
use crate::api::NewActivity;
use crate::life::{ActivityMode, Fence};
use crate::model::{ActivityKind, LocalTime, check_new_activity};

/// One row of a roster as this phone shows it: the server's row with this phone's own records laid over it.
#[derive(Clone, Debug, PartialEq)]
pub struct RosterRow {
    pub row: AttendanceView,
    pub mark: RowMark,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RowMark {
    None,
    /// Made on this phone, waiting to be sent (shown as done already).
    Waiting,
    /// The server refused this phone's latest record about the row, with its reason.
    Refused(String),
}

/// What a change made on this phone does to a row, as the server will do it (`life` has the rules; the
/// server has the last word when the record arrives).
pub(super) fn apply_locally(row: &mut AttendanceView, change: &Change) {
    use AttendanceStatus::*;
    match change {
        Change::Confirm(_)
            if matches!(
                crate::life::confirmation(row.status),
                Ok(Confirmation::Confirms | Confirmation::MarksPresent)
            ) =>
        {
            row.status = Confirmed;
        }
        Change::Decide(d) => {
            if let Ok(next) = crate::life::decide(row.status, d.decision, &d.reason) {
                row.status = next;
                if d.decision.needs_reason() {
                    row.reason = Some(d.reason.trim().to_owned());
                }
            }
        }
        Change::SignIn(_) if crate::life::sign_in_effect(row.status) == SignInEffect::SignsIn => {
            row.status = SignedIn;
        }
        Change::Request(r) => match r.kind {
            RequestKind::Leave => {
                row.status = LeavePending;
                row.reason = Some(r.reason.trim().to_owned());
                row.category = r.category;
            }
            RequestKind::Makeup => {
                row.status = MakeupPending;
                row.reason = Some(r.reason.trim().to_owned());
            }
            RequestKind::Study => row.study = Some(r.reason.trim().to_owned()),
        },
        _ => {}
    }
}

/// The row with the records in `mine` (this phone's, about this row, oldest first) laid over it: a record
/// waiting to be sent, or sent but not yet pulled back, shows as done; the latest refusal shows its reason.
pub(super) fn overlay<'a>(
    row: &AttendanceView,
    mine: impl Iterator<Item = (&'a Entry, Change)>,
) -> RosterRow {
    let mut row = row.clone();
    let mut mark = lay_over(&mut row, |r| r.server_seq, mine, apply_locally);
    if row.status == AttendanceStatus::Confirmed && matches!(mark, RowMark::Refused(_)) {
        mark = RowMark::None;
    }
    RosterRow { row, mark }
}

/// Lays this phone's records (oldest first) over what the server sent: a record waiting to be sent, or sent
/// but not yet pulled back (its receipt is newer than the item), shows as done; the latest refusal shows its
/// reason. Answers the item's mark.
pub(super) fn lay_over<'a, T>(
    item: &mut T,
    server_seq: impl Fn(&T) -> i64,
    mine: impl Iterator<Item = (&'a Entry, Change)>,
    apply: impl Fn(&mut T, &Change),
) -> RowMark {
    let mut mark = RowMark::None;
    let seen = server_seq(item);
    for (entry, change) in mine {
        match &entry.state {
            EntryState::Pending => {
                apply(item, &change);
                mark = RowMark::Waiting;
            }
            EntryState::Delivered { receipt } => {
                if receipt.server_seq > seen {
                    apply(item, &change);
                }
                mark = RowMark::None;
            }
            EntryState::Quarantined { receipt } => {
                mark = RowMark::Refused(receipt.reason.clone().unwrap_or_default());
            }
        }
    }
    mark
}

/// The entries about one activity, oldest first, with their changes.
pub(super) fn about<'a>(
    entries: &'a [Entry],
    activity_id: &'a str,
) -> impl Iterator<Item = (&'a Entry, Change)> + 'a {
    entries.iter().filter_map(move |e| {
        let change = e.change()?;
        (change.activity_id() == Some(activity_id)).then_some((e, change))
    })
}

/// The roster of one activity, by member, with this phone's confirmations and decisions laid over the
/// server's rows.
pub fn lead_roster(activity_id: &str, cache: &Cache, entries: &[Entry]) -> Vec<RosterRow> {
    // Each record's JSON is read once, not once per member.
    let mine: Vec<(&Entry, Change)> = about(entries, activity_id).collect();
    cache
        .roster(activity_id)
        .into_iter()
        .map(|row| {
            let member = row.member_id;
            let about_member = mine.iter().filter(move |(_, c)| match c {
                Change::Confirm(c) => c.member_id == member,
                Change::Decide(d) => d.member_id == member,
                _ => false,
            });
            overlay(row, about_member.map(as_stored))
        })
        .collect()
}

/// A record as the server will store it: a lead's 确认 of their own row is their own statement, so it
/// shows as signed in, never as confirmed.
pub(super) fn as_stored<'e>((entry, change): &(&'e Entry, Change)) -> (&'e Entry, Change) {
    match change {
        Change::Confirm(own) if own.member_id == entry.author => (
            entry,
            Change::SignIn(SignIn {
                activity_id: own.activity_id.clone(),
                ..Default::default()
            }),
        ),
        _ => (entry, change.clone()),
    }
}

/// A member's own row on one activity with their sign-ins and requests laid over it (a row not pulled yet
/// counts as 待签到).
pub fn my_row(activity_id: &str, member_id: i64, cache: &Cache, entries: &[Entry]) -> RosterRow {
    let row = cache
        .attendance
        .iter()
        .find(|r| r.activity_id == activity_id && r.member_id == member_id)
        .cloned()
        .unwrap_or_else(|| AttendanceView {
            activity_id: activity_id.to_owned(),
            member_id,
            ..AttendanceView::default()
        });
    overlay(
        &row,
        about(entries, activity_id)
            .filter(|(e, c)| e.author == member_id && matches!(c, Change::Request(_))),
    )
}

/// The status a member sees for themselves: their sign-in's progress once they signed in, otherwise their
/// row with their requests laid over it (请假待审批 …).
pub fn my_status_label(
    activity_id: &str,
    member_id: i64,
    cache: &Cache,
    entries: &[Entry],
) -> String {
    match sign_in_view(activity_id, member_id, cache, entries) {
        SignInView::NotSignedIn(_) => my_row(activity_id, member_id, cache, entries)
            .row
            .status
            .label()
            .to_owned(),
        shown => shown.label(),
    }
}

/// What a member sees about their own sign-in to one activity.
#[derive(Clone, Debug, PartialEq)]
pub enum SignInView {
    /// Not signed in; the roster status says why (待签到, 已请假 …).
    NotSignedIn(AttendanceStatus),
    /// 待上传: saved on the phone, waiting for the network.
    Waiting,
    /// 已送达: the server has it; the lead has not confirmed yet.
    Delivered { receipt: Option<Receipt> },
    /// 已确认 by the lead.
    Confirmed,
    /// 未通过, with the server's reason; the member may sign in again.
    Rejected { reason: String },
}

impl SignInView {
    pub fn label(&self) -> String {
        match self {
            SignInView::NotSignedIn(status) => status.label().to_owned(),
            SignInView::Waiting => "待上传".to_owned(),
            SignInView::Delivered { .. } => "已送达".to_owned(),
            SignInView::Confirmed => "已确认".to_owned(),
            SignInView::Rejected { reason } => format!("未通过：{reason}"),
        }
    }

    /// Whether the sign-in form should be offered.
    pub fn can_sign_in(&self) -> bool {
        matches!(
            self,
            SignInView::NotSignedIn(AttendanceStatus::Pending | AttendanceStatus::Absent)
                | SignInView::Rejected { .. }
        )
    }
}

/// Combines the server's row (if pulled) with this phone's own records for the activity.
pub fn sign_in_view(
    activity_id: &str,
    member_id: i64,
    cache: &Cache,
    entries: &[Entry],
) -> SignInView {
    let row = cache
        .attendance
        .iter()
        .find(|r| r.activity_id == activity_id && r.member_id == member_id);
    let status = row.map_or(AttendanceStatus::Pending, |r| r.status);
    if status == AttendanceStatus::Confirmed {
        return SignInView::Confirmed;
    }
    let mine: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            matches!(e.change(), Some(Change::SignIn(_)))
                && e.activity_id().as_deref() == Some(activity_id)
        })
        .collect();
    if mine.iter().any(|e| e.is_pending()) {
        return SignInView::Waiting;
    }
    let delivered = mine.iter().rev().find_map(|e| match &e.state {
        EntryState::Delivered { receipt } => Some(receipt.clone()),
        _ => None,
    });
    // Delivered, unless the row has moved on since (the lead refused the sign-in, or decided otherwise).
    let superseded = |r: &Receipt| {
        row.is_some_and(|row| row.server_seq > r.server_seq && status != AttendanceStatus::SignedIn)
    };
    if status == AttendanceStatus::SignedIn || delivered.as_ref().is_some_and(|r| !superseded(r)) {
        return SignInView::Delivered { receipt: delivered };
    }
    match mine.iter().max_by_key(|e| e.mutation.seq).map(|e| &e.state) {
        Some(EntryState::Quarantined { receipt }) => SignInView::Rejected {
            reason: receipt.reason.clone().unwrap_or_default(),
        },
        _ => SignInView::NotSignedIn(status),
    }
}

/// The 发布活动 / 修改活动 form as typed, turned into a record by [`ActivityDraft::to_new_activity`] (the
/// page keeps only the inputs' signals).
#[derive(Clone, Debug, PartialEq)]
pub struct ActivityDraft {
    pub kind: ActivityKind,
    pub mode: ActivityMode,
    pub title: String,
    pub place: String,
    /// `2026-03-08T14:00`, as the datetime input gives it (China time).
    pub starts: String,
    pub ends: String,
    /// 学时 a confirmed attendance earns, as typed; empty for none.
    pub study: String,
    pub fence: Option<Fence>,
    /// The 党小组 of a new 党小组会.
    pub group_id: Option<i64>,
}

impl ActivityDraft {
    /// A new 主题党日 from the next full hour after `now`, for two hours, for the first of `group_id`'s
    /// groups when it is a 党小组会.
    pub fn new(now: Millis, group_id: Option<i64>) -> Self {
        let starts = (now / HOUR_MS + 1) * HOUR_MS;
        ActivityDraft {
            kind: ActivityKind::ThemeDay,
            mode: ActivityMode::Offline,
            title: String::new(),
            place: String::new(),
            starts: LocalTime::from_millis(starts).input_value(),
            ends: LocalTime::from_millis(starts + 2 * HOUR_MS).input_value(),
            study: String::new(),
            fence: None,
            group_id,
        }
    }

    /// The form for changing `a` (its fence and group stay as they are).
    pub fn of(a: &ActivityView) -> Self {
        ActivityDraft {
            kind: a.kind,
            mode: a.mode,
            title: a.title.clone(),
            place: a.place.clone(),
            starts: LocalTime::from_millis(a.starts_at).input_value(),
            ends: LocalTime::from_millis(a.ends_at).input_value(),
            study: if a.study_hours > Hours::ZERO {
                a.study_hours.to_string()
            } else {
                String::new()
            },
            fence: None,
            group_id: None,
        }
    }

    /// The record, or what to correct: the same checks the server makes (`model::check_new_activity`), at
    /// `now` by the server's clock. A new activity (`secret`: the key of its rotating 签到码, made on the
    /// phone) carries its fence and, for a 党小组会, its group; an edit (`secret` empty) changes neither.
    pub fn to_new_activity(
        &self,
        activity_id: String,
        secret: String,
        settings: &Settings,
        now: Millis,
    ) -> Result<NewActivity, String> {
        let (Some(starts_at), Some(ends_at)) = (
            LocalTime::parse_input(&self.starts),
            LocalTime::parse_input(&self.ends),
        ) else {
            return Err("请填写开始和结束时间".to_owned());
        };
        let study_hours = match self.study.trim() {
            "" => Hours::ZERO,
            typed => Hours::parse(typed).ok_or("学时请填写数字，最小单位0.5；不计学时请留空")?,
        };
        let (title, place) = (self.title.trim(), self.place.trim());
        check_new_activity(
            title,
            place,
            starts_at,
            ends_at,
            now,
            settings.backdate_limit_ms,
        )?;
        let new = !secret.is_empty();
        Ok(NewActivity {
            activity_id,
            kind: self.kind,
            title: title.to_owned(),
            place: place.to_owned(),
            starts_at,
            ends_at,
            mode: self.mode,
            secret,
            code_step_ms: settings.code_step_ms,
            code: String::new(),
            fence: self.fence.filter(|_| new),
            study_hours,
            group_id: self
                .group_id
                .filter(|_| new && self.kind == ActivityKind::GroupMeeting),
        })
    }
}

/// How this phone shows an activity it has just published (`base`: a new one of the lead's organisation and
/// group) or changed (`base`: the one it had), before the server's copy arrives.
pub fn published(activity: &NewActivity, base: ActivityView) -> ActivityView {
    ActivityView {
        kind: activity.kind,
        title: activity.title.clone(),
        place: activity.place.clone(),
        starts_at: activity.starts_at,
        ends_at: activity.ends_at,
        mode: activity.mode,
        study_hours: activity.study_hours,
        ..base
    }
}

const HOUR_MS: Millis = 3_600_000;
