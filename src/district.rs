//! The district view's calendar: how often a branch is to hold each kind of organisational life (三会一课,
//! 主题党日, 组织生活会, 民主评议党员), and for a period, which months, quarters or the year were held.
//!
//! Plain functions over times, tested natively; the server counts activities and the phone only shows.
//! A slot still running is "open", never "missing": a branch is not behind in November for November.

use serde::{Deserialize, Serialize};

use crate::model::{ActivityKind, LocalTime, Millis, days_from_civil};

/// How often a kind of meeting is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Month,
    Quarter,
    Year,
}

impl Cadence {
    pub fn label(self) -> &'static str {
        match self {
            Cadence::Month => "每月",
            Cadence::Quarter => "每季度",
            Cadence::Year => "每年",
        }
    }
}

/// What each branch is to hold, at least once per slot. (书记讲坛 belongs to the district, so it is not asked
/// of a branch; 党小组会 is asked of each 党小组, see [`GROUP_RULE`].)
pub const CALENDAR: [(ActivityKind, Cadence); 6] = [
    (ActivityKind::GeneralMeeting, Cadence::Quarter),
    (ActivityKind::CommitteeMeeting, Cadence::Month),
    (ActivityKind::PartyLecture, Cadence::Quarter),
    (ActivityKind::ThemeDay, Cadence::Month),
    (ActivityKind::LifeMeeting, Cadence::Year),
    (ActivityKind::MemberReview, Cadence::Year),
];

/// What each 党小组 is to hold: a 党小组会 a month. A branch with groups is judged on it by
/// [`every_group`].
pub const GROUP_RULE: (ActivityKind, Cadence) = (ActivityKind::GroupMeeting, Cadence::Month);

/// The 党小组会 cell of a branch without 党小组.
pub const NO_GROUPS: &str = "未设党小组";

/// The times of the months in which every one of a branch's groups held a meeting (one time per such
/// month): what [`check`] then judges against [`GROUP_RULE`]. No groups, nothing held.
pub fn every_group(groups: &[Vec<Millis>]) -> Vec<Millis> {
    let month = |t: Millis| {
        let l = LocalTime::from_millis(t);
        (l.year, l.month)
    };
    let Some((first, rest)) = groups.split_first() else {
        return Vec::new();
    };
    let mut out: Vec<Millis> = Vec::new();
    for &t in first {
        let m = month(t);
        let all = rest.iter().all(|g| g.iter().any(|&u| month(u) == m));
        if all && !out.iter().any(|&o| month(o) == m) {
            out.push(t);
        }
    }
    out
}

/// A year, or one quarter of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub year: i64,
    pub quarter: Option<u32>,
}

impl Period {
    /// `None` for a year outside 2000–2100 or a quarter outside 1–4.
    pub fn new(year: i64, quarter: Option<u32>) -> Option<Period> {
        let ok = (2000..=2100).contains(&year) && quarter.is_none_or(|q| (1..=4).contains(&q));
        ok.then_some(Period { year, quarter })
    }

    /// `2026年` / `2026年第4季度`
    pub fn label(self) -> String {
        match self.quarter {
            Some(q) => format!("{}年第{q}季度", self.year),
            None => format!("{}年", self.year),
        }
    }

    /// The months (1–12) the period covers.
    fn months(self) -> std::ops::RangeInclusive<u32> {
        match self.quarter {
            Some(q) => (q * 3 - 2)..=(q * 3),
            None => 1..=12,
        }
    }

    /// [start, end) in milliseconds, Shanghai time.
    pub fn bounds(self) -> (Millis, Millis) {
        let months = self.months();
        (
            month_start(self.year, *months.start()),
            month_start(self.year, months.end() + 1),
        )
    }
}

/// Midnight (Shanghai) on the first of `month` (13 is January of the next year).
fn month_start(year: i64, month: u32) -> Millis {
    let (year, month) = if month > 12 {
        (year + 1, month - 12)
    } else {
        (year, month)
    };
    days_from_civil(year, month, 1) * 86_400_000 - 8 * 3_600_000
}

