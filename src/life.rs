//! 组织生活: the rules of a branch's meetings — the rotating 签到码, leave and make-up requests, the lead's
//! decisions, and what a closed meeting record must hold.
//!
//! Plain functions over plain values, shared by the phone (which applies them to records not yet sent, so
//! a tap answers at once, offline) and the server (which applies them again when the record arrives and
//! has the last word).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::model::{AttendanceStatus, Membership, Millis};

crate::model::choices!(ActivityMode, LeaveCategory);
crate::model::wire_names!(ActivityMode, LeaveCategory, ActivityState);

/// 线下 / 线上 / 线上+线下.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ActivityMode {
    #[default]
    Offline,
    Online,
    Hybrid,
}

impl ActivityMode {
    pub const ALL: [ActivityMode; 3] = [
        ActivityMode::Offline,
        ActivityMode::Online,
        ActivityMode::Hybrid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityMode::Offline => "offline",
            ActivityMode::Online => "online",
            ActivityMode::Hybrid => "hybrid",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityMode> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ActivityMode::Offline => "线下",
            ActivityMode::Online => "线上",
            ActivityMode::Hybrid => "线上+线下",
        }
    }
}

/// Where an activity is in its life: open for sign-in and requests, cancelled, or its record closed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ActivityState {
    #[default]
    Open,
    Cancelled,
    Closed,
}

impl ActivityState {
    pub const ALL: [ActivityState; 3] = [
        ActivityState::Open,
        ActivityState::Cancelled,
        ActivityState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActivityState::Open => "open",
            ActivityState::Cancelled => "cancelled",
            ActivityState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityState> {
        [
            ActivityState::Open,
            ActivityState::Cancelled,
            ActivityState::Closed,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }

    /// Why nothing more may be recorded on the activity, or `Ok` while it is open.
    pub fn check_open(self) -> Result<(), &'static str> {
        match self {
            ActivityState::Open => Ok(()),
            ActivityState::Cancelled => Err("活动已取消"),
            ActivityState::Closed => Err("会议记录已归档，如需更正请联系党支部书记"),
        }
    }
}

/// 请假 categories.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum LeaveCategory {
    #[default]
    Work,
    Illness,
    Personal,
    Other,
}

impl LeaveCategory {
    pub const ALL: [LeaveCategory; 4] = [
        LeaveCategory::Work,
        LeaveCategory::Illness,
        LeaveCategory::Personal,
        LeaveCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeaveCategory::Work => "work",
            LeaveCategory::Illness => "illness",
            LeaveCategory::Personal => "personal",
            LeaveCategory::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<LeaveCategory> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            LeaveCategory::Work => "因公",
            LeaveCategory::Illness => "因病",
            LeaveCategory::Personal => "因事",
            LeaveCategory::Other => "其他",
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The rotating 签到码

/// A lead's phone keeps the rosters of their branch's open activities and of those that ended (or were
/// closed) in the last this many days; an older roster is fetched when its activity is opened, and kept.
pub const RECENT_ROSTER_DAYS: i64 = 90;

/// Whether a lead's pull still carries this activity's roster at `now` (see [`RECENT_ROSTER_DAYS`]).
pub fn roster_synced(
    state: ActivityState,
    ends_at: Millis,
    closed_at: Option<Millis>,
    now: Millis,
) -> bool {
    let recent = now - RECENT_ROSTER_DAYS * 86_400_000;
    state == ActivityState::Open || ends_at >= recent || closed_at.is_some_and(|t| t >= recent)
}

/// The 签到码 changes every step; the step is a setting, fixed per activity when it is published.
pub const DEFAULT_CODE_STEP_MS: Millis = 60_000;

/// A code shown this many steps before the member's claimed time still counts (typing it takes a while,
/// and two phones' corrected clocks differ a little) …
const STEPS_BEHIND: i64 = 2;
/// … and this many after.
const STEPS_AHEAD: i64 = 1;

/// A new per-activity secret, from 16 random bytes, as the hex text that travels and is stored.
pub fn secret_hex(random: [u8; 16]) -> String {
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// The six-digit code for time step `step` (HOTP's dynamic truncation over HMAC-SHA-256).
pub fn code_for_step(secret: &str, step: i64) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(&step.to_be_bytes());
    six_digits(&mac.finalize().into_bytes())
}

/// RFC 4226's dynamic truncation of an HMAC to six digits (the last byte says where to read).
pub fn six_digits(digest: &[u8]) -> String {
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", word % 1_000_000)
}

/// The step a moment falls in.
pub fn step_of(at: Millis, step_ms: Millis) -> i64 {
    at.div_euclid(step_ms.max(1_000))
}

/// The code the lead's phone shows at `at` (its clock corrected by its last known server offset).
pub fn code_at(secret: &str, at: Millis, step_ms: Millis) -> String {
    code_for_step(secret, step_of(at, step_ms))
}

/// Milliseconds until the code shown at `at` changes (for the countdown under it).
pub fn ms_until_next_code(at: Millis, step_ms: Millis) -> Millis {
    let step_ms = step_ms.max(1_000);
    step_ms - at.rem_euclid(step_ms)
}

/// Whether `typed` is the code shown around `at`, the member's claimed time corrected by their phone's
/// offset to the server — judged when the record arrives, maybe days later.
pub fn code_matches(secret: &str, typed: &str, at: Millis, step_ms: Millis) -> bool {
    let step = step_of(at, step_ms);
    (step - STEPS_BEHIND..=step + STEPS_AHEAD).any(|s| code_for_step(secret, s) == typed)
}

/// Wrong codes one member may type for one activity; after that their sign-in is no longer checked
/// against the code and stays for the lead to judge by hand. With four codes valid around any moment,
/// three tries find a six-digit code about once in 80,000 activities.
pub const MAX_CODE_ATTEMPTS: u32 = 3;
/// Sign-ins one person may have checked against a code in an hour (a member signs in to one or two
/// meetings a day); past that, the rest are kept for the lead to judge.
pub const MAX_CHECKED_SIGN_INS_PER_HOUR: u32 = 20;

/// What the server knows about one sign-in when it judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignInClaim {
    /// Wrong codes this member already typed for this activity.
    pub wrong_codes: u32,
    /// Sign-ins of this person checked in the last hour, this one included.
    pub checked_this_hour: u32,
    /// Not the member's own proof: a location (their statement), a lead of the activity's branch (who
    /// holds the code's key), or a record someone else carried in unsigned (who may know the code).
    pub by_location: bool,
    /// The claimed time lies before the phone's last successful sync, which happened before the record
    /// was made: the phone's clock was set back.
    pub before_last_sync: bool,
}

/// How a sign-in stands once judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInVerdict {
    /// The code matched the claimed time: 一键确认全部 may confirm it.
    Verified,
    /// The code was checked and did not match: one more wrong attempt.
    WrongCode,
    /// Not checked against the code (a location statement, a time before the last sync, too many wrong
    /// codes or sign-ins): kept for the lead to judge.
    Unchecked,
}

