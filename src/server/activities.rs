//! Activities and their rosters: publishing and the lead's 确认 (both arrive in pushes), and what each user
//! may see.

use sqlx::SqliteConnection;

use super::AppError;
use super::auth::{CurrentUser, Person};
use super::db::audit;
use crate::api::{ActivityView, AttendanceView, Confirm, NewActivity};
use crate::model::{ActivityKind, AttendanceStatus, Membership, Role, check_new_activity, is_uuid};

/// The columns of an activity that rules need.
pub struct ActivityRow {
    pub org_id: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub code: String,
}

impl ActivityRow {
    pub async fn find(
        conn: &mut SqliteConnection,
        id: &str,
    ) -> Result<Option<ActivityRow>, sqlx::Error> {
        let row: Option<(i64, i64, i64, String)> =
            sqlx::query_as("SELECT org_id, starts_at, ends_at, code FROM activities WHERE id = ?")
                .bind(id)
                .fetch_optional(conn)
                .await?;
        Ok(row.map(|(org_id, starts_at, ends_at, code)| ActivityRow {
            org_id,
            starts_at,
            ends_at,
            code,
        }))
    }
}

/// Publishes an activity for the lead's branch and freezes its roster (应到) from the branch's members.
///
/// `Ok(Err(reason))` means the request can never succeed and is quarantined by the caller.
pub async fn create(
    conn: &mut SqliteConnection,
    actor_id: i64,
    role: Role,
    org_id: i64,
    a: &NewActivity,
    seq: i64,
    now: i64,
) -> Result<Result<(), String>, sqlx::Error> {
    if role != Role::Lead {
        return Ok(Err("只有党支部书记可以发布活动".to_owned()));
    }
    if !is_uuid(&a.activity_id) {
        return Ok(Err("活动编号无效".to_owned()));
    }
    if let Err(reason) = check_new_activity(&a.title, &a.place, a.starts_at, a.ends_at, &a.code) {
        return Ok(Err(reason.to_owned()));
    }
    let inserted = sqlx::query(
        "INSERT INTO activities (id, org_id, kind, title, place, starts_at, ends_at, code, created_by, created_at, server_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&a.activity_id)
    .bind(org_id)
    .bind(a.kind.as_str())
    .bind(a.title.trim())
    .bind(a.place.trim())
    .bind(a.starts_at)
    .bind(a.ends_at)
    .bind(&a.code)
    .bind(actor_id)
    .bind(now)
    .bind(seq)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(Err("活动编号已存在".to_owned()));
    }
    sqlx::query(
        "INSERT INTO attendance (activity_id, member_id, status, server_seq)
         SELECT ?, id, 'pending', ? FROM users WHERE org_id = ? AND role IN ('member', 'lead')",
    )
    .bind(&a.activity_id)
    .bind(seq)
    .bind(org_id)
    .execute(&mut *conn)
    .await?;
    audit(conn, now, actor_id, "publish_activity", &a.activity_id).await?;
    Ok(Ok(()))
}

#[derive(sqlx::FromRow)]
struct ActivityRecord {
    id: String,
    org_id: i64,
    org_name: String,
    kind: String,
    title: String,
    place: String,
    starts_at: i64,
    ends_at: i64,
    code: String,
    server_seq: i64,
}

/// Activities this user may see that changed in (cursor, upto], the first `limit` by sequence (`None`: all).
/// Only the branch's lead gets the 签到码.
pub async fn visible_since(
    conn: &mut SqliteConnection,
    user: &CurrentUser,
    cursor: i64,
    upto: i64,
    limit: Option<usize>,
) -> Result<Vec<ActivityView>, AppError> {
    let all_orgs = user.role == Role::Admin;
    let rows: Vec<ActivityRecord> = sqlx::query_as(
        "SELECT a.id, a.org_id, o.name AS org_name, a.kind, a.title, a.place, a.starts_at, a.ends_at, a.code, a.server_seq
         FROM activities a JOIN orgs o ON o.id = a.org_id
         WHERE (? OR a.org_id = ?) AND a.server_seq > ? AND a.server_seq <= ?
         ORDER BY a.server_seq LIMIT ?",
    )
    .bind(all_orgs)
    .bind(user.org_id)
    .bind(cursor)
    .bind(upto)
    .bind(sql_limit(limit))
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let kind = ActivityKind::parse(&r.kind).ok_or_else(|| {
                AppError::Internal(format!("activity {} has kind {}", r.id, r.kind))
            })?;
            let code = (user.role == Role::Lead && r.org_id == user.org_id).then_some(r.code);
            Ok(ActivityView {
                id: r.id,
                org_id: r.org_id,
                org_name: r.org_name,
                kind,
                title: r.title,
                place: r.place,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                code,
                server_seq: r.server_seq,
            })
        })
        .collect()
}

