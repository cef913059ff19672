//! Members' rights (个人信息保护法): 投诉建议 that reach the district admins and come back with
//! a reply, consent records for the privacy notice and for location, and 我的信息 — everything stored about
//! the member, as a file they keep.
//!
//! Feedback, replies and consents are outbox records like sign-ins, so they are made offline and arrive once.

use crate::server::db::{self, Conn, Engine};
use axum::extract::State;
use axum::response::Response;
use axum::{Router, routing::get};

use super::applying::{Applying, Outcome, refuse};
use super::auth::CurrentUser;
use super::db::now_ms;
use super::life::attendance::{ATTENDANCE_COLUMNS, AttendanceRecord};
use super::security::account_event;
use super::{AppError, AppState, study};
use crate::api::{
    Consent, ConsentKind, ConsentRecord, ErrorBody, FeedbackEntry, FeedbackTopic, FeedbackView,
    MAX_FEEDBACK_CHARS, MyAttendance, MyAuditEntry, MyData, MyDevice, MyProfile, PRIVACY_VERSION,
    ReplyFeedback, paths,
};
use crate::model::{ActivityKind, Membership, Role, is_uuid};
use crate::study::Audience;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::MY_DATA, get(my_data))
}

/// A member's 投诉建议 arrives (for the district admins).
pub async fn feedback(conn: &mut dyn Conn, f: &FeedbackEntry, ap: &Applying<'_>) -> Outcome {
    if !is_uuid(&f.feedback_id) {
        return Err(refuse("投诉建议编号无效".to_owned()));
    }
    let body = f.body.trim();
    if body.is_empty() || body.chars().count() > MAX_FEEDBACK_CHARS {
        return Err(refuse(format!("内容应为1到{MAX_FEEDBACK_CHARS}个字")));
    }
    // The inbox of the district admins is not a place to flood.
    let today: i64 =
        db::query_scalar("SELECT count(*) FROM feedback WHERE user_id = $1 AND created_at > $2")
            .bind(ap.author.id)
            .bind(ap.now - 24 * 3_600_000)
            .fetch_one(&mut *conn)
            .await?;
    if today >= MAX_FEEDBACK_PER_DAY {
        return Err(refuse(format!(
            "每天最多提交{MAX_FEEDBACK_PER_DAY}条投诉建议，请明天再提交"
        )));
    }
    let inserted = db::query(
        "INSERT INTO feedback (id, user_id, topic, body, created_at, server_seq) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&f.feedback_id)
    .bind(ap.author.id)
    .bind(f.topic.as_str())
    .bind(body)
    // Dated by the server: a phone's clock does not decide when a complaint was made.
    .bind(ap.now)
    .bind(ap.seq)
    .execute(conn)
    .await?;
    if inserted == 0 {
        return Err(refuse("这条投诉建议已经提交过"));
    }
    Ok(())
}

/// 投诉建议 one person may send in a day.
const MAX_FEEDBACK_PER_DAY: i64 = 20;

/// A district admin replies (a later reply replaces the earlier one); the member sees it with their next pull.
pub async fn reply(conn: &mut dyn Conn, r: &ReplyFeedback, ap: &Applying<'_>) -> Outcome {
    if ap.author.role != Role::Admin {
        return Err(refuse("只有区委组织部管理员可以答复投诉建议".to_owned()));
    }
    let text = r.reply.trim();
    if text.is_empty() || text.chars().count() > MAX_FEEDBACK_CHARS {
        return Err(refuse(format!("答复应为1到{MAX_FEEDBACK_CHARS}个字")));
    }
    let author: Option<String> = db::query_scalar(
        "UPDATE feedback SET reply = $1, replied_by = $2, replied_at = $3, server_seq = $4 WHERE id = $5
         RETURNING (SELECT name FROM users WHERE users.id = feedback.user_id)",
    )
    .bind(text)
    .bind(ap.author.id)
    .bind(ap.now)
    .bind(ap.seq)
    .bind(&r.feedback_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(author) = author else {
        return Err(refuse("没有这条投诉建议".to_owned()));
    };
    ap.audit(conn, "reply_feedback", &author, None).await?;
    Ok(())
}

/// A consent given or withdrawn on the phone, kept with when it was made there.
pub async fn consent(conn: &mut dyn Conn, c: &Consent, ap: &Applying<'_>) -> Outcome {
    let version = match (c.kind, c.version.trim()) {
        (ConsentKind::Privacy, "") => PRIVACY_VERSION,
        (_, v) if v.len() > 32 => return Err(refuse("版本号过长".to_owned())),
        (_, v) => v,
    };
    db::query(
        "INSERT INTO consents (user_id, kind, granted, version, at, record_id) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(ap.author.id)
    .bind(c.kind.as_str())
    .bind(c.granted)
    .bind(version)
    .bind(ap.at().min(ap.now))
    .bind(ap.record_id)
    .execute(&mut *conn)
    .await?;
    // What the notice says withdrawing it does: the account stops — no login, no new rosters; the records
    // of organisational life stay with the branch, as party rules require.
    if c.kind == ConsentKind::Privacy && !c.granted {
        db::query("UPDATE users SET disabled_at = $1, password_hash = '' WHERE id = $2 AND disabled_at IS NULL")
            .bind(ap.now)
            .bind(ap.author.id)
            .execute(&mut *conn)
            .await?;
        super::auth::end_sessions(conn, ap.author.id).await?;
        account_event(
            conn,
            ap.author.id,
            ap.now,
            None,
            "您撤回了《个人信息保护说明》的同意，账号已停用",
        )
        .await?;
        ap.audit(conn, "withdraw_privacy_consent", "", Some(ap.author.id))
            .await?;
    }
    Ok(())
}

/// A 投诉建议 as stored ([`SELECT_FEEDBACK`]).
#[derive(sqlx::FromRow)]
struct FeedbackRow {
    id: String,
    user_id: i64,
    user_name: String,
    org_name: String,
    topic: String,
    body: String,
    created_at: i64,
    reply: Option<String>,
    replied_at: Option<i64>,
    server_seq: i64,
}

const SELECT_FEEDBACK: &str =
    "SELECT f.id, f.user_id, u.name AS user_name, o.name AS org_name, f.topic, f.body, f.created_at,
            f.reply, f.replied_at, f.server_seq
     FROM feedback f JOIN users u ON u.id = f.user_id JOIN orgs o ON o.id = u.org_id";

fn feedback_view(r: FeedbackRow) -> FeedbackView {
    FeedbackView {
        id: r.id,
        user_id: r.user_id,
        user_name: r.user_name,
        org_name: r.org_name,
        topic: FeedbackTopic::parse(&r.topic).unwrap_or_default(),
        body: r.body,
        created_at: r.created_at,
        reply: r.reply,
        replied_at: r.replied_at,
        server_seq: r.server_seq,
    }
}

/// The query of [`feedback_since`]: $1 the person, $2 whether they answer everyone's (district admin),
/// ($3, $4] the sequence range, $5 the limit.
pub fn feedback_since_sql(engine: Engine) -> String {
    let (row, join) = (engine.row_address(), engine.join_in_order());
    let from = SELECT_FEEDBACK.replace(
        "FROM feedback f",
        &format!("FROM keys k {join} feedback f ON f.{row} = k.id"),
    );
    format!(
        "WITH keys(id) AS (
             SELECT {row} FROM feedback WHERE user_id = $1 AND server_seq > $3 AND server_seq <= $4
             UNION SELECT {row} FROM feedback WHERE $2 AND server_seq > $3 AND server_seq <= $4)
         {from}
         ORDER BY f.server_seq LIMIT $5"
    )
}

/// The member's own 投诉建议 and, for district admins, everyone's, changed in `(cursor, upto]`.
pub async fn feedback_since(
    conn: &mut dyn Conn,
    user: &CurrentUser,
    cursor: i64,
    upto: i64,
    limit: Option<usize>,
) -> Result<Vec<FeedbackView>, AppError> {
    let rows: Vec<FeedbackRow> = db::query_as(&feedback_since_sql(conn.engine()))
        .bind(user.id)
        .bind(user.role == Role::Admin)
        .bind(cursor)
        .bind(upto)
        .bind(super::life::activities::sql_limit(limit))
        .fetch_all(conn)
        .await?;
    Ok(rows.into_iter().map(feedback_view).collect())
}

/// 我的信息: everything stored about the signed-in member — profile, every roster entry with what it says,
/// study records, consents, 投诉建议, the phones that sent records — as a JSON file to keep.
#[utoipa::path(get, path = paths::MY_DATA, tag = "rights", security(("bearer" = [])),
    responses((status = 200, body = MyData, description = "Attachment `我的信息-<name>.json`"), (status = 401, body = ErrorBody)))]