/// Judges a sign-in. `code_ok` is asked only when the code is to be checked, so a member who ran out of
/// attempts learns nothing more from trying.
pub fn judge_sign_in(claim: SignInClaim, code_ok: impl FnOnce() -> bool) -> SignInVerdict {
    if claim.by_location
        || claim.before_last_sync
        || claim.wrong_codes >= MAX_CODE_ATTEMPTS
        || claim.checked_this_hour > MAX_CHECKED_SIGN_INS_PER_HOUR
    {
        SignInVerdict::Unchecked
    } else if code_ok() {
        SignInVerdict::Verified
    } else {
        SignInVerdict::WrongCode
    }
}

/// A roster row's sign-in, as far as proof goes: how many wrong codes were typed, whether a sign-in is on
/// record, and whether that one is unproven.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignInProof {
    pub wrong_codes: u32,
    pub recorded: bool,
    pub unverified: bool,
}

impl SignInProof {
    /// Takes a judged sign-in: counts a wrong code, and answers whether it becomes the row's record —
    /// the first to arrive stands, unless it was not proven and this one is.
    pub fn take(&mut self, verdict: SignInVerdict) -> bool {
        if verdict == SignInVerdict::WrongCode {
            self.wrong_codes += 1;
        }
        let verified = verdict == SignInVerdict::Verified;
        let replaces = !self.recorded || (self.unverified && verified);
        if replaces {
            self.recorded = true;
            self.unverified = !verified;
        }
        replaces
    }
}

/// Whether a record's claimed time (`at`, the phone's clock corrected by its offset) lies before the
/// phone's last successful sync as the server timed it (`synced_at`, 0 when unknown), beyond what the
/// offset's own error explains. Such a record was made after that sync with the clock set back.
pub fn claims_before_sync(at: Millis, synced_at: Millis) -> bool {
    const OFFSET_ERROR_MS: Millis = 60_000;
    synced_at > 0 && at.saturating_add(OFFSET_ERROR_MS) < synced_at
}

/// The link a QR code on the lead's screen carries: it opens the app (offline too, once installed) and
/// signs the member in with this code.
pub fn sign_in_link(origin: &str, activity_id: &str, code: &str) -> String {
    format!("{origin}/s/{activity_id}?c={code}")
}

// ---------------------------------------------------------------------------------------------------
// Location sign-in (opt-in, 单独同意)
//
// The lead's phone sets the fence from its own fix at the venue; a member's phone takes one fix at sign-in
// and compares it with the fence itself. Only the outcome travels and is stored — inside or outside,
// the distance and the fix's accuracy — never a coordinate of the member, never a track. Browsers give
// WGS-84; Chinese maps give GCJ-02: a fence typed from such a map is converted to WGS-84 first, so fence
// and fix are always compared in the same datum.

