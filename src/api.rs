//! The wire contract between the phone and the server: paths, request and response bodies, the error shape.
//!
//! Written once and compiled into both sides, so a field cannot be renamed on one side only. The server also
//! derives the OpenAPI schema from these types (`/api/v1/openapi.json`).

use serde::{Deserialize, Serialize};

use crate::life::{
    ActivityMode, ActivityState, Decision, Fence, LeaveCategory, LocationCheck, RequestKind,
};
use crate::model::{ActivityKind, AttendanceStatus, Membership, Millis, Role};
use crate::study::{Audience, Hours, Programme, Progress, StudyKind, StudyRules, StudyStatus};

/// Bumped when the push protocol changes incompatibly; the server answers older clients with 426.
pub const PROTOCOL: u32 = 1;
/// The oldest protocol the server still accepts.
pub const MIN_PROTOCOL: u32 = 1;
/// Most mutations one push may carry; the client sends longer queues in batches of this size.
pub const MAX_BATCH: usize = 200;
/// Most records one imported file may carry.
pub const MAX_IMPORT: usize = 2_000;

pub mod paths {
    pub const LOGIN: &str = "/api/v1/auth/login";
    pub const LOGOUT: &str = "/api/v1/auth/logout";
    pub const ME: &str = "/api/v1/me";
    pub const PUSH: &str = "/api/v1/sync/push";
    pub const PULL: &str = "/api/v1/sync/pull";
    pub const IMPORT: &str = "/api/v1/sync/import";
    pub const OPENAPI: &str = "/api/v1/openapi.json";
    /// `/api/v1/activities/{id}/register?format=csv|xlsx`: the attendance register of one activity.
    pub const REGISTER: &str = "/api/v1/activities/{id}/register";
    /// `/api/v1/activities/{id}/roster`: one activity's roster rows, for a lead's phone that no longer syncs
    /// them (an older activity, see [`crate::life::RECENT_ROSTER_DAYS`]).
    pub const ROSTER: &str = "/api/v1/activities/{id}/roster";
    /// The lead's list of members without any participation for a while (see [`super::Participation`]).
    pub const PARTICIPATION: &str = "/api/v1/branch/participation";
    /// The district's study rules: anyone signed in reads them (they also come with every pull); the
    /// district admin changes them.
    pub const STUDY_RULES: &str = "/api/v1/study/rules";
    /// `?year=2026[&org=ID][&format=xlsx]`: who has met their study requirement, for a reviewer's scope.
    pub const STUDY_OVERVIEW: &str = "/api/v1/study/overview";
    /// The evidence photo of one study record (the author uploads; the author and reviewers read).
    pub const EVIDENCE: &str = "/api/v1/study/{id}/evidence";
    /// `?before=ID`: the audit log, newest first (district admins).
    pub const AUDIT: &str = "/api/v1/audit";
    /// `?dry_run=true`: the department's roster (.xlsx or CSV in UTF-8 or GBK) as the request body.
    pub const ROSTER_IMPORT: &str = "/api/v1/roster/import";
    /// `?org=ID`: the members a lead or admin looks after, with whether each has joined.
    pub const MEMBERS: &str = "/api/v1/members";
    /// One member's record as the organisation keeps it (post, tags, 流动党员 registration, host branches,
    /// exemptions): their lead or an admin reads and edits it.
    pub const MEMBER: &str = "/api/v1/members/{id}";
    /// Disable an account (transferred out, phone lost) or restore it: their lead (members only) or an
    /// admin above them.
    pub const MEMBER_ACCESS: &str = "/api/v1/members/{id}/access";
    /// The signed-in person changes their own password.
    pub const PASSWORD: &str = "/api/v1/me/password";
    /// The public half of this phone's signing key for the signed-in person (see [`super::DeviceKey`]).
    pub const DEVICE_KEY: &str = "/api/v1/me/keys";
    /// Two-step login (an authenticator app's codes) for committee and district admins: `POST` starts
    /// setting it up, `PUT` with a code turns it on or off.
    pub const TWO_FACTOR: &str = "/api/v1/me/two-factor";
    /// A one-time code for a member to join (or to set a new password).
    pub const INVITATIONS: &str = "/api/v1/invitations";
    /// Whose invitation a code is, before the member sets a password.
    pub const JOIN_CHECK: &str = "/api/v1/join/check";
    /// Accept an invitation: set the password and sign in.
    pub const JOIN: &str = "/api/v1/join";
    /// Everything stored about the signed-in member, as a file.
    pub const MY_DATA: &str = "/api/v1/me/data";
    /// The organisation tree (district admins read it whole and add to it).
    pub const ORGS: &str = "/api/v1/orgs";
    /// One organisation: rename, move, dates; delete while empty.
    pub const ORG: &str = "/api/v1/orgs/{id}";
    /// A 党委's admins (党委管理员): a district admin adds one.
    pub const ORG_ADMINS: &str = "/api/v1/orgs/{id}/admins";
    /// One of them: a district admin withdraws their access.
    pub const ORG_ADMIN: &str = "/api/v1/orgs/{id}/admins/{user_id}";
    /// `?org=ID&year=2026[&quarter=4][&format=xlsx]`: the district view of organisational life and study.
    pub const DISTRICT: &str = "/api/v1/district";

    pub fn member(id: i64) -> String {
        format!("/api/v1/members/{id}")
    }

    pub fn member_access(id: i64) -> String {
        format!("/api/v1/members/{id}/access")
    }

    pub fn org(id: i64) -> String {
        format!("/api/v1/orgs/{id}")
    }

    pub fn org_admins(id: i64) -> String {
        format!("/api/v1/orgs/{id}/admins")
    }

    pub fn org_admin(id: i64, user_id: i64) -> String {
        format!("/api/v1/orgs/{id}/admins/{user_id}")
    }

    pub fn district(org: Option<i64>, year: i64, quarter: Option<u32>, format: &str) -> String {
        let mut path = format!("/api/v1/district?year={year}&format={format}");
        if let Some(org) = org {
            path += &format!("&org={org}");
        }
        if let Some(q) = quarter {
            path += &format!("&quarter={q}");
        }
        path
    }

    pub fn evidence(study_id: &str) -> String {
        format!("/api/v1/study/{study_id}/evidence")
    }

