//! The study ledger's rules (学习记录 and 学时): kinds and statuses, 学时 arithmetic, the yearly and five-yearly
//! requirements per audience, and what each person may do to a record in each status.
//!
//! Shared by the phone (a cadre's progress and forms, offline) and the server (which applies every record and
//! review by the same rules). 学时 come in steps of 0.5 and are counted as halves ([`Hours`]), so sums, caps
//! and splits are exact integers. Credit comes only from a recognised record — an organiser's confirmation of
//! attendance or a reviewer's 认定 — never from time spent in the app.

use serde::{Deserialize, Serialize};

use crate::model::{ActivityKind, civil_from_days, days_from_civil, days_in_month};

crate::model::choices!(StudyKind, Audience);
crate::model::wire_names!(StudyKind, Audience, StudyStatus, Programme);

/// 学时, counted in halves: `Hours(125)` is 62.5 学时. On the wire a plain integer of halves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Hours(pub u32);

/// The most one record may declare (a year of full-time training is well under this).
pub const MAX_HOURS: Hours = Hours(2 * 3_000);

impl Hours {
    pub const ZERO: Hours = Hours(0);

    pub const fn whole(hours: u32) -> Hours {
        Hours(hours * 2)
    }

    /// Reads `62.5`, `62` or `62.0` (also with a full-width point); only steps of 0.5.
    pub fn parse(s: &str) -> Option<Hours> {
        let s = s.trim().replace('．', ".");
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 6 {
            return None;
        }
        let whole: u32 = whole.parse().ok()?;
        let half = match frac.trim_end_matches('0') {
            "" => 0,
            "5" => 1,
            _ => return None,
        };
        Some(Hours(whole * 2 + half))
    }

    pub fn saturating_sub(self, other: Hours) -> Hours {
        Hours(self.0.saturating_sub(other.0))
    }

    /// Per mille of `of` reached, capped at 1000 (for bars; no floats).
    pub fn permille_of(self, of: Hours) -> u32 {
        if of.0 == 0 {
            return 1000;
        }
        ((u64::from(self.0) * 1000 / u64::from(of.0)) as u32).min(1000)
    }

    /// Days at `day_hours` 学时 each, rounded down to a half 学时. `days` counts half days too.
    pub fn from_days(days: Hours, day_hours: Hours) -> Hours {
        Hours(((u64::from(days.0) * u64::from(day_hours.0)) / 2) as u32)
    }
}

impl std::ops::Add for Hours {
    type Output = Hours;
    fn add(self, other: Hours) -> Hours {
        Hours(self.0.saturating_add(other.0))
    }
}

impl std::iter::Sum for Hours {
    fn sum<I: Iterator<Item = Hours>>(iter: I) -> Hours {
        iter.fold(Hours::ZERO, |a, b| a + b)
    }
}

impl std::fmt::Display for Hours {
    /// `62.5`, `90`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_multiple_of(2) {
            write!(f, "{}", self.0 / 2)
        } else {
            write!(f, "{}.5", self.0 / 2)
        }
    }
}

/// A calendar day in Asia/Shanghai, as days since 1970-01-01; `2026-03-08` on the wire and in forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    /// Reads `2026-03-08` (the value of `<input type="date">`).
    pub fn parse(s: &str) -> Option<Day> {
        let mut parts = s.trim().split('-');
        let year: i64 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        if parts.next().is_some()
            || !(1900..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return None;
        }
        Some(Day(days_from_civil(year, month, day)))
    }

    /// The day a moment falls on in Shanghai.
    pub fn of_millis(ms: i64) -> Day {
        Day((ms + 8 * 3_600_000).div_euclid(86_400_000))
    }

    pub fn year(self) -> i64 {
        civil_from_days(self.0).0
    }

    /// 1 January of `year`.
    pub fn new_year(year: i64) -> Day {
        Day(days_from_civil(year, 1, 1))
    }

    /// `2026-03-08`.
    pub fn iso(self) -> String {
        let (y, m, d) = civil_from_days(self.0);
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// What kind of study a record is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum StudyKind {
    /// 集中培训（脱产）
    #[default]
    Training,
    /// 网络培训
    Online,
    /// 专题讲座
    Lecture,
    /// 在职自学
    SelfStudy,
    /// 集中学习
    GroupStudy,
    /// 书记讲坛
    SecretaryForum,
    /// 其他
    Other,
}

