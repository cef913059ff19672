//! Rosters: a member's 签到 and requests (请假, 补签, 补学), the lead's 确认 and decisions — each arriving in
//! a push and changing one row, the natural key (activity, member) — and who may see which rows.

use crate::server::db::{self, Conn, Engine, Sequence};

use super::activities::{ActivityRow, sql_limit};
use crate::api::{AddToRoster, AttendanceView, Confirm, Decide, Request, SignIn};
use crate::life::{
    self, Confirmation, Decision, LeaveCategory, LocationCheck, RequestKind, SignInClaim,
    SignInEffect, SignInProof, When, code_matches,
};
use crate::model::{
    AttendanceStatus, Membership, Role, in_sign_in_window, is_skewed, normalize_code,
};
use crate::server::AppError;
use crate::server::applying::{Applying, Outcome, refuse};
use crate::server::auth::CurrentUser;
use crate::server::db::now_ms;
use crate::server::study;

async fn status_of(
    conn: &mut dyn Conn,
    activity_id: &str,
    member_id: i64,
) -> Result<Option<AttendanceStatus>, sqlx::Error> {
    let status: Option<String> =
        db::query_scalar("SELECT status FROM attendance WHERE activity_id = $1 AND member_id = $2")
            .bind(activity_id)
            .bind(member_id)
            .fetch_optional(conn)
            .await?;
    Ok(status.and_then(|s| AttendanceStatus::parse(&s)))
}