    /// A page of the members list from the organisation `from` on, or (`q`, already URL-encoded) the first
    /// matches of a search.
    pub fn members(from: Option<i64>, q: &str) -> String {
        match (from, q.is_empty()) {
            (_, false) => format!("{MEMBERS}?q={q}"),
            (Some(from), true) => format!("{MEMBERS}?from={from}"),
            (None, true) => MEMBERS.to_owned(),
        }
    }

    pub fn study_overview(year: i64, format: &str) -> String {
        format!("/api/v1/study/overview?year={year}&format={format}")
    }

    /// A page of 完成情况 in JSON: of the organisation `org` (default: the caller's scope), from `from` on.
    pub fn study_overview_page(year: i64, org: Option<i64>, from: Option<i64>) -> String {
        let mut path = format!("/api/v1/study/overview?year={year}");
        if let Some(org) = org {
            path += &format!("&org={org}");
        }
        if let Some(from) = from {
            path += &format!("&from={from}");
        }
        path
    }

    pub fn roster(activity_id: &str) -> String {
        format!("/api/v1/activities/{activity_id}/roster")
    }

    pub fn register(activity_id: &str, format: &str) -> String {
        format!("/api/v1/activities/{activity_id}/register?format={format}")
    }
}

/// Every error answer has this body; `message` is Chinese and says what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub message: String,
    /// For the app to act on: `otp_required` when a login needs the 6-digit code of an authenticator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
    /// This browser's device id: a phone that logged in to this account before is not slowed down by
    /// others' wrong guesses, and is told what happened to the account since.
    #[serde(default)]
    pub device_id: String,
    /// The authenticator's 6-digit code, for an account with two-step login.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub otp: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    pub expires_at: Millis,
    pub user: Me,
    /// What happened to the account since this phone last logged in (a password reset and who issued it,
    /// a new password set elsewhere …), to show once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
}

/// The signed-in person, as the app needs to know them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub org_id: i64,
    pub org_name: String,
    /// Whose 学时 requirement applies (set by the organisation).
    #[serde(default)]
    pub audience: Audience,
    /// A lead's branch's 党小组, to publish a 党小组会 for one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<OrgRef>,
    /// Logging in needs an authenticator's code too (committee and district admins may turn it on).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub two_factor: bool,
}

/// Setting up two-step login: the secret to put into an authenticator app (by hand or as a QR code).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct TwoFactorSetup {
    /// Base32, as authenticator apps take it.
    pub secret: String,
    /// `otpauth://totp/…`, for the QR code.
    pub uri: String,
}

/// Turn two-step login on (with a code from the app just set up) or off (with a current code).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TwoFactorChange {
    pub enabled: bool,
    pub code: String,
}

/// Every kind of record a phone makes, one row each: the kind, its name on the wire and in the database,
/// the body it carries, what the member calls it, the largest payload it may have in bytes of JSON (far
/// above what the phone writes — every text field has its own limit in characters — so only a crafted
/// record meets it), and the server's applier (in `server/`, run by `server::sync` inside a savepoint).
///
/// From the rows come [`MutationKind`] (with its wire name, label and limit), [`Change`], and the
/// conversions between a [`Mutation`]'s kind and payload and a typed change. Adding a kind is a row here,
/// its applier, and its overlay in `outbox` (what the phone shows before the server answers).
macro_rules! mutation_kinds {
    ($(
        $(#[$doc:meta])*
        $kind:ident = $wire:literal, $body:ty, $label:literal, $max:literal, $applier:path;
    )*) => {
        /// What a mutation does. Unknown kinds (from a newer app) are quarantined one by one, never the batch.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
        pub enum MutationKind {
            $( #[serde(rename = $wire)] $kind, )*
            #[serde(other, rename = "unknown")]
            Unknown,
        }

        impl MutationKind {
            /// The name stored in the database, the same as on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( MutationKind::$kind => $wire, )*
                    MutationKind::Unknown => "unknown",
                }
            }

            /// The largest payload a record of this kind may have, in bytes of JSON.
            pub fn max_payload_bytes(self) -> usize {
                match self {
                    $( MutationKind::$kind => $max, )*
                    MutationKind::Unknown => 1_024,
                }
            }

            /// What the member calls such a record.
            pub fn label(self) -> &'static str {
                match self {
                    $( MutationKind::$kind => $label, )*
                    MutationKind::Unknown => "其他记录",
                }
            }
        }

        /// A mutation's body, typed.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Change {
            $( $(#[$doc])* $kind($body), )*
        }

        impl Change {
            /// The kind of record this change travels as.
            pub fn kind(&self) -> MutationKind {
                match self {
                    $( Change::$kind(_) => MutationKind::$kind, )*
                }
            }

            /// The body as the JSON a record carries.
            fn payload(&self) -> Payload {
                match self {
                    $( Change::$kind(body) => Payload::of(body), )*
                }
            }

            /// Reads a record's payload as the body its kind names.
            fn read(kind: MutationKind, json: &str) -> Result<Change, String> {
                match kind {
                    $( MutationKind::$kind => serde_json::from_str(json).map(Change::$kind), )*
                    MutationKind::Unknown => {
                        return Err("此版本的服务器不认识这种记录，请联系管理员".to_owned());
                    }
                }
                .map_err(|e| format!("记录内容无效：{e}"))
            }

            /// Applies the change on the server: its applier's checks, then its writes.
            #[cfg(feature = "server")]
            pub(crate) async fn apply(
                self,
                conn: &mut sqlx::SqliteConnection,
                ap: &crate::server::applying::Applying<'_>,
            ) -> crate::server::applying::Outcome {
                #[allow(unused_imports)]
                use crate::server::{activities, attendance, rights, study};
                match self {
                    $( Change::$kind(body) => $applier(conn, &body, ap).await, )*
                }
            }
        }
    };
}