impl StudyKind {
    pub const ALL: [StudyKind; 7] = [
        StudyKind::Training,
        StudyKind::Online,
        StudyKind::Lecture,
        StudyKind::SelfStudy,
        StudyKind::GroupStudy,
        StudyKind::SecretaryForum,
        StudyKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StudyKind::Training => "training",
            StudyKind::Online => "online",
            StudyKind::Lecture => "lecture",
            StudyKind::SelfStudy => "self_study",
            StudyKind::GroupStudy => "group_study",
            StudyKind::SecretaryForum => "secretary_forum",
            StudyKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<StudyKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            StudyKind::Training => "集中培训（脱产）",
            StudyKind::Online => "网络培训",
            StudyKind::Lecture => "专题讲座",
            StudyKind::SelfStudy => "在职自学",
            StudyKind::GroupStudy => "集中学习",
            StudyKind::SecretaryForum => "书记讲坛",
            StudyKind::Other => "其他",
        }
    }

    /// The study an activity that carries 学时 counts as, once attendance is confirmed.
    pub fn of_activity(kind: ActivityKind) -> StudyKind {
        match kind {
            ActivityKind::SecretaryForum => StudyKind::SecretaryForum,
            ActivityKind::Lecture => StudyKind::Lecture,
            _ => StudyKind::GroupStudy,
        }
    }
}

/// The Shanghai programmes a record may belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Programme {
    /// 沪挂: seconded to a post in Shanghai.
    HuGua,
    /// 沪育: trained in Shanghai.
    HuYu,
}

impl Programme {
    pub const ALL: [Programme; 2] = [Programme::HuGua, Programme::HuYu];

    pub fn as_str(self) -> &'static str {
        match self {
            Programme::HuGua => "hu_gua",
            Programme::HuYu => "hu_yu",
        }
    }

    pub fn parse(s: &str) -> Option<Programme> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Programme::HuGua => "沪挂",
            Programme::HuYu => "沪育",
        }
    }
}

/// Where a record stands. 草稿 → 待认定 → 已认定 / 已退回; withdrawn (已撤回) until edited again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum StudyStatus {
    #[default]
    Draft,
    Pending,
    Recognised,
    Returned,
    Withdrawn,
}

impl StudyStatus {
    pub const ALL: [StudyStatus; 5] = [
        StudyStatus::Draft,
        StudyStatus::Pending,
        StudyStatus::Recognised,
        StudyStatus::Returned,
        StudyStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StudyStatus::Draft => "draft",
            StudyStatus::Pending => "pending",
            StudyStatus::Recognised => "recognised",
            StudyStatus::Returned => "returned",
            StudyStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<StudyStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            StudyStatus::Draft => "草稿",
            StudyStatus::Pending => "待认定",
            StudyStatus::Recognised => "已认定",
            StudyStatus::Returned => "已退回",
            StudyStatus::Withdrawn => "已撤回",
        }
    }
}

/// Whose requirement a person's study is measured against (a tag on the person, set by the organisation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Audience {
    /// 党员
    #[default]
    Member,
    /// 党支部书记
    Secretary,
    /// 乡科级及以下干部
    Township,
    /// 县处级以上干部
    County,
}

impl Audience {
    pub const ALL: [Audience; 4] = [
        Audience::Member,
        Audience::Secretary,
        Audience::Township,
        Audience::County,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Member => "member",
            Audience::Secretary => "secretary",
            Audience::Township => "township",
            Audience::County => "county",
        }
    }

    pub fn parse(s: &str) -> Option<Audience> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Audience::Member => "党员",
            Audience::Secretary => "党支部书记",
            Audience::Township => "乡科级及以下干部",
            Audience::County => "县处级以上干部",
        }
    }

    /// Cadres' records are recognised by the district (the organisation department); members' and
    /// secretaries' by their branch.
    pub fn is_cadre(self) -> bool {
        matches!(self, Audience::Township | Audience::County)
    }
}

/// One requirement: at least `hours` of recognised study of `kinds` (all kinds when empty) per period of
/// `years` (1: the calendar year; 5: the five-year window containing it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Requirement {
    pub audience: Audience,
    /// What the requirement is called on the progress card (`集中培训`, `网络培训`, `年度学习`).
    pub name: String,
    #[serde(default)]
    pub kinds: Vec<StudyKind>,
    pub hours: Hours,
    pub years: u32,
}

/// At most `hours` of one kind count in a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Cap {
    pub kind: StudyKind,
    pub hours: Hours,
}

