//! The district view: which branches held which meetings, and who is counted.

use super::*;

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