mutation_kinds! {
    CreateActivity = "create_activity", NewActivity, "发布活动", 4_096, activities::create;
    /// The same fields as publishing; the secret and code stay as published.
    EditActivity = "edit_activity", NewActivity, "修改活动", 4_096, activities::edit;
    CancelActivity = "cancel_activity", Cancel, "取消活动", 4_096, activities::cancel;
    CloseRecord = "close_record", CloseRecord, "归档会议记录", 4_096, activities::close;
    SignIn = "sign_in", SignIn, "签到", 1_024, attendance::sign_in;
    Request = "request", Request, "申请", 4_096, attendance::request;
    Confirm = "confirm", Confirm, "确认出席", 512, attendance::confirm;
    Decide = "decide", Decide, "审批", 4_096, attendance::decide;
    AddToRoster = "add_to_roster", AddToRoster, "加入应到名单", 512, attendance::add_to_roster;
    SaveStudy = "save_study", StudyEntry, "学习记录", 8_192, study::save;
    WithdrawStudy = "withdraw_study", WithdrawStudy, "撤回学习记录", 512, study::withdraw;
    ReviewStudy = "review_study", ReviewStudy, "认定学时", 4_096, study::review;
    Feedback = "feedback", FeedbackEntry, "投诉建议", 16_384, rights::feedback;
    ReplyFeedback = "reply_feedback", ReplyFeedback, "答复投诉建议", 16_384, rights::reply;
    Consent = "consent", Consent, "授权记录", 512, rights::consent;
}

/// One record made on a phone, as it travels in a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Mutation {
    /// 1, 2, 3 … per device and user.
    pub seq: u64,
    /// UUIDv7 made on the phone when the record was created; the server keeps each id once.
    pub id: String,
    pub kind: MutationKind,
    /// The body for `kind` ([`NewActivity`], [`SignIn`] or [`Confirm`]); checked per mutation so one
    /// bad record is quarantined instead of failing the batch.
    #[cfg_attr(feature = "server", schema(value_type = Object))]
    pub payload: Payload,
    /// The phone's clock when the record was made.
    pub device_time: Millis,
    /// server time − phone time, as last measured by the phone (0 if never).
    pub server_offset_ms: Millis,
    /// The server's time of this phone's last successful sync when the record was made (0: none yet). A
    /// record claiming an earlier time was made with the clock set back, and is flagged for the lead.
    #[serde(default, skip_serializing_if = "is_zero_ms")]
    pub synced_at: Millis,
    /// The author's signature over [`Mutation::signed_text`], made on the phone with a key that never
    /// leaves it (ECDSA P-256 with SHA-256, `r‖s` in hex). Whoever carries a signed record — a push, a
    /// file imported by someone else — cannot alter it unnoticed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sig: String,
}

fn is_zero_ms(ms: &Millis) -> bool {
    *ms == 0
}

/// A mutation's body as the JSON text it arrived in. Kept raw (not a `serde_json::Value`) so that it is
/// read once, into the type its kind names, and stored as sent.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<serde_json::value::RawValue>);

impl Payload {
    /// Any serialisable body (tests use this to send malformed ones).
    pub fn of<T: Serialize>(body: &T) -> Payload {
        // Serialising our own body types cannot fail; `null` would be quarantined, not lost.
        Payload(serde_json::value::to_raw_value(body).unwrap_or_default())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.get() == other.get()
    }
}

impl Change {
    /// The activity the change is about (study records are about none).
    pub fn activity_id(&self) -> Option<&str> {
        match self {
            Change::CreateActivity(a) | Change::EditActivity(a) => Some(&a.activity_id),
            Change::CancelActivity(c) => Some(&c.activity_id),
            Change::CloseRecord(c) => Some(&c.activity_id),
            Change::SignIn(s) => Some(&s.activity_id),
            Change::Request(r) => Some(&r.activity_id),
            Change::Confirm(c) => Some(&c.activity_id),
            Change::Decide(d) => Some(&d.activity_id),
            Change::AddToRoster(a) => Some(&a.activity_id),
            _ => None,
        }
    }

    /// The study record the change is about.
    pub fn study_id(&self) -> Option<&str> {
        match self {
            Change::SaveStudy(s) => Some(&s.study_id),
            Change::WithdrawStudy(w) => Some(&w.study_id),
            Change::ReviewStudy(r) => Some(&r.study_id),
            _ => None,
        }
    }
}

impl Mutation {
    pub fn new(
        seq: u64,
        id: String,
        change: &Change,
        device_time: Millis,
        server_offset_ms: Millis,
    ) -> Mutation {
        Mutation {
            seq,
            id,
            kind: change.kind(),
            payload: change.payload(),
            device_time,
            server_offset_ms,
            synced_at: 0,
            sig: String::new(),
        }
    }

    /// What the author signs: every field of the record, who made it and on which phone, one per line, the
    /// payload exactly as sent (the phone writes it once; files and pasted text carry it unchanged).
    pub fn signed_text(&self, author: i64, device_id: &str) -> String {
        format!(
            "hongyan-record-v1\n{author}\n{device_id}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.id,
            self.seq,
            self.kind.as_str(),
            self.device_time,
            self.server_offset_ms,
            self.synced_at,
            self.payload.get()
        )
    }

    /// Reads the payload as the body its kind names.
    pub fn change(&self) -> Result<Change, String> {
        Change::read(self.kind, self.payload.get())
    }
}

/// A lead publishes an activity (also offline: the phone makes the id and the secret of the rotating code).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    pub activity_id: String,
    pub kind: ActivityKind,
    pub title: String,
    pub place: String,
    pub starts_at: Millis,
    pub ends_at: Millis,
    #[serde(default)]
    pub mode: ActivityMode,
    /// The key of the rotating 签到码 (32 hex digits), see [`crate::life::code_at`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secret: String,
    /// How long each code is shown.
    #[serde(default = "default_code_step")]
    pub code_step_ms: Millis,
    /// A fixed six-digit code, as version 1 of the app made them (still accepted from old phones).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    /// Members who agreed to it may sign in by location inside this circle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<Fence>,
    /// 学时 a confirmed attendance earns (党课, 书记讲坛 …); none when zero.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub study_hours: Hours,
    /// A 党小组会's group: only its members are on the roster. Set when published; an edit keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
}

fn is_zero(h: &Hours) -> bool {
    *h == Hours::ZERO
}

fn default_code_step() -> Millis {
    crate::life::DEFAULT_CODE_STEP_MS
}

impl Default for NewActivity {
    fn default() -> NewActivity {
        NewActivity {
            activity_id: String::new(),
            kind: ActivityKind::Other,
            title: String::new(),
            place: String::new(),
            starts_at: 0,
            ends_at: 0,
            mode: ActivityMode::Offline,
            secret: String::new(),
            code_step_ms: default_code_step(),
            code: String::new(),
            fence: None,
            study_hours: Hours::ZERO,
            group_id: None,
        }
    }
}