/// The district's study rules (a setting the district admin edits; defaults from the 2023 《干部教育培训工作条例》 and the training plans).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct StudyRules {
    pub requirements: Vec<Requirement>,
    /// 学时 per day of training (default 7.5): 12 days of 集中培训 are the 90 学时.
    pub day_hours: Hours,
    pub caps: Vec<Cap>,
    /// The first year of the five-year windows (2023–2027, 2028–2032, …).
    pub window_start: i64,
}

impl Default for StudyRules {
    fn default() -> StudyRules {
        let req = |audience, name: &str, kinds: &[StudyKind], hours, years| Requirement {
            audience,
            name: name.to_owned(),
            kinds: kinds.to_vec(),
            hours: Hours::whole(hours),
            years,
        };
        use StudyKind::{Online, Training};
        StudyRules {
            requirements: vec![
                req(Audience::Township, "集中培训", &[Training], 90, 1),
                req(Audience::Township, "网络培训", &[Online], 50, 1),
                req(Audience::County, "集中培训", &[Training], 550, 5),
                req(Audience::County, "网络培训", &[Online], 50, 1),
                req(Audience::Member, "年度学习", &[], 32, 1),
                req(Audience::Secretary, "年度学习", &[], 56, 1),
            ],
            day_hours: Hours(15),
            caps: Vec::new(),
            window_start: 2023,
        }
    }
}

impl StudyRules {
    /// Checks an edited set of rules; says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if !(Hours(1)..=Hours::whole(24)).contains(&self.day_hours) {
            return Err("每天折算学时应在0.5至24之间".to_owned());
        }
        if !(2000..=2100).contains(&self.window_start) {
            return Err("五年周期的起始年份无效".to_owned());
        }
        for r in &self.requirements {
            let name = r.name.trim();
            if name.is_empty() || name.chars().count() > 20 {
                return Err("每项要求都需要一个名称（不超过20字）".to_owned());
            }
            if !matches!(r.years, 1 | 5) {
                return Err(format!("「{name}」的周期只能是1年或5年"));
            }
            if r.hours == Hours::ZERO || r.hours > Hours::whole(5_000) {
                return Err(format!("「{name}」的学时应大于0且不超过5000"));
            }
        }
        if self.requirements.len() > 32 || self.caps.len() > StudyKind::ALL.len() {
            return Err("要求或上限条目过多".to_owned());
        }
        Ok(())
    }

    fn cap(&self, kind: StudyKind) -> Option<Hours> {
        self.caps.iter().find(|c| c.kind == kind).map(|c| c.hours)
    }

    /// The years a requirement of `years` counts in, for `year`.
    pub fn period(&self, years: u32, year: i64) -> (i64, i64) {
        if years <= 1 {
            return (year, year);
        }
        let n = i64::from(years);
        let from = self.window_start + (year - self.window_start).div_euclid(n) * n;
        (from, from + n - 1)
    }

    /// Progress on each of the audience's requirements for `year`.
    pub fn progress(&self, audience: Audience, year: i64, credits: &[Credit]) -> Vec<Progress> {
        self.requirements
            .iter()
            .filter(|r| r.audience == audience)
            .map(|r| {
                let (from, to) = self.period(r.years, year);
                let by_kind: Vec<KindHours> = StudyKind::ALL
                    .into_iter()
                    .filter(|k| r.kinds.is_empty() || r.kinds.contains(k))
                    .map(|kind| KindHours {
                        kind,
                        hours: (from..=to).map(|y| self.counted(credits, kind, y)).sum(),
                    })
                    .filter(|k| k.hours > Hours::ZERO)
                    .collect();
                Progress {
                    name: r.name.clone(),
                    from,
                    to,
                    required: r.hours,
                    done: by_kind.iter().map(|k| k.hours).sum(),
                    by_kind,
                }
            })
            .collect()
    }

    /// Recognised 学时 of one kind that count in one year: the year's part of each record, then the cap.
    fn counted(&self, credits: &[Credit], kind: StudyKind, year: i64) -> Hours {
        let total: Hours = credits
            .iter()
            .filter(|c| c.kind == kind)
            .flat_map(|c| split_by_year(c.starts_on, c.ends_on, c.hours))
            .filter(|(y, _)| *y == year)
            .map(|(_, h)| h)
            .sum();
        match self.cap(kind) {
            Some(cap) => total.min(cap),
            None => total,
        }
    }
}

/// A recognised record as progress counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credit {
    pub kind: StudyKind,
    pub starts_on: Day,
    pub ends_on: Day,
    pub hours: Hours,
}

