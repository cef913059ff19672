//! The audit log, for district admins: every lead's and admin's action (publishing, confirming, each decision
//! with its reason, imports, 学时 recognised or returned, rule changes), newest first, a page at a time.

use axum::extract::{Query, State};
use axum::{Json, Router, routing::get};
use serde::Deserialize;

use crate::api::{AuditEntry, AuditPage, ErrorBody, paths};
use crate::model::Role;
use crate::server::auth::CurrentUser;
use crate::server::{AppError, AppState, Deferred};

pub fn router() -> Router<AppState> {
    Router::new().route(paths::AUDIT, get(audit_log))
}

/// Entries per page.
pub const AUDIT_PAGE: i64 = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// The `next` of the previous page; absent for the newest entries.
    pub before: Option<i64>,
}

/// The audit log, newest first (district admins only).
#[utoipa::path(get, path = paths::AUDIT, tag = "admin", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn audit_log(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Deferred<Query<AuditQuery>>,
) -> Result<Json<AuditPage>, AppError> {
    if user.role != Role::Admin {
        return Err(AppError::Forbidden("只有区委组织部管理员可以查看操作日志"));
    }
    let Query(AuditQuery { before }) = query.read()?;
    #[derive(sqlx::FromRow)]
    struct Logged {
        id: i64,
        at: i64,
        actor: String,
        role: String,
        action: String,
        subject: String,
    }
    let rows: Vec<Logged> = sqlx::query_as(
        "SELECT l.id, l.at, u.name AS actor, u.role, l.action, l.subject
         FROM audit_log l JOIN users u ON u.id = l.actor_id
         WHERE l.id < ? ORDER BY l.id DESC LIMIT ?",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(AUDIT_PAGE + 1)
    .fetch_all(&state.db.reader)
    .await?;
    let more = rows.len() as i64 > AUDIT_PAGE;
    let entries: Vec<AuditEntry> = rows
        .into_iter()
        .take(AUDIT_PAGE as usize)
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor,
            actor_role: Role::parse(&r.role).unwrap_or(Role::Member),
            label: action_label(&r.action).to_owned(),
            action: r.action,
            subject: r.subject,
        })
        .collect();
    let next = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage { entries, next }))
}

/// What an action is called in the log.
pub fn action_label(action: &str) -> &str {
    match action {
        "publish_activity" => "发布活动",
        "edit_activity" => "修改活动",
        "cancel_activity" => "取消活动",
        "close_record" => "归档会议记录",
        "confirm_attendance" => "确认出席",
        "mark_present" => "标记出席",
        "decide" => "审批",
        "add_to_roster" => "加入应到名单",
        "import_records" => "导入未上传记录",
        "recognise_study" => "认定学时",
        "return_study" => "退回学习记录",
        "study_rules" => "修改学时要求",
        "import_roster" => "导入名册",
        "invite" => "发出邀请",
        "reset_password" => "重置密码",
        "reply_feedback" => "答复投诉建议",
        "edit_member" => "修改成员资料",
        "create_org" => "新建组织",
        "edit_org" => "修改组织",
        "delete_org" => "删除组织",
        "add_org_admin" => "设置党委管理员",
        "remove_org_admin" => "停用党委管理员",
        "mark_self_present" => "本人标记出席",
        "disable_member" => "停用账号",
        "enable_member" => "恢复账号",
        "withdraw_privacy_consent" => "撤回个人信息保护说明的同意",
        other => other,
    }
}
