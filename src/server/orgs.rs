//! The organisation tree, edited by district admins: read it whole, add an organisation under a 党委 or
//! the 区委, rename or move one (never below itself or under a branch), set a temporary branch's dates, and
//! delete one while nothing belongs to it. Every change is audited.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Json, Router, routing::get, routing::put};
use sqlx::SqliteConnection;

use super::auth::CurrentUser;
use super::db::{ORG_SCOPE, audit, now_ms};
use super::{AppError, AppState};
use crate::api::{ErrorBody, OrgEntry, OrgNode, paths};
use crate::model::Role;
use crate::org::{OrgForm, check};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::ORGS, get(tree).post(create))
        .route(paths::ORG, put(edit).delete(remove))
}

fn admin_only(user: &CurrentUser) -> Result<(), AppError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("只有区委组织部管理员可以管理组织"))
    }
}

/// The whole tree, parents before children.
#[utoipa::path(get, path = paths::ORGS, tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<OrgNode>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn tree(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<OrgNode>>, AppError> {
    admin_only(&user)?;
    let mut conn = state.db.reader.acquire().await?;
    Ok(Json(nodes(&mut conn, None).await?))
}

async fn nodes(
    conn: &mut SqliteConnection,
    only: Option<i64>,
) -> Result<Vec<OrgNode>, sqlx::Error> {
    type Row = (
        i64,
        Option<i64>,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        u32,
        u32,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT o.id, o.parent_id, o.name, o.form, o.kind, o.starts_on, o.ends_on,
                (SELECT count(*) FROM users u WHERE u.org_id = o.id AND u.role != 'admin'),
                (SELECT count(*) FROM orgs c WHERE c.parent_id = o.id)
         FROM orgs o WHERE ?1 IS NULL OR o.id = ?1 ORDER BY o.id",
    )
    .bind(only)
    .fetch_all(conn)
    .await?;
    let mut nodes: Vec<OrgNode> = rows
        .into_iter()
        .map(
            |(id, parent_id, name, form, kind, starts_on, ends_on, members, children)| OrgNode {
                id,
                parent_id,
                name,
                form: OrgForm::parse(&form).unwrap_or_else(|| OrgForm::of_kind(&kind)),
                starts_on,
                ends_on,
                members,
                children,
            },
        )
        .collect();
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
async fn checked(
    conn: &mut SqliteConnection,
    e: &OrgEntry,
    moving: Option<i64>,
) -> Result<(), AppError> {
    let parent: Option<(String, String)> =
        sqlx::query_as("SELECT form, kind FROM orgs WHERE id = ?")
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
        let below: bool = sqlx::query_scalar(&format!(
            "{ORG_SCOPE} SELECT EXISTS (SELECT 1 FROM scope WHERE id = ?2)"
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

/// Add an organisation below a 党委 / 联合党委 / 党总支 or the 区委.
#[utoipa::path(post, path = paths::ORGS, tag = "admin", security(("bearer" = [])), request_body = OrgEntry,
    responses((status = 200, body = OrgNode), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<OrgEntry>, JsonRejection>,
) -> Result<Json<OrgNode>, AppError> {
    admin_only(&user)?;
    let Json(e) = body?;
    let mut tx = state.db.writer.begin().await?;
    checked(&mut tx, &e, None).await?;
    let id = sqlx::query(
        "INSERT INTO orgs (parent_id, name, kind, form, starts_on, ends_on) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(e.parent_id)
    .bind(e.name.trim())
    .bind(e.form.kind())
    .bind(e.form.as_str())
    .bind(day(&e.starts_on))
    .bind(day(&e.ends_on))
    .execute(&mut *tx)
    .await?
    .last_insert_rowid();
    audit(
        &mut tx,
        now_ms(),
        user.id,
        "create_org",
        &format!("{}（{}）", e.name.trim(), e.form.label()),
    )
    .await?;
    let node = nodes(&mut tx, Some(id)).await?.remove(0);
    tx.commit().await?;
    Ok(Json(node))
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
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<OrgEntry>, JsonRejection>,
) -> Result<Json<OrgNode>, AppError> {
    admin_only(&user)?;
    let Path(id) = id?;
    let Json(e) = body?;
    let mut tx = state.db.writer.begin().await?;
    let current = nodes(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound("组织不存在"))?;
    if current.parent_id.is_none() {
        return Err(AppError::Conflict("区委组织部是组织树的根，不能修改"));
    }
    if current.form.has_children() != e.form.has_children()
        && (current.children > 0 || current.members > 0)
    {
        return Err(AppError::Conflict(
            "这个组织下已有组织或成员，不能在党委类和支部类之间改变形式",
        ));
    }
    checked(&mut tx, &e, Some(id)).await?;
    sqlx::query("UPDATE orgs SET parent_id = ?, name = ?, kind = ?, form = ?, starts_on = ?, ends_on = ? WHERE id = ?")
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
    )
    .await?;
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
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, AppError> {
    admin_only(&user)?;
    let Path(id) = id?;
    let mut tx = state.db.writer.begin().await?;
    let node = nodes(&mut tx, Some(id))
        .await?
        .pop()
        .ok_or(AppError::NotFound("组织不存在"))?;
    let used: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = ?1) OR EXISTS (SELECT 1 FROM activities WHERE org_id = ?1)
             OR EXISTS (SELECT 1 FROM host_orgs WHERE org_id = ?1) OR EXISTS (SELECT 1 FROM orgs WHERE parent_id = ?1)",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    if used || node.parent_id.is_none() {
        return Err(AppError::Conflict(
            "这个组织下还有组织、成员或活动记录，不能删除（临时党支部结束后请填写撤销日期）",
        ));
    }
    sqlx::query("DELETE FROM orgs WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit(&mut tx, now_ms(), user.id, "delete_org", &node.name).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