/// A member's sign-in, judged by [`life::judge_sign_in`]: the code against the time the member claims
/// (their clock corrected by its last known offset to ours — clocks are not trusted), a location as the
/// member's own statement, never proof. What is not proven is kept, 待确认 and flagged for the lead, out of
/// 一键确认全部; wrong codes are counted, and after a few the code is no longer checked at all. Outside the
/// sign-in window, or for a cancelled or closed activity, the sign-in is refused.
pub async fn sign_in(conn: &mut dyn Conn, s: &SignIn, ap: &Applying<'_>) -> Outcome {
    let author = ap.author;
    let Some(activity) = ActivityRow::find(conn, &s.activity_id).await? else {
        return Err(refuse(
            "活动不存在，可能已被删除，请联系党支部书记".to_owned(),
        ));
    };
    if let Err(why) = activity.state.check_open() {
        return Err(refuse(why.to_owned()));
    }
    let row: Option<(String, i64, bool, bool)> = db::query_as(
        "SELECT status, wrong_codes, record_id IS NOT NULL, code_unverified FROM attendance
         WHERE activity_id = $1 AND member_id = $2",
    )
    .bind(&s.activity_id)
    .bind(author.id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((status, wrong_codes, recorded, unverified)) = row else {
        return Err(refuse("您不在该活动的应到名单中".to_owned()));
    };
    let wrong_codes = db::to_u32(wrong_codes);
    let status = AttendanceStatus::parse(&status).unwrap_or_default();
    let at = ap.at();
    if !in_sign_in_window(at, activity.starts_at, activity.ends_at) {
        return Err(refuse(
            "不在签到时间内（活动开始前1小时至结束后30分钟）".to_owned(),
        ));
    }
    if s.location.is_some() && activity.fence.is_none() {
        return Err(refuse("该活动未设置位置签到，请输入签到码".to_owned()));
    }
    // Location needs its own consent (单独同意), as the member's latest record of it says.
    if s.location.is_some() {
        let consented: Option<bool> = db::query_scalar(
            "SELECT granted FROM consents WHERE user_id = $1 AND kind = 'location' ORDER BY at DESC, id DESC LIMIT 1",
        )
        .bind(author.id)
        .fetch_optional(&mut *conn)
        .await?;
        if consented != Some(true) {
            return Err(refuse(
                "您未同意（或已撤回）位置签到，请输入签到码签到".to_owned(),
            ));
        }
    }
    let checked_this_hour: i64 = db::query_scalar(
        "SELECT count(*) FROM mutations
         WHERE user_id = $1 AND kind = 'sign_in' AND received_at > $2 AND imported_by IS NULL",
    )
    .bind(author.id)
    .bind(ap.now - 3_600_000)
    .fetch_one(&mut *conn)
    .await?;
    // A lead of the activity's branch holds the code's key, and whoever carried an unsigned record in may
    // know the code: neither sign-in is proven by it.
    let leads_it = author.role == Role::Lead && author.org_id == activity.org_id;
    let claim = SignInClaim {
        wrong_codes,
        checked_this_hour: db::to_u32(checked_this_hour),
        by_location: s.location.is_some() || leads_it || ap.carried_unsigned,
        before_last_sync: ap.before_last_sync(),
    };
    let typed = normalize_code(&s.code);
    let verdict = life::judge_sign_in(claim, || {
        if activity.secret.is_empty() {
            typed == activity.code
        } else {
            code_matches(&activity.secret, &typed, at, activity.code_step_ms)
        }
    });
    // Natural-key merge: the row exists from publication; a sign-in only moves it forward. If the lead has
    // already confirmed the member, the record merges into that row (which keeps its status) instead of
    // adding one. A member who asked for leave and came after all is present.
    let merge = match life::sign_in_effect(status) {
        SignInEffect::SignsIn => "status = 'signed_in',",
        SignInEffect::Attaches => "",
        SignInEffect::Ignored => return Ok(()),
    };
    let mut proof = SignInProof {
        wrong_codes,
        recorded,
        unverified,
    };
    if !proof.take(verdict) {
        if proof.wrong_codes != wrong_codes {
            // A new version of the row, so the lead's phone learns of the wrong code at its next pull.
            db::query(
                "UPDATE attendance SET wrong_codes = $1, server_seq = $2
                 WHERE activity_id = $3 AND member_id = $4",
            )
            .bind(proof.wrong_codes)
            .bind(ap.seq)
            .bind(&s.activity_id)
            .bind(author.id)
            .execute(&mut *conn)
            .await?;
        }
        return Ok(());
    }
    let location = s.location.as_ref();
    db::query(&format!(
        "UPDATE attendance SET {merge} record_id = $1, signed_at = $2, device_time = $3, received_at = $4,
                clock_skewed = $5, code_unverified = $6, server_seq = $7, location_inside = $10,
                location_distance_m = $11, location_accuracy_m = $12, time_doubtful = $13, wrong_codes = $14,
                self_marked = FALSE, carried_by = $15
         WHERE activity_id = $8 AND member_id = $9"
    ))
    .bind(ap.record_id)
    .bind(at)
    .bind(ap.device_time)
    .bind(ap.now)
    .bind(is_skewed(ap.offset))
    .bind(proof.unverified)
    .bind(ap.seq)
    .bind(&s.activity_id)
    .bind(author.id)
    .bind(location.map(|l| l.inside))
    .bind(location.map(|l| l.distance_m))
    .bind(location.map(|l| l.accuracy_m))
    .bind(claim.before_last_sync)
    .bind(proof.wrong_codes)
    .bind(ap.imported_by.filter(|_| ap.carried_unsigned))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A member's 请假, 补签 or 补学 on their own row, judged by [`life::request`].
pub async fn request(conn: &mut dyn Conn, r: &Request, ap: &Applying<'_>) -> Outcome {
    let Some(activity) = ActivityRow::find(conn, &r.activity_id).await? else {
        return Err(refuse(
            "活动不存在，可能已被删除，请联系党支部书记".to_owned(),
        ));
    };
    if let Err(why) = activity.state.check_open() {
        return Err(refuse(why.to_owned()));
    }
    let Some(status) = status_of(conn, &r.activity_id, ap.author.id).await? else {
        return Err(refuse("您不在该活动的应到名单中".to_owned()));
    };
    let when = When {
        at: ap.at(),
        starts_at: activity.starts_at,
        ends_at: activity.ends_at,
        makeup_window_ms: ap.settings.makeup_window_ms,
    };
    let next = match life::request(status, r.kind, &r.reason, when) {
        Ok(next) => next,
        Err(why) => return Err(refuse(why.to_owned())),
    };
    let reason = r.reason.trim();
    // The lead sees when it arrived, whether its claimed time is before the phone's last sync, whether leave
    // "before the start" only reached the server after it, and who carried it in unsigned.
    let (sql, category) = match r.kind {
        RequestKind::Study => (
            "UPDATE attendance SET status = $1, study = $2, received_at = $3, time_doubtful = $4, carried_by = $5,
                    server_seq = $6
             WHERE activity_id = $7 AND member_id = $8",
            None,
        ),
        RequestKind::Leave => (
            "UPDATE attendance SET status = $1, reason = $2, category = $3, lead_note = NULL, received_at = $4,
                    time_doubtful = $5, carried_by = $6, late_request = $7, server_seq = $8
             WHERE activity_id = $9 AND member_id = $10",
            Some(r.category.unwrap_or(LeaveCategory::Other)),
        ),
        RequestKind::Makeup => (
            "UPDATE attendance SET status = $1, reason = $2, lead_note = NULL, received_at = $3, time_doubtful = $4,
                    carried_by = $5, server_seq = $6
             WHERE activity_id = $7 AND member_id = $8",
            None,
        ),
    };
    let mut query = db::query(sql).bind(next.as_str()).bind(reason);
    if let Some(category) = category {
        query = query.bind(category.as_str());
    }
    query = query
        .bind(ap.now)
        .bind(ap.before_last_sync())
        .bind(ap.imported_by.filter(|_| ap.carried_unsigned));
    if r.kind == RequestKind::Leave {
        query = query.bind(ap.now > activity.starts_at);
    }
    query
        .bind(ap.seq)
        .bind(&r.activity_id)
        .bind(ap.author.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Nobody confirms or decides their own row: a lead's own attendance (and the 学时 it may earn) is for
/// another lead of the branch to confirm; unconfirmed, it still counts as 已签到.
const NOT_ONESELF: &str = "不能审批本人的出席记录，请由支部其他委员处理";

/// A lead's 确认 of their own row marks them present as their own statement: 已签到（待确认）, flagged as
/// such for another lead, never 已确认 and never earning 学时 by itself. (A lead who forgot to sign in to
/// the meeting they held can still close its record.)
async fn mark_self_present(conn: &mut dyn Conn, c: &Confirm, ap: &Applying<'_>) -> Outcome {
    let Some(status) = status_of(conn, &c.activity_id, c.member_id).await? else {
        return Err(refuse("您不在该活动的应到名单中".to_owned()));
    };
    match life::sign_in_effect(status) {
        SignInEffect::SignsIn => {}
        SignInEffect::Attaches => return Ok(()),
        SignInEffect::Ignored => return Err(refuse(NOT_ONESELF.to_owned())),
    }
    db::query(
        "UPDATE attendance SET status = 'signed_in', record_id = $1, signed_at = $2, received_at = $3,
                code_unverified = TRUE, self_marked = TRUE, server_seq = $4
         WHERE activity_id = $5 AND member_id = $6",
    )
    .bind(ap.record_id)
    .bind(ap.now)
    .bind(ap.now)
    .bind(ap.seq)
    .bind(&c.activity_id)
    .bind(c.member_id)
    .execute(&mut *conn)
    .await?;
    ap.audit(conn, "mark_self_present", &c.activity_id, Some(c.member_id))
        .await?;
    Ok(())
}

/// The lead confirms one member's attendance: their sign-in, or — the member was seen at the meeting but
/// their record has not arrived — marks them present (audited as such); their own record merges into this
/// row when it arrives (fault 10 in the README's “Proving sync under faults”). Confirming twice is harmless.
pub async fn confirm(conn: &mut dyn Conn, c: &Confirm, ap: &Applying<'_>) -> Outcome {
    let activity = ActivityRow::for_lead(conn, ap.author, &c.activity_id).await?;
    if c.member_id == ap.author.id {
        // Not before members may sign in either.
        if ap.now < activity.starts_at - crate::model::SIGN_IN_OPENS_BEFORE_MS {
            return Err(refuse("活动开始前1小时起才能标记本人出席".to_owned()));
        }
        return mark_self_present(conn, c, ap).await;
    }
    let Some(status) = status_of(conn, &c.activity_id, c.member_id).await? else {
        return Err(refuse("该成员不在应到名单中".to_owned()));
    };
    let action = match life::confirmation(status) {
        Ok(Confirmation::Already) => return Ok(()),
        Ok(Confirmation::Confirms) => "confirm_attendance",
        Ok(Confirmation::MarksPresent) => "mark_present",
        Err(why) => return Err(refuse(why.to_owned())),
    };
    db::query(
        "UPDATE attendance SET status = 'confirmed', confirmed_by = $1, confirmed_at = $2, server_seq = $3
         WHERE activity_id = $4 AND member_id = $5",
    )
    .bind(ap.author.id)
    .bind(ap.now)
    .bind(ap.seq)
    .bind(&c.activity_id)
    .bind(c.member_id)
    .execute(&mut *conn)
    .await?;
    let subject = format!("{}/{}", c.activity_id, c.member_id);
    ap.audit(conn, action, &subject, Some(c.member_id)).await?;
    study::credit_attendance(
        conn,
        &c.activity_id,
        c.member_id,
        AttendanceStatus::Confirmed,
        ap,
    )
    .await?;
    Ok(())
}

/// The lead's decision on one row, judged by [`life::decide`], audited with its reason.
pub async fn decide(conn: &mut dyn Conn, d: &Decide, ap: &Applying<'_>) -> Outcome {
    ActivityRow::for_lead(conn, ap.author, &d.activity_id).await?;
    if d.member_id == ap.author.id && d.decision != Decision::Absent {
        return Err(refuse(NOT_ONESELF.to_owned()));
    }
    let carried_by: Option<i64> = db::query_scalar(
        "SELECT carried_by FROM attendance WHERE activity_id = $1 AND member_id = $2",
    )
    .bind(&d.activity_id)
    .bind(d.member_id)
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    if carried_by == Some(ap.author.id) {
        return Err(refuse(
            "这条申请是您代为导入的（未经本人签名），须由支部其他委员或上级管理员审批".to_owned(),
        ));
    }
    let Some(status) = status_of(conn, &d.activity_id, d.member_id).await? else {
        return Err(refuse("该成员不在应到名单中".to_owned()));
    };
    let next = match life::decide(status, d.decision, &d.reason) {
        Ok(next) => next,
        Err(why) => return Err(refuse(why.to_owned())),
    };
    let reason = d.reason.trim();
    // Which of the row's two reasons the decision writes: the 缺席原因 (the record's) and the note the
    // member sees on a refusal. A refused leave leaves no reason: the absence needs its own.
    let set = match d.decision {
        Decision::ApproveLeave | Decision::ApproveMakeup | Decision::Online => "",
        Decision::RejectLeave => "reason = NULL, category = NULL, lead_note = $5,",
        Decision::RejectMakeup => "lead_note = $5,",
        Decision::RejectSignIn => "reason = $5, lead_note = $5,",
        Decision::Absent | Decision::Exempt => "reason = $5,",
    };
    db::query(&format!(
        "UPDATE attendance SET {set} status = $1, decided_by = $2, decided_at = $3, server_seq = $4
         WHERE activity_id = $6 AND member_id = $7"
    ))
    .bind(next.as_str())
    .bind(ap.author.id)
    .bind(ap.now)
    .bind(ap.seq)
    .bind(reason)
    .bind(&d.activity_id)
    .bind(d.member_id)
    .execute(&mut *conn)
    .await?;
    let subject = format!(
        "{}/{}：{}{}",
        d.activity_id,
        d.member_id,
        d.decision.label(),
        if reason.is_empty() {
            String::new()
        } else {
            format!("（{reason}）")
        }
    );
    ap.audit(conn, "decide", &subject, Some(d.member_id))
        .await?;
    study::credit_attendance(conn, &d.activity_id, d.member_id, next, ap).await?;
    Ok(())
}

/// Adds someone to an open activity's roster (see [`AddToRoster`]); already on it is harmless.
pub async fn add_to_roster(conn: &mut dyn Conn, a: &AddToRoster, ap: &Applying<'_>) -> Outcome {
    let activity = ActivityRow::for_lead(conn, ap.author, &a.activity_id).await?;
    let person: Option<(i64, i64, bool, String)> = db::query_as(
        "SELECT id, org_id, mobile, role FROM users WHERE phone = $1 AND disabled_at IS NULL",
    )
    .bind(a.phone.trim())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((member_id, org_id, mobile, role)) = person else {
        return Err(refuse("没有这个手机号的党员，请核对".to_owned()));
    };
    let guest = org_id != activity.org_id;
    if role == "admin" || (guest && !mobile) {
        return Err(refuse(
            "只能加入本支部党员，或邀请其他支部的流动党员作为外支部人员参加".to_owned(),
        ));
    }
    let added = db::query(
        "INSERT INTO attendance (activity_id, member_id, status, guest, server_seq) VALUES ($1, $2, 'pending', $3, $4)
         ON CONFLICT (activity_id, member_id) DO NOTHING",
    )
    .bind(&a.activity_id)
    .bind(member_id)
    .bind(guest)
    .bind(ap.seq)
    .execute(&mut *conn)
    .await?;
    if added == 1 {
        // The activity moves forward too, so a phone that pulled before it was on the roster receives it.
        db::query("UPDATE activities SET server_seq = $1 WHERE id = $2")
            .bind(ap.seq)
            .bind(&a.activity_id)
            .execute(&mut *conn)
            .await?;
        let subject = format!(
            "{}/{member_id}{}",
            a.activity_id,
            if guest { "（外支部）" } else { "" }
        );
        ap.audit(conn, "add_to_roster", &subject, Some(member_id))
            .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct AttendanceRecord {
    pub activity_id: String,
    pub member_id: i64,
    pub member_name: String,
    pub membership: String,
    pub status: String,
    pub signed_at: Option<i64>,
    pub clock_skewed: bool,
    pub code_unverified: bool,
    #[sqlx(try_from = "i64")]
    pub wrong_codes: u32,
    pub time_doubtful: bool,
    pub self_marked: bool,
    pub carried: bool,
    pub late_request: bool,
    pub received_at: Option<i64>,
    pub guest: bool,
    pub reason: Option<String>,
    pub category: Option<String>,
    pub lead_note: Option<String>,
    pub study: Option<String>,
    pub location_inside: Option<bool>,
    pub location_distance_m: Option<i64>,
    pub location_accuracy_m: Option<i64>,
    pub server_seq: i64,
}

/// A person's name, 党员类别, branch, 学时对象 and role show in the rows phones hold of them (roster
/// rows, study records, 投诉建议), read from `users` as a pull is answered (the role decides who reviews
/// their study records): after any changes, the rows take a new number, so phones that hold them receive
/// them again. Call with the sequence taken before any write
/// of the transaction, or just before the first (see [`Sequence::begin`]).
pub async fn renumber_people(
    conn: &mut dyn Conn,
    seq: &mut Sequence,
    people: &[i64],
) -> Result<(), sqlx::Error> {
    let number = seq.take();
    for person in people {
        for sql in [
            "UPDATE attendance SET server_seq = $1 WHERE member_id = $2",
            "UPDATE study_records SET server_seq = $1 WHERE user_id = $2",
            "UPDATE feedback SET server_seq = $1 WHERE user_id = $2",
        ] {
            db::query(sql)
                .bind(number)
                .bind(*person)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// The columns of [`AttendanceRecord`], for queries over `attendance t JOIN users u`.
pub const ATTENDANCE_COLUMNS: &str = "t.activity_id, t.member_id, u.name AS member_name, u.membership, t.status,
    t.signed_at, t.clock_skewed, t.code_unverified, t.wrong_codes, t.time_doubtful, t.self_marked, t.carried_by IS NOT NULL AS carried, t.late_request, t.received_at, t.guest, t.reason, t.category, t.lead_note, t.study, t.location_inside,
    t.location_distance_m, t.location_accuracy_m, t.server_seq";

impl AttendanceRecord {
    pub fn view(self) -> Result<AttendanceView, AppError> {
        let bad = |what: &str| {
            AppError::Internal(format!(
                "attendance {}/{} has {what}",
                self.activity_id, self.member_id
            ))
        };
        let membership =
            Membership::parse(&self.membership).ok_or_else(|| bad(&self.membership))?;
        let status = AttendanceStatus::parse(&self.status).ok_or_else(|| bad(&self.status))?;
        Ok(AttendanceView {
            activity_id: self.activity_id,
            member_id: self.member_id,
            member_name: self.member_name,
            membership,
            status,
            signed_at: self.signed_at,
            clock_skewed: self.clock_skewed,
            code_unverified: self.code_unverified,
            wrong_codes: self.wrong_codes,
            time_doubtful: self.time_doubtful,
            self_marked: self.self_marked,
            carried: self.carried,
            late_request: self.late_request,
            received_at: self.received_at,
            guest: self.guest,
            reason: self.reason,
            category: self.category.as_deref().and_then(LeaveCategory::parse),
            lead_note: self.lead_note,
            study: self.study,
            location: self.location_inside.map(|inside| LocationCheck {
                inside,
                distance_m: self.location_distance_m.map_or(0, db::to_u32),
                accuracy_m: self.location_accuracy_m.map_or(0, db::to_u32),
            }),
            server_seq: self.server_seq,
        })
    }
}

/// The query of [`attendance_since`]: $1 the person, $2 their organisation, ($3, $4] the sequence range,
/// $5 the limit, $6 whether they lead it, $7 since when an ended activity's roster is recent (see
/// [`crate::life::roster_synced`]).
pub fn attendance_since_sql(engine: Engine) -> String {
    let (row, join) = (engine.row_address(), engine.join_in_order());
    // The branch's activities first, then each one's roster by index. SQLite keeps the order CROSS JOIN
    // gives; PostgreSQL would read the sequence index for the whole range instead (900,000 rows for a
    // lead's last page at a district's size), unless the roster is a subquery it runs per activity
    // (LATERAL, with OFFSET 0 so that it is not merged back into a join).
    let rosters = match engine {
        Engine::Sqlite => format!(
            "activities b {join} attendance r ON r.activity_id = b.id
             WHERE r.server_seq > $3 AND r.server_seq <= $4 AND"
        ),
        Engine::Postgres => "activities b CROSS JOIN LATERAL (
                 SELECT ctid, server_seq FROM attendance r
                 WHERE r.activity_id = b.id AND r.server_seq > $3 AND r.server_seq <= $4 OFFSET 0) r
             WHERE"
            .to_owned(),
    };
    // The page is chosen among the keys, and only its rows are read whole and joined.
    format!(
        "WITH keys(id, seq) AS (
             SELECT {row}, server_seq FROM attendance WHERE member_id = $1 AND server_seq > $3 AND server_seq <= $4
             UNION SELECT r.{row}, r.server_seq FROM {rosters} $6 AND b.org_id = $2
               AND (b.state = 'open' OR b.ends_at >= $7 OR b.closed_at >= $7)),
              page(id) AS (SELECT id FROM keys ORDER BY seq LIMIT $5)
         SELECT {ATTENDANCE_COLUMNS}
         FROM page k {join} attendance t ON t.{row} = k.id JOIN activities a ON a.id = t.activity_id
              JOIN users u ON u.id = t.member_id
         ORDER BY t.server_seq"
    )
}

/// Roster rows this user's phone holds that changed in (cursor, upto], the first `limit` by sequence:
/// everyone their own; a lead also their branch's open and recent activities' (older ones come by
/// [`crate::api::paths::ROSTER`] when opened; a closed roster no longer changes) (see [`super::activities::visible_since`]). Two index searches
/// (the member's rows by sequence; the branch's activities, then their rosters).
pub async fn attendance_since(
    conn: &mut dyn Conn,
    user: &CurrentUser,
    cursor: i64,
    upto: i64,
    limit: Option<usize>,
) -> Result<Vec<AttendanceView>, AppError> {
    let rows: Vec<AttendanceRecord> = db::query_as(&attendance_since_sql(conn.engine()))
        .bind(user.id)
        .bind(user.org_id)
        .bind(cursor)
        .bind(upto)
        .bind(sql_limit(limit))
        .bind(user.role == Role::Lead)
        .bind(now_ms() - crate::life::RECENT_ROSTER_DAYS * 86_400_000)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(AttendanceRecord::view).collect()
}
