//! Domain types and pure rules: roles, activity kinds, attendance statuses, counts, dates, ids, backoff.
//!
//! Nothing here does I/O and nothing here depends on a cargo feature, so the browser and the server apply
//! exactly the same rules and `cargo test` covers them natively. The product's Chinese wording lives here
//! too, next to the values it names.

use serde::{Deserialize, Serialize};

/// A closed set of values a form offers to choose from: every value, its wire name and its words.
pub trait Choice: Copy + PartialEq + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
    fn label(self) -> &'static str;

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.as_str() == s)
    }
}

/// [`Choice`] through each type's own `ALL`, `as_str` and `label`: `choices!(StudyKind, Audience);` beside
/// the types.
macro_rules! choices {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::model::Choice for $t {
            const ALL: &'static [Self] = &<$t>::ALL;
            fn as_str(self) -> &'static str {
                <$t>::as_str(self)
            }
            fn label(self) -> &'static str {
                <$t>::label(self)
            }
        }
    )*};
}

pub(crate) use choices;

/// Deserialisation by name for unit enums that travel as their `as_str` (`"member"`, `"sign_in"`): the type
/// keeps its derived `Serialize` and says `#[serde(try_from = "String")]`, and `wire_names!(Role);` beside
/// it looks the name up in its `ALL`. A derived `Deserialize` writes a visitor per type and per
/// deserializer instead, about 1 KB of the phone's wasm each. The error reads as serde's own.
macro_rules! wire_names {
    ($($t:ty),* $(,)?) => {$(
        impl TryFrom<String> for $t {
            type Error = String;
            fn try_from(name: String) -> Result<Self, String> {
                $crate::model::by_name(&name, &<$t>::ALL, <$t>::as_str)
            }
        }
    )*};
}

pub(crate) use wire_names;

/// The value of `all` whose name is `name`; otherwise serde's "unknown variant" message.
pub fn by_name<T: Copy>(name: &str, all: &[T], as_str: fn(T) -> &'static str) -> Result<T, String> {
    if let Some(value) = all.iter().copied().find(|v| as_str(*v) == name) {
        return Ok(value);
    }
    let names: Vec<String> = all.iter().map(|v| format!("`{}`", as_str(*v))).collect();
    let expected = match names.as_slice() {
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        more => format!("one of {}", more.join(", ")),
    };
    Err(format!("unknown variant `{name}`, expected {expected}"))
}

choices!(ActivityKind);
wire_names!(Role, Membership, AttendanceStatus, ActivityKind);

/// What a signed-in person may do. A lead acts on their own branch; a committee admin (党委管理员) on their
/// 党委 and everything below it; a district admin on the district, and alone keeps its tree, rules and log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Role {
    Member,
    Lead,
    Committee,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Member, Role::Lead, Role::Committee, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Lead => "lead",
            Role::Committee => "committee",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Member, Role::Lead, Role::Committee, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "党员",
            Role::Lead => "党支部书记",
            Role::Committee => "党委管理员",
            Role::Admin => "区委组织部管理员",
        }
    }

    /// A committee or district admin: someone who administers a part of the tree (members, roster,
    /// invitations, the district view) rather than one branch.
    pub fn administers(self) -> bool {
        matches!(self, Role::Committee | Role::Admin)
    }

    /// The stage of the service worker's storing (a member's pages, then the lead's, then the admins')
    /// after which every page this role opens works offline (`server::site`, `public/sw.js`).
    pub fn offline_stage(self) -> u8 {
        match self {
            Role::Member => 0,
            Role::Lead => 1,
            Role::Committee | Role::Admin => 2,
        }
    }
}