/// How far one requirement is met in its period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Progress {
    pub name: String,
    /// First and last year of the period.
    pub from: i64,
    pub to: i64,
    pub required: Hours,
    pub done: Hours,
    /// Recognised 学时 per kind (after caps), kinds with none left out.
    pub by_kind: Vec<KindHours>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct KindHours {
    pub kind: StudyKind,
    pub hours: Hours,
}

impl Progress {
    pub fn remaining(&self) -> Hours {
        self.required.saturating_sub(self.done)
    }

    pub fn met(&self) -> bool {
        self.done >= self.required
    }

    /// Per mille of the requirement done (for the bar), at most 1000.
    pub fn permille(&self) -> u32 {
        self.done.permille_of(self.required)
    }

    /// `应完成90学时，已完成62.5学时，尚需27.5学时`.
    pub fn sentence(&self) -> String {
        let head = format!("应完成{}学时，已完成{}学时", self.required, self.done);
        if self.met() {
            format!("{head}，已达到要求")
        } else {
            format!("{head}，尚需{}学时", self.remaining())
        }
    }

    /// `2026年` or `2023—2027年`.
    pub fn period_label(&self) -> String {
        if self.from == self.to {
            format!("{}年", self.from)
        } else {
            format!("{}—{}年", self.from, self.to)
        }
    }
}

/// Splits a record's 学时 over the calendar years its days fall in, in proportion to the days, rounded
/// down to halves in each year but the last, which takes the rest: the parts always sum to the whole.
pub fn split_by_year(starts_on: Day, ends_on: Day, hours: Hours) -> Vec<(i64, Hours)> {
    let (first, last) = (starts_on.min(ends_on), starts_on.max(ends_on));
    let total_days = (last.0 - first.0 + 1) as u64;
    let mut parts = Vec::new();
    let mut given = 0u32;
    let mut day = first;
    while day <= last {
        let year = day.year();
        let year_end = Day(Day::new_year(year + 1).0 - 1).min(last);
        let days = (year_end.0 - day.0 + 1) as u64;
        let share = if year_end == last {
            hours.0 - given
        } else {
            (u64::from(hours.0) * days / total_days) as u32
        };
        given += share;
        parts.push((year, Hours(share)));
        day = Day(year_end.0 + 1);
    }
    parts
}

/// The longest evidence photo accepted, as a `data:` URL (the phone shrinks photos to fit).
pub const MAX_EVIDENCE_CHARS: usize = 400_000;

/// Why an evidence photo is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoProblem {
    /// Not a `data:image/jpeg|png|webp;base64,` URL.
    NotAPhoto,
    TooLarge,
    /// The base64 is broken, or the bytes are not the image the URL names.
    Damaged,
}

/// Checks an evidence photo as uploaded: a base64 `data:` URL of a JPEG, PNG or WebP whose bytes really
/// begin as that kind of image (so nothing else can be stored and shown as a photo). One linear pass.
pub fn check_photo(data_url: &str) -> Result<(), PhotoProblem> {
    const KINDS: [(&str, &[u8]); 3] = [
        ("data:image/jpeg;base64,", b"\xFF\xD8\xFF"),
        ("data:image/png;base64,", b"\x89PNG\r\n\x1A\n"),
        ("data:image/webp;base64,", b"RIFF"),
    ];
    let (body, magic) = KINDS
        .iter()
        .find_map(|(prefix, magic)| Some((data_url.strip_prefix(prefix)?, *magic)))
        .ok_or(PhotoProblem::NotAPhoto)?;
    if data_url.len() > MAX_EVIDENCE_CHARS {
        return Err(PhotoProblem::TooLarge);
    }
    let head = base64_head(body.as_bytes()).ok_or(PhotoProblem::Damaged)?;
    let webp = magic == b"RIFF";
    if !head.starts_with(magic) || (webp && head.get(8..12) != Some(b"WEBP".as_slice())) {
        return Err(PhotoProblem::Damaged);
    }
    Ok(())
}

/// The first 12 bytes that standard, padded base64 decodes to, if every character of it is valid.
fn base64_head(text: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    if text.is_empty() || !text.len().is_multiple_of(4) {
        return None;
    }
    let mut head = Vec::with_capacity(12);
    let quads = text.len() / 4;
    for (i, quad) in text.chunks_exact(4).enumerate() {
        let padding = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if padding > 2 || (padding > 0 && i + 1 != quads) {
            return None;
        }
        let mut bits = 0u32;
        for &c in &quad[..4 - padding] {
            bits = bits << 6 | value(c)?;
        }
        bits <<= 6 * padding as u32;
        if head.len() < 12 {
            let bytes = bits.to_be_bytes();
            head.extend_from_slice(&bytes[1..4 - padding]);
        }
    }
    head.truncate(12);
    Some(head)
}

