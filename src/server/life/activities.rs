//! Activities: publishing (which freezes the roster), editing, cancelling and closing the meeting record —
//! all arriving in pushes, all audited — and what each user may see.

use crate::server::db::{self, Conn, Engine, Sequence};

use crate::api::{ActivityView, Cancel, CloseRecord, NewActivity};
use crate::life::{
    ActivityMode, ActivityState, Fence, MAX_NAME_CHARS, MAX_REASON_CHARS, close_problems,
};
use crate::model::{
    ActivityKind, AttendanceStatus, Role, check_new_activity, is_uuid, is_valid_code,
};
use crate::org::OrgForm;
use crate::server::AppError;
use crate::server::applying::{Applying, Outcome, refuse};
use crate::server::auth::{CurrentUser, Person};
use crate::server::db::is_group_of;
use crate::study::Hours;

/// The columns of an activity that rules need.
pub struct ActivityRow {
    pub org_id: i64,
    pub starts_at: i64,
    pub ends_at: i64,
    pub code: String,
    pub secret: String,
    pub code_step_ms: i64,
    pub state: ActivityState,
    pub fence: Option<Fence>,
}

impl ActivityRow {
    pub async fn find(conn: &mut dyn Conn, id: &str) -> Result<Option<ActivityRow>, sqlx::Error> {
        #[derive(sqlx::FromRow)]
        struct Row {
            org_id: i64,
            starts_at: i64,
            ends_at: i64,
            code: String,
            secret: String,
            code_step_ms: i64,
            state: String,
            fence_lat_e6: Option<i64>,
            fence_lng_e6: Option<i64>,
            fence_radius_m: Option<i64>,
        }
        let row: Option<Row> = db::query_as(
            "SELECT org_id, starts_at, ends_at, code, secret, code_step_ms, state, fence_lat_e6, fence_lng_e6, fence_radius_m
             FROM activities WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(conn)
        .await?;
        Ok(row.map(|r| ActivityRow {
            org_id: r.org_id,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            code: r.code,
            secret: r.secret,
            code_step_ms: r.code_step_ms,
            state: ActivityState::parse(&r.state).unwrap_or(ActivityState::Closed),
            fence: fence(r.fence_lat_e6, r.fence_lng_e6, r.fence_radius_m),
        }))
    }

    /// Finds an activity the lead `by` may manage and that is still open, or says why not.
    pub async fn for_lead(conn: &mut dyn Conn, by: Person, id: &str) -> Outcome<ActivityRow> {
        if by.role != Role::Lead {
            return Err(refuse("只有党支部书记可以管理活动".to_owned()));
        }
        let Some(activity) = ActivityRow::find(conn, id).await? else {
            return Err(refuse("活动不存在，可能已被删除".to_owned()));
        };
        if activity.org_id != by.org_id {
            return Err(refuse("只能管理本支部的活动".to_owned()));
        }
        if let Err(why) = activity.state.check_open() {
            return Err(refuse(why.to_owned()));
        }
        Ok(activity)
    }
}

/// The fence as stored (64-bit integers on both engines), if it is whole and in range.
fn fence(lat_e6: Option<i64>, lng_e6: Option<i64>, radius_m: Option<i64>) -> Option<Fence> {
    Some(Fence {
        lat_e6: lat_e6?.try_into().ok()?,
        lng_e6: lng_e6?.try_into().ok()?,
        radius_m: radius_m?.try_into().ok()?,
    })
}

/// Shortest and longest time a rotating code may be shown.
const CODE_STEPS_MS: std::ops::RangeInclusive<i64> = 10_000..=600_000;

/// Judged by when the server received the record, not by the time the phone claims: a lead's clock set
/// back would otherwise record a meeting of any age.
fn check_fields(a: &NewActivity, ap: &Applying) -> Result<(), String> {
    check_new_activity(
        &a.title,
        &a.place,
        a.starts_at,
        a.ends_at,
        ap.now,
        ap.settings.backdate_limit_ms,
    )?;
    if a.study_hours > MAX_ACTIVITY_HOURS {
        return Err(format!("一次活动最多计{MAX_ACTIVITY_HOURS}学时"));
    }
    Ok(())
}

/// The most 学时 one activity may carry.
const MAX_ACTIVITY_HOURS: Hours = Hours::whole(24);

/// Publishes an activity for the lead's branch and freezes its roster (应到): the branch's members, the
/// members of other branches who attend this one as guests, and 免参加 for approved exemptions. A
/// 党小组会 for one group has that group's members only.
pub async fn create(conn: &mut dyn Conn, a: &NewActivity, ap: &Applying<'_>) -> Outcome {
    let by = ap.author;
    if by.role != Role::Lead {
        return Err(refuse("只有党支部书记可以发布活动".to_owned()));
    }
    if !is_uuid(&a.activity_id) {
        return Err(refuse("活动编号无效".to_owned()));
    }
    if let Err(reason) = check_fields(a, ap) {
        return Err(refuse(reason));
    }
    let rotating = a.secret.len() == 32 && a.secret.bytes().all(|b| b.is_ascii_hexdigit());
    if !rotating && !is_valid_code(&a.code) {
        return Err(refuse("签到码设置无效，请更新应用后重新发布".to_owned()));
    }
    if !CODE_STEPS_MS.contains(&a.code_step_ms) {
        return Err(refuse("签到码刷新间隔应在10秒至10分钟之间".to_owned()));
    }
    if a.fence.is_some_and(|f| !f.is_valid()) {
        return Err(refuse("签到范围无效：半径应在50米至2000米之间".to_owned()));
    }
    // A temporary branch that has ended holds nothing after its last day (Shanghai time).
    let ended: Option<String> = db::query_scalar("SELECT ends_on FROM orgs WHERE id = $1")
        .bind(by.org_id)
        .fetch_optional(&mut *conn)
        .await?
        .flatten();
    if let Some(day) = ended.as_deref().and_then(crate::study::Day::parse)
        && crate::study::Day::of_millis(a.starts_at) > day
    {
        return Err(refuse(format!(
            "本支部已于{}撤销，不能再发布之后的活动",
            day.iso()
        )));
    }
    if let Some(group) = a.group_id {
        if a.kind != ActivityKind::GroupMeeting {
            return Err(refuse("只有党小组会按党小组确定应到人员".to_owned()));
        }
        if !is_group_of(conn, group, by.org_id).await? {
            return Err(refuse(
                "这个党小组不在本支部（可能已被删除），请重新选择".to_owned(),
            ));
        }
    }
    let inserted = db::query(
        "INSERT INTO activities (id, org_id, kind, title, place, starts_at, ends_at, mode, code, secret,
                                 code_step_ms, fence_lat_e6, fence_lng_e6, fence_radius_m, study_halves, created_by,
                                 created_at, server_seq, group_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&a.activity_id)
    .bind(by.org_id)
    .bind(a.kind.as_str())
    .bind(a.title.trim())
    .bind(a.place.trim())
    .bind(a.starts_at)
    .bind(a.ends_at)
    .bind(a.mode.as_str())
    .bind(if rotating { "" } else { a.code.as_str() })
    .bind(if rotating { a.secret.as_str() } else { "" })
    .bind(a.code_step_ms)
    .bind(a.fence.map(|f| f.lat_e6))
    .bind(a.fence.map(|f| f.lng_e6))
    .bind(a.fence.map(|f| f.radius_m))
    .bind(a.study_hours.0)
    .bind(by.id)
    .bind(ap.now)
    .bind(ap.seq)
    .bind(a.group_id)
    .execute(&mut *conn)
    .await?;
    if inserted == 0 {
        return Err(refuse("活动编号已存在".to_owned()));
    }
    db::query(
        "INSERT INTO attendance (activity_id, member_id, status, reason, guest, server_seq)
         SELECT $1, u.id, CASE WHEN e.reason IS NULL THEN 'pending' ELSE 'exempt' END, e.reason,
                u.org_id != $3, $2
         FROM (SELECT id, org_id FROM users
               WHERE org_id = $3 AND role IN ('member', 'lead') AND ($5 IS NULL OR group_id = $5)
                     AND disabled_at IS NULL
               UNION
               SELECT u.id, u.org_id FROM host_orgs h JOIN users u ON u.id = h.user_id
               WHERE h.org_id = $3 AND u.role IN ('member', 'lead') AND $5 IS NULL
                     AND u.disabled_at IS NULL) u
         LEFT JOIN (SELECT user_id, max(reason) AS reason FROM exemptions WHERE until_at > $4 GROUP BY user_id) e
                ON e.user_id = u.id",
    )
    .bind(&a.activity_id)
    .bind(ap.seq)
    .bind(by.org_id)
    .bind(a.starts_at)
    .bind(a.group_id)
    .execute(&mut *conn)
    .await?;
    ap.audit(conn, "publish_activity", &a.activity_id, None)
        .await?;
    Ok(())
}

/// Changes an open activity's type, title, place, times or mode. The roster and the code stay.
pub async fn edit(conn: &mut dyn Conn, a: &NewActivity, ap: &Applying<'_>) -> Outcome {
    ActivityRow::for_lead(conn, ap.author, &a.activity_id).await?;
    if let Err(reason) = check_fields(a, ap) {
        return Err(refuse(reason));
    }
    db::query(
        "UPDATE activities SET kind = $1, title = $2, place = $3, starts_at = $4, ends_at = $5, mode = $6, study_halves = $7,
                               server_seq = $8
         WHERE id = $9",
    )
    .bind(a.kind.as_str())
    .bind(a.title.trim())
    .bind(a.place.trim())
    .bind(a.starts_at)
    .bind(a.ends_at)
    .bind(a.mode.as_str())
    .bind(a.study_hours.0)
    .bind(ap.seq)
    .bind(&a.activity_id)
    .execute(&mut *conn)
    .await?;
    let subject = format!("{}：{}", a.activity_id, a.title.trim());
    ap.audit(conn, "edit_activity", &subject, None).await?;
    Ok(())
}

/// Cancels an open activity with a reason; sign-ins and requests for it are refused from then on.
pub async fn cancel(conn: &mut dyn Conn, c: &Cancel, ap: &Applying<'_>) -> Outcome {
    ActivityRow::for_lead(conn, ap.author, &c.activity_id).await?;
    let reason = c.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(refuse("请填写取消原因（200字以内）".to_owned()));
    }
    db::query(
        "UPDATE activities SET state = 'cancelled', cancel_reason = $1, server_seq = $2, closed_at = $3 WHERE id = $4",
    )
    .bind(reason)
    .bind(ap.seq)
    .bind(ap.now)
    .bind(&c.activity_id)
    .execute(&mut *conn)
    .await?;
    let subject = format!("{}：{reason}", c.activity_id);
    ap.audit(conn, "cancel_activity", &subject, None).await?;
    Ok(())
}

