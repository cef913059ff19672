//! The phone's side of sync, as plain data: the outbox of records waiting for the server, their receipts,
//! the local copy of what the server sent, and what a member is shown for each activity.
//!
//! The browser keeps these in localStorage (`client::store`); the rules for how they change live here so
//! that native tests cover them. A record leaves the `Pending` state only through a receipt from the
//! server — never through a timeout, a logout or an expired session.

use serde::{Deserialize, Serialize};

use crate::api::{
    ActivityView, AttendanceView, Change, FeedbackView, Mutation, PullResponse, Receipt,
    ReceiptStatus, Settings, SignIn, StudyView,
};
use crate::life::{self, Confirmation, RequestKind, SignInEffect};
use crate::model::{AttendanceStatus, Millis, Role};
use crate::study::{Audience, Hours, Progress, StudyRules, StudyStatus, check_editable};

/// Version of the stored outbox format. A new version comes with a migration of the old one ([`migrate`]),
/// so records written by an older app are delivered by the newer one.
///
/// - 1: `{format, mutation, state}`.
/// - 2: adds `author`, the user the record belongs to. A record is only ever sent with its author's
///   session, whatever partition it is found in.
pub const FORMAT: u32 = 2;

/// Delivered records are kept this long so the member can still see their receipt.
pub const KEEP_DELIVERED_MS: Millis = 14 * 24 * 3_600_000;

/// One record made on this phone, with where it is on its way to the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub format: u32,
    /// The user id of the person who made the record (absent in format 1).
    #[serde(default)]
    pub author: i64,
    pub mutation: Mutation,
    pub state: EntryState,
}