/// A circle around the venue, in WGS-84. Degrees travel as integer millionths (about 0.1 m) and metres
/// as integers: no floating-point text on the wire, which keeps float parsing and printing out of the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Fence {
    pub lat_e6: i32,
    pub lng_e6: i32,
    pub radius_m: u32,
}

/// What a location sign-in carries: the outcome of comparing one fix with the fence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LocationCheck {
    pub inside: bool,
    pub distance_m: u32,
    pub accuracy_m: u32,
}

impl LocationCheck {
    /// `位置签到：范围内，距离35米（精度20米）`
    pub fn label(&self) -> String {
        format!(
            "位置签到：{}，距离{}米（精度{}米）",
            if self.inside {
                "范围内"
            } else {
                "范围外"
            },
            self.distance_m,
            self.accuracy_m
        )
    }
}

/// A fix less precise than this cannot place anyone inside a fence.
pub const MAX_ACCURACY_M: u32 = 500;

/// Fence radii a lead may choose.
pub const FENCE_RADII_M: std::ops::RangeInclusive<u32> = 50..=2_000;

impl Fence {
    /// The fence around a point in degrees (WGS-84).
    pub fn around(lat: f64, lng: f64, radius_m: u32) -> Fence {
        Fence {
            lat_e6: (lat * 1e6).round() as i32,
            lng_e6: (lng * 1e6).round() as i32,
            radius_m,
        }
    }

    pub fn lat(&self) -> f64 {
        f64::from(self.lat_e6) / 1e6
    }

    pub fn lng(&self) -> f64 {
        f64::from(self.lng_e6) / 1e6
    }

    /// Compares one fix (WGS-84) with the fence: inside when the uncertainty circle of a usable fix reaches
    /// the fence (distance − accuracy ≤ radius).
    pub fn check(&self, lat: f64, lng: f64, accuracy_m: f64) -> LocationCheck {
        let distance = distance_m(self.lat(), self.lng(), lat, lng);
        let accuracy_m = accuracy_m.max(0.0).round().min(f64::from(u32::MAX)) as u32;
        let distance_m = distance.round().min(f64::from(u32::MAX)) as u32;
        LocationCheck {
            inside: accuracy_m <= MAX_ACCURACY_M
                && distance_m.saturating_sub(accuracy_m) <= self.radius_m,
            distance_m,
            accuracy_m,
        }
    }

    pub fn is_valid(&self) -> bool {
        (-90_000_000..=90_000_000).contains(&self.lat_e6)
            && (-180_000_000..=180_000_000).contains(&self.lng_e6)
            && FENCE_RADII_M.contains(&self.radius_m)
    }
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    const R: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * R * a.sqrt().asin()
}

/// WGS-84 → GCJ-02 (the published obfuscation every Chinese map applies inside mainland China).
pub fn wgs84_to_gcj02(lat: f64, lng: f64) -> (f64, f64) {
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    if !(0.8293..=55.8271).contains(&lat) || !(72.004..=137.8347).contains(&lng) {
        return (lat, lng);
    }
    let (x, y) = (lng - 105.0, lat - 35.0);
    let pi = std::f64::consts::PI;
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * pi).sin() + 20.0 * (2.0 * x * pi).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * pi).sin() + 40.0 * (y / 3.0 * pi).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * pi).sin() + 320.0 * (y * pi / 30.0).sin()) * 2.0 / 3.0;
    let mut dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlng += (20.0 * (6.0 * x * pi).sin() + 20.0 * (2.0 * x * pi).sin()) * 2.0 / 3.0;
    dlng += (20.0 * (x * pi).sin() + 40.0 * (x / 3.0 * pi).sin()) * 2.0 / 3.0;
    dlng += (150.0 * (x / 12.0 * pi).sin() + 300.0 * (x / 30.0 * pi).sin()) * 2.0 / 3.0;
    let rad = lat.to_radians();
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * pi);
    dlng = (dlng * 180.0) / (A / sqrt_magic * rad.cos() * pi);
    (lat + dlat, lng + dlng)
}

/// GCJ-02 → WGS-84, by iterating the forward transform (better than a metre after a few rounds).
pub fn gcj02_to_wgs84(lat: f64, lng: f64) -> (f64, f64) {
    let (mut wlat, mut wlng) = (lat, lng);
    for _ in 0..8 {
        let (glat, glng) = wgs84_to_gcj02(wlat, wlng);
        wlat += lat - glat;
        wlng += lng - glng;
    }
    (wlat, wlng)
}

// ---------------------------------------------------------------------------------------------------
// Members' requests and the lead's decisions

/// What a member asks for on one activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// 请假, before the start.
    Leave,
    /// 补签, within the make-up window after the end.
    Makeup,
    /// 补学: having missed it, the member records how they caught up.
    Study,
}