pub async fn my_data(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, AppError> {
    let mut conn = state.db.reader.acquire().await?;
    let data = collect(&mut conn, user.id).await?;
    let body = serde_json::to_vec_pretty(&data)
        .map_err(|e| AppError::Internal(format!("my data: {e}")))?;
    let stem = format!("我的信息-{}", data.profile.name);
    state.security.log(
        "export",
        serde_json::json!({"by": user.id, "what": "my_data", "rows": data.attendance.len() + data.study.len()}),
    );
    Ok(super::life::register::attachment("json", &stem, body))
}

async fn collect(conn: &mut dyn Conn, user_id: i64) -> Result<MyData, AppError> {
    #[derive(sqlx::FromRow)]
    struct Profile {
        name: String,
        phone: String,
        role: String,
        org_name: String,
        membership: String,
        post: String,
        tags: String,
        audience: String,
        created_at: i64,
    }
    let Profile { name, phone, role, org_name, membership, post, tags, audience, created_at } =
        db::query_as(
            "SELECT u.name, u.phone, u.role, o.name AS org_name, u.membership, u.post, u.tags, u.audience,
                    u.created_at
             FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    let host_orgs: Vec<String> = db::query_scalar(
        "SELECT o.name FROM host_orgs h JOIN orgs o ON o.id = h.org_id WHERE h.user_id = $1 ORDER BY o.id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let group: Option<String> = db::query_scalar(
        "SELECT o.name FROM users u JOIN orgs o ON o.id = u.group_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let record = super::org::accounts::profile(conn, user_id).await?;
    let account = super::security::events_since(conn, user_id, i64::MIN).await?;
    let audit: Vec<(i64, String, String, String)> = db::query_as(
        "SELECT l.at, u.name, l.action, l.subject FROM audit_log l JOIN users u ON u.id = l.actor_id
         WHERE l.about_user = $1 ORDER BY l.id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    /// A roster row of theirs, with the activity it is on.
    #[derive(sqlx::FromRow)]
    struct Attended {
        #[sqlx(flatten)]
        row: AttendanceRecord,
        title: String,
        kind: String,
        starts_at: i64,
    }
    let attended: Vec<Attended> = db::query_as(&format!(
        "SELECT {ATTENDANCE_COLUMNS}, a.title, a.kind, a.starts_at
         FROM attendance t JOIN activities a ON a.id = t.activity_id JOIN users u ON u.id = t.member_id
         WHERE t.member_id = $1 ORDER BY a.starts_at, a.id"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let consents: Vec<(String, bool, String, i64)> = db::query_as(
        "SELECT kind, granted, version, at FROM consents WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let feedback: Vec<FeedbackRow> = db::query_as(&format!(
        "{SELECT_FEEDBACK} WHERE f.user_id = $1 ORDER BY f.created_at, f.id"
    ))
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    let devices: Vec<(String, i64, i64)> = db::query_as(
        "SELECT device_id, last_seq, last_seen FROM devices WHERE user_id = $1 ORDER BY last_seen",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(MyData {
        app: MyData::APP.to_owned(),
        exported_at: now_ms(),
        profile: MyProfile {
            name,
            phone,
            role: Role::parse(&role).unwrap_or(Role::Member),
            org_name,
            membership: Membership::parse(&membership).unwrap_or_default(),
            post,
            tags,
            audience: Audience::parse(&audience).unwrap_or_default(),
            host_orgs,
            created_at,
            group,
            mobile: record.mobile,
            exemptions: record.exemptions,
        },
        attendance: attended
            .into_iter()
            .map(|a| {
                let kind = ActivityKind::parse(&a.kind).ok_or_else(|| {
                    AppError::Internal(format!("activity {}: {}", a.row.activity_id, a.kind))
                })?;
                let row = a.row.view()?;
                Ok(MyAttendance {
                    title: a.title,
                    kind,
                    starts_at: a.starts_at,
                    notes: row.proof_notes(),
                    row,
                })
            })
            .collect::<Result<_, AppError>>()?,
        study: study::own_study(conn, user_id).await?,
        consents: consents
            .into_iter()
            .filter_map(|(kind, granted, version, at)| {
                Some(ConsentRecord {
                    kind: ConsentKind::parse(&kind)?,
                    granted,
                    version,
                    at,
                })
            })
            .collect(),
        feedback: feedback.into_iter().map(feedback_view).collect(),
        devices: devices
            .into_iter()
            .map(|(device_id, records, last_seen)| MyDevice {
                device_id,
                records,
                last_seen,
            })
            .collect(),
        account,
        audit: audit
            .into_iter()
            .map(|(at, actor, action, subject)| MyAuditEntry {
                at,
                actor,
                action: super::org::audit::action_label(&action).to_owned(),
                subject,
            })
            .collect(),
    })
}
