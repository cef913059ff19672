//! The organisation tree, edited by district admins: read it whole, add an organisation under a 党委 or
//! the 区委 (or a 党小组 under a branch), rename or move one (never below itself), set a temporary branch's
//! dates, and delete one while nothing belongs to it. District admins also name each 党委's admins
//! (党委管理员) and withdraw them. A committee admin reads their own part of the tree. Every change is
//! audited.

use crate::server::db::{self, Conn, Sequence};
use crate::server::life::activities::renumber_org;
use crate::server::life::attendance::renumber_people;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router, routing::delete, routing::get, routing::post, routing::put};

use crate::api::{ErrorBody, NewOrgAdmin, OrgAdmin, OrgEntry, OrgNode, paths};
use crate::model::{Role, is_valid_phone};
use crate::org::{OrgForm, check};
use crate::server::auth::CurrentUser;
use crate::server::db::{ORG_SCOPE, audit, now_ms};
use crate::server::{AppError, AppState, Deferred};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ORGS, get(tree).post(create))
        .route(paths::ORG, put(edit).delete(remove))
        .route(paths::ORG_ADMINS, post(add_admin))
        .route(paths::ORG_ADMIN, delete(remove_admin))
}

fn admin_only(user: &CurrentUser) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("只有区委组织部管理员可以管理组织"))
    }
}

/// The whole tree, parents before children (a committee admin: their 党委 and what is below it).
#[utoipa::path(get, path = paths::ORGS, tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<OrgNode>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn tree(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<OrgNode>>, AppError> {
    let mut conn = state.db.reader.acquire().await?;
    let all = nodes(&mut conn, None).await?;
    match user.role {
        Role::Admin => Ok(Json(all)),
        Role::Committee => {
            // Parents come first, so one pass keeps the 党委 and everything below it.
            let mut kept: Vec<OrgNode> = Vec::new();
            for node in all {
                if node.id == user.org_id || kept.iter().any(|k| Some(k.id) == node.parent_id) {
                    kept.push(node);
                }
            }
            Ok(Json(kept))
        }
        Role::Lead | Role::Member => Err(AppError::Forbidden("只有管理员可以查看组织树")),
    }
}

async fn nodes(conn: &mut dyn Conn, only: Option<i64>) -> Result<Vec<OrgNode>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        parent_id: Option<i64>,
        name: String,
        form: String,
        kind: String,
        starts_on: Option<String>,
        ends_on: Option<String>,
        #[sqlx(try_from = "i64")]
        members: u32,
        #[sqlx(try_from = "i64")]
        children: u32,
    }
    let rows: Vec<Row> = db::query_as(
        "SELECT o.id, o.parent_id, o.name, o.form, o.kind, o.starts_on, o.ends_on,
                (SELECT count(*) FROM users u WHERE (u.org_id = o.id OR u.group_id = o.id) AND u.role NOT IN ('admin', 'committee')) AS members,
                (SELECT count(*) FROM orgs c WHERE c.parent_id = o.id) AS children
         FROM orgs o WHERE $1 IS NULL OR o.id = $1 ORDER BY o.id",
    )
    .bind(only)
    .fetch_all(&mut *conn)
    .await?;
    let mut nodes: Vec<OrgNode> = rows
        .into_iter()
        .map(
            |Row {
                 id,
                 parent_id,
                 name,
                 form,
                 kind,
                 starts_on,
                 ends_on,
                 members,
                 children,
             }| OrgNode {
                id,
                parent_id,
                name,
                form: OrgForm::parse(&form).unwrap_or_else(|| OrgForm::of_kind(&kind)),
                starts_on,
                ends_on,
                members,
                children,
                admins: Vec::new(),
            },
        )
        .collect();
    #[derive(sqlx::FromRow)]
    struct Admin {
        org_id: i64,
        id: i64,
        name: String,
        phone: String,
        joined: bool,
    }
    let admins: Vec<Admin> = db::query_as(
        "SELECT org_id, id, name, phone, password_hash != '' AS joined FROM users
         WHERE role IN ('committee', 'admin') AND disabled_at IS NULL AND ($1 IS NULL OR org_id = $1) ORDER BY id",
    )
    .bind(only)
    .fetch_all(&mut *conn)
    .await?;
    for a in admins {
        if let Some(node) = nodes.iter_mut().find(|n| n.id == a.org_id) {
            node.admins.push(OrgAdmin {
                id: a.id,
                name: a.name,
                phone: a.phone,
                joined: a.joined,
            });
        }
    }
    // Parents before children, siblings in id order (a moved organisation may have a smaller id).
    let mut ordered = Vec::with_capacity(nodes.len());
    fn take(nodes: &mut Vec<OrgNode>, parent: Option<i64>, out: &mut Vec<OrgNode>) {
        let (here, rest): (Vec<OrgNode>, Vec<OrgNode>) = std::mem::take(nodes)
            .into_iter()
            .partition(|n| n.parent_id == parent);
        *nodes = rest;
        for node in here {
            let id = node.id;
            out.push(node);
            take(nodes, Some(id), out);
        }
    }
    if only.is_none() {
        take(&mut nodes, None, &mut ordered);
        ordered.append(&mut nodes);
        return Ok(ordered);
    }
    Ok(nodes)
}