/// Closes the meeting record once the meeting has begun and every row is settled (see
/// [`close_problems`]); members still 待签到 then count as 缺席 with the reason the lead gave.
pub async fn close(conn: &mut dyn Conn, c: &CloseRecord, ap: &Applying<'_>) -> Outcome {
    let activity = ActivityRow::for_lead(conn, ap.author, &c.activity_id).await?;
    if ap.at() < activity.starts_at {
        return Err(refuse("活动开始后才能归档会议记录".to_owned()));
    }
    let too_long = |s: &str, max| s.trim().chars().count() > max;
    if too_long(&c.host, MAX_NAME_CHARS) || too_long(&c.recorder, MAX_NAME_CHARS) {
        return Err(refuse("主持人、记录人不能超过50字".to_owned()));
    }
    if too_long(&c.online_note, MAX_REASON_CHARS) {
        return Err(refuse("线上参加人员不能超过200字".to_owned()));
    }
    let rows: Vec<(i64, String, String, Option<String>)> = db::query_as(
        "SELECT t.member_id, u.name, t.status, t.reason FROM attendance t JOIN users u ON u.id = t.member_id
         WHERE t.activity_id = $1 ORDER BY t.member_id",
    )
    .bind(&c.activity_id)
    .fetch_all(&mut *conn)
    .await?;
    let parsed = rows.iter().map(|(member_id, name, status, reason)| {
        let status = AttendanceStatus::parse(status).unwrap_or(AttendanceStatus::Pending);
        (
            name.as_str(),
            status,
            reason.as_deref(),
            *member_id == ap.author.id,
        )
    });
    let problems = close_problems(parsed, &c.host, &c.recorder);
    if !problems.is_empty() {
        return Err(refuse(problems.join("；")));
    }
    db::query(
        "UPDATE activities SET state = 'closed', host = $1, recorder = $2, online_note = $3, closed_at = $4, server_seq = $5
         WHERE id = $6",
    )
    .bind(c.host.trim())
    .bind(c.recorder.trim())
    .bind(c.online_note.trim())
    .bind(ap.now)
    .bind(ap.seq)
    .bind(&c.activity_id)
    .execute(&mut *conn)
    .await?;
    db::query(
        "UPDATE attendance SET status = 'absent', server_seq = $1 WHERE activity_id = $2 AND status = 'pending'",
    )
    .bind(ap.seq)
    .bind(&c.activity_id)
    .execute(&mut *conn)
    .await?;
    ap.audit(conn, "close_record", &c.activity_id, None).await?;
    Ok(())
}

