//! The study ledger on the server: records and reviews arriving in pushes (by the rules in
//! [`crate::study`]), the record a confirmed attendance earns, who sees and reviews whose records, the
//! district's study rules, evidence photos, and the overview of who has met their requirement.
//!
//! Reviewers: the branch lead recognises the records of the members of their branch; the district admin
//! those of cadres (乡科级 / 县处级) and of leads — nobody their own.

use std::collections::HashMap;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde::Deserialize;
use sqlx::SqliteConnection;

use super::applying::{Applying, Outcome, refuse};
use super::auth::{CurrentUser, Person};
use super::db::{LIST_PAGE, ORG_SCOPE, Sequence, audit, now_ms, resume_at, scope_orgs};
use super::register::attachment;
use super::{AppError, AppState};
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

// ---------------------------------------------------------------------------------------------------
// Who reviews whose records

/// The author of a record, as scope rules need them.
pub struct Author {
    pub id: i64,
    pub role: Role,
    pub org_id: i64,
    pub audience: Audience,
}

impl Author {
    /// From the columns `users.id, role, org_id, audience`.
    fn stored(id: i64, role: &str, org_id: i64, audience: &str) -> Author {
        Author {
            id,
            role: Role::parse(role).unwrap_or(Role::Member),
            org_id,
            audience: Audience::parse(audience).unwrap_or_default(),
        }
    }
}

/// Whether `reviewer` recognises `author`'s records. [`reviewable_sql`] says the same in SQL.
pub fn may_review(reviewer: Person, author: &Author) -> bool {
    if reviewer.id == author.id {
        return false;
    }
    let district_reviews = author.audience.is_cadre() || author.role != Role::Member;
    match reviewer.role {
        Role::Admin => district_reviews,
        Role::Lead => author.org_id == reviewer.org_id && !district_reviews,
        // 学时 are recognised by the branch or by the 区委组织部, not by a 党委's admin.
        Role::Committee | Role::Member => false,
    }
}

/// [`may_review`] as a condition on the author `u`, with the reviewer's org as `?org`.
fn reviewable_sql(role: Role) -> &'static str {
    match role {
        Role::Admin => "(u.audience IN ('township', 'county') OR u.role != 'member')",
        Role::Lead => {
            "(u.org_id = ?org AND u.role = 'member' AND u.audience IN ('member', 'secretary'))"
        }
        Role::Committee | Role::Member => "0",
    }
}

const REVIEW_SCOPE: &str = "只能认定本支部党员的学习记录；干部和书记的学时由区委组织部认定";

// ---------------------------------------------------------------------------------------------------
// Records arriving in pushes

/// The district's rules as stored, or the defaults.
pub async fn load_rules(conn: &mut SqliteConnection) -> Result<StudyRules, sqlx::Error> {
    let json: Option<String> = sqlx::query_scalar("SELECT rules FROM study_rules WHERE id = 1")
        .fetch_optional(conn)
        .await?;
    Ok(json
        .and_then(|j| {
            serde_json::from_str(&j)
                .inspect_err(|e| tracing::error!("stored study rules unreadable: {e}"))
                .ok()
        })
        .unwrap_or_default())
}