/// The lead cancels an activity, saying why; members see the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Cancel {
    pub activity_id: String,
    pub reason: String,
}

/// The lead closes the meeting record; counts and names come from the roster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CloseRecord {
    pub activity_id: String,
    /// 主持人
    pub host: String,
    /// 记录人
    pub recorder: String,
    /// Participants who joined online from elsewhere (guests without an account, for example).
    #[serde(default)]
    pub online_note: String,
}

/// A member's 请假 (before the start), 补签 (within the window after the end) or 补学.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub activity_id: String,
    pub kind: RequestKind,
    /// Only for leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<LeaveCategory>,
    pub reason: String,
}

/// The lead's decision on one member's row (see [`crate::life::decide`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub activity_id: String,
    pub member_id: i64,
    pub decision: Decision,
    #[serde(default)]
    pub reason: String,
}

/// A member signs in to an activity with the code the lead shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub activity_id: String,
    /// Empty for a location sign-in.
    pub code: String,
    /// A location sign-in: the outcome of the phone's one fix against the activity's fence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationCheck>,
}

/// The lead confirms a member's attendance: their sign-in (已签到（待确认） → 已确认), or a member seen at
/// the meeting whose record has not arrived (no signal, or no phone). Made offline too, like any record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    pub activity_id: String,
    pub member_id: i64,
}

/// The lead adds someone to a frozen roster before the record is closed (audited): a member of the branch
/// who joined after publication, or a mobile member from elsewhere invited as a guest. By phone number, so
/// the lead's phone needs no member list and works offline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AddToRoster {
    pub activity_id: String,
    pub phone: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PushRequest {
    /// Random id the phone made once; one sequence of `seq` per device and user.
    pub device_id: String,
    /// The client's [`PROTOCOL`]; older than [`MIN_PROTOCOL`] gets 426 and "please update".
    pub protocol: u32,
    pub mutations: Vec<Mutation>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// Stored now.
    Applied,
    /// Stored earlier; this was a retry.
    Duplicate,
    /// Can never be accepted (see `reason`); acknowledged so it never blocks the queue.
    Quarantined,
}

/// The server's acknowledgement of one mutation. The phone keeps it as proof of delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub id: String,
    pub status: ReceiptStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub server_seq: i64,
    pub received_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// One per mutation sent, in the same order.
    pub receipts: Vec<Receipt>,
    pub server_time: Millis,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// Pass this as `cursor` next time.
    pub cursor: i64,
    /// More changes wait beyond this page: pull again with the new cursor.
    #[serde(default)]
    pub more: bool,
    pub server_time: Millis,
    pub activities: Vec<ActivityView>,
    pub attendance: Vec<AttendanceView>,
    /// The user's own study records and, for a reviewer, those in their scope (drafts stay private).
    #[serde(default)]
    pub study: Vec<StudyView>,
    /// The member's own 投诉建议 and, for district admins, everyone's.
    #[serde(default)]
    pub feedback: Vec<FeedbackView>,
    pub settings: Settings,
    #[serde(default)]
    pub study_rules: StudyRules,
}

/// Settings the district chose that the phone needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Settings {
    /// Warn that records are at risk when storage is not persisted and the oldest unsent record is this old.
    pub at_risk_after_ms: Millis,
    /// How long each rotating 签到码 is shown.
    pub code_step_ms: Millis,
    /// How long after an activity's end a 补签 may be asked.
    pub makeup_window_ms: Millis,
    /// How far back an activity may be recorded.
    pub backdate_limit_ms: Millis,
    /// A member without any participation for this long is on their lead's quiet list.
    pub inactive_after_ms: Millis,
}

impl Default for Settings {
    fn default() -> Settings {
        const DAY: Millis = 24 * 3_600_000;
        Settings {
            at_risk_after_ms: 2 * DAY,
            code_step_ms: crate::life::DEFAULT_CODE_STEP_MS,
            makeup_window_ms: 3 * DAY,
            backdate_limit_ms: crate::model::DEFAULT_BACKDATE_LIMIT_MS,
            inactive_after_ms: 90 * DAY,
        }
    }
}

/// What 导出未上传记录 writes to a file: the records still waiting on a phone (and those the server
/// refused, as evidence). The member on a new phone, their lead or an admin imports it with
/// `POST` [`paths::IMPORT`]; each record still arrives at most once, because the server keeps ids once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct UnsentFile {
    /// Always [`UnsentFile::APP`], so a wrong file is recognised as such.
    pub app: String,
    pub format: u32,
    pub exported_at: Millis,
    pub device_id: String,
    /// The author of every record in the file.
    pub user_id: i64,
    pub user_name: String,
    pub records: Vec<Mutation>,
}

impl UnsentFile {
    pub const APP: &'static str = "hongyan-unsent";
    pub const FORMAT: u32 = 1;
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ActivityView {
    pub id: String,
    pub org_id: i64,
    pub org_name: String,
    pub kind: ActivityKind,
    pub title: String,
    pub place: String,
    pub starts_at: Millis,
    pub ends_at: Millis,
    #[serde(default)]
    pub mode: ActivityMode,
    #[serde(default)]
    pub state: ActivityState,
    /// Why it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// The closed record's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<CloseRecord>,
    /// Only the activity's own lead receives the secret of the rotating 签到码 …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default = "default_code_step")]
    pub code_step_ms: Millis,
    /// … or the fixed code of an activity published by version 1 of the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Where a location sign-in counts (the venue is no one's personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<Fence>,
    /// 学时 a confirmed attendance earns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub study_hours: Hours,
    /// A 党小组会's group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    pub server_seq: i64,
}

impl ActivityView {
    /// Its type as shown in lists: `党小组会 · 钢筋班组党小组` for one group's meeting.
    pub fn kind_label(&self) -> String {
        match &self.group_name {
            Some(group) => format!("{} · {group}", self.kind.label()),
            None => self.kind.label().to_owned(),
        }
    }
}

/// One member's row on one activity's roster.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AttendanceView {
    pub activity_id: String,
    pub member_id: i64,
    pub member_name: String,
    pub membership: Membership,
    pub status: AttendanceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Millis>,
    /// Set when the phone's clock was more than five minutes off the server's.
    #[serde(default)]
    pub clock_skewed: bool,
    /// The sign-in is not proven by its code (a wrong code, a location statement, a time before the
    /// phone's last sync, too many attempts): kept 待确认 for the lead to judge, out of 一键确认全部.
    #[serde(default)]
    pub code_unverified: bool,
    /// Wrong codes the member typed for this activity (after [`crate::life::MAX_CODE_ATTEMPTS`] the
    /// code is no longer checked).
    #[serde(default, skip_serializing_if = "is_zero_count")]
    pub wrong_codes: u32,
    /// The member's record claims a time before their phone's last sync (the clock was set back).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub time_doubtful: bool,
    /// A lead marked themselves present (their own statement, for another lead to confirm).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_marked: bool,
    /// The member's record came unsigned in a file someone else imported (they could have written it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub carried: bool,
    /// Leave asked "before the start" that reached the server only after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late_request: bool,
    /// When the server received the member's latest sign-in or request about this row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<Millis>,
    /// Attending as a guest of this branch (home branch elsewhere): no vote here.
    #[serde(default)]
    pub guest: bool,
    /// The member's reason for leave or make-up, or the lead's 缺席原因 / reason for a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<LeaveCategory>,
    /// The lead's reason for refusing a request or a sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_note: Option<String>,
    /// What the member recorded as 补学.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
    /// A location sign-in's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<LocationCheck>,
    pub server_seq: i64,
}