/// Checks an entry against the tree; answers the parent's form.
async fn checked(conn: &mut dyn Conn, e: &OrgEntry, moving: Option<i64>) -> Result<(), AppError> {
    let parent: Option<(String, String)> =
        db::query_as("SELECT form, kind FROM orgs WHERE id = $1")
            .bind(e.parent_id)
            .fetch_optional(&mut *conn)
            .await?;
    let parent =
        parent.map(|(form, kind)| OrgForm::parse(&form).unwrap_or_else(|| OrgForm::of_kind(&kind)));
    check(
        e.form,
        &e.name,
        parent,
        e.starts_on.as_deref(),
        e.ends_on.as_deref(),
    )
    .map_err(AppError::BadRequest)?;
    if let Some(id) = moving {
        let below: bool = db::query_scalar(&format!(
            "{ORG_SCOPE} SELECT EXISTS (SELECT 1 FROM scope WHERE id = $2)"
        ))
        .bind(id)
        .bind(e.parent_id)
        .fetch_one(&mut *conn)
        .await?;
        if below {
            return Err(AppError::BadRequest(
                "不能把组织移到它自己或它的下级组织下面".to_owned(),
            ));
        }
    }
    Ok(())
}

fn day(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Add an organisation below a 党委 / 联合党委 / 党总支 or the 区委, or a 党小组 below a branch.
#[utoipa::path(post, path = paths::ORGS, tag = "admin", security(("bearer" = [])), request_body = OrgEntry,
    responses((status = 200, body = OrgNode), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<OrgEntry>>,
) -> Result<Json<OrgNode>, AppError> {
    admin_only(&user)?;
    let Json(e) = body.read()?;
    let mut tx = state.db.writer.begin().await?;
    let id = add(&mut tx, &e, user.id, now_ms()).await?;
    let node = nodes(&mut tx, Some(id)).await?.remove(0);
    tx.commit().await?;
    Ok(Json(node))
}

/// Checks and adds one organisation, audited as `actor`'s; answers its id.
pub async fn add(conn: &mut dyn Conn, e: &OrgEntry, actor: i64, now: i64) -> Result<i64, AppError> {
    checked(conn, e, None).await?;
    let id = db::query_scalar(
        "INSERT INTO orgs (parent_id, name, kind, form, starts_on, ends_on) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(e.parent_id)
    .bind(e.name.trim())
    .bind(e.form.kind())
    .bind(e.form.as_str())
    .bind(day(&e.starts_on))
    .bind(day(&e.ends_on))
    .fetch_one(&mut *conn)
    .await?;
    audit(
        conn,
        now,
        actor,
        "create_org",
        &format!("{}（{}）", e.name.trim(), e.form.label()),
        None,
    )
    .await?;
    Ok(id)
}

/// Rename, move, or change the form or dates of an organisation (the 区委 keeps its place).
#[utoipa::path(put, path = paths::ORG, tag = "admin", security(("bearer" = [])), request_body = OrgEntry,
    params(("id" = i64, Path)),
    responses((status = 200, body = OrgNode), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<i64>>,
    body: Deferred<Json<OrgEntry>>,
) -> Result<Json<OrgNode>, AppError> {
    admin_only(&user)?;
    let Path(id) = id.read()?;
    let Json(e) = body.read()?;
    let mut tx = state.db.writer.begin().await?;
    let current = nodes(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound("组织不存在"))?;
    if current.parent_id.is_none() {
        return Err(AppError::Conflict("区委组织部是组织树的根，不能修改"));
    }
    let in_use: bool = db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 OR group_id = $1)
             OR EXISTS (SELECT 1 FROM orgs WHERE parent_id = $1)
             OR EXISTS (SELECT 1 FROM activities WHERE org_id = $1 OR group_id = $1)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if current.form.kind() != e.form.kind() && in_use {
        return Err(AppError::Conflict(
            "这个组织下已有组织、成员或活动，不能在党委、党支部和党小组之间改变形式",
        ));
    }
    if current.form == OrgForm::Group && current.parent_id != Some(e.parent_id) && in_use {
        return Err(AppError::Conflict("党小组已有成员或活动，不能移到别的支部"));
    }
    checked(&mut tx, &e, Some(id)).await?;
    // Before the first write, as every writer takes it: a rename renumbers the rows that show the name.
    let renamed = current.name != e.name.trim();
    let mut seq = match renamed {
        true => Some(Sequence::begin(&mut *tx).await?),
        false => None,
    };
    db::query("UPDATE orgs SET parent_id = $1, name = $2, kind = $3, form = $4, starts_on = $5, ends_on = $6 WHERE id = $7")
        .bind(e.parent_id)
        .bind(e.name.trim())
        .bind(e.form.kind())
        .bind(e.form.as_str())
        .bind(day(&e.starts_on))
        .bind(day(&e.ends_on))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        now_ms(),
        user.id,
        "edit_org",
        &format!("{} → {}（{}）", current.name, e.name.trim(), e.form.label()),
        None,
    )
    .await?;
    if let Some(mut seq) = seq.take() {
        renumber_org(&mut *tx, &mut seq, id, current.form).await?;
        seq.save(&mut *tx).await?;
    }
    let node = nodes(&mut tx, Some(id)).await?.remove(0);
    tx.commit().await?;
    Ok(Json(node))
}

