//! The wire contract between the phone and the server: paths, request and response bodies, the error shape.
//!
//! Written once and compiled into both sides, so a field cannot be renamed on one side only. The server also
//! derives the OpenAPI schema from these types (`/api/v1/openapi.json`). One file per feature, all
//! re-exported here: callers write `api::Mutation`, whichever file holds it.

use serde::{Deserialize, Serialize};

use crate::life::{
    ActivityMode, ActivityState, Decision, Fence, LeaveCategory, LocationCheck, RequestKind,
};
use crate::model::{ActivityKind, AttendanceStatus, Membership, Millis, Role};
use crate::study::{Audience, Hours, Programme, Progress, StudyKind, StudyRules, StudyStatus};

mod accounts;
mod district;
mod life;
mod orgs;
mod rights;
mod study;
mod sync;

pub use accounts::*;
pub use district::*;
pub use life::*;
pub use orgs::*;
pub use rights::*;
pub use study::*;
pub use sync::*;

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
    /// The settings phones receive, set by the district admin.
    pub const SETTINGS: &str = "/api/v1/settings";
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
/// [`ErrorBody::code`] of a push from a copy of a history the server no longer has (a restore).
pub const HISTORY_CHANGED: &str = "history_changed";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub message: String,
    /// For the app to act on: `otp_required` when a login needs the 6-digit code of an authenticator;
    /// [`HISTORY_CHANGED`] when a push comes from a copy of a history the server no longer has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}
