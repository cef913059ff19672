//! The study ledger as this phone shows it: records, reviews and progress, with unsent edits laid over.

use super::*;
use crate::api::StudyEntry;
use crate::study::{Day, Programme, StudyKind, check_entry};

/// A study record as this phone shows it: the server's copy (or the phone's own, before it arrives) with
/// this phone's edits, withdrawals and reviews laid over it.
#[derive(Clone, Debug, PartialEq)]
pub struct StudyItem {
    pub view: StudyView,
    pub mark: RowMark,
}

/// What a study record made or reviewed on this phone does to it (the server judges it again by the same
/// rules in `study`).
pub(super) fn apply_study(view: &mut StudyView, change: &Change, rules: &StudyRules) {
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
pub(super) fn study_items(
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

/// The 登记学习 form as typed, turned into a record by [`StudyDraft::to_entry`] (the page keeps only the
/// inputs' signals).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StudyDraft {
    pub kind: StudyKind,
    pub title: String,
    pub organiser: String,
    /// `2026-03-08`, as the date input gives it.
    pub starts_on: String,
    pub ends_on: String,
    /// 学时, or days when `by_days`, as typed.
    pub amount: String,
    pub by_days: bool,
    pub programme: Option<Programme>,
    pub notes: String,
}

impl StudyDraft {
    /// A new record: dated today, the rest empty.
    pub fn new(today: Day) -> Self {
        StudyDraft {
            starts_on: today.iso(),
            ends_on: today.iso(),
            ..StudyDraft::default()
        }
    }

    /// The form for changing a record, showing days if it was declared in days.
    pub fn of(v: &StudyView) -> Self {
        StudyDraft {
            kind: v.kind,
            title: v.title.clone(),
            organiser: v.organiser.clone(),
            starts_on: v.starts_on.clone(),
            ends_on: v.ends_on.clone(),
            amount: v.days.unwrap_or(v.hours).to_string(),
            by_days: v.days.is_some(),
            programme: v.programme,
            notes: v.notes.clone(),
        }
    }

    /// Days converted at the district's `day_hours` (按每天…学时折算为…学时), once days are typed.
    pub fn converted(&self, day_hours: Hours) -> Option<String> {
        let days = Hours::parse(&self.amount).filter(|_| self.by_days)?;
        Some(format!(
            "按每天{day_hours}学时折算为{}学时",
            Hours::from_days(days, day_hours)
        ))
    }

    /// The record `study_id` (sent for review if `submit`, else kept as 草稿), or what to correct: the
    /// same checks the server makes (`study::check_entry`), on `today` by the server's clock.
    pub fn to_entry(
        &self,
        study_id: String,
        submit: bool,
        day_hours: Hours,
        today: Day,
    ) -> Result<StudyEntry, String> {
        let Some(n) = Hours::parse(&self.amount) else {
            return Err("学时（或天数）请填写数字，最小单位0.5".to_owned());
        };
        let (hours, days) = if self.by_days {
            (Hours::from_days(n, day_hours), Some(n))
        } else {
            (n, None)
        };
        check_entry(
            &self.title,
            &self.organiser,
            &self.notes,
            &self.starts_on,
            &self.ends_on,
            hours,
            today,
        )?;
        Ok(StudyEntry {
            study_id,
            kind: self.kind,
            title: self.title.clone(),
            organiser: self.organiser.clone(),
            starts_on: self.starts_on.clone(),
            ends_on: self.ends_on.clone(),
            hours,
            days,
            programme: self.programme,
            notes: self.notes.clone(),
            submit,
        })
    }
}