/// A new record or an edit by its author. An edit of a recognised record is refused with the reason
/// (the author's phone keeps it, quarantined); a returned or withdrawn one is open again.
pub async fn save(conn: &mut SqliteConnection, e: &StudyEntry, ap: &Applying<'_>) -> Outcome {
    let by = ap.author;
    if !is_uuid(&e.study_id) {
        return Err(refuse("记录编号无效".to_owned()));
    }
    let rules = load_rules(conn).await?;
    let hours = match e.days {
        Some(days) => Hours::from_days(days, rules.day_hours),
        None => e.hours,
    };
    let today = Day::of_millis(ap.now);
    let checked = check_entry(
        &e.title,
        &e.organiser,
        &e.notes,
        &e.starts_on,
        &e.ends_on,
        hours,
        today,
    );
    let (from, to) = match checked {
        Ok(days) => days,
        Err(why) => return Err(refuse(why)),
    };
    if let Some((owner, status)) = stored(conn, &e.study_id).await? {
        if owner != by.id {
            return Err(refuse("记录编号与他人的记录冲突".to_owned()));
        }
        if let Err(why) = check_editable(status) {
            return Err(refuse(why.to_owned()));
        }
    }
    let status = if e.submit {
        StudyStatus::Pending
    } else {
        StudyStatus::Draft
    };
    sqlx::query(
        "INSERT INTO study_records (id, user_id, kind, title, organiser, starts_on, ends_on, hours, days,
                                   programme, notes, status, created_at, server_seq, carried_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
             organiser = excluded.organiser, starts_on = excluded.starts_on, ends_on = excluded.ends_on,
             hours = excluded.hours, days = excluded.days, programme = excluded.programme,
             notes = excluded.notes, status = excluded.status, credited = 0, version = version + 1,
             server_seq = excluded.server_seq, carried_by = excluded.carried_by",
    )
    .bind(&e.study_id)
    .bind(by.id)
    .bind(e.kind.as_str())
    .bind(e.title.trim())
    .bind(e.organiser.trim())
    .bind(from.iso())
    .bind(to.iso())
    .bind(hours.0)
    .bind(e.days.map(|d| d.0))
    .bind(e.programme.map(Programme::as_str))
    .bind(e.notes.trim())
    .bind(status.as_str())
    .bind(ap.now)
    .bind(ap.seq)
    .bind(ap.imported_by.filter(|_| ap.carried_unsigned))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn stored(
    conn: &mut SqliteConnection,
    id: &str,
) -> Result<Option<(i64, StudyStatus)>, sqlx::Error> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT user_id, status FROM study_records WHERE id = ?")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(owner, s)| (owner, StudyStatus::parse(&s).unwrap_or_default())))
}

