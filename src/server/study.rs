//! The study ledger on the server: records and reviews arriving in pushes (by the rules in
//! [`crate::study`]), the record a confirmed attendance earns, who sees and reviews whose records, the
//! district's study rules, evidence photos, and the overview of who has met their requirement.
//!
//! Reviewers: the branch lead recognises the records of the members of their branch; the district admin
//! those of cadres (乡科级 / 县处级) and of leads — nobody their own.

use std::collections::HashMap;

use crate::server::db::Conn;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde::Deserialize;

use super::applying::{Applying, Outcome, refuse};
use super::auth::{CurrentUser, Person};
use super::db::{LIST_PAGE, ORG_SCOPE, Sequence, audit, now_ms, resume_at, scope_orgs};
use super::life::register::attachment;
use super::{AppError, AppState, Deferred};
use crate::api::{
    AudienceCount, ErrorBody, Evidence, OrgRef, OverviewRow, ReviewStudy, StudyEntry,
    StudyOverview, StudyView, WithdrawStudy, paths,
};
use crate::model::{ActivityKind, AttendanceStatus, LocalTime, Role, is_uuid};
use crate::study::{
    self, Audience, Credit, Day, Hours, MAX_EVIDENCE_CHARS, PhotoProblem, Programme, Progress,
    StudyKind, StudyRules, StudyStatus, check_editable, check_entry,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::STUDY_RULES, get(get_rules).put(put_rules))
        .route(paths::STUDY_OVERVIEW, get(overview))
        .route(
            paths::EVIDENCE,
            get(get_evidence)
                .put(put_evidence)
                .layer(DefaultBodyLimit::max(EVIDENCE_BODY_LIMIT)),
        )
}

const EVIDENCE_BODY_LIMIT: usize = MAX_EVIDENCE_CHARS + 1_024;
/// Photos one person may keep on the server, in bytes of data URL (a hundred shrunk photos).
const MAX_EVIDENCE_BYTES_PER_PERSON: i64 = 40 * 1024 * 1024;

mod apply;
mod evidence;
mod overview;
mod pull;
mod review;
mod rules;

pub use apply::*;
pub use evidence::*;
pub use overview::*;
pub use pull::*;
pub use review::*;
pub use rules::*;