fn is_zero_count(n: &u32) -> bool {
    *n == 0
}

impl AttendanceView {
    /// A sign-in its code proves: 一键确认全部 confirms these, and only these.
    pub fn verified_sign_in(&self) -> bool {
        self.status == AttendanceStatus::SignedIn && !self.code_unverified && !self.time_doubtful
    }

    /// A kept sign-in whose typed code was wrong (not one no code could prove: by location, carried by
    /// someone else, or past the hour's checks).
    pub fn code_was_wrong(&self) -> bool {
        self.status == AttendanceStatus::SignedIn
            && self.code_unverified
            && self.wrong_codes > 0
            && self.location.is_none()
            && !self.carried
    }

    /// Whether the member may type the code again to prove a kept sign-in (not after too many wrong
    /// codes, nor when the phone's clock was set back).
    pub fn may_retry_code(&self) -> bool {
        self.status == AttendanceStatus::SignedIn
            && self.code_unverified
            && self.wrong_codes < crate::life::MAX_CODE_ATTEMPTS
            && !self.time_doubtful
    }

    /// What the lead should know before confirming by hand (and the register keeps), one note each.
    pub fn proof_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Some(l) = self.location {
            notes.push(format!(
                "位置自报：{}，距离{}米（精度{}米），未经签到码验证",
                if l.inside { "范围内" } else { "范围外" },
                l.distance_m,
                l.accuracy_m
            ));
        }
        if self.self_marked {
            notes.push("本人标记出席，未经他人确认".to_owned());
        }
        if self.wrong_codes >= crate::life::MAX_CODE_ATTEMPTS {
            notes.push(format!("签到码输错{}次，已停止校验", self.wrong_codes));
        } else if self.code_unverified
            && self.location.is_none()
            && !self.time_doubtful
            && !self.self_marked
            && !self.carried
        {
            notes.push("签到未通过校验".to_owned());
        }
        if self.time_doubtful {
            notes.push("时间早于该手机上次同步，手机时间可能被调整过".to_owned());
        }
        if self.carried {
            notes.push("由他人代为导入，未经本人签名".to_owned());
        }
        if self.late_request {
            notes.push("请假在活动开始后才送达服务器".to_owned());
        }
        notes
    }

    /// `上传于 2026-03-08 20:05，晚于签到 5.5 小时` when the member's record arrived an hour or more after
    /// the time it claims.
    pub fn lateness(&self) -> Option<String> {
        let received = self.received_at?;
        let signed = self.signed_at?;
        let late = received - signed;
        if late < 3_600_000 {
            return None;
        }
        let tenths = late / 360_000;
        let hours = match tenths % 10 {
            0 => format!("{}", tenths / 10),
            tenth => format!("{}.{tenth}", tenths / 10),
        };
        Some(format!(
            "上传于 {}，晚于签到 {hours} 小时",
            crate::model::LocalTime::from_millis(received).table()
        ))
    }

    /// The row as the meeting record counts it (quorum).
    pub fn counted(&self) -> crate::life::Counted {
        crate::life::Counted {
            status: self.status,
            membership: self.membership,
            guest: self.guest,
        }
    }
}