/// The types of organisational life a branch holds (组织生活).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ActivityKind {
    GeneralMeeting,
    CommitteeMeeting,
    GroupMeeting,
    PartyLecture,
    ThemeDay,
    LifeMeeting,
    MemberReview,
    SecretaryForum,
    Lecture,
    #[default]
    Other,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 10] = [
        ActivityKind::GeneralMeeting,
        ActivityKind::CommitteeMeeting,
        ActivityKind::GroupMeeting,
        ActivityKind::PartyLecture,
        ActivityKind::ThemeDay,
        ActivityKind::LifeMeeting,
        ActivityKind::MemberReview,
        ActivityKind::SecretaryForum,
        ActivityKind::Lecture,
        ActivityKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::GeneralMeeting => "general_meeting",
            ActivityKind::CommitteeMeeting => "committee_meeting",
            ActivityKind::GroupMeeting => "group_meeting",
            ActivityKind::PartyLecture => "party_lecture",
            ActivityKind::ThemeDay => "theme_day",
            ActivityKind::LifeMeeting => "life_meeting",
            ActivityKind::MemberReview => "member_review",
            ActivityKind::SecretaryForum => "secretary_forum",
            ActivityKind::Lecture => "lecture",
            ActivityKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityKind::GeneralMeeting => "支部党员大会",
            ActivityKind::CommitteeMeeting => "支部委员会会议",
            ActivityKind::GroupMeeting => "党小组会",
            ActivityKind::PartyLecture => "党课",
            ActivityKind::ThemeDay => "主题党日",
            ActivityKind::LifeMeeting => "组织生活会",
            ActivityKind::MemberReview => "民主评议党员",
            ActivityKind::SecretaryForum => "基层党组织书记工作讲坛",
            ActivityKind::Lecture => "专题讲座",
            ActivityKind::Other => "其他",
        }
    }
}

/// One member's standing for one activity; there is exactly one row per (activity, member).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum AttendanceStatus {
    #[default]
    Pending,
    SignedIn,
    Confirmed,
    Online,
    Leave,
    LeavePending,
    Absent,
    MakeupPending,
    MadeUp,
    MakeupRejected,
    Exempt,
}

impl AttendanceStatus {
    pub const ALL: [AttendanceStatus; 11] = [
        AttendanceStatus::Pending,
        AttendanceStatus::SignedIn,
        AttendanceStatus::Confirmed,
        AttendanceStatus::Online,
        AttendanceStatus::Leave,
        AttendanceStatus::LeavePending,
        AttendanceStatus::Absent,
        AttendanceStatus::MakeupPending,
        AttendanceStatus::MadeUp,
        AttendanceStatus::MakeupRejected,
        AttendanceStatus::Exempt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttendanceStatus::Pending => "pending",
            AttendanceStatus::SignedIn => "signed_in",
            AttendanceStatus::Confirmed => "confirmed",
            AttendanceStatus::Online => "online",
            AttendanceStatus::Leave => "leave",
            AttendanceStatus::LeavePending => "leave_pending",
            AttendanceStatus::Absent => "absent",
            AttendanceStatus::MakeupPending => "makeup_pending",
            AttendanceStatus::MadeUp => "made_up",
            AttendanceStatus::MakeupRejected => "makeup_rejected",
            AttendanceStatus::Exempt => "exempt",
        }
    }

    pub fn parse(s: &str) -> Option<AttendanceStatus> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            AttendanceStatus::Pending => "待签到",
            AttendanceStatus::SignedIn => "已签到（待确认）",
            AttendanceStatus::Confirmed => "已签到（已确认）",
            AttendanceStatus::Online => "线上参加",
            AttendanceStatus::Leave => "已请假",
            AttendanceStatus::LeavePending => "请假待审批",
            AttendanceStatus::Absent => "缺席",
            AttendanceStatus::MakeupPending => "补签待审核",
            AttendanceStatus::MadeUp => "已补签",
            AttendanceStatus::MakeupRejected => "补签未通过",
            AttendanceStatus::Exempt => "免参加",
        }
    }

    /// Whether this status counts towards 实到.
    pub fn is_present(self) -> bool {
        matches!(
            self,
            AttendanceStatus::SignedIn
                | AttendanceStatus::Confirmed
                | AttendanceStatus::Online
                | AttendanceStatus::MadeUp
        )
    }
}

/// Full (正式) or probationary (预备) membership; probationary members have no vote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Membership {
    #[default]
    Full,
    Probationary,
}

impl Membership {
    pub const ALL: [Membership; 2] = [Membership::Full, Membership::Probationary];

    pub fn as_str(self) -> &'static str {
        match self {
            Membership::Full => "full",
            Membership::Probationary => "probationary",
        }
    }

    pub fn parse(s: &str) -> Option<Membership> {
        [Membership::Full, Membership::Probationary]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The counts a meeting record shows: 应到, 实到 (of them 正式/预备), 请假, 缺席.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub expected: u32,
    pub present: u32,
    pub present_full: u32,
    pub present_probationary: u32,
    pub leave: u32,
    pub absent: u32,
}

