//! Joining and getting back in, with no developer at hand: the members a lead or admin looks after, one-time
//! invitations (an imported member sets their password with one; a member who forgot theirs gets a new one
//! from their lead), and accepting an invitation.
//!
//! A code is 8 characters from an alphabet without look-alikes (about 2^39 codes), kept only as a SHA-256,
//! valid for [`INVITATION_MS`] and once. Wrong codes are throttled per address like logins.

use axum::extract::{Path, Query, State};
use axum::{Json, Router, routing::get, routing::post};
use rand::Rng;
use rand::rngs::OsRng;
use serde::Deserialize;

use crate::server::auth::{
    ClientAddress, CurrentUser, check_new_password, end_sessions, hash_password, hash_token,
    hashing, signed_in,
};
use crate::server::security::account_event;
use crate::server::throttle;

use crate::api::{
    ErrorBody, Exemption, Invitation, JoinCheck, JoinPreview, JoinRequest, LoginResponse,
    MemberAccess, MemberDetail, MemberPage, MemberProfile, MemberRow, MobileRegistration,
    NewInvitation, OrgRef, PRIVACY_VERSION, PasswordChange, paths,
};
use crate::model::{Membership, Role, mask_phone};
use crate::org::{LEAD_POSTS, check_profile};
use crate::server::db::{self, Conn, Sequence};
use crate::server::db::{
    LIST_PAGE, ORG_SCOPE, audit, groups_of, is_group_of, now_ms, resume_at, scope_orgs,
};
use crate::server::life::attendance::renumber_people;
use crate::server::{AppError, AppState, Deferred};
use crate::study::{Audience, Day};

/// An invitation is valid for a week.
pub const INVITATION_MS: i64 = 7 * 24 * 3_600_000;
/// No 0/O, 1/I/L: a code read out over the phone is typed right.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_LEN: usize = 8;
const BAD_CODE: &str = "邀请码无效、已使用或已过期，请向书记重新索取";

/// Joining: anyone holding a code (see [`crate::server::auth::unauthenticated`]).
pub fn unauthenticated_router() -> Router<AppState> {
    Router::new()
        .route(
            paths::JOIN_CHECK,
            post(check).layer(crate::server::auth::unauthenticated()),
        )
        .route(
            paths::JOIN,
            post(join).layer(crate::server::auth::unauthenticated()),
        )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::MEMBERS, get(members))
        .route(paths::MEMBER, get(member).put(edit_member))
        .route(paths::MEMBER_ACCESS, axum::routing::put(set_access))
        .route(paths::PASSWORD, axum::routing::put(change_password))
        .route(paths::INVITATIONS, post(invite))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct MembersQuery {
    /// An organisation (admins: any, with everything below it; leads: their own branch). Absent: all the
    /// caller looks after.
    pub org: Option<i64>,
    /// Where this page starts: the `next` of the page before (an organisation's id).
    pub from: Option<i64>,
    /// Part of a name or phone number: the first matches anywhere in the scope, instead of a page.
    #[serde(default)]
    pub q: String,
}

/// A member as [`member_row`] reads them; add `WHERE …`.
const SELECT_MEMBER: &str = "SELECT u.id, u.name, u.phone, u.org_id, o.name AS org_name, u.role,
        u.membership, u.post, u.tags, u.password_hash != '' AS joined,
        u.disabled_at IS NOT NULL AS disabled, u.joined_at IS NOT NULL AS joined_before
     FROM users u JOIN orgs o ON o.id = u.org_id";

/// A member as stored ([`SELECT_MEMBER`]).
#[derive(sqlx::FromRow)]
struct MemberFields {
    id: i64,
    name: String,
    phone: String,
    org_id: i64,
    org_name: String,
    role: String,
    membership: String,
    post: String,
    tags: String,
    joined: bool,
    disabled: bool,
    joined_before: bool,
}

fn member_row(f: MemberFields) -> MemberRow {
    MemberRow {
        id: f.id,
        name: f.name,
        phone: f.phone,
        org_id: f.org_id,
        org_name: f.org_name,
        role: Role::parse(&f.role).unwrap_or(Role::Member),
        membership: Membership::parse(&f.membership).unwrap_or_default(),
        post: f.post,
        tags: f.tags,
        joined: f.joined,
        disabled: f.disabled,
        joined_before: f.joined_before,
    }
}