/// Delete an organisation nothing belongs to (no organisations below, no members, no activities).
#[utoipa::path(delete, path = paths::ORG, tag = "admin", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<i64>>,
) -> Result<StatusCode, AppError> {
    admin_only(&user)?;
    let Path(id) = id.read()?;
    let mut tx = state.db.writer.begin().await?;
    let node = nodes(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound("组织不存在"))?;
    let used: bool = db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 OR group_id = $1)
             OR EXISTS (SELECT 1 FROM activities WHERE org_id = $1 OR group_id = $1)
             OR EXISTS (SELECT 1 FROM host_orgs WHERE org_id = $1) OR EXISTS (SELECT 1 FROM orgs WHERE parent_id = $1)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if used || node.parent_id.is_none() {
        return Err(AppError::Conflict(
            "这个组织下还有组织、成员或活动记录，不能删除（临时党支部结束后请填写撤销日期）",
        ));
    }
    db::query("DELETE FROM orgs WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(&mut tx, now_ms(), user.id, "delete_org", &node.name, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Name a 党委's admin (党委管理员): a work account at the 党委, with no password until they accept the
/// invitation a district admin then issues. A withdrawn admin's account is given back.
#[utoipa::path(post, path = paths::ORG_ADMINS, tag = "admin", security(("bearer" = [])), request_body = NewOrgAdmin,
    params(("id" = i64, Path)),
    responses((status = 200, body = OrgAdmin), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn add_admin(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<i64>>,
    body: Deferred<Json<NewOrgAdmin>>,
) -> Result<Json<OrgAdmin>, AppError> {
    admin_only(&user)?;
    let Path(id) = id.read()?;
    let Json(NewOrgAdmin { name, phone }) = body.read()?;
    let (name, phone) = (name.trim(), phone.trim());
    if name.is_empty() || name.chars().count() > 30 {
        return Err(AppError::BadRequest("姓名应为1到30个字".to_owned()));
    }
    if !is_valid_phone(phone) {
        return Err(AppError::BadRequest("请填写11位手机号".to_owned()));
    }
    let mut tx = state.db.writer.begin().await?;
    let org = nodes(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound("组织不存在"))?;
    if org.form.kind() != "committee" {
        return Err(AppError::BadRequest(format!(
            "只有党委、联合党委和党总支设党委管理员；{}不设",
            org.form.label()
        )));
    }
    let existing: Option<(i64, String, bool)> =
        db::query_as("SELECT id, role, disabled_at IS NOT NULL FROM users WHERE phone = $1")
            .bind(phone)
            .fetch_optional(&mut *tx)
            .await?;
    let user_id = match existing {
        None => {
            db::query_scalar(
                "INSERT INTO users (phone, name, name_key, password_hash, role, org_id, created_at)
             VALUES ($1, $2, $3, '', 'committee', $4, $5) RETURNING id",
            )
            .bind(phone)
            .bind(name)
            .bind(db::name_key(name))
            .bind(id)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await?
        }
        Some((was, role, true)) if role == "committee" => {
            // Before its first write, as every writer takes it: the new name renumbers the account's rows.
            let mut seq = Sequence::begin(&mut *tx).await?;
            db::query(
                "UPDATE users SET name = $1, name_key = $2, org_id = $3, disabled_at = NULL, view_epoch = view_epoch + 1
                 WHERE id = $4",
            )
                .bind(name)
                .bind(db::name_key(name))
                .bind(id)
                .bind(was)
                .execute(&mut *tx)
                .await?;
            renumber_people(&mut *tx, &mut seq, &[was]).await?;
            seq.save(&mut *tx).await?;
            was
        }
        Some(_) => {
            return Err(AppError::Conflict(
                "这个手机号已有账号。党委管理员用单独的工作账号，请换一个手机号",
            ));
        }
    };
    audit(
        &mut tx,
        now_ms(),
        user.id,
        "add_org_admin",
        &format!("{}：{name}", org.name),
        Some(user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(OrgAdmin {
        id: user_id,
        name: name.to_owned(),
        phone: phone.to_owned(),
        joined: false,
    }))
}

/// Withdraw a 党委管理员: their sessions end at once, their password and unused invitations are gone, and
/// the account stays (withdrawn) for the records it signed.
#[utoipa::path(delete, path = paths::ORG_ADMIN, tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn remove_admin(
    State(state): State<AppState>,
    user: CurrentUser,
    ids: Deferred<Path<(i64, i64)>>,
) -> Result<StatusCode, AppError> {
    admin_only(&user)?;
    let Path((id, user_id)) = ids.read()?;
    let mut tx = state.db.writer.begin().await?;
    let found: Option<(String, String)> = db::query_as(
        "SELECT u.name, o.name FROM users u JOIN orgs o ON o.id = u.org_id
         WHERE u.id = $1 AND u.org_id = $2 AND u.role = 'committee' AND u.disabled_at IS NULL",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (name, org) = found.ok_or(AppError::NotFound("这个组织没有这位管理员"))?;
    db::query("UPDATE users SET disabled_at = $1, password_hash = '' WHERE id = $2")
        .bind(now_ms())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    crate::server::auth::end_sessions(&mut tx, user_id).await?;
    db::query("DELETE FROM invitations WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        now_ms(),
        user.id,
        "remove_org_admin",
        &format!("{org}：{name}"),
        Some(user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
