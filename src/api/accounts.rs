//! Logging in, accounts, members and their profiles, invitations and joining, importing the roster.

use super::*;

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
#[cfg_attr(feature = "server", derive(utoipa::ToSchema, sqlx::FromRow))]
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
