//! The organisation tree, its admins, and the admins' audit log.

use super::*;

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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct OrgRef {
    pub id: i64,
    pub name: String,
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