/// The members a lead (their branch) or an admin (their part of the district, or one organisation) looks
/// after, a page at a time: whole organisations in tree order until at least [`LIST_PAGE`] people, so a
/// district of 100,000 costs one page, not the whole list. With `q`, the first matches in the whole scope.
#[utoipa::path(get, path = paths::MEMBERS, tag = "accounts", security(("bearer" = [])), params(MembersQuery),
    responses((status = 200, body = MemberPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn members(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Deferred<Query<MembersQuery>>,
) -> Result<Json<MemberPage>, AppError> {
    let Query(MembersQuery { org, from, q }) = query.read()?;
    let q = q.trim();
    if q.chars().count() > 50 {
        return Err(AppError::BadRequest("查找内容最多50字".to_owned()));
    }
    let mut conn = state.db.reader.acquire().await?;
    let root = user
        .scope(
            &mut conn,
            org,
            "只有书记和管理员可以查看成员名单",
            "只能查看本支部或本党委范围内的成员",
        )
        .await?;
    // Disabled admins are gone from the list; disabled members and leads stay (their records do).
    const LISTED: &str = "(u.disabled_at IS NULL OR u.role IN ('member', 'lead'))";
    const ORDER: &str = "o.id, u.disabled_at IS NOT NULL, u.role = 'member', u.name_key, u.id";
    if !q.is_empty() {
        let engine = conn.engine();
        let (in_name, in_phone) = (
            engine.contains("u.name", "$2"),
            engine.contains("u.phone", "$2"),
        );
        let rows: Vec<MemberFields> = db::query_as(&format!(
            "{ORG_SCOPE} {SELECT_MEMBER} WHERE u.org_id IN (SELECT id FROM scope) AND {LISTED}
             AND ({in_name} OR {in_phone})
             ORDER BY {ORDER} LIMIT $3"
        ))
        .bind(root)
        .bind(q)
        .bind(LIST_PAGE as i64)
        .fetch_all(&mut *conn)
        .await?;
        let rows = rows.into_iter().map(member_row).collect();
        return Ok(Json(MemberPage { rows, next: None }));
    }
    let orgs = scope_orgs(&mut conn, root).await?;
    let first = resume_at(&orgs, from);
    let mut rows = Vec::new();
    let mut next = None;
    for &org in &orgs[first..] {
        if rows.len() >= LIST_PAGE {
            next = Some(org);
            break;
        }
        let some: Vec<MemberFields> = db::query_as(&format!(
            "{SELECT_MEMBER} WHERE u.org_id = $1 AND {LISTED} ORDER BY {ORDER}"
        ))
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
        rows.extend(some.into_iter().map(member_row));
    }
    Ok(Json(MemberPage { rows, next }))
}

/// A lead looks after the members of their branch, not its other leads: changing or resetting a fellow
/// lead is for the admins above them.
fn leads_manage_members_only(user: &CurrentUser, member: &MemberRow) -> Result<(), AppError> {
    if user.role == Role::Lead && member.role == Role::Lead {
        return Err(AppError::Forbidden(
            "支部委员的资料和账号由党委或区委组织部管理员管理",
        ));
    }
    Ok(())
}

/// The member `id` as their lead (of their branch, not their own) or an admin may see and edit them.
async fn editable(conn: &mut dyn Conn, user: &CurrentUser, id: i64) -> Result<MemberRow, AppError> {
    if user.role == Role::Member {
        return Err(AppError::Forbidden("只有书记和管理员可以查看成员资料"));
    }
    let row: Option<MemberFields> = db::query_as(&format!("{SELECT_MEMBER} WHERE u.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let member = member_row(row.ok_or(AppError::NotFound("没有这个成员"))?);
    if !user.administers(conn, member.org_id, true).await? {
        return Err(AppError::Forbidden(
            "只能查看本支部或本党委范围内成员的资料",
        ));
    }
    if member.id == user.id {
        return Err(AppError::Forbidden("本人的资料请由上级管理员修改"));
    }
    if member.role.administers() {
        return Err(AppError::Forbidden("管理员账号没有党员资料"));
    }
    Ok(member)
}

pub async fn profile(conn: &mut dyn Conn, id: i64) -> Result<MemberProfile, AppError> {
    type Fields = (String, String, String, String, Option<i64>);
    let (membership, post, tags, audience, group_id): Fields =
        db::query_as("SELECT membership, post, tags, audience, group_id FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    let host_org_ids: Vec<i64> =
        db::query_scalar("SELECT org_id FROM host_orgs WHERE user_id = $1 ORDER BY org_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let mobile: Option<MobileRegistration> = db::query_as(
        "SELECT destination, employer, starts_on, ends_on, card_no, card_valid_until, last_contact_on
         FROM mobile_registrations WHERE user_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let exemptions: Vec<(String, i64)> = db::query_as(
        "SELECT reason, until_at FROM exemptions WHERE user_id = $1 ORDER BY until_at",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(MemberProfile {
        membership: Membership::parse(&membership).unwrap_or_default(),
        post,
        tags,
        audience: Audience::parse(&audience).unwrap_or_default(),
        host_org_ids,
        group_id,
        mobile,
        exemptions: exemptions
            .into_iter()
            // Stored as the moment it ends (midnight after its last day, Shanghai time).
            .map(|(reason, until_at)| Exemption {
                reason,
                until: Day::of_millis(until_at - 1).iso(),
            })
            .collect(),
    })
}

/// One member's record: post, tags, audience, 流动党员 registration, host branches, exemptions.
#[utoipa::path(get, path = paths::MEMBER, tag = "accounts", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = MemberDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn member(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<i64>>,
) -> Result<Json<MemberDetail>, AppError> {
    let Path(id) = id.read()?;
    let mut conn = state.db.reader.acquire().await?;
    Ok(Json(detail(&mut conn, &user, id).await?))
}

async fn detail(
    conn: &mut dyn Conn,
    user: &CurrentUser,
    id: i64,
) -> Result<MemberDetail, AppError> {
    let member = editable(conn, user, id).await?;
    let profile = profile(conn, id).await?;
    let branches: Vec<(i64, String)> =
        db::query_as("SELECT id, name FROM orgs WHERE kind = 'branch' AND id != $1 ORDER BY id")
            .bind(member.org_id)
            .fetch_all(&mut *conn)
            .await?;
    let groups = groups_of(conn, member.org_id).await?;
    Ok(MemberDetail {
        member,
        profile,
        branches: branches
            .into_iter()
            .map(|(id, name)| OrgRef { id, name })
            .collect(),
        groups,
    })
}

/// Change a member's record (their lead, or an admin). A 书记 / 副书记 / 组织委员 post makes them a lead.
#[utoipa::path(put, path = paths::MEMBER, tag = "accounts", security(("bearer" = [])), params(("id" = i64, Path)),
    request_body = MemberProfile,
    responses((status = 200, body = MemberDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn edit_member(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<i64>>,
    body: Deferred<Json<MemberProfile>>,
) -> Result<Json<MemberDetail>, AppError> {
    let Path(id) = id.read()?;
    let Json(p) = body.read()?;
    let mut tx = state.db.writer.begin().await?;
    let member = editable(&mut tx, &user, id).await?;
    leads_manage_members_only(&user, &member)?;
    check_profile(&p, member.org_id).map_err(AppError::BadRequest)?;
    let before = profile(&mut tx, id).await?;
    for host in &p.host_org_ids {
        let branch: Option<String> = db::query_scalar("SELECT kind FROM orgs WHERE id = $1")
            .bind(host)
            .fetch_optional(&mut *tx)
            .await?;
        if branch.as_deref() != Some("branch") {
            return Err(AppError::BadRequest(
                "参加组织生活的其他组织应为支部".to_owned(),
            ));
        }
    }
    if let Some(group) = p.group_id
        && !is_group_of(&mut tx, group, member.org_id).await?
    {
        return Err(AppError::BadRequest(
            "党小组应为本人所在支部的党小组".to_owned(),
        ));
    }
    let post = p.post.trim();
    let role = if LEAD_POSTS.contains(&post) {
        Role::Lead
    } else {
        Role::Member
    };
    // Who leads a branch is decided above it: a lead who could appoint a co-lead could have their own
    // attendance and 学时 confirmed by someone of their choosing.
    if user.role == Role::Lead && role != member.role {
        return Err(AppError::Forbidden(
            "任免支部委员（书记、副书记、组织委员）须由党委或区委组织部管理员办理",
        ));
    }
    // A cadre's 学时对象 decides how much they owe and who recognises it: the 区委组织部's to set.
    if user.role != Role::Admin
        && before.audience != p.audience
        && (before.audience.is_cadre() || p.audience.is_cadre())
    {
        return Err(AppError::Forbidden(super::roster::CADRE_AUDIENCE));
    }
    let tags = crate::org::tags(&p.tags).map_err(AppError::BadRequest)?;
    // Before the first write, as every writer takes it: a new 类别 or 学时对象 renumbers the member's rows.
    let mut seq = Sequence::begin(&mut *tx).await?;
    // A new role changes what their phones may hold: those phones start over (sync::history_for).
    db::query("UPDATE users SET membership = $1, post = $2, tags = $3, audience = $4, role = $5, mobile = $6, group_id = $7,
                                view_epoch = view_epoch + CASE WHEN role <> $5 THEN 1 ELSE 0 END
               WHERE id = $8")
        .bind(p.membership.as_str())
        .bind(post)
        .bind(&tags)
        .bind(p.audience.as_str())
        .bind(role.as_str())
        .bind(tags.contains("流动党员") || p.mobile.is_some())
        .bind(p.group_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    // (A new role changes who reviews their study records: the reviewers' phones must receive them.)
    if before.membership != p.membership || before.audience != p.audience || member.role != role {
        renumber_people(&mut *tx, &mut seq, &[id]).await?;
        seq.save(&mut *tx).await?;
    }
    db::query("DELETE FROM host_orgs WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for host in &p.host_org_ids {
        db::query("INSERT INTO host_orgs (user_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(host)
            .execute(&mut *tx)
            .await?;
    }
    db::query("DELETE FROM mobile_registrations WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if let Some(m) = &p.mobile {
        db::query(
            "INSERT INTO mobile_registrations (user_id, destination, employer, starts_on, ends_on, card_no,
                                               card_valid_until, last_contact_on)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id)
        .bind(m.destination.trim())
        .bind(m.employer.trim())
        .bind(m.starts_on.trim())
        .bind(m.ends_on.trim())
        .bind(m.card_no.trim())
        .bind(m.card_valid_until.trim())
        .bind(m.last_contact_on.trim())
        .execute(&mut *tx)
        .await?;
    }
    db::query("DELETE FROM exemptions WHERE user_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for e in &p.exemptions {
        // Covers its last day whole: it ends at the next midnight, Shanghai time.
        let until_at = Day::parse(&e.until).map_or(0, |d| (d.0 + 1) * 86_400_000 - 8 * 3_600_000);
        db::query("INSERT INTO exemptions (user_id, reason, until_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(e.reason.trim())
            .bind(until_at)
            .execute(&mut *tx)
            .await?;
    }
    let after = profile(&mut tx, id).await?;
    let mut names = std::collections::HashMap::new();
    for org in [&before, &after]
        .iter()
        .flat_map(|p| p.host_org_ids.iter().copied().chain(p.group_id))
    {
        if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(org) {
            let name: Option<String> = db::query_scalar("SELECT name FROM orgs WHERE id = $1")
                .bind(org)
                .fetch_optional(&mut *tx)
                .await?;
            slot.insert(name.unwrap_or_else(|| org.to_string()));
        }
    }
    let changes = crate::org::profile_changes(&before, &after, |org| names[&org].clone());
    if !changes.is_empty() {
        let subject = format!("{}：{}", member.name, changes.join("；"));
        audit(
            &mut tx,
            now_ms(),
            user.id,
            "edit_member",
            &subject,
            Some(id),
        )
        .await?;
    }
    let detail = detail(&mut tx, &user, id).await?;
    tx.commit().await?;
    Ok(Json(detail))
}

/// Issue a one-time invitation for a member who has not joined, or a password reset for one who has.
/// Leads: members of their branch; committee admins: members in their 党委; district admins: anyone. A newer invitation replaces an older one.
#[utoipa::path(post, path = paths::INVITATIONS, tag = "accounts", security(("bearer" = [])), request_body = NewInvitation,
    responses((status = 200, body = Invitation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The account is disabled: restore it first"),
        (status = 422, body = ErrorBody)))]
pub async fn invite(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<NewInvitation>>,
) -> Result<Json<Invitation>, AppError> {
    let Json(NewInvitation { user_id }) = body.read()?;
    if user.role == Role::Member {
        return Err(AppError::Forbidden("只有书记和管理员可以发邀请"));
    }
    if user_id == user.id {
        return Err(AppError::Forbidden(
            "不能给自己发邀请；修改密码请找上级管理员",
        ));
    }
    let mut tx = state.db.writer.begin().await?;
    let target: Option<(String, String, i64, bool, bool)> = db::query_as(
        "SELECT name, role, org_id, joined_at IS NOT NULL, disabled_at IS NOT NULL FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let (name, role, org_id, reset, disabled) = target.ok_or(AppError::NotFound("没有这个成员"))?;
    let role = Role::parse(&role).unwrap_or(Role::Admin);
    // Admin accounts are invited by a district admin only.
    let allowed = (user.role == Role::Admin || !role.administers())
        && user.administers(&mut tx, org_id, true).await?;
    if !allowed {
        return Err(AppError::Forbidden("只能邀请本支部或本党委范围内的成员"));
    }
    if user.role == Role::Lead && role == Role::Lead {
        return Err(AppError::Forbidden(
            "支部委员的资料和账号由党委或区委组织部管理员管理",
        ));
    }
    // A new password for someone who already has one is a way into their account: not for the lead who
    // sees their records every day, and the member is told who did it at their next login.
    if user.role == Role::Lead && reset {
        return Err(AppError::Forbidden(
            "已加入的成员忘记密码，请由党委或区委组织部管理员重置，以免账号被他人冒用",
        ));
    }
    if disabled {
        return Err(AppError::Conflict("这个账号已停用；需要时请先恢复账号"));
    }
    let now = now_ms();
    let code = new_code();
    let expires_at = now + INVITATION_MS;
    db::query("DELETE FROM invitations WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    db::query(
        "INSERT INTO invitations (code_hash, user_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&normalise(&code)))
    .bind(user_id)
    .bind(user.id)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    if reset {
        account_event(&mut tx, user_id, now, Some(user.id), "发起了密码重置").await?;
    }
    let action = if reset { "reset_password" } else { "invite" };
    audit(&mut tx, now, user.id, action, &name, Some(user_id)).await?;
    tx.commit().await?;
    Ok(Json(Invitation {
        link: format!("/join?code={code}"),
        code,
        expires_at,
        name,
        reset,
    }))
}

/// Disable an account — transferred out, phone lost — or restore it. Disabling ends every session and the
/// password at once and withdraws open invitations; the records stay, and the account is on no roster
/// published from then on. Restored, the member joins again with an invitation (from an admin if they had
/// joined before: see [`invite`]). Leads: members of their branch; admins: anyone below them.
#[utoipa::path(put, path = paths::MEMBER_ACCESS, tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = MemberAccess,
    responses((status = 200, body = MemberRow), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_access(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<i64>>,
    body: Deferred<Json<MemberAccess>>,
) -> Result<Json<MemberRow>, AppError> {
    let Path(id) = id.read()?;
    let Json(access) = body.read()?;
    let reason = access.reason.trim();
    if reason.chars().count() > crate::life::MAX_REASON_CHARS {
        return Err(AppError::BadRequest("原因不能超过200字".to_owned()));
    }
    if !access.enabled && reason.is_empty() {
        return Err(AppError::BadRequest(
            "请写明停用原因（如组织关系转出、手机丢失）".to_owned(),
        ));
    }
    let mut tx = state.db.writer.begin().await?;
    let member = editable(&mut tx, &user, id).await?;
    leads_manage_members_only(&user, &member)?;
    let now = now_ms();
    if access.enabled != member.disabled {
        return Ok(Json(member));
    }
    if access.enabled {
        db::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        account_event(&mut tx, id, now, Some(user.id), "恢复了账号").await?;
    } else {
        db::query("UPDATE users SET disabled_at = $1, password_hash = '' WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        end_sessions(&mut tx, id).await?;
        db::query("DELETE FROM invitations WHERE user_id = $1 AND used_at IS NULL")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        account_event(
            &mut tx,
            id,
            now,
            Some(user.id),
            &format!("停用了账号（{reason}）"),
        )
        .await?;
    }
    let (action, subject) = if access.enabled {
        ("enable_member", member.name.clone())
    } else {
        ("disable_member", format!("{}：{reason}", member.name))
    };
    audit(&mut tx, now, user.id, action, &subject, Some(id)).await?;
    let member = editable(&mut tx, &user, id).await?;
    tx.commit().await?;
    state
        .security
        .log(action, serde_json::json!({"by": user.id, "user": id}));
    Ok(Json(member))
}

/// Change one's own password: the current one is checked (and guesses of it are throttled per account),
/// the new one must not be easy to guess, and every other session ends.
#[utoipa::path(put, path = paths::PASSWORD, tag = "accounts", security(("bearer" = [])), request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "The current password is wrong"), (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<PasswordChange>>,
) -> Result<axum::http::StatusCode, AppError> {
    let Json(change) = body.read()?;
    if change.current.len() > 256 {
        return Err(AppError::BadRequest("密码过长".to_owned()));
    }
    let (phone, stored): (String, String) =
        db::query_as("SELECT phone, password_hash FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_one(&state.db.reader)
            .await?;
    check_new_password(&change.new, &phone)?;
    let now = now_ms();
    let key = format!("password:{}", user.id);
    let attempt = state
        .throttle
        .attempt(&[(key.clone(), throttle::ACCOUNT)], false, now)
        .await?
        .map_err(|wait| AppError::TooManyAttempts(wait.message("原密码错误次数过多")))?;
    let current = change.current;
    if !hashing(move || crate::server::auth::verify_password(&current, &stored)).await? {
        state.security.log(
            "password_change_failed",
            serde_json::json!({"user": user.id}),
        );
        return Err(AppError::Forbidden("原密码不正确"));
    }
    attempt.succeeded(&[&key]).await;
    let new = change.new;
    let hash = hashing(move || hash_password(&new)).await?;
    let mut tx = state.db.writer.begin().await?;
    db::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&hash)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    db::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash != $2")
        .bind(user.id)
        .bind(user.token_hash())
        .execute(&mut *tx)
        .await?;
    account_event(
        &mut tx,
        user.id,
        now,
        None,
        "您修改了密码（其他设备已退出登录）",
    )
    .await?;
    tx.commit().await?;
    state
        .security
        .log("password_changed", serde_json::json!({"user": user.id}));
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Whose invitation a code is (name, masked phone, branch), before the member sets a password.
#[utoipa::path(post, path = paths::JOIN_CHECK, tag = "accounts", request_body = JoinCheck,
    responses((status = 200, body = JoinPreview), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "Unknown, used or expired code"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody, description = "Busy: try again shortly")))]
pub async fn check(
    State(state): State<AppState>,
    address: ClientAddress,
    body: Deferred<Json<JoinCheck>>,
) -> Result<Json<JoinPreview>, AppError> {
    let Json(JoinCheck { code }) = body.read()?;
    let mut conn = state.db.reader.acquire().await?;
    let (user_id, expires_at) = valid_code(&state, &mut conn, &address, &code).await?;
    let (name, phone, org_name): (String, String, String) = db::query_as(
        "SELECT u.name, u.phone, o.name FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = $1",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Json(JoinPreview {
        name,
        phone: mask_phone(&phone),
        org_name,
        expires_at,
    }))
}

/// Accept an invitation: set the password (at least 8 characters, not a common one), record the privacy
/// consent, and sign in. Every other session of the account ends (a reset locks out whoever had the old
/// password). The code is throttled and looked up before any password is hashed.
#[utoipa::path(post, path = paths::JOIN, tag = "accounts", request_body = JoinRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn join(
    State(state): State<AppState>,
    address: ClientAddress,
    body: Deferred<Json<JoinRequest>>,
) -> Result<Json<LoginResponse>, AppError> {
    let Json(req) = body.read()?;
    if !req.privacy_consent {
        return Err(AppError::BadRequest(
            "请先阅读并同意《个人信息保护说明》".to_owned(),
        ));
    }
    if req.device_id.len() > 64 {
        return Err(AppError::BadRequest("设备编号无效".to_owned()));
    }
    let (user_id, _) = {
        let mut conn = state.db.reader.acquire().await?;
        valid_code(&state, &mut conn, &address, &req.code).await?
    };
    let phone: String = db::query_scalar("SELECT phone FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&state.db.reader)
        .await?;
    check_new_password(&req.password, &phone)?;
    let password = req.password;
    let hash = hashing(move || hash_password(&password)).await?;
    let now = now_ms();
    let mut tx = state.db.writer.begin().await?;
    // Used once: a second request with the same code (sent twice, or raced) finds it gone.
    let used = db::query(
        "UPDATE invitations SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(now)
    .bind(hash_token(&normalise(&req.code)))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if used == 0 {
        return Err(AppError::NotFound(BAD_CODE));
    }
    let joined_before: bool =
        db::query_scalar("SELECT joined_at IS NOT NULL FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
    db::query(
        "UPDATE users SET password_hash = $1, joined_at = coalesce(joined_at, $2) WHERE id = $3",
    )
    .bind(&hash)
    .bind(now)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    end_sessions(&mut tx, user_id).await?;
    db::query(
        "INSERT INTO consents (user_id, kind, granted, version, at) VALUES ($1, 'privacy', TRUE, $2, $3)",
    )
    .bind(user_id)
    .bind(PRIVACY_VERSION)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let what = if joined_before {
        "有人用重置码设置了新密码（此前的登录均已退出）"
    } else {
        "您用邀请码加入红雁并设置了密码"
    };
    account_event(&mut tx, user_id, now, None, what).await?;
    state.security.log(
        if joined_before {
            "password_reset_used"
        } else {
            "joined"
        },
        serde_json::json!({"user": user_id, "address": address.0}),
    );
    signed_in(&state, tx, user_id, &req.device_id, now).await
}

/// The account a code invites, and when it expires; every try counts against the caller's address first.
async fn valid_code(
    state: &AppState,
    conn: &mut dyn Conn,
    address: &ClientAddress,
    code: &str,
) -> Result<(i64, i64), AppError> {
    let now = now_ms();
    let keys = [(
        format!("join:{}", throttle::network_of(&address.0)),
        throttle::CODES,
    )];
    // Codes are guessed from anywhere: every guess also spends the server-wide budget, so that many
    // networks at once get no further than one.
    let attempt = state
        .throttle
        .attempt(&keys, true, now)
        .await?
        .map_err(|wait| {
            state.security.log(
                "invitation_code_throttled",
                serde_json::json!({"address": address.0, "wait_s": wait.0}),
            );
            AppError::TooManyAttempts(wait.message("邀请码错误次数过多"))
        })?;
    let code = normalise(code);
    let found: Option<(i64, i64)> = if code.len() == CODE_LEN {
        db::query_as(
            "SELECT i.user_id, i.expires_at FROM invitations i JOIN users u ON u.id = i.user_id
             WHERE i.code_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(hash_token(&code))
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?
    } else {
        None
    };
    match found {
        Some(found) => {
            attempt.succeeded(&[]).await;
            Ok(found)
        }
        None => {
            state.security.log(
                "invitation_code_wrong",
                serde_json::json!({"address": address.0}),
            );
            Err(AppError::NotFound(BAD_CODE))
        }
    }
}

/// `ABCD-EFGH`
fn new_code() -> String {
    let chars: String = (0..CODE_LEN)
        .map(|_| ALPHABET[OsRng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// What a member typed, as stored: upper case, without dashes or spaces.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_avoid_look_alikes_and_read_back_however_typed() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), 9);
            assert_eq!(&code[4..5], "-");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
            assert_eq!(
                normalise(&code.to_lowercase().replace('-', " ")),
                normalise(&code)
            );
        }
        assert_ne!(new_code(), new_code());
    }
}