/// One month, quarter or year a rule asks for, and how it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlotState {
    Held,
    /// Over, and nothing was held.
    Missing,
    /// Still running, nothing held yet.
    Open,
    /// Not started.
    Future,
}

/// How a branch stands against one rule in a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct RuleCheck {
    pub kind: ActivityKind,
    pub cadence: Cadence,
    /// Slots with at least one held.
    pub held: u32,
    /// Slots that are over or held (what can be judged now).
    pub due: u32,
    /// The slots over with nothing held (`10月`, `第3季度`, `2026年`).
    pub missing: Vec<String>,
}

impl RuleCheck {
    /// `已开 2/3` — what a table cell shows.
    pub fn cell(&self) -> String {
        if self.due == 0 {
            "未到期".to_owned()
        } else {
            format!("{}/{}", self.held, self.due)
        }
    }

    pub fn met(&self) -> bool {
        self.missing.is_empty()
    }
}

/// The slots of `cadence` in `period`: (label, start, end).
fn slots(cadence: Cadence, period: Period) -> Vec<(String, Millis, Millis)> {
    let y = period.year;
    match cadence {
        Cadence::Month => period
            .months()
            .map(|m| (format!("{m}月"), month_start(y, m), month_start(y, m + 1)))
            .collect(),
        Cadence::Quarter => {
            let quarters = match period.quarter {
                Some(q) => q..=q,
                None => 1..=4,
            };
            quarters
                .map(|q| {
                    let first = q * 3 - 2;
                    (
                        format!("第{q}季度"),
                        month_start(y, first),
                        month_start(y, first + 3),
                    )
                })
                .collect()
        }
        // A yearly meeting is judged over the whole year, even when a quarter is shown.
        Cadence::Year => vec![(format!("{y}年"), month_start(y, 1), month_start(y, 13))],
    }
}

/// How the times `held` (activities of the rule's kind that took place) meet `rule` in `period`, at `now`.
pub fn check(
    rule: (ActivityKind, Cadence),
    period: Period,
    held: &[Millis],
    now: Millis,
) -> RuleCheck {
    let (kind, cadence) = rule;
    let mut out = RuleCheck {
        kind,
        cadence,
        held: 0,
        due: 0,
        missing: Vec::new(),
    };
    for (label, start, end) in slots(cadence, period) {
        let state = if held.iter().any(|&t| start <= t && t < end) {
            SlotState::Held
        } else if end <= now {
            SlotState::Missing
        } else if start <= now {
            SlotState::Open
        } else {
            SlotState::Future
        };
        match state {
            SlotState::Held => {
                out.held += 1;
                out.due += 1;
            }
            SlotState::Missing => {
                out.due += 1;
                out.missing.push(label);
            }
            SlotState::Open | SlotState::Future => {}
        }
    }
    out
}

/// The current period's year and quarter, Shanghai time.
pub fn current(now: Millis) -> (i64, u32) {
    let t = LocalTime::from_millis(now);
    (t.year, (t.month - 1) / 3 + 1)
}