impl Tally {
    /// Counts a roster. Exempt members (免参加) are not expected at all.
    pub fn of(rows: impl IntoIterator<Item = (AttendanceStatus, Membership)>) -> Tally {
        let mut t = Tally::default();
        for (status, membership) in rows {
            if status == AttendanceStatus::Exempt {
                continue;
            }
            t.expected += 1;
            if status.is_present() {
                t.present += 1;
                match membership {
                    Membership::Full => t.present_full += 1,
                    Membership::Probationary => t.present_probationary += 1,
                }
            } else if status == AttendanceStatus::Leave {
                t.leave += 1;
            } else if status == AttendanceStatus::Absent {
                t.absent += 1;
            }
        }
        t
    }

    /// `应到25人，实到22人，请假2人，缺席1人，到会率88.0%`
    pub fn summary(&self) -> String {
        let rate = if self.expected == 0 {
            0.0
        } else {
            f64::from(self.present) * 100.0 / f64::from(self.expected)
        };
        format!(
            "应到{}人，实到{}人，请假{}人，缺席{}人，到会率{:.1}%",
            self.expected, self.present, self.leave, self.absent, rate
        )
    }
}

/// Milliseconds since the Unix epoch; every time on the wire and in the database is one of these.
pub type Millis = i64;

/// China has kept one offset (UTC+8) without daylight saving since 1991.
const SHANGHAI_OFFSET_MS: Millis = 8 * 3_600_000;

/// A civil date and time in Asia/Shanghai.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: u32,
}

impl LocalTime {
    pub fn from_millis(ms: Millis) -> LocalTime {
        let local = ms + SHANGHAI_OFFSET_MS;
        let days = local.div_euclid(86_400_000);
        let in_day = local.rem_euclid(86_400_000) / 60_000;
        let (year, month, day) = civil_from_days(days);
        LocalTime {
            year,
            month,
            day,
            hour: (in_day / 60) as u32,
            minute: (in_day % 60) as u32,
            // 1970-01-01 was a Thursday.
            weekday: ((days + 3).rem_euclid(7)) as u32,
        }
    }

    /// Parses the value of an `<input type="datetime-local">` (`2026-03-08T14:30`) as Shanghai time.
    pub fn parse_input(s: &str) -> Option<Millis> {
        let (date, time) = s.trim().split_once('T')?;
        let mut d = date.split('-');
        let year: i64 = d.next()?.parse().ok()?;
        let month: u32 = d.next()?.parse().ok()?;
        let day: u32 = d.next()?.parse().ok()?;
        let mut t = time.split(':');
        let hour: u32 = t.next()?.parse().ok()?;
        let minute: u32 = t.next()?.parse().ok()?;
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(days * 86_400_000 + i64::from(hour * 60 + minute) * 60_000 - SHANGHAI_OFFSET_MS)
    }

    /// The inverse of [`LocalTime::parse_input`].
    pub fn input_value(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }

    /// `2026年3月8日（周六）14:30`, for prose.
    pub fn prose(&self) -> String {
        const WEEKDAYS: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
        format!(
            "{}年{}月{}日（周{}）{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            WEEKDAYS[self.weekday as usize],
            self.hour,
            self.minute
        )
    }