/// An activity as stored, for pulls and the register.
#[derive(sqlx::FromRow)]
pub struct ActivityRecord {
    pub id: String,
    pub org_id: i64,
    pub org_name: String,
    pub kind: String,
    pub title: String,
    pub place: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub mode: String,
    pub state: String,
    pub cancel_reason: Option<String>,
    pub host: Option<String>,
    pub recorder: Option<String>,
    pub online_note: Option<String>,
    pub code: String,
    pub secret: String,
    pub code_step_ms: i64,
    pub fence_lat_e6: Option<i64>,
    pub fence_lng_e6: Option<i64>,
    pub fence_radius_m: Option<i64>,
    #[sqlx(try_from = "i64")]
    pub study_halves: u32,
    pub group_name: Option<String>,
    pub server_seq: i64,
}

/// An organisation's name shows in its activities (a branch's as theirs, a 党小组's as their group) and in
/// its members' study records and 投诉建议, read from `orgs` as a pull is answered: after a rename they
/// take a new number, so phones receive them again.
pub async fn renumber_org(
    conn: &mut dyn Conn,
    seq: &mut Sequence,
    org: i64,
    form: OrgForm,
) -> Result<(), sqlx::Error> {
    // A branch's activities are found by index; a 党小组's (renamed rarely) by a scan.
    let column = if form == OrgForm::Group {
        "group_id"
    } else {
        "org_id"
    };
    let number = seq.take();
    for sql in [
        format!("UPDATE activities SET server_seq = $1 WHERE {column} = $2"),
        "UPDATE study_records SET server_seq = $1 WHERE user_id IN (SELECT id FROM users WHERE org_id = $2)".to_owned(),
        "UPDATE feedback SET server_seq = $1 WHERE user_id IN (SELECT id FROM users WHERE org_id = $2)".to_owned(),
    ] {
        db::query(&sql).bind(number).bind(org).execute(&mut *conn).await?;
    }
    Ok(())
}