impl RequestKind {
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Leave => "请假",
            RequestKind::Makeup => "补签",
            RequestKind::Study => "补学",
        }
    }
}

/// When the rules are judged, and the settings that shape them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct When {
    /// The record's time: the phone's clock corrected by its last known server offset.
    pub at: Millis,
    pub starts_at: Millis,
    pub ends_at: Millis,
    /// How long after the end a 补签 may be asked (setting, default 3 days).
    pub makeup_window_ms: Millis,
}

/// Longest reason a member or lead may write.
pub const MAX_REASON_CHARS: usize = 200;

fn check_reason(reason: &str, required: &'static str) -> Result<(), &'static str> {
    let n = reason.trim().chars().count();
    if n == 0 {
        Err(required)
    } else if n > MAX_REASON_CHARS {
        Err("原因不能超过200字")
    } else {
        Ok(())
    }
}

/// A member's request against their row: the status it leads to, or why it cannot be made.
/// `补学` leaves the status as it is (it adds a note to the row).
pub fn request(
    status: AttendanceStatus,
    kind: RequestKind,
    reason: &str,
    when: When,
) -> Result<AttendanceStatus, &'static str> {
    use AttendanceStatus::*;
    match kind {
        RequestKind::Leave => {
            check_reason(reason, "请填写请假事由")?;
            if when.at >= when.starts_at {
                return Err("活动已开始，不能再请假；活动结束后可申请补签或登记补学");
            }
            match status {
                Pending | LeavePending => Ok(LeavePending),
                Leave => Err("已准假，无需再次请假"),
                Exempt => Err("您已免参加此活动"),
                _ => Err("您已签到，无需请假"),
            }
        }
        RequestKind::Makeup => {
            check_reason(reason, "请填写补签原因")?;
            if when.at < when.ends_at {
                return Err("活动尚未结束，请直接签到");
            }
            if when.at > when.ends_at + when.makeup_window_ms {
                return Err("已超过补签期限，可登记补学");
            }
            match status {
                Pending | Absent => Ok(MakeupPending),
                MakeupPending => Ok(MakeupPending),
                MakeupRejected => Err("补签未通过，可登记补学"),
                _ => Err("当前状态无需补签"),
            }
        }
        RequestKind::Study => {
            check_reason(reason, "请填写补学内容")?;
            if when.at < when.ends_at {
                return Err("活动结束后才能登记补学");
            }
            match status {
                Pending | Absent | Leave | MakeupRejected => Ok(status),
                _ => Err("您已参加此活动，无需补学"),
            }
        }
    }
}

/// The lead's decision on one member's row (besides 确认, which has its own record).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    ApproveLeave,
    RejectLeave,
    ApproveMakeup,
    RejectMakeup,
    /// Not confirmed: the sign-in does not stand (with a reason), the member counts as absent.
    RejectSignIn,
    /// 缺席 with its reason (缺席原因).
    Absent,
    /// 线上参加.
    Online,
    /// 免参加 (an approved exemption: illness, maternity, elderly, abroad); not counted in 应到.
    Exempt,
}

impl Decision {
    pub fn label(self) -> &'static str {
        match self {
            Decision::ApproveLeave => "准假",
            Decision::RejectLeave => "不准假",
            Decision::ApproveMakeup => "同意补签",
            Decision::RejectMakeup => "补签不通过",
            Decision::RejectSignIn => "不予确认",
            Decision::Absent => "记为缺席",
            Decision::Online => "记为线上参加",
            Decision::Exempt => "免参加",
        }
    }

    /// Decisions that must say why.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Decision::RejectLeave
                | Decision::RejectMakeup
                | Decision::RejectSignIn
                | Decision::Absent
                | Decision::Exempt
        )
    }
}

/// The status a decision leads to, or why it does not apply to the row as it stands.
pub fn decide(
    status: AttendanceStatus,
    decision: Decision,
    reason: &str,
) -> Result<AttendanceStatus, &'static str> {
    use AttendanceStatus::*;
    if decision.needs_reason() {
        check_reason(reason, "请填写原因")?;
    } else if reason.trim().chars().count() > MAX_REASON_CHARS {
        return Err("原因不能超过200字");
    }
    match (decision, status) {
        (Decision::ApproveLeave, LeavePending | Leave) => Ok(Leave),
        (Decision::RejectLeave, LeavePending) => Ok(Pending),
        (Decision::ApproveMakeup, MakeupPending | MadeUp) => Ok(MadeUp),
        (Decision::RejectMakeup, MakeupPending | MakeupRejected) => Ok(MakeupRejected),
        (Decision::RejectSignIn, SignedIn) => Ok(Absent),
        (Decision::Absent, Pending | Absent | SignedIn | LeavePending) => Ok(Absent),
        (Decision::Online, Pending | Absent | SignedIn | Online) => Ok(Online),
        (Decision::Exempt, Pending | Absent | Leave | LeavePending | Exempt) => Ok(Exempt),
        (Decision::ApproveLeave | Decision::RejectLeave, _) => Err("该成员没有待审批的请假"),
        (Decision::ApproveMakeup | Decision::RejectMakeup, _) => Err("该成员没有待审核的补签"),
        (Decision::RejectSignIn, _) => Err("该成员没有待确认的签到"),
        _ => Err("该成员当前状态不适用此操作"),
    }
}