/// The lead's quiet list: their members without any participation (home or host branch) since `since`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Participation {
    pub since: Millis,
    pub members: Vec<QuietMember>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct QuietMember {
    pub member_id: i64,
    pub name: String,
    /// The last activity they took part in anywhere, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_org: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_meeting_is_listed_with_its_group_and_older_apps_read_it() {
        let mut a = ActivityView {
            kind: ActivityKind::GroupMeeting,
            ..ActivityView::default()
        };
        assert_eq!(a.kind_label(), "党小组会");
        a.group_name = Some("钢筋班组党小组".into());
        assert_eq!(a.kind_label(), "党小组会 · 钢筋班组党小组");
        // A phone from before 党小组 sends no group; one from after sends it only when there is one.
        let old: NewActivity = serde_json::from_str(
            r#"{"activity_id":"x","kind":"theme_day","title":"t","place":"p","starts_at":1,"ends_at":2}"#,
        )
        .unwrap();
        assert_eq!(old.group_id, None);
        assert!(!serde_json::to_string(&old).unwrap().contains("group_id"));
    }

    #[test]
    fn only_a_typed_code_that_was_wrong_is_told_as_wrong() {
        let wrong = AttendanceView {
            status: AttendanceStatus::SignedIn,
            code_unverified: true,
            wrong_codes: 1,
            ..AttendanceView::default()
        };
        assert!(wrong.code_was_wrong());
        // Unchecked but not wrong: past the hour's checks, by location, carried, or proven on retry.
        let unchecked = AttendanceView {
            wrong_codes: 0,
            ..wrong.clone()
        };
        assert!(!unchecked.code_was_wrong());
        let located = AttendanceView {
            location: Some(LocationCheck {
                inside: true,
                distance_m: 20,
                accuracy_m: 10,
            }),
            ..wrong.clone()
        };
        assert!(!located.code_was_wrong());
        let carried = AttendanceView {
            carried: true,
            ..wrong.clone()
        };
        assert!(!carried.code_was_wrong());
        let proven = AttendanceView {
            code_unverified: false,
            ..wrong.clone()
        };
        assert!(!proven.code_was_wrong());
    }

    #[test]
    fn the_signed_text_names_author_phone_and_every_field_and_the_payload_as_sent() {
        let mut a = Mutation::new(3, "id".into(), &Change::Consent(Consent::default()), 10, -2);
        let written = a.signed_text(7, "phone");
        assert_eq!(
            written,
            "hongyan-record-v1\n7\nphone\nid\n3\nconsent\n10\n-2\n0\n{\"kind\":\"privacy\",\"granted\":false,\"version\":\"\"}"
        );
        assert_ne!(a.signed_text(8, "phone"), written, "the author is signed");
        assert_ne!(a.signed_text(7, "other"), written, "so is the phone");
        a.synced_at = 5;
        assert_ne!(
            a.signed_text(7, "phone"),
            written,
            "and the last sync it claims"
        );
    }

    #[test]
    fn a_mutation_carries_its_change_and_gets_it_back() {
        let change = Change::SignIn(SignIn {
            activity_id: "a".into(),
            code: "123456".into(),
            ..Default::default()
        });
        let m = Mutation::new(3, "id".into(), &change, 10, -2);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""kind":"sign_in""#), "{json}");
        let back: Mutation = serde_json::from_str(&json).unwrap();
        assert_eq!(back.change(), Ok(change));
    }

    #[test]
    fn an_unknown_kind_or_a_broken_payload_is_an_error_of_that_mutation_only() {
        let json = r#"{"seq":1,"id":"x","kind":"teleport","payload":{},"device_time":0,"server_offset_ms":0}"#;
        let m: Mutation = serde_json::from_str(json).unwrap();
        assert_eq!(m.kind, MutationKind::Unknown);
        assert!(m.change().is_err());
        let json = r#"{"seq":1,"id":"x","kind":"sign_in","payload":{"activity_id":5},"device_time":0,"server_offset_ms":0}"#;
        let m: Mutation = serde_json::from_str(json).unwrap();
        assert!(m.change().unwrap_err().starts_with("记录内容无效"));
    }
}

/// A study record as its author writes it: new, or an edit of one not yet recognised (also offline).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StudyEntry {
    /// UUIDv7 made on the phone when the record was first written; edits carry the same id.
    pub study_id: String,
    pub kind: StudyKind,
    pub title: String,
    /// 主办单位 (e.g. a Shanghai party school).
    #[serde(default)]
    pub organiser: String,
    /// `2026-03-08`
    pub starts_on: String,
    pub ends_on: String,
    /// Declared 学时 (in halves, see [`Hours`]). When `days` is given the server converts them instead.
    pub hours: Hours,
    /// Declared days (in halves), converted by the district's day→学时 factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<Programme>,
    #[serde(default)]
    pub notes: String,
    /// 提交认定 (待认定) or 保存草稿.
    pub submit: bool,
}

/// The author takes back a record not yet recognised (已撤回); an edit may submit it again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WithdrawStudy {
    pub study_id: String,
}

/// A reviewer recognises a record (with the 学时 credited, at most those declared) or returns it with a
/// comment. `version` is the one the reviewer saw: an edit made since then wins, and the review is refused.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReviewStudy {
    pub study_id: String,
    pub version: u32,
    /// `Some`: 认定 with these 学时; `None`: 退回.
    #[serde(default)]
    pub credited: Option<Hours>,
    #[serde(default)]
    pub comment: String,
}

/// One study record as the author and their reviewers see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct StudyView {
    pub id: String,
    pub user_id: i64,
    pub user_name: String,
    pub org_name: String,
    pub audience: Audience,
    pub kind: StudyKind,
    pub title: String,
    pub organiser: String,
    pub starts_on: String,
    pub ends_on: String,
    /// Declared.
    pub hours: Hours,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<Programme>,
    pub notes: String,
    pub status: StudyStatus,
    /// Recognised 学时 (0 until 已认定).
    pub credited: Hours,
    /// The reviewer's comment (why it was returned, or a note on the credit).
    pub comment: String,
    pub reviewer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<Millis>,
    /// Set when the record came from a confirmed attendance at this activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    pub has_evidence: bool,
    /// Bumped by every change; a review names the version it saw.
    pub version: u32,
    pub server_seq: i64,
}

impl StudyView {
    /// What progress counts of it, if it is recognised.
    pub fn credit(&self) -> Option<crate::study::Credit> {
        if self.status != StudyStatus::Recognised {
            return None;
        }
        Some(crate::study::Credit {
            kind: self.kind,
            starts_on: crate::study::Day::parse(&self.starts_on)?,
            ends_on: crate::study::Day::parse(&self.ends_on)?,
            hours: self.credited,
        })
    }
}

/// The evidence photo of a study record, as a `data:image/jpeg;base64,…` URL (made small on the phone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub data_url: String,
}

/// Study progress of everyone in a reviewer's scope for one year: a table, never a ranking (rows are in
/// organisation and name order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct StudyOverview {
    pub year: i64,
    /// A page of people: whole organisations, in order (the Excel file has everyone).
    pub rows: Vec<OverviewRow>,
    /// Where the next page starts (an organisation's id); none on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
    /// People and those who met every requirement, per audience, in the whole scope (not just this page).
    #[serde(default)]
    pub summary: Vec<AudienceCount>,
    /// The organisations directly below the one shown, to narrow the table to one of them.
    #[serde(default)]
    pub children: Vec<OrgRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OverviewRow {
    pub user_id: i64,
    pub name: String,
    pub org_id: i64,
    pub org_name: String,
    pub audience: Audience,
    pub progress: Vec<Progress>,
    /// Records waiting for 认定 (they do not count yet).
    pub pending: u32,
}

impl OverviewRow {
    /// Every requirement of the person's audience met.
    pub fn met(&self) -> bool {
        self.progress.iter().all(Progress::met)
    }
}

/// One page of the audit log, newest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// One action a lead or admin took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: Millis,
    pub actor: String,
    pub actor_role: Role,
    /// The stored action (`publish_activity`, `recognise_study` …) and what it is called.
    pub action: String,
    pub label: String,
    /// What it was about (an activity, a member, a record, with the reason given).
    pub subject: String,
}