/// Roster rows this user may see that changed in (cursor, upto], the first `limit` by sequence: a member
/// their own; a lead their branch's.
pub async fn attendance_since(
    conn: &mut SqliteConnection,
    user: &CurrentUser,
    cursor: i64,
    upto: i64,
    limit: Option<usize>,
) -> Result<Vec<AttendanceView>, AppError> {
    let scope = match user.role {
        Role::Member => "t.member_id = ?1",
        Role::Lead => "a.org_id = ?2",
        Role::Admin => "1",
    };
    let sql = format!(
        "SELECT t.activity_id, t.member_id, u.name, u.membership, t.status, t.signed_at, t.clock_skewed, t.server_seq
         FROM attendance t JOIN activities a ON a.id = t.activity_id JOIN users u ON u.id = t.member_id
         WHERE {scope} AND t.server_seq > ?3 AND t.server_seq <= ?4
         ORDER BY t.server_seq LIMIT ?5"
    );
    let rows: Vec<AttendanceTuple> = sqlx::query_as(&sql)
        .bind(user.id)
        .bind(user.org_id)
        .bind(cursor)
        .bind(upto)
        .bind(sql_limit(limit))
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(attendance_view).collect()
}

/// SQLite's LIMIT: -1 is no limit.
fn sql_limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |n| n as i64)
}

type AttendanceTuple = (String, i64, String, String, String, Option<i64>, bool, i64);

fn attendance_view(
    (activity_id, member_id, member_name, membership, status, signed_at, clock_skewed, server_seq): AttendanceTuple,
) -> Result<AttendanceView, AppError> {
    let bad =
        |what: &str| AppError::Internal(format!("attendance {activity_id}/{member_id} has {what}"));
    let membership = Membership::parse(&membership).ok_or_else(|| bad(&membership))?;
    let status = AttendanceStatus::parse(&status).ok_or_else(|| bad(&status))?;
    Ok(AttendanceView {
        activity_id,
        member_id,
        member_name,
        membership,
        status,
        signed_at,
        clock_skewed,
        server_seq,
    })
}

/// The lead confirms one member's attendance (a push of [`Confirm`]): their sign-in, or — the member was
/// seen at the meeting but their record has not arrived — marks them present; their own record merges into
/// this row when it arrives (SYNC.md fault 10). Confirming twice is harmless. `Ok(Err(reason))` quarantines.
pub async fn confirm(
    conn: &mut SqliteConnection,
    lead: Person,
    c: &Confirm,
    seq: i64,
    now: i64,
) -> Result<Result<(), String>, sqlx::Error> {
    if lead.role != Role::Lead {
        return Ok(Err("只有党支部书记可以确认出席".to_owned()));
    }
    let Some(activity) = ActivityRow::find(conn, &c.activity_id).await? else {
        return Ok(Err("活动不存在，可能已被删除".to_owned()));
    };
    if activity.org_id != lead.org_id {
        return Ok(Err("只能管理本支部的活动".to_owned()));
    }
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM attendance WHERE activity_id = ? AND member_id = ?")
            .bind(&c.activity_id)
            .bind(c.member_id)
            .fetch_optional(&mut *conn)
            .await?;
    let action = match status.as_deref().and_then(AttendanceStatus::parse) {
        None => return Ok(Err("该成员不在应到名单中".to_owned())),
        Some(AttendanceStatus::Confirmed) => return Ok(Ok(())),
        Some(AttendanceStatus::SignedIn) => "confirm_attendance",
        Some(AttendanceStatus::Pending | AttendanceStatus::Absent) => "mark_present",
        Some(_) => return Ok(Err("该成员已请假或免参加，无法确认出席".to_owned())),
    };
    sqlx::query(
        "UPDATE attendance SET status = 'confirmed', confirmed_by = ?, confirmed_at = ?, server_seq = ?
         WHERE activity_id = ? AND member_id = ?",
    )
    .bind(lead.id)
    .bind(now)
    .bind(seq)
    .bind(&c.activity_id)
    .bind(c.member_id)
    .execute(&mut *conn)
    .await?;
    let subject = format!("{}/{}", c.activity_id, c.member_id);
    audit(conn, now, lead.id, action, &subject).await?;
    Ok(Ok(()))
}