pub const ACTIVITY_COLUMNS: &str = "a.id, a.org_id, o.name AS org_name, a.kind, a.title, a.place, a.starts_at,
    a.ends_at, a.mode, a.state, a.cancel_reason, a.host, a.recorder, a.online_note, a.code, a.secret,
    a.code_step_ms, a.fence_lat_e6, a.fence_lng_e6, a.fence_radius_m, a.study_halves,
    (SELECT g.name FROM orgs g WHERE g.id = a.group_id) AS group_name, a.server_seq";

/// Activities this user's phone holds that changed in (cursor, upto], the first `limit` by sequence
/// (`None`: all): everyone those whose roster they are on (home and host branches); a member and a lead
/// also their own branch's (published ones they may still join, and the lead's to run). A committee or
/// district admin's phone holds no copy of the district: their views are read from the server. Only the
/// branch's lead gets the 签到码's secret.
///
/// Each arm of the union is an index search (the branch's activities by sequence, the member's roster
/// rows), so a pull costs what it returns, whatever the district's size.
pub async fn visible_since(
    conn: &mut dyn Conn,
    user: &CurrentUser,
    cursor: i64,
    upto: i64,
    limit: Option<usize>,
) -> Result<Vec<ActivityView>, AppError> {
    let rows: Vec<ActivityRecord> = db::query_as(&visible_since_sql(conn.engine()))
        .bind(holds_branch(user.role))
        .bind(user.org_id)
        .bind(user.id)
        .bind(cursor)
        .bind(upto)
        .bind(sql_limit(limit))
        .fetch_all(conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            let bad = |what: &str| AppError::Internal(format!("activity {} has {what}", r.id));
            let kind = ActivityKind::parse(&r.kind).ok_or_else(|| bad(&r.kind))?;
            let mode = ActivityMode::parse(&r.mode).ok_or_else(|| bad(&r.mode))?;
            let state = ActivityState::parse(&r.state).ok_or_else(|| bad(&r.state))?;
            let leads_it = user.role == Role::Lead && r.org_id == user.org_id;
            let record = (state == ActivityState::Closed).then(|| CloseRecord {
                activity_id: r.id.clone(),
                host: r.host.unwrap_or_default(),
                recorder: r.recorder.unwrap_or_default(),
                online_note: r.online_note.unwrap_or_default(),
            });
            Ok(ActivityView {
                id: r.id,
                org_id: r.org_id,
                org_name: r.org_name,
                kind,
                title: r.title,
                place: r.place,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                mode,
                state,
                cancel_reason: r.cancel_reason,
                record,
                secret: (leads_it && !r.secret.is_empty()).then_some(r.secret),
                code_step_ms: r.code_step_ms,
                code: (leads_it && !r.code.is_empty()).then_some(r.code),
                fence: fence(r.fence_lat_e6, r.fence_lng_e6, r.fence_radius_m),
                study_hours: Hours(r.study_halves),
                group_name: r.group_name,
                server_seq: r.server_seq,
            })
        })
        .collect()
}

