//! Members' rights: 投诉建议 (feedback and replies), consents, and 我的信息 (what the server holds on a person).

use super::*;

crate::model::choices!(FeedbackTopic);
crate::model::wire_names!(FeedbackTopic, ConsentKind);

/// The privacy notice a consent refers to (bumped when its text changes).
pub const PRIVACY_VERSION: &str = "2026-11";

/// What a 投诉建议 is about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", try_from = "String")]
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
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ConsentKind {
    /// The privacy notice (个人信息保护说明).
    #[default]
    Privacy,
    /// Using the phone's location to sign in (only whether it was inside the fence is kept).
    Location,
}

impl ConsentKind {
    pub const ALL: [ConsentKind; 2] = [ConsentKind::Privacy, ConsentKind::Location];

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