/// Whether a roster row adds a member, changes one, changes nothing, or cannot be imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RowOutcome {
    New,
    Updated,
    Unchanged,
    Problem,
}

impl RowOutcome {
    pub fn label(self) -> &'static str {
        match self {
            RowOutcome::New => "新增",
            RowOutcome::Updated => "更新",
            RowOutcome::Unchanged => "无变化",
            RowOutcome::Problem => "有问题",
        }
    }
}

/// What a roster import found (a dry run) or did. Nothing is written while any row has a problem.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    /// The rows were written (not a dry run, and no row had a problem).
    pub applied: bool,
    pub total: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub problems: usize,
    /// Columns of the file that were not read (an ID-card column is never read or kept).
    #[serde(default)]
    pub ignored_columns: Vec<String>,
    /// Every row that adds, changes or has a problem, in file order (unchanged rows are only counted).
    pub rows: Vec<ImportRow>,
}

/// One row of the spreadsheet and what it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ImportRow {
    /// The row number as the spreadsheet shows it.
    pub line: usize,
    pub name: String,
    pub phone: String,
    pub branch: String,
    pub outcome: RowOutcome,
    /// The problem, or what changes (`支部：一支部 → 二支部`).
    pub detail: String,
    /// The member's account once written (to invite them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<i64>,
}

/// People per page of a long list (members, 完成情况): a page ends after a whole organisation, the first
/// to reach this many; a search answers at most this many.
pub const LIST_PAGE: usize = 500;

/// One page of the members list: whole organisations, in order; `next` is where the next page starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MemberPage {
    pub rows: Vec<MemberRow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<i64>,
}

/// A member as their lead or an admin sees them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MemberRow {
    pub id: i64,
    pub name: String,
    /// In full for the member's own lead and admins (the only people who see this list).
    pub phone: String,
    pub org_id: i64,
    pub org_name: String,
    pub role: Role,
    pub membership: Membership,
    pub post: String,
    pub tags: String,
    /// Has set a password (an imported member has not until they accept an invitation).
    pub joined: bool,
    /// The account is disabled (transferred out, phone lost): no login, not on new rosters.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Has had a password (a new one is a reset: the admins' to issue).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joined_before: bool,
}

/// The public half of a phone's signing key for one person: made in the browser (WebCrypto, the private
/// half not extractable), registered when they log in on that phone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeviceKey {
    pub device_id: String,
    /// The uncompressed P-256 point (65 bytes) in hex.
    pub public_key: String,
}

/// Disable an account, or restore it (the member then joins again with a new invitation).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberAccess {
    pub enabled: bool,
    /// Why (组织关系转出, 手机丢失 …), for the member and the audit log.
    #[serde(default)]
    pub reason: String,
}

/// The signed-in person's new password, with the current one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    pub user_id: i64,
}

/// A one-time invitation: the member opens the link, or types the code on the 加入 page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct Invitation {
    /// `ABCD-EFGH` (no 0/O, 1/I/L).
    pub code: String,
    /// The path to open on the phone (`/join?code=…`).
    pub link: String,
    pub expires_at: Millis,
    pub name: String,
    /// The account already has a password: this invitation sets a new one.
    pub reset: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JoinCheck {
    pub code: String,
}

/// Whose invitation a code is, so the member knows it is theirs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct JoinPreview {
    pub name: String,
    /// Masked (`138****0001`).
    pub phone: String,
    pub org_name: String,
    pub expires_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    pub code: String,
    pub password: String,
    /// The member read and accepted the privacy notice ([`PRIVACY_VERSION`]); required.
    pub privacy_consent: bool,
    /// This browser's device id (see [`LoginRequest::device_id`]).
    #[serde(default)]
    pub device_id: String,
}

/// The privacy notice a consent refers to (bumped when its text changes).
pub const PRIVACY_VERSION: &str = "2026-11";

/// What a 投诉建议 is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FeedbackTopic {
    #[default]
    Suggestion,
    Complaint,
    Help,
    Privacy,
}

impl FeedbackTopic {
    pub const ALL: [FeedbackTopic; 4] = [
        FeedbackTopic::Suggestion,
        FeedbackTopic::Complaint,
        FeedbackTopic::Help,
        FeedbackTopic::Privacy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackTopic::Suggestion => "suggestion",
            FeedbackTopic::Complaint => "complaint",
            FeedbackTopic::Help => "help",
            FeedbackTopic::Privacy => "privacy",
        }
    }

    pub fn parse(s: &str) -> Option<FeedbackTopic> {
        FeedbackTopic::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            FeedbackTopic::Suggestion => "意见建议",
            FeedbackTopic::Complaint => "投诉",
            FeedbackTopic::Help => "使用求助",
            FeedbackTopic::Privacy => "个人信息",
        }
    }
}

/// Longest 投诉建议 or reply, in characters.
pub const MAX_FEEDBACK_CHARS: usize = 2_000;

/// A member's 投诉建议 (also offline: the phone makes the id).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FeedbackEntry {
    pub feedback_id: String,
    pub topic: FeedbackTopic,
    pub body: String,
}

/// A district admin answers a 投诉建议 (a later reply replaces an earlier one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReplyFeedback {
    pub feedback_id: String,
    pub reply: String,
}

/// One 投诉建议 as its author and the district admins see it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct FeedbackView {
    pub id: String,
    pub user_id: i64,
    pub user_name: String,
    pub org_name: String,
    pub topic: FeedbackTopic,
    pub body: String,
    pub created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_at: Option<Millis>,
    pub server_seq: i64,
}

/// What a consent is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    /// The privacy notice (个人信息保护说明).
    #[default]
    Privacy,
    /// Using the phone's location to sign in (only whether it was inside the fence is kept).
    Location,
}

impl ConsentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentKind::Privacy => "privacy",
            ConsentKind::Location => "location",
        }
    }

    pub fn parse(s: &str) -> Option<ConsentKind> {
        [ConsentKind::Privacy, ConsentKind::Location]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            ConsentKind::Privacy => "个人信息保护说明",
            ConsentKind::Location => "位置签到",
        }
    }
}

/// A consent given or withdrawn on the phone (also offline).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub kind: ConsentKind,
    pub granted: bool,
    #[serde(default)]
    pub version: String,
}

/// One consent record as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ConsentRecord {
    pub kind: ConsentKind,
    pub granted: bool,
    pub version: String,
    pub at: Millis,
}