/// The query of [`visible_since`]: $1 whether the phone holds the branch's, $2 the person's organisation,
/// $3 the person, ($4, $5] the sequence range, $6 the limit.
pub fn visible_since_sql(engine: Engine) -> String {
    // On SQLite, CROSS JOIN fixes the order: the keys first, then each activity by its key.
    let join = engine.join_in_order();
    // The organisation and those below it, then their activities by index. PostgreSQL cannot tell how
    // many rows the recursive part makes and would read every activity to join them; as an array it
    // searches the index for each.
    let branch = match engine {
        Engine::Sqlite => format!("sub {join} activities b ON b.org_id = sub.id WHERE"),
        Engine::Postgres => {
            "activities b WHERE b.org_id = ANY (ARRAY(SELECT id FROM sub)) AND".to_owned()
        }
    };
    format!(
        "WITH RECURSIVE sub(id) AS (SELECT $2 UNION SELECT o.id FROM orgs o JOIN sub up ON o.parent_id = up.id),
              keys(id) AS (SELECT b.id FROM {branch} $1 AND b.server_seq > $4 AND b.server_seq <= $5
                           UNION SELECT activity_id FROM attendance WHERE member_id = $3)
         SELECT {ACTIVITY_COLUMNS}
         FROM keys k {join} activities a ON a.id = k.id JOIN orgs o ON o.id = a.org_id
         WHERE a.server_seq > $4 AND a.server_seq <= $5
         ORDER BY a.server_seq LIMIT $6"
    )
}

/// Whether this role's phone holds its organisation's activities and rosters (see [`visible_since`]).
pub fn holds_branch(role: Role) -> bool {
    matches!(role, Role::Member | Role::Lead)
}

/// SQLite's LIMIT: -1 is no limit.
pub fn sql_limit(limit: Option<usize>) -> i64 {
    limit.map_or(-1, |n| n as i64)
}