/// `87%` of `part` in `whole` (`—` when there is nothing to count), rounded down.
pub fn percent(part: u32, whole: u32) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{}%", u64::from(part) * 100 / u64::from(whole))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i64, month: u32, day: u32) -> Millis {
        days_from_civil(year, month, day) * 86_400_000 - 8 * 3_600_000 + 10 * 3_600_000
    }

    #[test]
    fn periods_cover_their_months_in_shanghai_time() {
        let q4 = Period::new(2026, Some(4)).unwrap();
        assert_eq!(q4.label(), "2026年第4季度");
        let (start, end) = q4.bounds();
        let s = LocalTime::from_millis(start);
        assert_eq!((s.year, s.month, s.day, s.hour), (2026, 10, 1, 0));
        let e = LocalTime::from_millis(end);
        assert_eq!((e.year, e.month, e.day, e.hour), (2027, 1, 1, 0));
        let year = Period::new(2026, None).unwrap();
        assert_eq!(year.bounds().0, month_start(2026, 1));
        assert!(Period::new(2026, Some(5)).is_none() && Period::new(1999, None).is_none());
        assert_eq!(current(at(2026, 11, 28)), (2026, 4));
        assert_eq!(
            current(at(2026, 1, 1) - 11 * 3_600_000),
            (2025, 4),
            "New Year's Eve in Shanghai"
        );
    }

    #[test]
    fn a_month_still_running_is_open_never_missing() {
        let q4 = Period::new(2026, Some(4)).unwrap();
        let now = at(2026, 11, 28);
        let theme = (ActivityKind::ThemeDay, Cadence::Month);
        let c = check(theme, q4, &[at(2026, 10, 15)], now);
        assert_eq!(
            (c.held, c.due, c.missing.clone()),
            (1, 1, vec![]),
            "November is open, December future"
        );
        assert_eq!(c.cell(), "1/1");
        let c = check(theme, q4, &[at(2026, 11, 1)], now);
        assert_eq!((c.held, c.due, c.missing), (1, 2, vec!["10月".to_owned()]));
        let none = check(theme, q4, &[], at(2026, 10, 2));
        assert_eq!((none.due, none.cell()), (0, "未到期".to_owned()));
        assert!(none.met());
    }

    #[test]
    fn a_branch_with_groups_holds_a_month_only_when_every_group_met() {
        let q4 = Period::new(2026, Some(4)).unwrap();
        let now = at(2026, 12, 28);
        let first = vec![
            at(2026, 10, 3),
            at(2026, 10, 20),
            at(2026, 11, 5),
            at(2026, 12, 1),
        ];
        let second = vec![at(2026, 10, 9), at(2026, 12, 30)];
        let months = every_group(&[first.clone(), second]);
        assert_eq!(
            months,
            vec![at(2026, 10, 3), at(2026, 12, 1)],
            "once per month"
        );
        let c = check(GROUP_RULE, q4, &months, now);
        assert_eq!(
            (c.held, c.due, c.missing),
            (2, 3, vec!["11月".to_owned()]),
            "11月 lacks the second group"
        );
        assert_eq!(every_group(std::slice::from_ref(&first)).len(), 3);
        let c = check(GROUP_RULE, q4, &every_group(&[first, vec![]]), now);
        assert_eq!(
            (c.held, c.missing),
            (0, vec!["10月".to_owned(), "11月".to_owned()])
        );
        assert!(every_group(&[]).is_empty());
    }

    #[test]
    fn quarters_and_years_are_judged_whole() {
        let year = Period::new(2025, None).unwrap();
        let now = at(2026, 2, 1);
        let general = (ActivityKind::GeneralMeeting, Cadence::Quarter);
        let c = check(
            general,
            year,
            &[at(2025, 2, 1), at(2025, 3, 1), at(2025, 8, 8)],
            now,
        );
        assert_eq!(
            (c.held, c.due),
            (2, 4),
            "two meetings in one quarter count once"
        );
        assert_eq!(c.missing, ["第2季度", "第4季度"]);
        // A yearly meeting held in March meets the rule when the fourth quarter is shown.
        let q4 = Period::new(2025, Some(4)).unwrap();
        let review = (ActivityKind::MemberReview, Cadence::Year);
        assert!(check(review, q4, &[at(2025, 3, 3)], now).met());
        let c = check(review, q4, &[], now);
        assert_eq!(c.missing, ["2025年"]);
        // Times outside the period do not count, at either edge.
        let edge = month_start(2025, 10);
        let c = check(
            (ActivityKind::ThemeDay, Cadence::Month),
            q4,
            &[edge - 1, edge],
            now,
        );
        assert_eq!((c.held, c.missing.len()), (1, 2));
    }

    #[test]
    fn percentages_round_down_and_nothing_is_a_dash() {
        assert_eq!(percent(2, 3), "66%");
        assert_eq!(percent(3, 3), "100%");
        assert_eq!(percent(0, 0), "—");
    }
}