// ---------------------------------------------------------------------------------------------------
// The meeting record

/// What a member's sign-in does to their row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInEffect {
    /// The row becomes 已签到 (待签到, 缺席, or leave asked or granted — they came after all).
    SignsIn,
    /// The row keeps its status and the record attaches to it (already signed in, or confirmed by the lead
    /// before the member's record arrived).
    Attaches,
    /// The row is settled otherwise (a make-up, an exemption, 线上参加): the sign-in changes nothing.
    Ignored,
}

pub fn sign_in_effect(status: AttendanceStatus) -> SignInEffect {
    use AttendanceStatus::*;
    match status {
        Pending | Absent | LeavePending | Leave => SignInEffect::SignsIn,
        SignedIn | Confirmed => SignInEffect::Attaches,
        _ => SignInEffect::Ignored,
    }
}

/// What the lead's 确认 does to a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// Confirms the member's sign-in.
    Confirms,
    /// Marks present a member seen at the meeting whose record has not arrived (audited as such).
    MarksPresent,
    /// Already confirmed: nothing to do.
    Already,
}

pub fn confirmation(status: AttendanceStatus) -> Result<Confirmation, &'static str> {
    use AttendanceStatus::*;
    match status {
        SignedIn => Ok(Confirmation::Confirms),
        Pending | Absent | LeavePending => Ok(Confirmation::MarksPresent),
        Confirmed => Ok(Confirmation::Already),
        _ => Err("该成员已请假、补签或免参加，无法确认出席"),
    }
}

/// One row of a roster as the record counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    pub status: AttendanceStatus,
    pub membership: Membership,
    /// Attending a host branch (on a 流动党员活动证): no vote there.
    pub guest: bool,
}

/// Members with voting rights (正式党员 of this branch, not exempt) and how many of them are present.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quorum {
    pub voting: u32,
    pub voting_present: u32,
}

impl Quorum {
    pub fn of(rows: impl IntoIterator<Item = Counted>) -> Quorum {
        let mut q = Quorum::default();
        for r in rows {
            if r.guest || r.membership != Membership::Full || r.status == AttendanceStatus::Exempt {
                continue;
            }
            q.voting += 1;
            if r.status.is_present() {
                q.voting_present += 1;
            }
        }
        q
    }

    /// More than half of the members with voting rights are present.
    pub fn reached(&self) -> bool {
        self.voting > 0 && self.voting_present * 2 > self.voting
    }

    /// `有表决权的党员18人，到会15人，到会人数已过半数`
    pub fn summary(&self) -> String {
        format!(
            "有表决权的党员{}人，到会{}人，到会人数{}",
            self.voting,
            self.voting_present,
            if self.reached() {
                "已过半数"
            } else {
                "未过半数"
            }
        )
    }
}

/// Why a record cannot be closed yet, one line per problem; empty when it can.
///
/// `rows` are (name, status, reason, whether the row is the closing lead's own). Every absentee needs a
/// 缺席原因; requests must be decided and sign-ins confirmed or rejected first, so the record shows only
/// settled facts — except the lead's own sign-in, which nobody may confirm for themselves: it stands as
/// 已签到 (present) unless another lead of the branch confirmed it.
pub fn close_problems<'a>(
    rows: impl IntoIterator<Item = (&'a str, AttendanceStatus, Option<&'a str>, bool)>,
    host: &str,
    recorder: &str,
) -> Vec<String> {
    use AttendanceStatus::*;
    let mut problems = Vec::new();
    if host.trim().is_empty() {
        problems.push("请填写主持人".to_owned());
    }
    if recorder.trim().is_empty() {
        problems.push("请填写记录人".to_owned());
    }
    let mut unsettled = Vec::new();
    let mut no_reason = Vec::new();
    for (name, status, reason, closers_own) in rows {
        let has_reason = reason.is_some_and(|r| !r.trim().is_empty());
        match status {
            SignedIn if closers_own => {}
            SignedIn | LeavePending | MakeupPending => unsettled.push(name),
            Pending | Absent | MakeupRejected if !has_reason => no_reason.push(name),
            _ => {}
        }
    }
    if !unsettled.is_empty() {
        problems.push(format!(
            "以下人员的签到或申请尚待处理：{}",
            unsettled.join("、")
        ));
    }
    if !no_reason.is_empty() {
        problems.push(format!("请填写缺席原因：{}", no_reason.join("、")));
    }
    problems
}