/// Longest title, organiser and notes (characters).
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_NOTES_CHARS: usize = 500;
/// At most this many 学时 may be declared per day of a record.
pub const MAX_HOURS_PER_DAY: Hours = Hours::whole(12);

/// Checks what a person wrote in a record; says what to correct. `today` is the server's (or phone's) day.
pub fn check_entry(
    title: &str,
    organiser: &str,
    notes: &str,
    starts_on: &str,
    ends_on: &str,
    hours: Hours,
    today: Day,
) -> Result<(Day, Day), String> {
    let title = title.trim();
    if title.is_empty() {
        return Err("请填写学习内容（名称）".to_owned());
    }
    if title.chars().count() > MAX_TITLE_CHARS || organiser.trim().chars().count() > MAX_TITLE_CHARS
    {
        return Err(format!("名称和主办单位均不超过{MAX_TITLE_CHARS}字"));
    }
    if notes.chars().count() > MAX_NOTES_CHARS {
        return Err(format!("备注不超过{MAX_NOTES_CHARS}字"));
    }
    let (Some(from), Some(to)) = (Day::parse(starts_on), Day::parse(ends_on)) else {
        return Err("请填写开始和结束日期".to_owned());
    };
    if to < from {
        return Err("结束日期不能早于开始日期".to_owned());
    }
    if to.0 > today.0 + 1 {
        return Err("学习结束后才能登记学时".to_owned());
    }
    if hours == Hours::ZERO {
        return Err("请填写学时（或天数）".to_owned());
    }
    let days = (to.0 - from.0 + 1) as u32;
    if hours > MAX_HOURS || hours.0 > MAX_HOURS_PER_DAY.0.saturating_mul(days) {
        return Err(format!("学时过多：每天最多{MAX_HOURS_PER_DAY}学时，请核对"));
    }
    Ok((from, to))
}

/// Whether the author may still change (edit or withdraw) a record in this status.
pub fn check_editable(status: StudyStatus) -> Result<(), &'static str> {
    match status {
        StudyStatus::Recognised => Err("该学习记录已认定，不能再修改或撤回；如有错误请联系认定人"),
        _ => Ok(()),
    }
}