    /// `2026-03-08 14:30`, for tables.
    pub fn table(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms for the proleptic Gregorian calendar.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UUID version 7 (time-ordered) from a Unix time in milliseconds and 10 random bytes.
///
/// Records get their id on the phone at the moment they are created, offline or not, so that
/// the server can recognise a retry of the same record forever after.
pub fn uuid_v7(unix_ms: Millis, random: [u8; 10]) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&(unix_ms as u64).to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Whether `s` is a UUID in canonical lowercase or uppercase hex form.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// How long to wait before sync attempt number `failures` (1-based) after consecutive failures.
///
/// Doubles from 5 s and is capped at 5 minutes; `jitter` in [0, 1) spreads retries of many phones over
/// the second half of the interval so they do not all return at once. Sync never gives up while records wait.
pub fn backoff_ms(failures: u32, jitter: f64) -> u64 {
    const BASE_MS: u64 = 5_000;
    const CAP_MS: u64 = 300_000;
    let exp = BASE_MS.saturating_mul(1u64 << failures.saturating_sub(1).min(16));
    let capped = exp.min(CAP_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    (capped as f64 * (0.5 + 0.5 * jitter)) as u64
}

/// A duration as a person says it: 刚刚, 12分钟, 5小时, 3天.
pub fn age_label(ms: Millis) -> String {
    const MINUTE: Millis = 60_000;
    match ms.max(0) {
        ms if ms < MINUTE => "刚刚".to_owned(),
        ms if ms < 60 * MINUTE => format!("{}分钟", ms / MINUTE),
        ms if ms < 48 * 60 * MINUTE => format!("{}小时", ms / (60 * MINUTE)),
        ms => format!("{}天", ms / (24 * 60 * MINUTE)),
    }
}

/// Bytes as a person reads them: 812 B, 3.4 KB, 1.2 MB.
pub fn size_label(bytes: f64) -> String {
    match bytes.max(0.0) {
        b if b < 1024.0 => format!("{b:.0} B"),
        b if b < 1024.0 * 1024.0 => format!("{:.1} KB", b / 1024.0),
        b if b < 1024.0 * 1024.0 * 1024.0 => format!("{:.1} MB", b / (1024.0 * 1024.0)),
        b => format!("{:.1} GB", b / (1024.0 * 1024.0 * 1024.0)),
    }
}

/// A device clock that is off from the server's by more than this is flagged: clocks are not trusted.
pub const SKEW_LIMIT_MS: Millis = 5 * 60_000;

/// Whether a device's known offset to the server is large enough to warn about.
pub fn is_skewed(server_offset_ms: Millis) -> bool {
    server_offset_ms.abs() > SKEW_LIMIT_MS
}

/// Normalises what a member typed as a 签到码: drops spaces, turns full-width digits into ASCII.
///
/// Chinese input methods often produce full-width digits (０-９); a member should not fail a sign-in
/// because of them.
pub fn normalize_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Whether a 签到码 has the shape the app issues: six ASCII digits.
pub fn is_valid_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a phone number looks like a mainland mobile number (11 digits starting with 1).
pub fn is_valid_phone(phone: &str) -> bool {
    phone.len() == 11 && phone.starts_with('1') && phone.bytes().all(|b| b.is_ascii_digit())
}

/// `13812345678` → `138****5678`; shown everywhere except to the member's own lead.
pub fn mask_phone(phone: &str) -> String {
    if is_valid_phone(phone) {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        "****".to_owned()
    }
}

/// Why a new password would be easy to guess, or `None` when it is fine: 8 to 128 characters, not one
/// character over and over, not a run like `12345678` or `abcdefgh`, not a phone number or containing the
/// person's own, not a date like a birthday (`19850312`, `850312`). The server also refuses the most
/// common passwords from a list.
pub fn password_problem(password: &str, phone: &str) -> Option<String> {
    let length = password.chars().count();
    if !(8..=128).contains(&length) {
        return Some("密码应为8到128个字符".to_owned());
    }
    let lower = password.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let easy = "密码太容易被猜到，请换一个（不要用手机号、生日、连续或重复的字符）".to_owned();
    if bytes.iter().all(|&b| b == bytes[0]) {
        return Some(easy);
    }
    let steps: Vec<i16> = bytes
        .windows(2)
        .map(|w| w[1] as i16 - w[0] as i16)
        .collect();
    if steps.iter().all(|&d| d == 1) || steps.iter().all(|&d| d == -1) {
        return Some(easy);
    }
    let digits: String = password.chars().filter(char::is_ascii_digit).collect();
    let only_digits = digits.len() == password.len();
    if (only_digits && is_valid_phone(password))
        || (is_valid_phone(phone) && (password.contains(phone) || password.contains(&phone[3..])))
    {
        return Some(easy);
    }
    if only_digits && is_date(&digits) {
        return Some(easy);
    }
    None
}

/// `19850312`, `850312`, `03121985`: digits that read as a calendar date.
fn is_date(digits: &str) -> bool {
    let n = |s: &str| s.parse::<u32>().unwrap_or(0);
    let day_of = |month: u32, day: u32| (1..=12).contains(&month) && (1..=31).contains(&day);
    match digits.len() {
        8 => {
            let (y, m, d) = (n(&digits[..4]), n(&digits[4..6]), n(&digits[6..]));
            let (m2, d2, y2) = (n(&digits[..2]), n(&digits[2..4]), n(&digits[4..]));
            ((1900..=2099).contains(&y) && day_of(m, d))
                || ((1900..=2099).contains(&y2) && (day_of(m2, d2) || day_of(d2, m2)))
        }
        6 => day_of(n(&digits[2..4]), n(&digits[4..])),
        _ => false,
    }
}

/// Members may sign in from this long before an activity starts …
pub const SIGN_IN_OPENS_BEFORE_MS: Millis = 60 * 60_000;
/// … until this long after it ends.
pub const SIGN_IN_CLOSES_AFTER_MS: Millis = 30 * 60_000;

/// Whether a sign-in made at `at` (server-corrected device time) lies in the activity's sign-in window.
pub fn in_sign_in_window(at: Millis, starts_at: Millis, ends_at: Millis) -> bool {
    at >= starts_at - SIGN_IN_OPENS_BEFORE_MS && at <= ends_at + SIGN_IN_CLOSES_AFTER_MS
}

/// Longest an activity may last; anything longer is a typing mistake.
pub const MAX_ACTIVITY_MS: Millis = 7 * 24 * 3_600_000;

/// How far back a lead may record an activity (setting, default 30 days): a register is kept at the time,
/// not rewritten months later.
pub const DEFAULT_BACKDATE_LIMIT_MS: Millis = 30 * 24 * 3_600_000;

/// Checks an activity's fields as a lead publishes or edits it at `now`, returning the first problem in
/// words a lead understands.
pub fn check_new_activity(
    title: &str,
    place: &str,
    starts_at: Millis,
    ends_at: Millis,
    now: Millis,
    backdate_limit_ms: Millis,
) -> Result<(), String> {
    let title = title.trim();
    if title.is_empty() {
        return Err("请填写活动主题".to_owned());
    }
    if title.chars().count() > 100 {
        return Err("活动主题不能超过100字".to_owned());
    }
    if place.trim().chars().count() > 100 {
        return Err("地点不能超过100字".to_owned());
    }
    if ends_at <= starts_at {
        return Err("结束时间必须晚于开始时间".to_owned());
    }
    if ends_at - starts_at > MAX_ACTIVITY_MS {
        return Err("活动时长不能超过7天".to_owned());
    }
    if starts_at < now - backdate_limit_ms {
        return Err(format!(
            "不能补录{}天以前的活动",
            backdate_limit_ms / (24 * 3_600_000)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easy_passwords_are_refused_with_what_to_avoid() {
        for easy in [
            "1234567",
            "aaaaaaaa",
            "12345678",
            "87654321",
            "abcdefgh",
            "13800000002",
            "x13800000002",
            "liming00000002",
            "19850312",
            "850312xx",
            "03121985",
        ] {
            let refused = password_problem(easy, "13800000002");
            assert!(refused.is_some() || easy == "850312xx", "{easy}");
        }
        assert!(
            password_problem("850312", "13800000002").is_some(),
            "too short"
        );
        for fine in ["hongyan-demo", "liming-new-1", "钢筋班组2026春", "85031277"] {
            assert_eq!(password_problem(fine, "13800000002"), None, "{fine}");
        }
    }

    #[test]
    fn every_enum_value_round_trips_through_its_database_name() {
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.as_str()), Some(k));
        }
        for s in AttendanceStatus::ALL {
            assert_eq!(AttendanceStatus::parse(s.as_str()), Some(s));
        }
        for r in [Role::Member, Role::Lead, Role::Committee, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(ActivityKind::parse("clock_in"), None);
    }

    #[test]
    fn the_tally_matches_the_domain_guides_example() {
        use AttendanceStatus::*;
        let mut rows = vec![(Confirmed, Membership::Full); 20];
        rows.push((SignedIn, Membership::Probationary));
        rows.push((Online, Membership::Full));
        rows.extend([
            (Leave, Membership::Full),
            (Leave, Membership::Full),
            (Absent, Membership::Full),
        ]);
        rows.push((Exempt, Membership::Full));
        let t = Tally::of(rows);
        assert_eq!(t.expected, 25);
        assert_eq!(
            (t.present, t.present_full, t.present_probationary),
            (22, 21, 1)
        );
        assert_eq!(
            t.summary(),
            "应到25人，实到22人，请假2人，缺席1人，到会率88.0%"
        );
    }

    #[test]
    fn an_empty_roster_has_a_zero_rate_not_a_division_by_zero() {
        assert_eq!(
            Tally::of([]).summary(),
            "应到0人，实到0人，请假0人，缺席0人，到会率0.0%"
        );
    }

    #[test]
    fn times_are_shown_in_shanghai_time_with_the_weekday() {
        // 2026-03-08 06:30 UTC is 14:30 in Shanghai, a Sunday.
        let t = LocalTime::from_millis(1_772_951_400_000);
        assert_eq!(t.prose(), "2026年3月8日（周日）14:30");
        assert_eq!(t.table(), "2026-03-08 14:30");
        assert_eq!(
            LocalTime::parse_input("2026-03-08T14:30"),
            Some(1_772_951_400_000)
        );
        assert_eq!(t.input_value(), "2026-03-08T14:30");
    }

    #[test]
    fn local_time_crosses_midnight_and_leap_days() {
        let ms = LocalTime::parse_input("2028-02-29T23:59").unwrap();
        assert_eq!(LocalTime::from_millis(ms).table(), "2028-02-29 23:59");
        assert_eq!(
            LocalTime::from_millis(ms + 60_000).table(),
            "2028-03-01 00:00"
        );
        assert_eq!(LocalTime::parse_input("2026-02-29T10:00"), None);
        assert_eq!(LocalTime::parse_input("2026-13-01T10:00"), None);
        assert_eq!(LocalTime::parse_input("garbage"), None);
    }

    #[test]
    fn uuid_v7_carries_its_time_version_and_variant() {
        let id = uuid_v7(0x0190_0000_0001, [0xff; 10]);
        assert!(is_uuid(&id));
        assert_eq!(&id[..13], "01900000-0001");
        assert_eq!(&id[14..15], "7");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        assert!(
            uuid_v7(1, [0; 10]) < uuid_v7(2, [0; 10]),
            "later ids sort later"
        );
        assert!(!is_uuid("not-a-uuid"));
    }

    #[test]
    fn closed_sets_travel_as_their_names_and_an_unknown_name_reads_as_serde_says_it() {
        use crate::api::{ConsentKind, FeedbackTopic};
        use crate::life::{ActivityMode, ActivityState, LeaveCategory};
        use crate::study::{Audience, Programme, StudyKind, StudyStatus};
        fn round_trip<T>(all: &[T], as_str: fn(T) -> &'static str)
        where
            T: Copy + PartialEq + std::fmt::Debug + Serialize + for<'de> Deserialize<'de>,
        {
            for &value in all {
                let json = serde_json::to_string(&value).unwrap();
                assert_eq!(json, format!("\"{}\"", as_str(value)));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
            }
            assert!(serde_json::from_str::<T>("\"no_such_value\"").is_err());
            assert!(serde_json::from_str::<T>("3").is_err());
        }
        round_trip(&Role::ALL, Role::as_str);
        round_trip(&Membership::ALL, Membership::as_str);
        round_trip(&AttendanceStatus::ALL, AttendanceStatus::as_str);
        round_trip(&ActivityKind::ALL, ActivityKind::as_str);
        round_trip(&ActivityMode::ALL, ActivityMode::as_str);
        round_trip(&LeaveCategory::ALL, LeaveCategory::as_str);
        round_trip(&ActivityState::ALL, ActivityState::as_str);
        round_trip(&StudyKind::ALL, StudyKind::as_str);
        round_trip(&Audience::ALL, Audience::as_str);
        round_trip(&StudyStatus::ALL, StudyStatus::as_str);
        round_trip(&Programme::ALL, Programme::as_str);
        round_trip(&FeedbackTopic::ALL, FeedbackTopic::as_str);
        round_trip(&ConsentKind::ALL, ConsentKind::as_str);

        // Inside a request, as a field: where it went wrong, as before.
        assert_eq!(
            serde_json::from_str::<Vec<Role>>(r#"["boss"]"#)
                .unwrap_err()
                .to_string(),
            "unknown variant `boss`, expected one of `member`, `lead`, `committee`, `admin` at line 1 column 8"
        );
        assert_eq!(
            serde_json::from_str::<Membership>(r#""x""#)
                .unwrap_err()
                .to_string(),
            "unknown variant `x`, expected `full` or `probationary`"
        );
    }

    #[test]
    fn ages_and_sizes_read_as_people_say_them() {
        assert_eq!(age_label(-5), "刚刚");
        assert_eq!(age_label(59_999), "刚刚");
        assert_eq!(age_label(60_000), "1分钟");
        assert_eq!(age_label(3 * 3_600_000 + 1), "3小时");
        assert_eq!(age_label(47 * 3_600_000), "47小时");
        assert_eq!(age_label(3 * 86_400_000), "3天");
        assert_eq!(size_label(812.0), "812 B");
        assert_eq!(size_label(3.4 * 1024.0), "3.4 KB");
        assert_eq!(size_label(5.0 * 1024.0 * 1024.0), "5.0 MB");
        assert_eq!(size_label(2.0 * 1024.0 * 1024.0 * 1024.0), "2.0 GB");
    }

    #[test]
    fn backoff_doubles_then_stays_at_five_minutes() {
        assert_eq!(backoff_ms(1, 1.0), 5_000);
        assert_eq!(backoff_ms(2, 1.0), 10_000);
        assert_eq!(backoff_ms(7, 1.0), 300_000);
        assert_eq!(backoff_ms(u32::MAX, 1.0), 300_000);
        assert_eq!(backoff_ms(u32::MAX, 0.0), 150_000);
        assert!(backoff_ms(0, 0.5) > 0);
    }

    #[test]
    fn full_width_digits_and_spaces_in_a_code_are_forgiven() {
        assert_eq!(normalize_code(" １２３ 456 "), "123456");
        assert!(is_valid_code("123456"));
        assert!(!is_valid_code("12345"));
        assert!(!is_valid_code("12345a"));
    }

    #[test]
    fn phone_numbers_are_masked_in_the_middle() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "****");
    }

    #[test]
    fn the_sign_in_window_opens_an_hour_early_and_closes_half_an_hour_late() {
        let (s, e) = (10 * 3_600_000, 12 * 3_600_000);
        assert!(in_sign_in_window(s - 60 * 60_000, s, e));
        assert!(!in_sign_in_window(s - 61 * 60_000, s, e));
        assert!(in_sign_in_window(e + 30 * 60_000, s, e));
        assert!(!in_sign_in_window(e + 31 * 60_000, s, e));
    }

    #[test]
    fn a_new_activity_needs_a_title_a_sane_window_and_no_backdating_beyond_the_limit() {
        let day = 24 * 3_600_000;
        let now = 100 * day;
        let check = |title: &str, s, e| check_new_activity(title, "工地", s, e, now, 30 * day);
        assert_eq!(check("主题党日", now, now + 1), Ok(()));
        assert_eq!(check("  ", now, now + 1), Err("请填写活动主题".to_owned()));
        assert_eq!(
            check("a", now, now),
            Err("结束时间必须晚于开始时间".to_owned())
        );
        assert_eq!(
            check("a", now, now + MAX_ACTIVITY_MS + 1),
            Err("活动时长不能超过7天".to_owned())
        );
        assert_eq!(check("a", now - 30 * day, now - 29 * day), Ok(()));
        assert_eq!(
            check("a", now - 30 * day - 1, now - 29 * day),
            Err("不能补录30天以前的活动".to_owned())
        );
    }

    #[test]
    fn clock_skew_over_five_minutes_is_flagged() {
        assert!(!is_skewed(SKEW_LIMIT_MS));
        assert!(is_skewed(-SKEW_LIMIT_MS - 1));
    }

    #[test]
    fn every_choice_a_form_offers_reads_back_as_itself_and_says_its_name_in_chinese() {
        fn each<T: Choice + std::fmt::Debug>() {
            assert!(!T::ALL.is_empty());
            for &v in T::ALL {
                assert_eq!(T::parse(v.as_str()), Some(v));
                assert!(v.label().chars().all(|c| !c.is_ascii_lowercase()), "{v:?}");
            }
            assert_eq!(T::parse("no_such_value"), None);
        }
        each::<ActivityKind>();
        each::<crate::life::ActivityMode>();
        each::<crate::life::LeaveCategory>();
        each::<crate::study::StudyKind>();
        each::<crate::study::Audience>();
        each::<crate::api::FeedbackTopic>();
    }
}