/// Longest name a host or recorder field may hold.
pub const MAX_NAME_CHARS: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leads_phone_syncs_the_rosters_of_open_and_recent_activities_only() {
        let day = 86_400_000;
        let now = 1_000 * day;
        let old = now - (RECENT_ROSTER_DAYS + 1) * day;
        assert!(
            roster_synced(ActivityState::Open, old, None, now),
            "open: still to finish"
        );
        assert!(roster_synced(
            ActivityState::Closed,
            now - day,
            Some(now - day),
            now
        ));
        assert!(!roster_synced(ActivityState::Closed, old, Some(old), now));
        assert!(
            roster_synced(ActivityState::Closed, old, Some(now - day), now),
            "closed lately: its last rows"
        );
        assert!(!roster_synced(ActivityState::Cancelled, old, None, now));
    }
    use AttendanceStatus::*;

    const SECRET: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn the_code_rotates_each_step_and_is_six_digits() {
        let codes: Vec<String> = (0..50).map(|s| code_for_step(SECRET, s)).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() >= 48, "codes repeat too often: {codes:?}");
        assert_ne!(code_for_step(SECRET, 7), code_for_step("another secret", 7));
        // Stable: the same secret and step always give the same code (phone and server agree).
        assert_eq!(code_for_step(SECRET, 7), code_for_step(SECRET, 7));
        assert_eq!(code_at(SECRET, 125_000, 60_000), code_for_step(SECRET, 2));
        assert_eq!(ms_until_next_code(125_000, 60_000), 55_000);
    }

    #[test]
    fn a_code_verifies_two_steps_back_and_one_ahead_of_the_claimed_time() {
        let step = 60_000;
        let shown_at = 10 * step + 5_000;
        let code = code_at(SECRET, shown_at, step);
        for typed_at in [
            shown_at,
            shown_at + step,
            shown_at + 2 * step,
            shown_at - step,
        ] {
            assert!(code_matches(SECRET, &code, typed_at, step), "{typed_at}");
        }
        assert!(!code_matches(SECRET, &code, shown_at + 3 * step, step));
        assert!(!code_matches(SECRET, &code, shown_at - 2 * step, step));
        assert!(!code_matches(SECRET, "000000", shown_at, step) || code == "000000");
    }

    #[test]
    fn a_sign_in_is_checked_against_the_code_only_while_it_may_be_believed() {
        let honest = SignInClaim {
            wrong_codes: 0,
            checked_this_hour: 1,
            by_location: false,
            before_last_sync: false,
        };
        assert_eq!(judge_sign_in(honest, || true), SignInVerdict::Verified);
        assert_eq!(judge_sign_in(honest, || false), SignInVerdict::WrongCode);
        let guessed = SignInClaim {
            wrong_codes: MAX_CODE_ATTEMPTS,
            ..honest
        };
        assert_eq!(
            judge_sign_in(guessed, || panic!("not checked any more")),
            SignInVerdict::Unchecked
        );
        for claim in [
            SignInClaim {
                by_location: true,
                ..honest
            },
            SignInClaim {
                before_last_sync: true,
                ..honest
            },
            SignInClaim {
                checked_this_hour: MAX_CHECKED_SIGN_INS_PER_HOUR + 1,
                ..honest
            },
        ] {
            assert_eq!(
                judge_sign_in(claim, || true),
                SignInVerdict::Unchecked,
                "{claim:?}"
            );
        }
    }

    #[test]
    fn the_first_sign_in_stands_unless_a_proven_one_follows_an_unproven_one() {
        use SignInVerdict::*;
        let mut row = SignInProof::default();
        assert!(row.take(WrongCode), "the first record stands, flagged");
        assert!(!row.take(WrongCode));
        assert!(row.take(Verified), "a proven code replaces it");
        assert!(!row.take(Unchecked), "and nothing replaces a proven one");
        assert_eq!(
            row,
            SignInProof {
                wrong_codes: 2,
                recorded: true,
                unverified: false
            }
        );
    }

    #[test]
    fn a_time_before_the_last_sync_is_a_clock_set_back() {
        let synced = 1_000_000_000;
        assert!(
            !claims_before_sync(synced - 1_000, 0),
            "never synced: nothing to compare"
        );
        assert!(
            !claims_before_sync(synced - 30_000, synced),
            "the offset's error"
        );
        assert!(claims_before_sync(synced - 3_600_000, synced));
        assert!(!claims_before_sync(synced + 5, synced));
    }

    #[test]
    fn the_qr_link_opens_the_app_with_the_code() {
        assert_eq!(
            sign_in_link("https://hy.example", "abc", "123456"),
            "https://hy.example/s/abc?c=123456"
        );
    }

    fn when(at: Millis) -> When {
        When {
            at,
            starts_at: 1_000,
            ends_at: 2_000,
            makeup_window_ms: 500,
        }
    }

    #[test]
    fn leave_is_asked_before_the_start_with_a_reason() {
        assert_eq!(
            request(Pending, RequestKind::Leave, "出差", when(999)),
            Ok(LeavePending)
        );
        assert_eq!(
            request(LeavePending, RequestKind::Leave, "改期", when(0)),
            Ok(LeavePending)
        );
        assert!(request(Pending, RequestKind::Leave, "出差", when(1_000)).is_err());
        assert_eq!(
            request(Pending, RequestKind::Leave, "  ", when(0)),
            Err("请填写请假事由")
        );
        assert!(request(SignedIn, RequestKind::Leave, "x", when(0)).is_err());
        let long = "长".repeat(201);
        assert_eq!(
            request(Pending, RequestKind::Leave, &long, when(0)),
            Err("原因不能超过200字")
        );
    }

    #[test]
    fn a_make_up_is_asked_after_the_end_within_the_window() {
        assert_eq!(
            request(Absent, RequestKind::Makeup, "没信号", when(2_000)),
            Ok(MakeupPending)
        );
        assert_eq!(
            request(Pending, RequestKind::Makeup, "没信号", when(2_500)),
            Ok(MakeupPending)
        );
        assert_eq!(
            request(Pending, RequestKind::Makeup, "没信号", when(2_501)),
            Err("已超过补签期限，可登记补学")
        );
        assert_eq!(
            request(Pending, RequestKind::Makeup, "没信号", when(1_999)),
            Err("活动尚未结束，请直接签到")
        );
        assert!(request(Confirmed, RequestKind::Makeup, "x", when(2_100)).is_err());
        assert!(request(MakeupRejected, RequestKind::Makeup, "x", when(2_100)).is_err());
    }

    #[test]
    fn study_is_recorded_after_missing_the_meeting_and_keeps_the_status() {
        for s in [Absent, Leave, MakeupRejected, Pending] {
            assert_eq!(request(s, RequestKind::Study, "自学", when(9_999)), Ok(s));
        }
        assert!(request(Confirmed, RequestKind::Study, "自学", when(9_999)).is_err());
        assert!(request(Leave, RequestKind::Study, "自学", when(1_500)).is_err());
    }

    #[test]
    fn each_decision_applies_only_to_the_rows_it_is_about() {
        assert_eq!(decide(LeavePending, Decision::ApproveLeave, ""), Ok(Leave));
        assert_eq!(
            decide(LeavePending, Decision::RejectLeave, "会议重要"),
            Ok(Pending)
        );
        assert_eq!(
            decide(LeavePending, Decision::RejectLeave, ""),
            Err("请填写原因")
        );
        assert_eq!(
            decide(MakeupPending, Decision::ApproveMakeup, ""),
            Ok(MadeUp)
        );
        assert_eq!(
            decide(MakeupPending, Decision::RejectMakeup, "无依据"),
            Ok(MakeupRejected)
        );
        assert_eq!(
            decide(SignedIn, Decision::RejectSignIn, "未到会"),
            Ok(Absent)
        );
        assert_eq!(decide(Pending, Decision::Absent, "工地加班"), Ok(Absent));
        assert_eq!(decide(Absent, Decision::Absent, "改为：生病"), Ok(Absent));
        assert_eq!(decide(Pending, Decision::Online, ""), Ok(Online));
        assert_eq!(decide(Pending, Decision::Exempt, "长期患病"), Ok(Exempt));
        assert_eq!(
            decide(Pending, Decision::ApproveLeave, ""),
            Err("该成员没有待审批的请假")
        );
        assert_eq!(
            decide(Confirmed, Decision::RejectSignIn, "x"),
            Err("该成员没有待确认的签到")
        );
        assert!(decide(Confirmed, Decision::Absent, "x").is_err());
        // Deciding again is harmless (a retry from a second phone of the lead).
        assert_eq!(decide(Leave, Decision::ApproveLeave, ""), Ok(Leave));
    }

    fn row(status: AttendanceStatus, membership: Membership, guest: bool) -> Counted {
        Counted {
            status,
            membership,
            guest,
        }
    }

    #[test]
    fn quorum_counts_only_full_members_of_the_branch() {
        let mut rows = vec![row(Confirmed, Membership::Full, false); 5];
        rows.extend(vec![row(Absent, Membership::Full, false); 5]);
        // Present, but without a vote here: two probationary members and a guest on a 活动证.
        rows.push(row(Confirmed, Membership::Probationary, false));
        rows.push(row(Confirmed, Membership::Probationary, false));
        rows.push(row(Confirmed, Membership::Full, true));
        rows.push(row(Exempt, Membership::Full, false));
        let q = Quorum::of(rows.clone());
        assert_eq!(
            q,
            Quorum {
                voting: 10,
                voting_present: 5
            }
        );
        assert!(!q.reached(), "exactly half is not more than half");
        assert_eq!(q.summary(), "有表决权的党员10人，到会5人，到会人数未过半数");
        rows.push(row(MadeUp, Membership::Full, false));
        let q = Quorum::of(rows);
        assert!(q.reached());
        assert_eq!(q.summary(), "有表决权的党员11人，到会6人，到会人数已过半数");
        assert!(!Quorum::default().reached());
    }

    #[test]
    fn a_record_closes_only_when_every_absentee_has_a_reason_and_nothing_is_pending() {
        let rows = [
            ("张三", Confirmed, None, false),
            ("李四", Absent, Some("工地加班"), false),
            ("王五", Leave, Some("出差"), false),
            ("赵六", Exempt, Some("长期患病"), false),
            ("书记", SignedIn, None, true),
        ];
        assert!(close_problems(rows, "张三", "李四").is_empty());
        let rows = [
            ("张三", SignedIn, None, false),
            ("李四", Absent, None, false),
            ("王五", Pending, Some(" "), false),
            ("赵六", MakeupPending, Some("没信号"), false),
        ];
        assert_eq!(
            close_problems(rows, "", "李四"),
            vec![
                "请填写主持人".to_owned(),
                "以下人员的签到或申请尚待处理：张三、赵六".to_owned(),
                "请填写缺席原因：李四、王五".to_owned(),
            ]
        );
    }

    #[test]
    fn a_closed_or_cancelled_activity_takes_no_more_records() {
        assert_eq!(ActivityState::Open.check_open(), Ok(()));
        assert!(ActivityState::Closed.check_open().is_err());
        assert_eq!(ActivityState::Cancelled.check_open(), Err("活动已取消"));
        for s in [
            ActivityState::Open,
            ActivityState::Cancelled,
            ActivityState::Closed,
        ] {
            assert_eq!(ActivityState::parse(s.as_str()), Some(s));
        }
        for m in ActivityMode::ALL {
            assert_eq!(ActivityMode::parse(m.as_str()), Some(m));
        }
        for c in LeaveCategory::ALL {
            assert_eq!(LeaveCategory::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn distances_and_datums_agree_with_known_values() {
        // The Bund to Lujiazui (Oriental Pearl Tower): about 1.1 km.
        let d = distance_m(31.2400, 121.4900, 31.2397, 121.4998);
        assert!((900.0..1_100.0).contains(&d), "{d}");
        // In Shanghai GCJ-02 is a few hundred metres off WGS-84; the inverse brings it back within a metre.
        let (glat, glng) = wgs84_to_gcj02(31.2304, 121.4737);
        let shift = distance_m(31.2304, 121.4737, glat, glng);
        assert!((300.0..800.0).contains(&shift), "{shift}");
        let (wlat, wlng) = gcj02_to_wgs84(glat, glng);
        assert!(distance_m(31.2304, 121.4737, wlat, wlng) < 1.0);
        // Outside China nothing is shifted.
        assert_eq!(wgs84_to_gcj02(48.8566, 2.3522), (48.8566, 2.3522));
    }

    #[test]
    fn a_fix_is_inside_when_its_uncertainty_reaches_the_fence_and_usable() {
        let fence = Fence::around(31.2304, 121.4737, 200);
        assert_eq!((fence.lat_e6, fence.lng_e6), (31_230_400, 121_473_700));
        assert!(fence.is_valid());
        let near = fence.check(31.2310, 121.4737, 20.0);
        assert!(near.inside, "{near:?}");
        assert!((60..70).contains(&near.distance_m));
        assert_eq!(
            near.label(),
            format!("位置签到：范围内，距离{}米（精度20米）", near.distance_m)
        );
        // 1 km away with a 30 m fix: outside.
        assert!(!fence.check(31.2394, 121.4737, 30.0).inside);
        // A fix that only says "somewhere in the district" places no one inside.
        assert!(!fence.check(31.2304, 121.4737, 1_500.0).inside);
        assert!(
            !Fence {
                radius_m: 10,
                ..fence
            }
            .is_valid()
        );
    }

    #[test]
    fn a_sign_in_and_a_confirmation_move_exactly_the_rows_they_should() {
        use AttendanceStatus::*;
        for status in AttendanceStatus::ALL {
            let effect = match status {
                Pending | Absent | LeavePending | Leave => SignInEffect::SignsIn,
                SignedIn | Confirmed => SignInEffect::Attaches,
                Online | MakeupPending | MadeUp | MakeupRejected | Exempt => SignInEffect::Ignored,
            };
            assert_eq!(sign_in_effect(status), effect, "{status:?}");
            let confirmed = match status {
                SignedIn => Ok(Confirmation::Confirms),
                Pending | Absent | LeavePending => Ok(Confirmation::MarksPresent),
                Confirmed => Ok(Confirmation::Already),
                _ => Err(()),
            };
            assert_eq!(
                confirmation(status).map_err(|_| ()),
                confirmed,
                "{status:?}"
            );
        }
    }
}