/// A reviewer's decision on a record they saw at `seen_version`: `Some(credited)` recognises, `None`
/// returns it with a comment. The record must still be 待认定 and unchanged since the reviewer saw it.
pub fn review(
    status: StudyStatus,
    seen_version: u32,
    version: u32,
    declared: Hours,
    credited: Option<Hours>,
    comment: &str,
) -> Result<StudyStatus, &'static str> {
    if status != StudyStatus::Pending {
        return Err("该记录已不是待认定状态（可能已撤回或已由他人处理）");
    }
    if seen_version != version {
        return Err("本人在您审核后修改了该记录，请重新查看后再认定");
    }
    if comment.chars().count() > crate::life::MAX_REASON_CHARS {
        return Err("意见不超过200字");
    }
    match credited {
        Some(h) if h == Hours::ZERO || h > declared => {
            Err("认定学时应大于0且不超过申报学时；不予认定请退回")
        }
        Some(_) => Ok(StudyStatus::Recognised),
        None if comment.trim().is_empty() => Err("退回时请填写意见，告诉本人需要补充或更正什么"),
        None => Ok(StudyStatus::Returned),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_photo_is_an_image_whose_bytes_are_that_image() {
        use super::{PhotoProblem, check_photo};
        assert_eq!(
            check_photo("data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ=="),
            Ok(())
        );
        assert_eq!(check_photo("data:image/png;base64,iVBORw0KGgo="), Ok(()));
        // "RIFF", a length, "WEBP".
        assert_eq!(
            check_photo("data:image/webp;base64,UklGRiQAAABXRUJQ"),
            Ok(())
        );
        assert_eq!(
            check_photo("data:text/html;base64,PGgxPg=="),
            Err(PhotoProblem::NotAPhoto)
        );
        assert_eq!(
            check_photo("data:image/jpeg;base64,<script>"),
            Err(PhotoProblem::Damaged)
        );
        // A web page labelled as a photo.
        assert_eq!(
            check_photo("data:image/jpeg;base64,PGh0bWw+PHNjcmlwdD4="),
            Err(PhotoProblem::Damaged)
        );
        assert_eq!(
            check_photo("data:image/png;base64,/9j/4AAQ"),
            Err(PhotoProblem::Damaged)
        );
        assert_eq!(
            check_photo("data:image/jpeg;base64,/9j=4AAQ"),
            Err(PhotoProblem::Damaged)
        );
        assert_eq!(
            check_photo("data:image/jpeg;base64,"),
            Err(PhotoProblem::Damaged)
        );
        let huge = format!(
            "data:image/jpeg;base64,/9j/{}",
            "A".repeat(super::MAX_EVIDENCE_CHARS)
        );
        assert_eq!(check_photo(&huge), Err(PhotoProblem::TooLarge));
    }

    use super::*;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn credit(kind: StudyKind, from: &str, to: &str, halves: u32) -> Credit {
        Credit {
            kind,
            starts_on: day(from),
            ends_on: day(to),
            hours: Hours(halves),
        }
    }

    #[test]
    fn hours_read_and_print_in_steps_of_a_half() {
        assert_eq!(Hours::parse("62.5"), Some(Hours(125)));
        assert_eq!(Hours::parse(" 90 "), Some(Hours(180)));
        assert_eq!(Hours::parse("7.50"), Some(Hours(15)));
        assert_eq!(Hours::parse("3．5"), Some(Hours(7)));
        assert_eq!(Hours::parse("0"), Some(Hours::ZERO));
        for bad in ["", "-1", "1.3", "1.25", "abc", ".5", "1e3", "9999999"] {
            assert_eq!(Hours::parse(bad), None, "{bad}");
        }
        for halves in 0..2_000 {
            let h = Hours(halves);
            assert_eq!(Hours::parse(&h.to_string()), Some(h));
        }
        assert_eq!(Hours(125).to_string(), "62.5");
        assert_eq!(Hours(180).to_string(), "90");
        assert_eq!(Hours(1).to_string(), "0.5");
    }

    #[test]
    fn days_convert_at_the_factor_rounded_down_to_a_half() {
        let factor = StudyRules::default().day_hours;
        assert_eq!(Hours::from_days(Hours::whole(12), factor), Hours::whole(90));
        assert_eq!(Hours::from_days(Hours::whole(1), factor), Hours(15));
        // Half a day is 3.75 学时: 3.5 counts.
        assert_eq!(Hours::from_days(Hours(1), factor), Hours(7));
        assert_eq!(
            Hours::from_days(Hours::whole(3), Hours::whole(8)),
            Hours::whole(24)
        );
    }

    #[test]
    fn the_progress_sentence_reads_as_the_domain_writes_it() {
        let p = Progress {
            name: "集中培训".into(),
            from: 2026,
            to: 2026,
            required: Hours::whole(90),
            done: Hours(125),
            by_kind: vec![],
        };
        assert_eq!(p.sentence(), "应完成90学时，已完成62.5学时，尚需27.5学时");
        assert_eq!(p.remaining(), Hours(55));
        assert_eq!(p.permille(), 694);
        let met = Progress {
            done: Hours::whole(91),
            ..p
        };
        assert_eq!(met.sentence(), "应完成90学时，已完成91学时，已达到要求");
        assert_eq!(met.remaining(), Hours::ZERO);
    }

    #[test]
    fn a_record_across_new_year_splits_by_days_and_the_parts_sum_to_the_whole() {
        // 4 days in 2025, 3 in 2026; 7 days × 7.5 = 52.5 学时.
        let parts = split_by_year(day("2025-12-28"), day("2026-01-03"), Hours(105));
        assert_eq!(parts, vec![(2025, Hours(60)), (2026, Hours(45))]);
        assert_eq!(
            split_by_year(day("2026-03-01"), day("2026-03-01"), Hours(7)),
            vec![(2026, Hours(7))]
        );
        // Exhaustive over short spans around New Year and every small amount: parts sum to the whole,
        // one part per year touched, no part more than its share rounded up.
        let start = day("2025-12-20").0;
        for from in start..start + 20 {
            for len in 0..30 {
                for halves in 0..60 {
                    let parts = split_by_year(Day(from), Day(from + len), Hours(halves));
                    let sum: u32 = parts.iter().map(|(_, h)| h.0).sum();
                    assert_eq!(sum, halves);
                    let years = Day(from + len).year() - Day(from).year() + 1;
                    assert_eq!(parts.len() as i64, years);
                }
            }
        }
        // A span of three calendar years.
        let parts = split_by_year(day("2025-12-31"), day("2027-01-01"), Hours(367 * 2));
        assert_eq!(
            parts,
            vec![(2025, Hours(2)), (2026, Hours(730)), (2027, Hours(2))]
        );
    }

    #[test]
    fn progress_counts_only_the_requirements_kinds_in_its_year() {
        let rules = StudyRules::default();
        let credits = [
            credit(StudyKind::Training, "2026-03-02", "2026-03-06", 75),
            credit(StudyKind::Training, "2026-05-10", "2026-05-12", 50),
            credit(StudyKind::Online, "2026-06-01", "2026-06-30", 40),
            credit(StudyKind::Training, "2025-06-01", "2025-06-05", 75),
        ];
        let p = rules.progress(Audience::Township, 2026, &credits);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "集中培训");
        assert_eq!(p[0].done, Hours(125));
        assert_eq!(
            p[0].sentence(),
            "应完成90学时，已完成62.5学时，尚需27.5学时"
        );
        assert_eq!(
            p[0].by_kind,
            vec![KindHours {
                kind: StudyKind::Training,
                hours: Hours(125)
            }]
        );
        assert_eq!(p[1].name, "网络培训");
        assert_eq!(p[1].done, Hours(40));
        // Members count every kind.
        let m = rules.progress(Audience::Member, 2026, &credits);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].done, Hours(165));
        assert_eq!(m[0].required, Hours::whole(32));
        assert!(m[0].met());
        // Another year sees only its own.
        assert_eq!(
            rules.progress(Audience::Township, 2025, &credits)[0].done,
            Hours(75)
        );
    }

    #[test]
    fn a_five_year_window_sums_its_years_and_another_window_starts_afresh() {
        let rules = StudyRules::default();
        assert_eq!(rules.period(5, 2023), (2023, 2027));
        assert_eq!(rules.period(5, 2027), (2023, 2027));
        assert_eq!(rules.period(5, 2028), (2028, 2032));
        assert_eq!(rules.period(5, 2022), (2018, 2022));
        assert_eq!(rules.period(1, 2026), (2026, 2026));
        let credits = [
            credit(StudyKind::Training, "2023-04-01", "2023-04-30", 400),
            credit(StudyKind::Training, "2026-04-01", "2026-04-30", 500),
            credit(StudyKind::Training, "2027-12-30", "2028-01-02", 8),
            credit(StudyKind::Training, "2028-04-01", "2028-04-30", 300),
        ];
        let in_2026 = &rules.progress(Audience::County, 2026, &credits)[0];
        assert_eq!((in_2026.from, in_2026.to), (2023, 2027));
        // 400 + 500 + the 2027 half of the New Year record (2 of 4 days).
        assert_eq!(in_2026.done, Hours(904));
        assert_eq!(in_2026.required, Hours::whole(550));
        assert_eq!(in_2026.period_label(), "2023—2027年");
        let in_2028 = &rules.progress(Audience::County, 2028, &credits)[0];
        assert_eq!(in_2028.done, Hours(304));
    }

    #[test]
    fn a_cap_limits_one_kind_per_year_and_not_the_others() {
        let rules = StudyRules {
            caps: vec![Cap {
                kind: StudyKind::SelfStudy,
                hours: Hours::whole(10),
            }],
            ..StudyRules::default()
        };
        let credits = [
            credit(StudyKind::SelfStudy, "2026-01-05", "2026-01-05", 16),
            credit(StudyKind::SelfStudy, "2026-02-05", "2026-02-05", 16),
            credit(StudyKind::SelfStudy, "2025-02-05", "2025-02-05", 16),
            credit(StudyKind::Lecture, "2026-02-06", "2026-02-06", 6),
        ];
        let p = &rules.progress(Audience::Member, 2026, &credits)[0];
        assert_eq!(
            p.by_kind,
            vec![
                KindHours {
                    kind: StudyKind::Lecture,
                    hours: Hours(6)
                },
                KindHours {
                    kind: StudyKind::SelfStudy,
                    hours: Hours::whole(10)
                }
            ]
        );
        assert_eq!(p.done, Hours(26));
        // The cap is per year: in a five-year window each year is capped on its own.
        let rules5 = StudyRules {
            requirements: vec![Requirement {
                audience: Audience::Member,
                name: "五年".into(),
                kinds: vec![],
                hours: Hours::whole(100),
                years: 5,
            }],
            ..rules
        };
        assert_eq!(
            rules5.progress(Audience::Member, 2026, &credits)[0].done,
            Hours(20 + 16 + 6)
        );
    }

    #[test]
    fn rules_are_checked_before_they_are_saved() {
        assert_eq!(StudyRules::default().check(), Ok(()));
        let mut r = StudyRules::default();
        r.requirements[0].years = 3;
        assert!(r.check().unwrap_err().contains("1年或5年"));
        let mut r = StudyRules::default();
        r.requirements[0].hours = Hours::ZERO;
        assert!(r.check().is_err());
        let r = StudyRules {
            day_hours: Hours::ZERO,
            ..StudyRules::default()
        };
        assert!(r.check().is_err());
    }

    #[test]
    fn entries_are_checked_with_clear_reasons() {
        let today = day("2026-11-28");
        let ok =
            |from: &str, to: &str, h: u32| check_entry("学习", "", "", from, to, Hours(h), today);
        assert_eq!(
            ok("2026-11-01", "2026-11-02", 30),
            Ok((day("2026-11-01"), day("2026-11-02")))
        );
        assert!(
            ok("2026-11-02", "2026-11-01", 4)
                .unwrap_err()
                .contains("早于")
        );
        assert!(
            ok("2026-12-01", "2026-12-02", 4)
                .unwrap_err()
                .contains("结束后")
        );
        assert!(
            ok("2026-11-01", "2026-11-01", 0)
                .unwrap_err()
                .contains("学时")
        );
        assert!(
            ok("2026-11-01", "2026-11-01", 25)
                .unwrap_err()
                .contains("过多")
        );
        assert!(ok("2026-11-01", "2026-11-01", 24).is_ok());
        assert!(
            ok("2026-02-30", "2026-03-01", 4)
                .unwrap_err()
                .contains("日期")
        );
        assert!(check_entry(" ", "", "", "2026-11-01", "2026-11-01", Hours(2), today).is_err());
        let long = "学".repeat(MAX_NOTES_CHARS + 1);
        assert!(
            check_entry(
                "学习",
                "",
                &long,
                "2026-11-01",
                "2026-11-01",
                Hours(2),
                today
            )
            .is_err()
        );
    }

    #[test]
    fn a_recognised_record_can_no_longer_be_changed_by_its_author() {
        for s in StudyStatus::ALL {
            assert_eq!(
                check_editable(s).is_err(),
                s == StudyStatus::Recognised,
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_review_needs_a_pending_unchanged_record_and_sensible_hours() {
        use StudyStatus::*;
        let declared = Hours::whole(8);
        assert_eq!(
            review(Pending, 2, 2, declared, Some(Hours::whole(6)), ""),
            Ok(Recognised)
        );
        assert_eq!(
            review(Pending, 2, 2, declared, Some(declared), ""),
            Ok(Recognised)
        );
        assert!(review(Pending, 2, 2, declared, Some(Hours(17)), "").is_err());
        assert!(review(Pending, 2, 2, declared, Some(Hours::ZERO), "").is_err());
        assert_eq!(
            review(Pending, 2, 2, declared, None, "请补充结业证书"),
            Ok(Returned)
        );
        assert!(review(Pending, 2, 2, declared, None, " ").is_err());
        assert!(
            review(Pending, 1, 2, declared, Some(declared), "")
                .unwrap_err()
                .contains("修改")
        );
        for s in [Draft, Recognised, Returned, Withdrawn] {
            assert!(
                review(s, 2, 2, declared, Some(declared), "").is_err(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn statuses_kinds_and_audiences_round_trip_their_names() {
        for s in StudyStatus::ALL {
            assert_eq!(StudyStatus::parse(s.as_str()), Some(s));
        }
        for k in StudyKind::ALL {
            assert_eq!(StudyKind::parse(k.as_str()), Some(k));
        }
        for a in Audience::ALL {
            assert_eq!(Audience::parse(a.as_str()), Some(a));
        }
        for p in Programme::ALL {
            assert_eq!(Programme::parse(p.as_str()), Some(p));
        }
        assert_eq!(
            StudyKind::of_activity(ActivityKind::SecretaryForum),
            StudyKind::SecretaryForum
        );
        assert_eq!(
            StudyKind::of_activity(ActivityKind::PartyLecture),
            StudyKind::GroupStudy
        );
        assert_eq!(day("2026-03-08").iso(), "2026-03-08");
        // Midnight in Shanghai is 16:00 UTC the day before.
        let midnight = day("2026-03-08").0 * 86_400_000 - 8 * 3_600_000;
        assert_eq!(Day::of_millis(midnight).iso(), "2026-03-08");
        assert_eq!(Day::of_millis(midnight - 1).iso(), "2026-03-07");
    }
}