/// 我的信息: everything stored about the signed-in member, as the file they download.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MyData {
    /// Always `hongyan-my-data`.
    pub app: String,
    pub exported_at: Millis,
    pub profile: MyProfile,
    pub attendance: Vec<MyAttendance>,
    pub study: Vec<StudyView>,
    pub consents: Vec<ConsentRecord>,
    pub feedback: Vec<FeedbackView>,
    /// The phones that have sent records, and when each was last seen.
    pub devices: Vec<MyDevice>,
    /// What happened to the account (resets, new passwords, disabled or restored), as sentences.
    #[serde(default)]
    pub account: Vec<String>,
    /// What leads and admins did about this person (the audit log's entries about them).
    #[serde(default)]
    pub audit: Vec<MyAuditEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MyProfile {
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub org_name: String,
    pub membership: Membership,
    pub post: String,
    pub tags: String,
    pub audience: Audience,
    pub host_orgs: Vec<String>,
    pub created_at: Millis,
    /// Their 党小组.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The 流动党员 registration their lead keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<MobileRegistration>,
    /// Approved exemptions (免参加).
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
}

/// One activity on the member's roster and what the record says about them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MyAttendance {
    pub title: String,
    pub kind: ActivityKind,
    pub starts_at: Millis,
    /// The roster row as the lead sees it: status, leave category and reason, location outcome,
    /// when it arrived …
    pub row: AttendanceView,
    /// What the lead was told about the sign-in (not proven by its code, time doubtful …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// An action a lead or admin took about this person, from the audit log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MyAuditEntry {
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub subject: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MyDevice {
    pub device_id: String,
    pub records: i64,
    pub last_seen: Millis,
}

impl MyData {
    pub const APP: &'static str = "hongyan-my-data";
}

/// The district view of one organisation (and everything below it) for a period: one row per branch in
/// tree order — a table to follow up, never a ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct DistrictView {
    pub org_id: i64,
    pub org_name: String,
    /// `2026年第4季度`
    pub period: String,
    pub year: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarter: Option<u32>,
    /// Members without participation for this long are counted as quiet.
    pub quiet_after_days: i64,
    pub branches: Vec<BranchRow>,
    /// 学时 completion over all branches, by audience.
    pub study: Vec<AudienceCount>,
    /// The organisations directly below this one, to drill down.
    pub children: Vec<OrgRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<OrgRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OrgRef {
    pub id: i64,
    pub name: String,
}

/// One branch in the district view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct BranchRow {
    pub org_id: i64,
    pub org_name: String,
    /// Members whose home branch this is.
    pub members: u32,
    /// Activities held (not cancelled, started) in the period, of every kind.
    pub held: u32,
    /// Against the calendar (三会一课 and the rest).
    pub rules: Vec<crate::district::RuleCheck>,
    /// Over the period's activities: expected (应到, exemptions not counted) and present (实到).
    pub expected: u32,
    pub present: u32,
    /// Sign-ins the lead has not confirmed yet.
    pub unconfirmed: u32,
    /// Members without participation anywhere for the quiet period (a count for everyone)…
    pub quiet: u32,
    /// …and their names, only for the branch's own lead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quiet_names: Vec<String>,
    /// 学时 completion for the year, by audience.
    pub study: Vec<AudienceCount>,
}

/// How many people of one audience there are and how many have met every requirement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct AudienceCount {
    pub audience: Audience,
    pub people: u32,
    pub met: u32,
}

/// One organisation in the tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OrgNode {
    pub id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<i64>,
    pub name: String,
    pub form: crate::org::OrgForm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<String>,
    /// Members whose home it is.
    pub members: u32,
    /// Organisations directly below.
    pub children: u32,
    /// Who administers it: a 党委's committee admins, the 区委组织部's district admins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admins: Vec<OrgAdmin>,
}

/// A committee or district admin, as the tree lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OrgAdmin {
    pub id: i64,
    pub name: String,
    pub phone: String,
    /// Has set a password (accepted their invitation).
    pub joined: bool,
}

/// A district admin names a 党委's admin: a work account of its own, invited like a member.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewOrgAdmin {
    pub name: String,
    pub phone: String,
}

/// An organisation as the admin writes it (new, or an edit: rename, move, dates).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrgEntry {
    pub parent_id: i64,
    pub name: String,
    pub form: crate::org::OrgForm,
    #[serde(default)]
    pub starts_on: Option<String>,
    #[serde(default)]
    pub ends_on: Option<String>,
}

/// A member's record as the organisation keeps it; what their lead or an admin edits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberProfile {
    pub membership: Membership,
    /// 书记 / 副书记 / 组织委员 make the member their branch's lead.
    #[serde(default)]
    pub post: String,
    /// 流动党员 / 挂职干部 / 干部, joined by `、`.
    #[serde(default)]
    pub tags: String,
    pub audience: Audience,
    /// Branches they attend besides their home branch (一方隶属、参加多重组织生活).
    #[serde(default)]
    pub host_org_ids: Vec<i64>,
    /// Their 党小组 in the home branch, when it has groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// The 流动党员 registration, when they are one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<MobileRegistration>,
    /// Approved exemptions (免参加 while they last).
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
}

/// 流动党员登记: where they went, for whom, when, their 《流动党员活动证》, and the last contact.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MobileRegistration {
    /// 外出地点 (e.g. 上海市浦东新区).
    pub destination: String,
    /// 工作单位或项目.
    #[serde(default)]
    pub employer: String,
    /// `2026-03-01`
    pub starts_on: String,
    #[serde(default)]
    pub ends_on: String,
    /// 《流动党员活动证》 number and valid-until date.
    #[serde(default)]
    pub card_no: String,
    #[serde(default)]
    pub card_valid_until: String,
    /// 最近联系日期.
    #[serde(default)]
    pub last_contact_on: String,
}

/// An approved exemption: 疾病, 孕产, 年老体弱, 出国（境） … until the end of a day.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    pub reason: String,
    /// `2026-12-31` (the last day it covers).
    pub until: String,
}

/// A member's record with who they are, as their lead or an admin reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct MemberDetail {
    pub member: MemberRow,
    pub profile: MemberProfile,
    /// The branches they may be hosted by (every branch but their home).
    pub branches: Vec<OrgRef>,
    /// Their home branch's 党小组.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<OrgRef>,
}