/// The author takes back a record not yet recognised.
pub async fn withdraw(
    conn: &mut SqliteConnection,
    w: &WithdrawStudy,
    ap: &Applying<'_>,
) -> Outcome {
    let Some((owner, status)) = stored(conn, &w.study_id).await? else {
        return Err(refuse("学习记录不存在".to_owned()));
    };
    if owner != ap.author.id {
        return Err(refuse("只能撤回本人的学习记录".to_owned()));
    }
    if let Err(why) = check_editable(status) {
        return Err(refuse(why.to_owned()));
    }
    sqlx::query(
        "UPDATE study_records SET status = 'withdrawn', version = version + 1, server_seq = ? WHERE id = ?",
    )
    .bind(ap.seq)
    .bind(&w.study_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A reviewer recognises or returns a record, judged by [`study::review`]; audited.
pub async fn review(conn: &mut SqliteConnection, r: &ReviewStudy, ap: &Applying<'_>) -> Outcome {
    type Row = (String, u32, u32, i64, String, i64, String, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.status, s.version, s.hours, u.id, u.role, u.org_id, u.audience, s.carried_by
         FROM study_records s JOIN users u ON u.id = s.user_id WHERE s.id = ?",
    )
    .bind(&r.study_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((status, version, hours, id, role, org_id, audience, carried_by)) = row else {
        return Err(refuse("学习记录不存在".to_owned()));
    };
    let author = Author::stored(id, &role, org_id, &audience);
    if !may_review(ap.author, &author) {
        return Err(refuse(REVIEW_SCOPE.to_owned()));
    }
    // Whoever carried an unsigned record in could have written it: someone else recognises it.
    if carried_by == Some(ap.author.id) {
        return Err(refuse(
            "这条学习记录是您代为导入的（未经本人签名），须由其他审核人认定".to_owned(),
        ));
    }
    let status = StudyStatus::parse(&status).unwrap_or_default();
    let next = match study::review(
        status,
        r.version,
        version,
        Hours(hours),
        r.credited,
        &r.comment,
    ) {
        Ok(next) => next,
        Err(why) => return Err(refuse(why.to_owned())),
    };
    let credited = r.credited.unwrap_or(Hours::ZERO);
    let comment = r.comment.trim();
    sqlx::query(
        "UPDATE study_records SET status = ?, credited = ?, comment = ?, reviewed_by = ?, reviewed_at = ?,
                                  version = version + 1, server_seq = ?
         WHERE id = ?",
    )
    .bind(next.as_str())
    .bind(credited.0)
    .bind(comment)
    .bind(ap.author.id)
    .bind(ap.now)
    .bind(ap.seq)
    .bind(&r.study_id)
    .execute(&mut *conn)
    .await?;
    let (action, subject) = match next {
        StudyStatus::Recognised => (
            "recognise_study",
            format!("{}：认定{credited}学时（申报{}）", r.study_id, Hours(hours)),
        ),
        _ => ("return_study", format!("{}：退回（{comment}）", r.study_id)),
    };
    ap.audit(conn, action, &subject, Some(author.id)).await?;
    Ok(())
}

/// The record a confirmed attendance earns when the activity carries 学时: recognised at once (the lead's
/// confirmation is the organiser's), once per member and activity whatever confirms it.
pub async fn credit_attendance(
    conn: &mut SqliteConnection,
    activity_id: &str,
    member_id: i64,
    status: AttendanceStatus,
    ap: &Applying<'_>,
) -> Result<(), sqlx::Error> {
    if !matches!(
        status,
        AttendanceStatus::Confirmed | AttendanceStatus::Online | AttendanceStatus::MadeUp
    ) {
        return Ok(());
    }
    let row: Option<(String, String, i64, i64, u32, String)> = sqlx::query_as(
        "SELECT a.kind, a.title, a.starts_at, a.ends_at, a.study_halves, o.name
         FROM activities a JOIN orgs o ON o.id = a.org_id WHERE a.id = ? AND a.study_halves > 0",
    )
    .bind(activity_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((kind, title, starts_at, ends_at, halves, org_name)) = row else {
        return Ok(());
    };
    let kind = StudyKind::of_activity(ActivityKind::parse(&kind).unwrap_or_default());
    // Recognised at once only when the lead who confirmed may recognise this member's 学时; a co-lead's or
    // a cadre's attendance waits, 待认定, for the district admin like any record of theirs.
    let (role, org_id, audience): (String, i64, String) =
        sqlx::query_as("SELECT role, org_id, audience FROM users WHERE id = ?")
            .bind(member_id)
            .fetch_one(&mut *conn)
            .await?;
    let recognised = may_review(
        ap.author,
        &Author::stored(member_id, &role, org_id, &audience),
    );
    let (status, credited, comment, reviewed_by, reviewed_at) = if recognised {
        (
            "recognised",
            halves,
            "参加组织生活，书记确认出席",
            Some(ap.author.id),
            Some(ap.now),
        )
    } else {
        (
            "pending",
            0,
            "参加组织生活，书记确认出席，待认定学时",
            None,
            None,
        )
    };
    sqlx::query(
        "INSERT INTO study_records (id, user_id, kind, title, organiser, starts_on, ends_on, hours, status,
                                   credited, comment, reviewed_by, reviewed_at, activity_id, created_at, server_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(format!("activity-{activity_id}-{member_id}"))
    .bind(member_id)
    .bind(kind.as_str())
    .bind(title)
    .bind(org_name)
    .bind(Day::of_millis(starts_at).iso())
    .bind(Day::of_millis(ends_at).iso())
    .bind(halves)
    .bind(status)
    .bind(credited)
    .bind(comment)
    .bind(reviewed_by)
    .bind(reviewed_at)
    .bind(activity_id)
    .bind(ap.now)
    .bind(ap.seq)
    .execute(conn)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Pulls

/// A record as stored, with its author's and reviewer's names.
#[derive(sqlx::FromRow)]
struct StudyRecord {
    id: String,
    user_id: i64,
    user_name: String,
    org_name: String,
    audience: String,
    kind: String,
    title: String,
    organiser: String,
    starts_on: String,
    ends_on: String,
    hours: u32,
    days: Option<u32>,
    programme: Option<String>,
    notes: String,
    status: String,
    credited: u32,
    comment: String,
    reviewer: Option<String>,
    reviewed_at: Option<i64>,
    activity_id: Option<String>,
    has_evidence: bool,
    version: u32,
    server_seq: i64,
}

impl StudyRecord {
    fn view(self) -> Result<StudyView, AppError> {
        let bad = |what: &str| AppError::Internal(format!("study record {} has {what}", self.id));
        Ok(StudyView {
            audience: Audience::parse(&self.audience).ok_or_else(|| bad(&self.audience))?,
            kind: StudyKind::parse(&self.kind).ok_or_else(|| bad(&self.kind))?,
            status: StudyStatus::parse(&self.status).ok_or_else(|| bad(&self.status))?,
            programme: self.programme.as_deref().and_then(Programme::parse),
            id: self.id,
            user_id: self.user_id,
            user_name: self.user_name,
            org_name: self.org_name,
            title: self.title,
            organiser: self.organiser,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            hours: Hours(self.hours),
            days: self.days.map(Hours),
            notes: self.notes,
            credited: Hours(self.credited),
            comment: self.comment,
            reviewer: self.reviewer.unwrap_or_default(),
            reviewed_at: self.reviewed_at,
            activity_id: self.activity_id,
            has_evidence: self.has_evidence,
            version: self.version,
            server_seq: self.server_seq,
        })
    }
}

/// Study records this user may see that changed in (cursor, upto], the first `limit` by sequence: their
/// own, and — for a reviewer — the submitted records of those they review (drafts stay private).
/// Study records as [`StudyRecord`] reads them; add `WHERE …`.
const SELECT_STUDY: &str = "SELECT s.id, s.user_id, u.name AS user_name, o.name AS org_name, u.audience,
        s.kind, s.title, s.organiser, s.starts_on, s.ends_on, s.hours, s.days, s.programme, s.notes, s.status,
        s.credited, s.comment, r.name AS reviewer, s.reviewed_at, s.activity_id,
        e.study_id IS NOT NULL AS has_evidence, s.version, s.server_seq
    FROM study_records s JOIN users u ON u.id = s.user_id JOIN orgs o ON o.id = u.org_id
         LEFT JOIN users r ON r.id = s.reviewed_by LEFT JOIN study_evidence e ON e.study_id = s.id";

/// Every study record of one person (drafts too), oldest first: for 我的信息.
pub async fn own_study(
    conn: &mut SqliteConnection,
    user_id: i64,
) -> Result<Vec<StudyView>, AppError> {
    let rows: Vec<StudyRecord> = sqlx::query_as(&format!(
        "{SELECT_STUDY} WHERE s.user_id = ? ORDER BY s.starts_on, s.id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StudyRecord::view).collect()
}

/// The query of [`study_since`] for a role: two index searches, the person's own records (?1) and those
/// they may review (their organisation ?2); (?3, ?4] the sequence range, ?5 the limit.
pub fn study_since_sql(role: Role) -> String {
    let scope = reviewable_sql(role).replace("?org", "?2");
    let from = SELECT_STUDY.replace(
        "FROM study_records s",
        "FROM keys k CROSS JOIN study_records s ON s.rowid = k.id",
    );
    format!(
        "WITH keys(id) AS (
             SELECT rowid FROM study_records WHERE user_id = ?1 AND server_seq > ?3 AND server_seq <= ?4
             UNION SELECT s.rowid FROM study_records s JOIN users u ON u.id = s.user_id
             WHERE s.status != 'draft' AND {scope} AND s.server_seq > ?3 AND s.server_seq <= ?4)
         {from}
         ORDER BY s.server_seq LIMIT ?5"
    )
}

pub async fn study_since(
    conn: &mut SqliteConnection,
    user: &CurrentUser,
    cursor: i64,
    upto: i64,
    limit: Option<usize>,
) -> Result<Vec<StudyView>, AppError> {
    let rows: Vec<StudyRecord> = sqlx::query_as(&study_since_sql(user.role))
        .bind(user.id)
        .bind(user.org_id)
        .bind(cursor)
        .bind(upto)
        .bind(super::activities::sql_limit(limit))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(StudyRecord::view).collect()
}

// ---------------------------------------------------------------------------------------------------
// Rules

/// The district's study rules (also sent with every pull).
#[utoipa::path(get, path = paths::STUDY_RULES, tag = "study", security(("bearer" = [])),
    responses((status = 200, body = StudyRules), (status = 401, body = ErrorBody)))]
pub async fn get_rules(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<StudyRules>, AppError> {
    let mut conn = state.db.reader.acquire().await?;
    Ok(Json(load_rules(&mut conn).await?))
}

/// The district admin changes the study rules: requirements per audience and period, the day→学时 factor,
/// per-kind caps. Phones receive them with their next pull.
#[utoipa::path(put, path = paths::STUDY_RULES, tag = "study", security(("bearer" = [])), request_body = StudyRules,
    responses((status = 200, body = StudyRules), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_rules(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<StudyRules>, JsonRejection>,
) -> Result<Json<StudyRules>, AppError> {
    if user.role != Role::Admin {
        return Err(AppError::Forbidden("只有区委组织部管理员可以修改学时要求"));
    }
    let Json(mut rules) = body?;
    rules.check().map_err(AppError::BadRequest)?;
    for r in &mut rules.requirements {
        r.name = r.name.trim().to_owned();
    }
    let json = serde_json::to_string(&rules).map_err(|e| AppError::Internal(e.to_string()))?;
    let now = now_ms();
    let mut tx = state.db.writer.begin().await?;
    sqlx::query(
        "INSERT INTO study_rules (id, rules, updated_by, updated_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, updated_by = excluded.updated_by,
                                        updated_at = excluded.updated_at",
    )
    .bind(&json)
    .bind(user.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, now, user.id, "study_rules", &json, None).await?;
    tx.commit().await?;
    Ok(Json(rules))
}

// ---------------------------------------------------------------------------------------------------
// Evidence

fn check_data_url(data_url: &str) -> Result<(), AppError> {
    study::check_photo(data_url).map_err(|problem| match problem {
        PhotoProblem::NotAPhoto => {
            AppError::BadRequest("证明材料应为照片（JPEG、PNG或WebP）".to_owned())
        }
        PhotoProblem::TooLarge => AppError::PayloadTooLarge,
        PhotoProblem::Damaged => AppError::BadRequest("照片数据无效，请重新选择".to_owned()),
    })
}

/// The author attaches (or replaces) the photo of a certificate while the record is not yet recognised.
#[utoipa::path(put, path = paths::EVIDENCE, tag = "study", security(("bearer" = [])), request_body = Evidence,
    params(("id" = String, Path, description = "Study record id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn put_evidence(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<Evidence>, JsonRejection>,
) -> Result<Response, AppError> {
    let Path(id) = id?;
    let Json(evidence) = body?;
    check_data_url(&evidence.data_url)?;
    let mut tx = state.db.writer.begin().await?;
    let (owner, status) = stored(&mut tx, &id)
        .await?
        .ok_or(AppError::NotFound("学习记录还没有上传，请稍后再试"))?;
    if owner != user.id {
        return Err(AppError::Forbidden("只能为本人的学习记录上传证明材料"));
    }
    if check_editable(status).is_err() {
        return Err(AppError::Conflict("该学习记录已认定，不能再更换证明材料"));
    }
    // A quota per person: photos are the one thing members upload in bulk.
    let others: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(length(e.data_url)), 0) FROM study_evidence e JOIN study_records r ON r.id = e.study_id
         WHERE r.user_id = ? AND e.study_id != ?",
    )
    .bind(user.id)
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    if others + evidence.data_url.len() as i64 > MAX_EVIDENCE_BYTES_PER_PERSON {
        return Err(AppError::Conflict(
            "您上传的证明材料已达上限（约40MB），请删除不需要的照片或联系管理员",
        ));
    }
    let now = now_ms();
    let mut seq = Sequence::begin(&mut tx).await?;
    sqlx::query(
        "INSERT INTO study_evidence (study_id, data_url, uploaded_at) VALUES (?, ?, ?)
         ON CONFLICT (study_id) DO UPDATE SET data_url = excluded.data_url, uploaded_at = excluded.uploaded_at",
    )
    .bind(&id)
    .bind(&evidence.data_url)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // The record moves forward so that reviewers' phones learn that it has a photo now.
    sqlx::query("UPDATE study_records SET server_seq = ? WHERE id = ?")
        .bind(seq.take())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    seq.save(&mut tx).await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// The photo of a record, for its author and its reviewers.
#[utoipa::path(get, path = paths::EVIDENCE, tag = "study", security(("bearer" = [])),
    params(("id" = String, Path, description = "Study record id")),
    responses((status = 200, body = Evidence), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_evidence(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Evidence>, AppError> {
    let Path(id) = id?;
    let mut conn = state.db.reader.acquire().await?;
    type Row = (i64, String, i64, String, Option<String>);
    let (author_id, role, org_id, audience, data_url): Row = sqlx::query_as(
        "SELECT u.id, u.role, u.org_id, u.audience, e.data_url
         FROM study_records s JOIN users u ON u.id = s.user_id LEFT JOIN study_evidence e ON e.study_id = s.id
         WHERE s.id = ?",
    )
    .bind(&id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound("学习记录不存在"))?;
    let author = Author::stored(author_id, &role, org_id, &audience);
    if author.id != user.id && !may_review(user.person(), &author) {
        return Err(AppError::Forbidden("只能查看本人或本人负责认定的证明材料"));
    }
    let data_url = data_url.ok_or(AppError::NotFound("该记录没有证明材料"))?;
    Ok(Json(Evidence { data_url }))
}

// ---------------------------------------------------------------------------------------------------
// Overview

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OverviewQuery {
    /// The calendar year (default: this year).
    pub year: Option<i64>,
    /// An organisation to drill down to (with everything below it); the admin's default is the district.
    pub org: Option<i64>,
    /// `json` (default) or `xlsx`.
    #[serde(default)]
    pub format: String,
    /// Where this page starts: the `next` of the page before (JSON only; the Excel file has everyone).
    pub from: Option<i64>,
}

/// Who in the reviewer's scope has met their study requirement for a year and who is behind, by how much.
/// Rows are in organisation and name order — a table to follow up, never a ranking.
#[utoipa::path(get, path = paths::STUDY_OVERVIEW, tag = "study", security(("bearer" = [])), params(OverviewQuery),
    responses((status = 200, body = StudyOverview, description = "JSON, or an .xlsx file with format=xlsx"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn overview(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<OverviewQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = query?;
    let year = q.year.unwrap_or_else(|| Day::of_millis(now_ms()).year());
    if !(2000..=2100).contains(&year) {
        return Err(AppError::BadRequest("年份无效".to_owned()));
    }
    if !matches!(q.format.as_str(), "" | "json" | "xlsx") {
        return Err(AppError::BadRequest(
            "format 只能是 json 或 xlsx".to_owned(),
        ));
    }
    let mut conn = state.db.reader.acquire().await?;
    let root = user
        .scope(
            &mut conn,
            q.org,
            "只有书记和管理员可以查看学时完成情况",
            "只能查看本支部或本党委范围内的学时完成情况",
        )
        .await?;
    if q.format == "xlsx" {
        let rows = study_rows(&mut conn, root, year).await?;
        let overview = StudyOverview {
            year,
            rows,
            ..StudyOverview::default()
        };
        let body =
            overview_xlsx(&overview).map_err(|e| AppError::Internal(format!("xlsx: {e}")))?;
        let date = LocalTime::from_millis(now_ms());
        let stem = format!(
            "学时完成情况-{year}年-导出{:04}{:02}{:02}",
            date.year, date.month, date.day
        );
        state.security.log(
            "export",
            serde_json::json!({"by": user.id, "what": "study_overview", "org": root, "year": year, "rows": overview.rows.len()}),
        );
        return Ok(attachment("xlsx", &stem, body));
    }
    // A page: whole organisations from `from` on, until LIST_PAGE people; the summary counts everyone.
    let orgs = scope_orgs(&mut conn, root).await?;
    if orgs.is_empty() {
        return Err(AppError::NotFound("组织不存在"));
    }
    let first = resume_at(&orgs, q.from);
    let (mut page, mut people, mut next) = (Vec::new(), 0, None);
    for &org in &orgs[first..] {
        if people >= LIST_PAGE as i64 {
            next = Some(org);
            break;
        }
        people += sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM users WHERE org_id = ? AND role NOT IN ('admin', 'committee')",
        )
        .bind(org)
        .fetch_one(&mut *conn)
        .await?;
        page.push(org);
    }
    let rows = study_rows_in(&mut conn, &page, year).await?;
    // The summary and the organisations below come with the first page only (the next ones add rows).
    let (mut summary, mut children) = (Vec::new(), Vec::new());
    if q.from.is_none() {
        summary = audience_counts(
            study_counts(&mut conn, root, year)
                .await?
                .into_iter()
                .map(|((_, audience), counts)| (audience, counts)),
        );
        children = sqlx::query_as(
            "SELECT id, name FROM orgs
             WHERE parent_id = (SELECT id FROM orgs WHERE (?1 IS NULL AND parent_id IS NULL) OR id = ?1 LIMIT 1)
               AND kind != 'group'
             ORDER BY id",
        )
        .bind(root)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(id, name)| OrgRef { id, name })
        .collect();
    }
    Ok(Json(StudyOverview {
        year,
        rows,
        next,
        summary,
        children,
    })
    .into_response())
}

/// People, and how many of them met every requirement of the year.
pub type Tally = (u32, u32);

/// The query of [`study_counts`] counting people (?1 the organisation, `NULL` the district) by organisation
/// and audience, from an index alone (see the 0008 migration).
pub fn people_counts_sql() -> String {
    format!(
        "{ORG_SCOPE} SELECT u.org_id, u.audience, count(*) FROM users u
         WHERE u.org_id IN scope AND u.role IN ('member', 'lead') GROUP BY u.org_id, u.audience"
    )
}

/// The query of [`study_counts`] for recognised study of the people of ?1 and below: a probe of an index
/// per person, a row read only for what was recognised.
pub fn recognised_sql() -> String {
    format!(
        "{ORG_SCOPE} SELECT u.id, u.org_id, u.audience, s.kind, s.starts_on, s.ends_on, s.credited
         FROM users u JOIN study_records s ON s.user_id = u.id
         WHERE u.org_id IN scope AND u.role IN ('member', 'lead') AND s.status = 'recognised'"
    )
}

/// For the district view: per organisation in `root` and below, per audience, how many people there are
/// and how many met every requirement of `year`. Counted from the people grouped by organisation and
/// audience, and from the people who have recognised records, so it costs the organisations and records
/// there are rather than one row per person.
pub async fn study_counts(
    conn: &mut SqliteConnection,
    root: Option<i64>,
    year: i64,
) -> Result<HashMap<(i64, Audience), Tally>, AppError> {
    let rules = load_rules(&mut *conn).await?;
    let groups: Vec<(i64, String, u32)> = sqlx::query_as(&people_counts_sql())
        .bind(root)
        .fetch_all(&mut *conn)
        .await?;
    let records: Vec<(i64, i64, String, String, String, String, u32)> =
        sqlx::query_as(&recognised_sql())
            .bind(root)
            .fetch_all(&mut *conn)
            .await?;
    let mut credits: HashMap<(i64, i64, Audience), Vec<Credit>> = HashMap::new();
    for (user_id, org_id, audience, kind, from, to, credited) in records {
        let (Some(kind), Some(starts_on), Some(ends_on)) =
            (StudyKind::parse(&kind), Day::parse(&from), Day::parse(&to))
        else {
            continue;
        };
        let audience = Audience::parse(&audience).unwrap_or_default();
        credits
            .entry((user_id, org_id, audience))
            .or_default()
            .push(Credit {
                kind,
                starts_on,
                ends_on,
                hours: Hours(credited),
            });
    }
    let met = |audience, credits: &[Credit]| {
        rules
            .progress(audience, year, credits)
            .iter()
            .all(Progress::met)
    };
    // Everyone starts as someone without records; those with records are then moved to their own answer.
    let mut counts: HashMap<(i64, Audience), Tally> = HashMap::new();
    for (org_id, audience, people) in groups {
        let audience = Audience::parse(&audience).unwrap_or_default();
        let c = counts.entry((org_id, audience)).or_default();
        c.0 += people;
        c.1 += if met(audience, &[]) { people } else { 0 };
    }
    for ((_, org_id, audience), mine) in credits {
        let c = counts.entry((org_id, audience)).or_default();
        // (Saturating: a person moved between the two reads above may be missing from the first.)
        c.1 = c.1.saturating_sub(u32::from(met(audience, &[]))) + u32::from(met(audience, &mine));
    }
    Ok(counts)
}

/// People and those who met every requirement, per audience that has anyone, from (some of) the counts of
/// [`study_counts`].
pub fn audience_counts(counts: impl IntoIterator<Item = (Audience, Tally)>) -> Vec<AudienceCount> {
    let mut out: Vec<AudienceCount> = Audience::ALL
        .into_iter()
        .map(|audience| AudienceCount {
            audience,
            people: 0,
            met: 0,
        })
        .collect();
    for (audience, (people, met)) in counts {
        if let Some(c) = out.iter_mut().find(|c| c.audience == audience) {
            c.people += people;
            c.met += met;
        }
    }
    out.retain(|c| c.people > 0);
    out
}

/// Everyone's progress in the organisation `root` and below (the whole district when `None`) for `year`,
/// in organisation and name order; 404 for an unknown organisation.
pub async fn study_rows(
    conn: &mut SqliteConnection,
    root: Option<i64>,
    year: i64,
) -> Result<Vec<OverviewRow>, AppError> {
    let orgs = scope_orgs(&mut *conn, root).await?;
    if orgs.is_empty() {
        return Err(AppError::NotFound("组织不存在"));
    }
    study_rows_in(conn, &orgs, year).await
}

/// Everyone's progress in exactly the organisations `orgs` for `year`, in the order of `orgs`, then by name.
pub async fn study_rows_in(
    conn: &mut SqliteConnection,
    orgs: &[i64],
    year: i64,
) -> Result<Vec<OverviewRow>, AppError> {
    let rules = load_rules(&mut *conn).await?;
    let orgs = serde_json::to_string(orgs).map_err(|e| AppError::Internal(e.to_string()))?;
    const SCOPE: &str = "WITH scope(id, at) AS (SELECT value, key FROM json_each(?1))";
    let people: Vec<(i64, String, i64, String, String)> = sqlx::query_as(&format!(
        "{SCOPE} SELECT u.id, u.name, u.org_id, o.name, u.audience
         FROM scope CROSS JOIN users u ON u.org_id = scope.id JOIN orgs o ON o.id = u.org_id
         WHERE u.role IN ('member', 'lead')
         ORDER BY scope.at, u.name, u.id"
    ))
    .bind(&orgs)
    .fetch_all(&mut *conn)
    .await?;
    let records: Vec<(i64, String, String, String, u32, String)> = sqlx::query_as(&format!(
        "{SCOPE} SELECT s.user_id, s.kind, s.starts_on, s.ends_on, s.credited, s.status
         FROM users u JOIN study_records s ON s.user_id = u.id
         WHERE u.org_id IN (SELECT id FROM scope) AND s.status IN ('recognised', 'pending')"
    ))
    .bind(&orgs)
    .fetch_all(&mut *conn)
    .await?;
    let mut credits: HashMap<i64, Vec<Credit>> = HashMap::new();
    let mut pending: HashMap<i64, u32> = HashMap::new();
    for (user_id, kind, from, to, credited, status) in records {
        if status == "pending" {
            *pending.entry(user_id).or_default() += 1;
            continue;
        }
        let (Some(kind), Some(starts_on), Some(ends_on)) =
            (StudyKind::parse(&kind), Day::parse(&from), Day::parse(&to))
        else {
            continue;
        };
        credits.entry(user_id).or_default().push(Credit {
            kind,
            starts_on,
            ends_on,
            hours: Hours(credited),
        });
    }
    Ok(people
        .into_iter()
        .map(|(user_id, name, org_id, org_name, audience)| {
            let audience = Audience::parse(&audience).unwrap_or_default();
            let mine = credits.get(&user_id).map_or(&[][..], Vec::as_slice);
            OverviewRow {
                user_id,
                name,
                org_id,
                org_name,
                audience,
                progress: rules.progress(audience, year, mine),
                pending: pending.get(&user_id).copied().unwrap_or(0),
            }
        })
        .collect())
}

/// The overview as a workbook: one line per person and requirement.
fn overview_xlsx(o: &StudyOverview) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(format!("{}年学时", o.year))?;
    let bold = Format::new().set_bold();
    let columns = [
        "党组织",
        "姓名",
        "对象",
        "要求",
        "周期",
        "应完成学时",
        "已完成学时",
        "尚需学时",
        "情况",
        "待认定记录",
    ];
    for (c, name) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    let mut r = 0u32;
    for row in &o.rows {
        for p in &row.progress {
            r += 1;
            sheet.write_string(r, 0, &row.org_name)?;
            sheet.write_string(r, 1, &row.name)?;
            sheet.write_string(r, 2, row.audience.label())?;
            sheet.write_string(r, 3, &p.name)?;
            sheet.write_string(r, 4, p.period_label())?;
            // Numbers, so that the sheet can sum and filter them.
            sheet.write_number(r, 5, f64::from(p.required.0) / 2.0)?;
            sheet.write_number(r, 6, f64::from(p.done.0) / 2.0)?;
            sheet.write_number(r, 7, f64::from(p.remaining().0) / 2.0)?;
            sheet.write_string(r, 8, if p.met() { "已达到" } else { "未达到" })?;
            sheet.write_number(r, 9, f64::from(row.pending))?;
        }
    }
    sheet.set_column_width(0, 24)?;
    for c in 1..10 {
        sheet.set_column_width(c, 12)?;
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, role: Role, org_id: i64) -> Person {
        Person { id, role, org_id }
    }

    #[test]
    fn leads_review_their_members_and_the_district_reviews_cadres_and_leads() {
        let author = |id, role, org_id, audience| Author {
            id,
            role,
            org_id,
            audience,
        };
        let lead = person(1, Role::Lead, 3);
        let admin = person(2, Role::Admin, 1);
        let member = author(10, Role::Member, 3, Audience::Member);
        let cadre = author(11, Role::Member, 3, Audience::Township);
        let other_branch = author(12, Role::Member, 4, Audience::Member);
        let a_lead = author(1, Role::Lead, 3, Audience::Secretary);
        assert!(may_review(lead, &member));
        assert!(!may_review(lead, &cadre));
        assert!(!may_review(lead, &other_branch));
        assert!(!may_review(lead, &a_lead), "nobody reviews their own");
        assert!(!may_review(admin, &member), "members are their lead's");
        assert!(may_review(admin, &cadre));
        assert!(may_review(admin, &a_lead));
        assert!(!may_review(person(10, Role::Member, 3), &member));
        let data = "data:image/jpeg;base64,/9j/4AAQSkZJRg==";
        assert!(check_data_url(data).is_ok());
        assert!(check_data_url("data:text/html;base64,PGgxPg==").is_err());
        assert!(check_data_url("data:image/jpeg;base64,<script>").is_err());
    }
}
