//! Study records and reviews arriving in pushes (their appliers), and the record a confirmed attendance
//! earns.

use super::*;
use crate::server::db;

/// Where the district's rules are kept.
pub const RULES: db::Single = db::Single {
    table: "study_rules",
    column: "rules",
};

/// The district's rules as stored, or the defaults.
pub async fn load_rules(conn: &mut dyn Conn) -> Result<StudyRules, sqlx::Error> {
    RULES.load(conn).await
}

/// A new record or an edit by its author. An edit of a recognised record is refused with the reason
/// (the author's phone keeps it, quarantined); a returned or withdrawn one is open again.
pub async fn save(conn: &mut dyn Conn, e: &StudyEntry, ap: &Applying<'_>) -> Outcome {
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
    db::query(
        "INSERT INTO study_records (id, user_id, kind, title, organiser, starts_on, ends_on, hours, days,
                                   programme, notes, status, created_at, server_seq, carried_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title,
             organiser = excluded.organiser, starts_on = excluded.starts_on, ends_on = excluded.ends_on,
             hours = excluded.hours, days = excluded.days, programme = excluded.programme,
             notes = excluded.notes, status = excluded.status, credited = 0, version = study_records.version + 1,
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

pub(super) async fn stored(
    conn: &mut dyn Conn,
    id: &str,
) -> Result<Option<(i64, StudyStatus)>, sqlx::Error> {
    let row: Option<(i64, String)> =
        db::query_as("SELECT user_id, status FROM study_records WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(owner, s)| (owner, StudyStatus::parse(&s).unwrap_or_default())))
}

/// The author takes back a record not yet recognised.
pub async fn withdraw(conn: &mut dyn Conn, w: &WithdrawStudy, ap: &Applying<'_>) -> Outcome {
    let Some((owner, status)) = stored(conn, &w.study_id).await? else {
        return Err(refuse("学习记录不存在".to_owned()));
    };
    if owner != ap.author.id {
        return Err(refuse("只能撤回本人的学习记录".to_owned()));
    }
    if let Err(why) = check_editable(status) {
        return Err(refuse(why.to_owned()));
    }
    db::query(
        "UPDATE study_records SET status = 'withdrawn', version = version + 1, server_seq = $1 WHERE id = $2",
    )
    .bind(ap.seq)
    .bind(&w.study_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A reviewer recognises or returns a record, judged by [`study::review`]; audited.
pub async fn review(conn: &mut dyn Conn, r: &ReviewStudy, ap: &Applying<'_>) -> Outcome {
    #[derive(sqlx::FromRow)]
    struct Row {
        status: String,
        #[sqlx(try_from = "i64")]
        version: u32,
        #[sqlx(try_from = "i64")]
        hours: u32,
        author_id: i64,
        role: String,
        org_id: i64,
        audience: String,
        carried_by: Option<i64>,
    }
    let row: Option<Row> = db::query_as(
        "SELECT s.status, s.version, s.hours, u.id AS author_id, u.role, u.org_id, u.audience, s.carried_by
         FROM study_records s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
    )
    .bind(&r.study_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Row {
        status,
        version,
        hours,
        author_id,
        role,
        org_id,
        audience,
        carried_by,
    }) = row
    else {
        return Err(refuse("学习记录不存在".to_owned()));
    };
    let author = Author::stored(author_id, &role, org_id, &audience);
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
    db::query(
        "UPDATE study_records SET status = $1, credited = $2, comment = $3, reviewed_by = $4, reviewed_at = $5,
                                  version = version + 1, server_seq = $6
         WHERE id = $7",
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
    conn: &mut dyn Conn,
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
    let row: Option<(String, String, i64, i64, i64, String)> = db::query_as(
        "SELECT a.kind, a.title, a.starts_at, a.ends_at, a.study_halves, o.name
         FROM activities a JOIN orgs o ON o.id = a.org_id WHERE a.id = $1 AND a.study_halves > 0",
    )
    .bind(activity_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((kind, title, starts_at, ends_at, halves, org_name)) = row else {
        return Ok(());
    };
    let halves = db::to_u32(halves);
    let kind = StudyKind::of_activity(ActivityKind::parse(&kind).unwrap_or_default());
    // Recognised at once only when the lead who confirmed may recognise this member's 学时; a co-lead's or
    // a cadre's attendance waits, 待认定, for the district admin like any record of theirs.
    let (role, org_id, audience): (String, i64, String) =
        db::query_as("SELECT role, org_id, audience FROM users WHERE id = $1")
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
    db::query(
        "INSERT INTO study_records (id, user_id, kind, title, organiser, starts_on, ends_on, hours, status,
                                   credited, comment, reviewed_by, reviewed_at, activity_id, created_at, server_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
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