/// Upgrades a stored record of any format this app knows to [`FORMAT`]. `owner` is the user whose
/// partition it was found in (format 1 had no author of its own).
///
/// `Err` for a record from a newer app: the caller leaves it untouched in storage, never deletes it, and
/// the newer app delivers it after the update.
pub fn migrate(mut stored: Entry, owner: i64) -> Result<Entry, String> {
    match stored.format {
        1 => {
            stored.author = owner;
            stored.format = FORMAT;
            Ok(stored)
        }
        FORMAT => Ok(stored),
        newer => Err(format!("记录格式为第{newer}版，需要更新应用后才能上传")),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryState {
    /// 待上传: on the phone only.
    Pending,
    /// 已送达: the server stored it (the receipt proves it).
    Delivered { receipt: Receipt },
    /// 未通过: the server can never accept it; kept to show the reason and for export.
    Quarantined { receipt: Receipt },
}

impl Entry {
    pub fn new(author: i64, mutation: Mutation) -> Entry {
        Entry {
            format: FORMAT,
            author,
            mutation,
            state: EntryState::Pending,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.state == EntryState::Pending
    }

    /// The change this entry carries (records of unknown kinds have none).
    pub fn change(&self) -> Option<Change> {
        self.mutation.change().ok()
    }

    fn activity_id(&self) -> Option<String> {
        self.change()?.activity_id().map(str::to_owned)
    }
}

/// The oldest pending records first, at most `max` of them: what the next push sends.
pub fn next_batch(entries: &[Entry], max: usize) -> Vec<Mutation> {
    let mut pending: Vec<&Entry> = entries.iter().filter(|e| e.is_pending()).collect();
    pending.sort_by_key(|e| e.mutation.seq);
    pending
        .into_iter()
        .take(max)
        .map(|e| e.mutation.clone())
        .collect()
}

/// Applies the server's receipts; returns the entries whose state changed (to be written back).
///
/// A receipt for an id the outbox does not have is ignored: it cannot create or resurrect anything.
pub fn apply_receipts(entries: &mut [Entry], receipts: &[Receipt]) -> Vec<Entry> {
    let mut changed = Vec::new();
    for receipt in receipts {
        let Some(entry) = entries.iter_mut().find(|e| e.mutation.id == receipt.id) else {
            continue;
        };
        let state = match receipt.status {
            ReceiptStatus::Applied | ReceiptStatus::Duplicate => EntryState::Delivered {
                receipt: receipt.clone(),
            },
            ReceiptStatus::Quarantined => EntryState::Quarantined {
                receipt: receipt.clone(),
            },
        };
        if entry.state != state {
            entry.state = state;
            changed.push(entry.clone());
        }
    }
    changed
}

/// Ids of delivered entries old enough to forget. Pending and quarantined entries are never forgotten.
pub fn expired_deliveries(entries: &[Entry], now: Millis) -> Vec<String> {
    entries
        .iter()
        .filter(|e| matches!(&e.state, EntryState::Delivered { receipt } if now - receipt.received_at > KEEP_DELIVERED_MS))
        .map(|e| e.mutation.id.clone())
        .collect()
}

/// The state of this phone's outbox, for the sync-health page and the warnings.
#[derive(Clone, Debug, PartialEq)]
pub struct Health {
    pub pending: usize,
    /// Age of the oldest record still waiting, by the phone's clock.
    pub oldest_pending_ms: Option<Millis>,
    pub delivered: usize,
    pub quarantined: Vec<(Mutation, String)>,
}

impl Health {
    pub fn of(entries: &[Entry], now: Millis) -> Health {
        let pending = entries.iter().filter(|e| e.is_pending());
        Health {
            pending: pending.clone().count(),
            oldest_pending_ms: pending
                .map(|e| e.mutation.device_time)
                .min()
                .map(|t| (now - t).max(0)),
            delivered: entries
                .iter()
                .filter(|e| matches!(e.state, EntryState::Delivered { .. }))
                .count(),
            quarantined: entries
                .iter()
                .filter_map(|e| match &e.state {
                    EntryState::Quarantined { receipt } => Some((
                        e.mutation.clone(),
                        receipt.reason.clone().unwrap_or_default(),
                    )),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Records are at risk when the browser may evict storage (not persisted, or not known to be) and the
    /// oldest unsent record is older than the district's setting: iPhone clears a site's data after 7 days
    /// without use.
    pub fn at_risk(&self, persisted: Option<bool>, settings: &Settings) -> bool {
        persisted != Some(true)
            && self
                .oldest_pending_ms
                .is_some_and(|age| age >= settings.at_risk_after_ms)
    }
}

/// The records an export file carries: everything not yet delivered (pending and refused), oldest first.
pub fn unsent(entries: &[Entry]) -> Vec<Mutation> {
    let mut records: Vec<&Entry> = entries
        .iter()
        .filter(|e| !matches!(e.state, EntryState::Delivered { .. }))
        .collect();
    records.sort_by_key(|e| e.mutation.seq);
    records.into_iter().map(|e| e.mutation.clone()).collect()
}

/// The phone's copy of what the server sent, kept for offline use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cache {
    pub cursor: i64,
    pub activities: Vec<ActivityView>,
    pub attendance: Vec<AttendanceView>,
    /// server time − phone time, from the last answer the server gave.
    pub server_offset_ms: Millis,
    pub last_push: Option<Millis>,
    pub last_pull: Option<Millis>,
    #[serde(default)]
    pub settings: Settings,
    /// The user's own study records and those they review.
    #[serde(default)]
    pub study: Vec<StudyView>,
    #[serde(default)]
    pub study_rules: StudyRules,
    /// The user's own 投诉建议 (a district admin's: everyone's).
    #[serde(default)]
    pub feedback: Vec<FeedbackView>,
    /// The server's time of the last pull: every record made after it carries it (see
    /// [`Mutation::synced_at`]).
    #[serde(default)]
    pub synced_at: Millis,
}

impl Cache {
    /// What this phone holds for working offline, in words for 同步状态: the activities and roster rows,
    /// study records and 投诉建议 it keeps, and where a role's other data lives.
    pub fn holdings(&self, role: Role) -> String {
        let mut held = format!(
            "活动 {} 项、应到名单 {} 行、学习记录 {} 条、投诉建议 {} 条",
            self.activities.len(),
            self.attendance.len(),
            self.study.len(),
            self.feedback.len()
        );
        held += &match role {
            Role::Member => "（本人参加的活动与本支部的活动）".to_owned(),
            Role::Lead => format!(
                "（本支部的活动、未归档与近{}天活动的应到名单、待审核的学习记录；更早活动的名单在打开时获取）",
                life::RECENT_ROSTER_DAYS
            ),
            Role::Committee | Role::Admin => {
                "（本人的记录与待审核的事项；统计、登记表和各支部的活动联网时从服务器查看，本机不保存全区数据）"
                    .to_owned()
            }
        };
        held
    }

    /// What a committee or district admin's phone keeps: their own roster rows and those activities. An
    /// older app kept the whole district's; the server no longer updates it, so it is let go (the server's
    /// views have it). Unsent records are in the outbox, not here: nothing made on the phone is lost.
    pub fn hold_for(&mut self, role: Role, user_id: i64) {
        if !role.administers() {
            return;
        }
        self.attendance.retain(|r| r.member_id == user_id);
        let mine: std::collections::HashSet<&str> = self
            .attendance
            .iter()
            .map(|r| r.activity_id.as_str())
            .collect();
        self.activities.retain(|a| mine.contains(a.id.as_str()));
    }

    /// Merges a pull: rows replace the ones with the same key; nothing is dropped.
    pub fn merge(&mut self, pull: PullResponse) {
        for a in pull.activities {
            match self.activities.iter_mut().find(|x| x.id == a.id) {
                Some(x) => *x = a,
                None => self.activities.push(a),
            }
        }
        for r in pull.attendance {
            self.put_attendance(r);
        }
        for r in pull.study {
            match self.study.iter_mut().find(|x| x.id == r.id) {
                Some(x) if x.server_seq <= r.server_seq => *x = r,
                Some(_) => {}
                None => self.study.push(r),
            }
        }
        for f in pull.feedback {
            match self.feedback.iter_mut().find(|x| x.id == f.id) {
                Some(x) if x.server_seq <= f.server_seq => *x = f,
                Some(_) => {}
                None => self.feedback.push(f),
            }
        }
        self.study_rules = pull.study_rules;
        self.activities
            .sort_by_key(|a| std::cmp::Reverse(a.starts_at));
        self.cursor = self.cursor.max(pull.cursor);
        self.settings = pull.settings;
        self.synced_at = self.synced_at.max(pull.server_time);
        self.forget_ended_secrets(pull.server_time);
    }

    /// The key of an activity's code is needed only while members may sign in; after that it leaves the
    /// phone, so a lost phone holds no code of past meetings. Answers whether anything was forgotten.
    pub fn forget_ended_secrets(&mut self, now: Millis) -> bool {
        let mut forgot = false;
        for a in &mut self.activities {
            let over = now > a.ends_at + crate::model::SIGN_IN_CLOSES_AFTER_MS;
            if over && (a.secret.is_some() || a.code.is_some()) {
                a.secret = None;
                a.code = None;
                forgot = true;
            }
        }
        forgot
    }

    /// Replaces or adds one roster row (natural key: activity and member).
    pub fn put_attendance(&mut self, row: AttendanceView) {
        match self
            .attendance
            .iter_mut()
            .find(|x| x.activity_id == row.activity_id && x.member_id == row.member_id)
        {
            Some(x) if x.server_seq <= row.server_seq => *x = row,
            Some(_) => {}
            None => self.attendance.push(row),
        }
    }

    /// Forgets activities this phone published that the server refused: they exist nowhere but here, and
    /// the refused record (with its reason) stays in the outbox for 同步状态 and export.
    ///
    /// An edit, cancellation or closing the server refused was shown here already: the next pull starts
    /// from the beginning, so the server's version of every activity replaces this phone's.
    pub fn forget_refused(&mut self, changed: &[Entry]) -> bool {
        let before = (self.activities.len(), self.cursor);
        for entry in changed {
            if !matches!(entry.state, EntryState::Quarantined { .. }) {
                continue;
            }
            match entry.change() {
                Some(Change::CreateActivity(a)) => self
                    .activities
                    .retain(|x| x.id != a.activity_id || x.server_seq > 0),
                Some(
                    Change::EditActivity(_) | Change::CancelActivity(_) | Change::CloseRecord(_),
                ) => self.cursor = 0,
                _ => {}
            }
        }
        (self.activities.len(), self.cursor) != before
    }

    pub fn activity(&self, id: &str) -> Option<&ActivityView> {
        self.activities.iter().find(|a| a.id == id)
    }

    pub fn roster(&self, activity_id: &str) -> Vec<&AttendanceView> {
        let mut rows: Vec<_> = self
            .attendance
            .iter()
            .filter(|r| r.activity_id == activity_id)
            .collect();
        rows.sort_by_key(|r| r.member_id);
        rows
    }
}

/// One row of a roster as this phone shows it: the server's row with this phone's own records laid over it.
#[derive(Clone, Debug, PartialEq)]
pub struct RosterRow {
    pub row: AttendanceView,
    pub mark: RowMark,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RowMark {
    None,
    /// Made on this phone, waiting to be sent (shown as done already).
    Waiting,
    /// The server refused this phone's latest record about the row, with its reason.
    Refused(String),
}

/// What a change made on this phone does to a row, as the server will do it (`life` has the rules; the
/// server has the last word when the record arrives).
fn apply_locally(row: &mut AttendanceView, change: &Change) {
    use AttendanceStatus::*;
    match change {
        Change::Confirm(_)
            if matches!(
                life::confirmation(row.status),
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
        Change::SignIn(_) if life::sign_in_effect(row.status) == SignInEffect::SignsIn => {
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
fn overlay<'a>(row: &AttendanceView, mine: impl Iterator<Item = (&'a Entry, Change)>) -> RosterRow {
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
fn lay_over<'a, T>(
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
fn about<'a>(
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
fn as_stored<'e>((entry, change): &(&'e Entry, Change)) -> (&'e Entry, Change) {
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

// ---------------------------------------------------------------------------------------------------
// The study ledger

/// A study record as this phone shows it: the server's copy (or the phone's own, before it arrives) with
/// this phone's edits, withdrawals and reviews laid over it.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyItem {
    pub view: StudyView,
    pub mark: RowMark,
}

/// What a study record made or reviewed on this phone does to it (the server judges it again by the same
/// rules in `study`).
fn apply_study(view: &mut StudyView, change: &Change, rules: &StudyRules) {
    match change {
        Change::SaveStudy(e) if check_editable(view.status).is_ok() => {
            view.kind = e.kind;
            view.title = e.title.trim().to_owned();
            view.organiser = e.organiser.trim().to_owned();
            view.starts_on = e.starts_on.clone();
            view.ends_on = e.ends_on.clone();
            view.hours = match e.days {
                Some(days) => Hours::from_days(days, rules.day_hours),
                None => e.hours,
            };
            view.days = e.days;
            view.programme = e.programme;
            view.notes = e.notes.trim().to_owned();
            view.status = if e.submit {
                StudyStatus::Pending
            } else {
                StudyStatus::Draft
            };
            view.credited = Hours::ZERO;
            view.version += 1;
        }
        Change::WithdrawStudy(_) if check_editable(view.status).is_ok() => {
            view.status = StudyStatus::Withdrawn;
            view.version += 1;
        }
        Change::ReviewStudy(r) if view.status == StudyStatus::Pending => {
            view.status = match r.credited {
                Some(_) => StudyStatus::Recognised,
                None => StudyStatus::Returned,
            };
            view.credited = r.credited.unwrap_or(Hours::ZERO);
            view.comment = r.comment.trim().to_owned();
        }
        _ => {}
    }
}

/// Study records with this phone's records about them laid over; `keep` chooses the records from the cache,
/// and `new_ones` (the author) adds the records this phone made that the server has not sent back.
fn study_items(
    cache: &Cache,
    entries: &[Entry],
    keep: impl Fn(&StudyView) -> bool,
    new_ones: Option<(i64, &str, Audience)>,
) -> Vec<StudyItem> {
    let mut items: Vec<StudyItem> = cache
        .study
        .iter()
        .filter(|v| keep(v))
        .map(|v| StudyItem {
            view: v.clone(),
            mark: RowMark::None,
        })
        .collect();
    let mine: Vec<(&Entry, Change)> = entries
        .iter()
        .filter_map(|e| {
            e.change()
                .filter(|c| c.study_id().is_some())
                .map(|c| (e, c))
        })
        .collect();
    if let Some((user_id, name, audience)) = new_ones {
        for (entry, change) in &mine {
            if let Change::SaveStudy(s) = change {
                let known = items.iter().any(|i| i.view.id == s.study_id)
                    || cache.study.iter().any(|v| v.id == s.study_id);
                if entry.author == user_id && !known {
                    let mut view = StudyView {
                        id: s.study_id.clone(),
                        user_id,
                        user_name: name.to_owned(),
                        audience,
                        ..StudyView::default()
                    };
                    // What was written shows even if the server refused it; the versions count only
                    // what is laid over below.
                    apply_study(&mut view, change, &cache.study_rules);
                    view.version = 0;
                    items.push(StudyItem {
                        view,
                        mark: RowMark::None,
                    });
                }
            }
        }
    }
    for item in &mut items {
        let id = item.view.id.clone();
        let about = mine
            .iter()
            .filter(|(_, c)| c.study_id() == Some(id.as_str()))
            .map(|(e, c)| (*e, c.clone()));
        item.mark = lay_over(
            &mut item.view,
            |v| v.server_seq,
            about,
            |v, c| apply_study(v, c, &cache.study_rules),
        );
    }
    items.sort_by(|a, b| b.view.starts_on.cmp(&a.view.starts_on));
    items
}

/// Whether the server has stored a record of this study record (so its photo may follow).
pub fn delivered_study(entries: &[Entry], study_id: &str) -> bool {
    entries.iter().any(|e| {
        matches!(e.state, EntryState::Delivered { .. })
            && e.change().is_some_and(|c| c.study_id() == Some(study_id))
    })
}

/// A person's own study records, newest study first, including those made on this phone and not yet sent.
pub fn my_study(
    user_id: i64,
    name: &str,
    audience: Audience,
    cache: &Cache,
    entries: &[Entry],
) -> Vec<StudyItem> {
    study_items(
        cache,
        entries,
        |v| v.user_id == user_id,
        Some((user_id, name, audience)),
    )
}

/// A reviewer's queue: records of others 待认定, and those this phone has just recognised or returned
/// (shown with their outcome until the server answers).
pub fn review_queue(user_id: i64, cache: &Cache, entries: &[Entry]) -> Vec<StudyItem> {
    let mut items = study_items(
        cache,
        entries,
        |v| v.user_id != user_id && v.status == StudyStatus::Pending,
        None,
    );
    items.retain(|i| i.view.status == StudyStatus::Pending || i.mark != RowMark::None);
    items
}

/// Progress on the audience's requirements in `year`, counting recognised records only.
pub fn progress(
    rules: &StudyRules,
    audience: Audience,
    year: i64,
    items: &[StudyItem],
) -> Vec<Progress> {
    let credits: Vec<_> = items.iter().filter_map(|i| i.view.credit()).collect();
    rules.progress(audience, year, &credits)
}

/// A 投诉建议 as this phone shows it: the server's copy, or what was written here before it arrives, with a
/// reply written here laid over.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedbackItem {
    pub view: FeedbackView,
    pub mark: RowMark,
}

/// 投诉建议 newest first: the cache's, and the ones this phone wrote (`author`) that have not come back.
pub fn feedback_items(
    author: (i64, &str, &str),
    cache: &Cache,
    entries: &[Entry],
) -> Vec<FeedbackItem> {
    let (user_id, name, org_name) = author;
    let mut items: Vec<FeedbackItem> = cache
        .feedback
        .iter()
        .map(|v| FeedbackItem {
            view: v.clone(),
            mark: RowMark::None,
        })
        .collect();
    let mine: Vec<(&Entry, Change)> = entries
        .iter()
        .filter_map(|e| e.change().map(|c| (e, c)))
        .filter(|(_, c)| matches!(c, Change::Feedback(_) | Change::ReplyFeedback(_)))
        .collect();
    for (entry, change) in &mine {
        if let Change::Feedback(f) = change
            && entry.author == user_id
            && !items.iter().any(|i| i.view.id == f.feedback_id)
        {
            items.push(FeedbackItem {
                view: FeedbackView {
                    id: f.feedback_id.clone(),
                    user_id,
                    user_name: name.to_owned(),
                    org_name: org_name.to_owned(),
                    topic: f.topic,
                    body: f.body.trim().to_owned(),
                    created_at: entry.mutation.device_time,
                    ..FeedbackView::default()
                },
                mark: RowMark::None,
            });
        }
    }
    for item in &mut items {
        let id = item.view.id.clone();
        let about = mine.iter().filter(|(_, c)| match c {
            Change::Feedback(f) => f.feedback_id == id,
            Change::ReplyFeedback(r) => r.feedback_id == id,
            _ => false,
        });
        item.mark = lay_over(
            &mut item.view,
            |v| v.server_seq,
            about.map(|(e, c)| (*e, c.clone())),
            |v, c| {
                if let Change::ReplyFeedback(r) = c {
                    v.reply = Some(r.reply.trim().to_owned());
                }
            },
        );
    }
    items.sort_by_key(|i| std::cmp::Reverse(i.view.created_at));
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{NewActivity, SignIn};
    use crate::model::{ActivityKind, Membership};

    fn sign_in(seq: u64, activity: &str) -> Entry {
        let change = Change::SignIn(SignIn {
            activity_id: activity.into(),
            code: "123456".into(),
            ..Default::default()
        });
        Entry::new(
            2,
            Mutation::new(seq, format!("id-{seq}"), &change, 1_000, 0),
        )
    }

    #[test]
    fn an_admins_phone_lets_go_of_the_district_an_older_app_kept() {
        let activity = |id: &str| ActivityView {
            id: id.into(),
            ..ActivityView::default()
        };
        let row = |activity: &str, member_id: i64| AttendanceView {
            activity_id: activity.into(),
            member_id,
            ..AttendanceView::default()
        };
        let mut cache = Cache {
            activities: vec![activity("theirs"), activity("mine")],
            attendance: vec![row("theirs", 7), row("mine", 7), row("mine", 9)],
            ..Cache::default()
        };
        let mut lead = cache.clone();
        lead.hold_for(Role::Lead, 9);
        assert_eq!(lead, cache, "a lead's phone keeps its branch");
        cache.hold_for(Role::Admin, 9);
        assert_eq!(cache.activities, vec![activity("mine")]);
        assert_eq!(cache.attendance, vec![row("mine", 9)]);
    }

    #[test]
    fn the_phone_says_what_it_holds_and_where_an_admin_reads_the_rest() {
        let cache = Cache::default();
        let member = cache.holdings(Role::Member);
        assert!(member.starts_with("活动 0 项、应到名单 0 行"), "{member}");
        assert!(cache.holdings(Role::Admin).contains("本机不保存全区数据"));
        assert!(!member.contains("全区"));
    }

    fn receipt(id: &str, status: ReceiptStatus, received_at: Millis) -> Receipt {
        let reason = (status == ReceiptStatus::Quarantined).then(|| "签到码不正确".to_owned());
        Receipt {
            id: id.into(),
            status,
            reason,
            server_seq: 7,
            received_at,
        }
    }

    fn row(activity: &str, status: AttendanceStatus, server_seq: i64) -> AttendanceView {
        AttendanceView {
            activity_id: activity.into(),
            member_id: 2,
            member_name: "李明".into(),
            membership: Membership::Full,
            status,
            signed_at: None,
            clock_skewed: false,
            server_seq,
            ..Default::default()
        }
    }

    #[test]
    fn feedback_written_offline_shows_at_once_and_a_reply_shows_until_the_server_has_it() {
        use crate::api::{FeedbackEntry, FeedbackTopic, ReplyFeedback};
        let note = |seq, author, change: Change| {
            Entry::new(
                author,
                Mutation::new(seq, format!("m-{seq}"), &change, 5_000 + seq as i64, 0),
            )
        };
        let written = note(
            1,
            2,
            Change::Feedback(FeedbackEntry {
                feedback_id: "f1".into(),
                topic: FeedbackTopic::Help,
                body: " 签到码看不清 ".into(),
            }),
        );
        let mut cache = Cache::default();
        let items = feedback_items((2, "李明", "浦东"), &cache, std::slice::from_ref(&written));
        assert_eq!(items.len(), 1);
        assert_eq!(
            (items[0].view.body.as_str(), items[0].mark.clone()),
            ("签到码看不清", RowMark::Waiting)
        );
        assert_eq!(items[0].view.user_name, "李明");
        // Someone else's outbox entry on a shared phone is not shown as this person's.
        assert!(
            feedback_items((3, "王", "浦东"), &cache, std::slice::from_ref(&written)).is_empty()
        );

        // The server has it; the admin's reply made on this phone shows until the server sends it back.
        let stored = FeedbackView {
            id: "f1".into(),
            user_id: 2,
            body: "签到码看不清".into(),
            server_seq: 5,
            ..FeedbackView::default()
        };
        cache.merge(PullResponse {
            feedback: vec![stored.clone()],
            ..PullResponse::default()
        });
        let mut reply = note(
            2,
            9,
            Change::ReplyFeedback(ReplyFeedback {
                feedback_id: "f1".into(),
                reply: "已调大字号".into(),
            }),
        );
        let items = feedback_items(
            (9, "周敏", "区委组织部"),
            &cache,
            std::slice::from_ref(&reply),
        );
        assert_eq!(
            (items[0].view.reply.as_deref(), items[0].mark.clone()),
            (Some("已调大字号"), RowMark::Waiting)
        );
        reply.state = EntryState::Quarantined {
            receipt: receipt("m-2", ReceiptStatus::Quarantined, 0),
        };
        let items = feedback_items(
            (9, "周敏", "区委组织部"),
            &cache,
            std::slice::from_ref(&reply),
        );
        assert_eq!(
            items[0].view.reply, None,
            "a refused reply is not shown as given"
        );
        assert!(matches!(items[0].mark, RowMark::Refused(_)));
        // An older copy never replaces a newer one.
        cache.merge(PullResponse {
            feedback: vec![FeedbackView {
                server_seq: 3,
                body: "旧".into(),
                ..stored
            }],
            ..PullResponse::default()
        });
        assert_eq!(cache.feedback[0].body, "签到码看不清");
    }

    #[test]
    fn the_next_batch_is_the_oldest_pending_records_in_sequence_order() {
        let mut entries = vec![sign_in(3, "a"), sign_in(1, "a"), sign_in(2, "a")];
        entries[2].state = EntryState::Delivered {
            receipt: receipt("id-2", ReceiptStatus::Applied, 0),
        };
        let seqs: Vec<u64> = next_batch(&entries, 10).iter().map(|m| m.seq).collect();
        assert_eq!(seqs, [1, 3]);
        assert_eq!(next_batch(&entries, 1).len(), 1);
    }

    #[test]
    fn receipts_move_records_out_of_pending_and_unknown_receipts_change_nothing() {
        let mut entries = vec![sign_in(1, "a"), sign_in(2, "a")];
        let changed = apply_receipts(
            &mut entries,
            &[
                receipt("id-1", ReceiptStatus::Duplicate, 5),
                receipt("id-2", ReceiptStatus::Quarantined, 5),
                receipt("id-9", ReceiptStatus::Applied, 5),
            ],
        );
        assert_eq!(changed.len(), 2);
        assert!(matches!(entries[0].state, EntryState::Delivered { .. }));
        assert!(matches!(entries[1].state, EntryState::Quarantined { .. }));
        assert!(next_batch(&entries, 10).is_empty());
        assert!(
            apply_receipts(
                &mut entries,
                &[receipt("id-1", ReceiptStatus::Duplicate, 5)]
            )
            .is_empty()
        );
    }

    #[test]
    fn only_old_deliveries_are_forgotten() {
        let mut entries = vec![sign_in(1, "a"), sign_in(2, "a"), sign_in(3, "a")];
        entries[0].state = EntryState::Delivered {
            receipt: receipt("id-1", ReceiptStatus::Applied, 0),
        };
        entries[1].state = EntryState::Quarantined {
            receipt: receipt("id-2", ReceiptStatus::Quarantined, 0),
        };
        assert_eq!(
            expired_deliveries(&entries, KEEP_DELIVERED_MS + 1),
            ["id-1"]
        );
        assert!(expired_deliveries(&entries, KEEP_DELIVERED_MS).is_empty());
    }

    #[test]
    fn the_member_sees_waiting_then_delivered_then_confirmed() {
        let mut cache = Cache::default();
        let mut entries = vec![sign_in(1, "a")];
        assert_eq!(
            sign_in_view("a", 2, &cache, &[]),
            SignInView::NotSignedIn(AttendanceStatus::Pending)
        );
        assert_eq!(sign_in_view("a", 2, &cache, &entries), SignInView::Waiting);
        apply_receipts(&mut entries, &[receipt("id-1", ReceiptStatus::Applied, 5)]);
        assert_eq!(sign_in_view("a", 2, &cache, &entries).label(), "已送达");
        cache.put_attendance(row("a", AttendanceStatus::Confirmed, 9));
        assert_eq!(sign_in_view("a", 2, &cache, &entries).label(), "已确认");
    }

    #[test]
    fn a_rejected_sign_in_shows_its_reason_and_may_be_retried() {
        let cache = Cache::default();
        let mut entries = vec![sign_in(1, "a")];
        apply_receipts(
            &mut entries,
            &[receipt("id-1", ReceiptStatus::Quarantined, 5)],
        );
        let view = sign_in_view("a", 2, &cache, &entries);
        assert_eq!(view.label(), "未通过：签到码不正确");
        assert!(view.can_sign_in());
        entries.push(sign_in(2, "a"));
        assert_eq!(sign_in_view("a", 2, &cache, &entries), SignInView::Waiting);
    }

    #[test]
    fn a_pull_merges_by_key_and_never_moves_a_row_backwards() {
        let mut cache = Cache::default();
        cache.put_attendance(row("a", AttendanceStatus::Confirmed, 9));
        cache.merge(PullResponse {
            cursor: 10,
            more: false,
            server_time: 0,
            activities: vec![],
            attendance: vec![
                row("a", AttendanceStatus::SignedIn, 8),
                row("b", AttendanceStatus::Pending, 3),
            ],
            ..PullResponse::default()
        });
        assert_eq!(cache.attendance.len(), 2);
        assert_eq!(cache.attendance[0].status, AttendanceStatus::Confirmed);
        assert_eq!(cache.cursor, 10);
        cache.merge(PullResponse {
            cursor: 4,
            more: false,
            server_time: 0,
            activities: vec![],
            attendance: vec![],
            ..PullResponse::default()
        });
        assert_eq!(cache.cursor, 10, "the cursor never goes back");
    }

    #[test]
    fn the_leads_confirmation_shows_at_once_and_a_refusal_shows_its_reason() {
        let confirm = |seq: u64, member_id: i64| {
            let change = Change::Confirm(crate::api::Confirm {
                activity_id: "a".into(),
                member_id,
            });
            Entry::new(1, Mutation::new(seq, format!("c-{seq}"), &change, 0, 0))
        };
        let mut cache = Cache::default();
        cache.put_attendance(row("a", AttendanceStatus::SignedIn, 4));
        let status = |cache: &Cache, entries: &[Entry]| {
            let r = &lead_roster("a", cache, entries)[0];
            (r.row.status, r.mark.clone())
        };
        assert_eq!(
            status(&cache, &[]),
            (AttendanceStatus::SignedIn, RowMark::None)
        );

        let mut entries = vec![confirm(1, 2)];
        assert_eq!(
            status(&cache, &entries),
            (AttendanceStatus::Confirmed, RowMark::Waiting)
        );
        // Sent, not yet pulled back: still shown confirmed; pulled: the server's row speaks.
        apply_receipts(&mut entries, &[receipt("c-1", ReceiptStatus::Applied, 5)]);
        assert_eq!(
            status(&cache, &entries),
            (AttendanceStatus::Confirmed, RowMark::None)
        );
        cache.put_attendance(row("a", AttendanceStatus::Confirmed, 9));
        assert_eq!(
            status(&cache, &entries),
            (AttendanceStatus::Confirmed, RowMark::None)
        );

        let mut cache = Cache::default();
        cache.put_attendance(row("a", AttendanceStatus::Leave, 4));
        let mut entries = vec![confirm(2, 2)];
        apply_receipts(
            &mut entries,
            &[receipt("c-2", ReceiptStatus::Quarantined, 5)],
        );
        assert_eq!(
            status(&cache, &entries),
            (
                AttendanceStatus::Leave,
                RowMark::Refused("签到码不正确".into())
            )
        );
        assert!(
            lead_roster("a", &cache, &[confirm(3, 99)])[0].mark == RowMark::None,
            "another member"
        );
    }

    #[test]
    fn an_activity_the_server_refused_leaves_the_list_but_its_record_stays() {
        let activity = NewActivity {
            activity_id: "act".into(),
            kind: ActivityKind::ThemeDay,
            title: "主题党日".into(),
            place: String::new(),
            starts_at: 0,
            ends_at: 1,
            code: "123456".into(),
            ..Default::default()
        };
        let view = |id: &str, server_seq| ActivityView {
            id: id.into(),
            org_id: 3,
            org_name: "支部".into(),
            kind: ActivityKind::ThemeDay,
            title: "主题党日".into(),
            place: String::new(),
            starts_at: 0,
            ends_at: 1,
            code: None,
            server_seq,
            ..Default::default()
        };
        let mut cache = Cache {
            activities: vec![view("act", 0), view("other", 0)],
            ..Cache::default()
        };
        let mut entries = vec![Entry::new(
            2,
            Mutation::new(1, "id-1".into(), &Change::CreateActivity(activity), 0, 0),
        )];
        assert!(!cache.forget_refused(&entries), "still pending: kept");
        let changed = apply_receipts(
            &mut entries,
            &[receipt("id-1", ReceiptStatus::Quarantined, 5)],
        );
        assert!(cache.forget_refused(&changed));
        let ids: Vec<&str> = cache.activities.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["other"]);
        assert_eq!(Health::of(&entries, 5).quarantined.len(), 1);
    }

    #[test]
    fn a_stored_entry_round_trips_through_json() {
        let e = sign_in(1, "a");
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains(r#""state":{"state":"pending"}"#), "{json}");
        let back: Entry = serde_json::from_str(&json).unwrap();
        assert_eq!(migrate(back, 2).unwrap(), e);
    }

    /// A record exactly as version 1 of the app wrote it (format 1, no author).
    const FORMAT_1: &str = r#"{"format":1,"mutation":{"seq":4,"id":"0190b0c2-7a8e-7d1c-9f00-3c5a1b2c3d4e",
        "kind":"sign_in","payload":{"activity_id":"a","code":"123456"},"device_time":1700000000000,
        "server_offset_ms":-1200},"state":{"state":"pending"}}"#;

    #[test]
    fn a_format_1_record_is_upgraded_and_keeps_everything_it_had() {
        let stored: Entry = serde_json::from_str(FORMAT_1).unwrap();
        let e = migrate(stored, 5).unwrap();
        assert_eq!((e.format, e.author, e.mutation.seq), (FORMAT, 5, 4));
        assert!(e.is_pending());
        assert_eq!(e.mutation.server_offset_ms, -1200);
        assert_eq!(
            e.change(),
            Some(Change::SignIn(SignIn {
                activity_id: "a".into(),
                code: "123456".into(),
                ..Default::default()
            }))
        );
        // Upgrading an upgraded record changes nothing.
        assert_eq!(migrate(e.clone(), 9).unwrap(), e);
    }

    #[test]
    fn a_record_from_a_newer_app_is_refused_not_guessed() {
        let mut newer: Entry = serde_json::from_str(FORMAT_1).unwrap();
        newer.format = 3;
        assert!(migrate(newer, 5).unwrap_err().contains("需要更新应用"));
        assert!(
            serde_json::from_str::<Entry>(r#"{"format": 2}"#).is_err(),
            "damaged"
        );
    }

    #[test]
    fn health_counts_the_outbox_and_warns_only_when_records_may_be_evicted() {
        const DAY: Millis = 86_400_000;
        let mut entries = vec![sign_in(1, "a"), sign_in(2, "b"), sign_in(3, "c")];
        entries[0].state = EntryState::Delivered {
            receipt: receipt("id-1", ReceiptStatus::Applied, 0),
        };
        entries[1].state = EntryState::Quarantined {
            receipt: receipt("id-2", ReceiptStatus::Quarantined, 0),
        };
        let now = 1_000 + 3 * DAY;
        let health = Health::of(&entries, now);
        assert_eq!(health.pending, 1);
        assert_eq!(health.delivered, 1);
        assert_eq!(health.oldest_pending_ms, Some(3 * DAY));
        assert_eq!(health.quarantined[0].1, "签到码不正确");
        let settings = Settings::default();
        assert!(health.at_risk(None, &settings));
        assert!(health.at_risk(Some(false), &settings));
        assert!(
            !health.at_risk(Some(true), &settings),
            "persisted storage is not evicted"
        );
        let younger = Health::of(&entries, 1_000 + DAY);
        assert!(!younger.at_risk(Some(false), &settings));
        assert!(
            !Health::of(&entries[..2], now).at_risk(None, &settings),
            "nothing pending"
        );
        let seqs: Vec<u64> = unsent(&entries).iter().map(|m| m.seq).collect();
        assert_eq!(
            seqs,
            [2, 3],
            "the export carries refused and pending records"
        );
    }

    #[test]
    fn the_leads_decisions_and_a_members_requests_show_at_once_by_the_same_rules_as_the_server() {
        use crate::api::{Decide, Request};
        use crate::life::{Decision, LeaveCategory};
        let entry = |seq: u64, author: i64, change: Change| {
            Entry::new(
                author,
                Mutation::new(seq, format!("e-{seq}"), &change, 0, 0),
            )
        };
        let mut cache = Cache::default();
        cache.put_attendance(row("a", AttendanceStatus::Pending, 4));
        // The member (id 2 in `row`) asks for leave offline: 请假待审批 at once, marked as waiting.
        let ask = entry(
            1,
            2,
            Change::Request(Request {
                activity_id: "a".into(),
                kind: RequestKind::Leave,
                category: Some(LeaveCategory::Illness),
                reason: "发烧".into(),
            }),
        );
        let mine = my_row("a", 2, &cache, std::slice::from_ref(&ask));
        assert_eq!(
            (mine.row.status, mine.row.reason.as_deref(), mine.mark),
            (
                AttendanceStatus::LeavePending,
                Some("发烧"),
                RowMark::Waiting
            )
        );
        assert_eq!(
            my_row("b", 2, &cache, &[ask]).row.status,
            AttendanceStatus::Pending
        );

        // The lead approves it offline: 已请假 on the lead's phone before anything is sent.
        cache.put_attendance(AttendanceView {
            status: AttendanceStatus::LeavePending,
            ..row("a", AttendanceStatus::Pending, 5)
        });
        let decide = |seq, decision, reason: &str| {
            entry(
                seq,
                1,
                Change::Decide(Decide {
                    activity_id: "a".into(),
                    member_id: 2,
                    decision,
                    reason: reason.into(),
                }),
            )
        };
        let mut entries = vec![decide(2, Decision::ApproveLeave, "")];
        let r = &lead_roster("a", &cache, &entries)[0];
        assert_eq!(
            (r.row.status, &r.mark),
            (AttendanceStatus::Leave, &RowMark::Waiting)
        );
        // A decision the rules do not allow changes nothing locally; the server refuses it with a reason.
        entries = vec![decide(3, Decision::ApproveMakeup, "")];
        assert_eq!(
            lead_roster("a", &cache, &entries)[0].row.status,
            AttendanceStatus::LeavePending
        );
        apply_receipts(
            &mut entries,
            &[receipt("e-3", ReceiptStatus::Quarantined, 6)],
        );
        assert_eq!(
            lead_roster("a", &cache, &entries)[0].mark,
            RowMark::Refused("签到码不正确".into())
        );
    }

    #[test]
    fn a_refused_edit_makes_the_next_pull_start_over() {
        let change = Change::CancelActivity(crate::api::Cancel {
            activity_id: "a".into(),
            reason: "改期".into(),
        });
        let mut entries = vec![Entry::new(1, Mutation::new(1, "x".into(), &change, 0, 0))];
        let mut cache = Cache {
            cursor: 40,
            ..Cache::default()
        };
        assert!(!cache.forget_refused(&entries));
        apply_receipts(&mut entries, &[receipt("x", ReceiptStatus::Quarantined, 1)]);
        assert!(cache.forget_refused(&entries));
        assert_eq!(cache.cursor, 0);
    }

    // --- The study ledger

    fn study_change(seq: u64, author: i64, change: Change) -> Entry {
        Entry::new(
            author,
            Mutation::new(seq, format!("s-{seq}"), &change, 1_000, 0),
        )
    }

    fn entry(hours: u32) -> crate::api::StudyEntry {
        crate::api::StudyEntry {
            study_id: "rec".into(),
            kind: crate::study::StudyKind::Training,
            title: "专题培训".into(),
            starts_on: "2026-11-02".into(),
            ends_on: "2026-11-02".into(),
            hours: Hours::whole(hours),
            submit: true,
            ..Default::default()
        }
    }

    fn server_copy(status: StudyStatus, credited: u32, version: u32, server_seq: i64) -> StudyView {
        StudyView {
            id: "rec".into(),
            user_id: 3,
            user_name: "赵磊".into(),
            audience: Audience::Township,
            kind: crate::study::StudyKind::Training,
            title: "专题培训".into(),
            starts_on: "2026-11-02".into(),
            ends_on: "2026-11-02".into(),
            hours: Hours::whole(8),
            status,
            credited: Hours::whole(credited),
            version,
            server_seq,
            ..Default::default()
        }
    }

    #[test]
    fn a_study_record_made_offline_shows_at_once_and_counts_only_once_recognised() {
        let mut cache = Cache::default();
        let mut entries = vec![study_change(1, 3, Change::SaveStudy(entry(8)))];
        let mine = my_study(3, "赵磊", Audience::Township, &cache, &entries);
        assert_eq!(mine.len(), 1);
        assert_eq!(
            (mine[0].view.status, &mine[0].mark),
            (StudyStatus::Pending, &RowMark::Waiting)
        );
        assert_eq!(
            (mine[0].view.hours, mine[0].view.version),
            (Hours::whole(8), 1)
        );
        assert_eq!(
            progress(&cache.study_rules, Audience::Township, 2026, &mine)[0].done,
            Hours::ZERO
        );
        // Someone else's records on a shared phone are not this person's.
        assert!(my_study(4, "李明", Audience::Member, &cache, &entries).is_empty());

        apply_receipts(
            &mut entries,
            &[Receipt {
                id: "s-1".into(),
                ..receipt("s-1", ReceiptStatus::Applied, 5)
            }],
        );
        assert!(delivered_study(&entries, "rec"));
        assert_eq!(
            my_study(3, "赵磊", Audience::Township, &cache, &entries)[0].mark,
            RowMark::None
        );

        cache.merge(PullResponse {
            study: vec![server_copy(StudyStatus::Recognised, 6, 2, 9)],
            ..PullResponse::default()
        });
        let mine = my_study(3, "赵磊", Audience::Township, &cache, &entries);
        assert_eq!(mine.len(), 1, "the server's copy replaces the phone's");
        assert_eq!(mine[0].view.status, StudyStatus::Recognised);
        let p = progress(&cache.study_rules, Audience::Township, 2026, &mine);
        assert_eq!(p[0].sentence(), "应完成90学时，已完成6学时，尚需84学时");
    }

    #[test]
    fn an_edit_of_a_recognised_record_is_not_shown_as_applied_and_its_refusal_says_why() {
        let mut cache = Cache::default();
        cache.merge(PullResponse {
            study: vec![server_copy(StudyStatus::Recognised, 8, 2, 9)],
            ..PullResponse::default()
        });
        let mut entries = vec![study_change(1, 3, Change::SaveStudy(entry(20)))];
        let shown = &my_study(3, "赵磊", Audience::Township, &cache, &entries)[0];
        assert_eq!(
            (shown.view.status, shown.view.hours),
            (StudyStatus::Recognised, Hours::whole(8))
        );
        let refused = Receipt {
            reason: Some("该学习记录已认定，不能再修改或撤回".into()),
            ..receipt("s-1", ReceiptStatus::Quarantined, 5)
        };
        apply_receipts(&mut entries, &[refused]);
        let shown = &my_study(3, "赵磊", Audience::Township, &cache, &entries)[0];
        assert_eq!(shown.view.hours, Hours::whole(8));
        assert!(matches!(&shown.mark, RowMark::Refused(r) if r.contains("已认定")));
    }

    #[test]
    fn a_reviewers_decision_shows_in_the_queue_until_the_server_has_it() {
        let mut cache = Cache::default();
        cache.merge(PullResponse {
            study: vec![server_copy(StudyStatus::Pending, 0, 1, 9)],
            ..PullResponse::default()
        });
        assert_eq!(review_queue(8, &cache, &[]).len(), 1);
        assert!(
            review_queue(3, &cache, &[]).is_empty(),
            "nobody reviews their own"
        );
        let decision = Change::ReviewStudy(crate::api::ReviewStudy {
            study_id: "rec".into(),
            version: 1,
            credited: Some(Hours::whole(6)),
            comment: String::new(),
        });
        let mut entries = vec![study_change(1, 8, decision)];
        let queue = review_queue(8, &cache, &entries);
        assert_eq!(
            (queue[0].view.status, &queue[0].mark),
            (StudyStatus::Recognised, &RowMark::Waiting)
        );
        apply_receipts(&mut entries, &[receipt("s-1", ReceiptStatus::Applied, 5)]);
        cache.merge(PullResponse {
            study: vec![server_copy(StudyStatus::Recognised, 6, 2, 12)],
            ..PullResponse::default()
        });
        assert!(review_queue(8, &cache, &entries).is_empty());
    }

    #[test]
    fn a_new_record_the_server_refused_still_shows_what_was_written_and_why() {
        let cache = Cache::default();
        let mut entries = vec![study_change(1, 3, Change::SaveStudy(entry(8)))];
        let refused = Receipt {
            reason: Some("学习结束后才能登记学时".into()),
            ..receipt("s-1", ReceiptStatus::Quarantined, 5)
        };
        apply_receipts(&mut entries, &[refused]);
        let shown = &my_study(3, "赵磊", Audience::Township, &cache, &entries)[0];
        assert_eq!(shown.view.title, "专题培训");
        assert!(matches!(&shown.mark, RowMark::Refused(r) if r.contains("结束后")));
    }
}
