//! Study records in pulls: each person's own, and those a reviewer sees.

use super::*;
use crate::server::db::{self, Engine};

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
    #[sqlx(try_from = "i64")]
    hours: u32,
    days: Option<i64>,
    programme: Option<String>,
    notes: String,
    status: String,
    #[sqlx(try_from = "i64")]
    credited: u32,
    comment: String,
    reviewer: Option<String>,
    reviewed_at: Option<i64>,
    activity_id: Option<String>,
    has_evidence: bool,
    #[sqlx(try_from = "i64")]
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
            days: self.days.map(|d| Hours(db::to_u32(d))),
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
pub async fn own_study(conn: &mut dyn Conn, user_id: i64) -> Result<Vec<StudyView>, AppError> {
    let rows: Vec<StudyRecord> = db::query_as(&format!(
        "{SELECT_STUDY} WHERE s.user_id = $1 ORDER BY s.starts_on, s.id"
    ))
    .bind(user_id)
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(StudyRecord::view).collect()
}

/// The query of [`study_since`] for a role: two index searches, the person's own records ($1) and those
/// they may review (their organisation $2); ($3, $4] the sequence range, $5 the limit.
pub fn study_since_sql(role: Role, engine: Engine) -> String {
    let scope = reviewable_sql(role).replace("$org", "$2");
    let (row, join) = (engine.row_address(), engine.join_in_order());
    let from = SELECT_STUDY.replace(
        "FROM study_records s",
        &format!("FROM keys k {join} study_records s ON s.{row} = k.id"),
    );
    format!(
        "WITH keys(id) AS (
             SELECT {row} FROM study_records WHERE user_id = $1 AND server_seq > $3 AND server_seq <= $4
             UNION SELECT s.{row} FROM study_records s JOIN users u ON u.id = s.user_id
             WHERE s.status != 'draft' AND {scope} AND s.server_seq > $3 AND s.server_seq <= $4)
         {from}
         ORDER BY s.server_seq LIMIT $5"
    )
}

pub async fn study_since(
    conn: &mut dyn Conn,
    user: &CurrentUser,
    cursor: i64,
    upto: i64,
    limit: Option<usize>,
) -> Result<Vec<StudyView>, AppError> {
    let rows: Vec<StudyRecord> = db::query_as(&study_since_sql(user.role, conn.engine()))
        .bind(user.id)
        .bind(user.org_id)
        .bind(cursor)
        .bind(upto)
        .bind(crate::server::life::activities::sql_limit(limit))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(StudyRecord::view).collect()
}
