//! The study ledger on the wire: study records, reviews, evidence and the overview of 完成情况.

use super::*;

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
