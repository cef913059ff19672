//! The audit log, for district admins: every lead's and admin's action (publishing, confirming, each decision
//! with its reason, imports, 学时 recognised or returned, rule changes), newest first, a page at a time.

use std::collections::HashMap;

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
        about_id: Option<i64>,
        about: Option<String>,
    }
    let mut conn = state.db.reader.acquire().await?;
    let rows: Vec<Logged> = sqlx::query_as(
        "SELECT l.id, l.at, u.name AS actor, u.role, l.action, l.subject, l.about_user AS about_id,
                p.name AS about
         FROM audit_log l JOIN users u ON u.id = l.actor_id LEFT JOIN users p ON p.id = l.about_user
         WHERE l.id < ? ORDER BY l.id DESC LIMIT ?",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(AUDIT_PAGE + 1)
    .fetch_all(&mut *conn)
    .await?;
    let more = rows.len() as i64 > AUDIT_PAGE;
    let rows = &rows[..rows.len().min(AUDIT_PAGE as usize)];
    // The activities the page names, by their titles.
    let ids: Vec<&str> = rows.iter().flat_map(|r| activity_ids(&r.subject)).collect();
    let titles: HashMap<String, String> = sqlx::query_as(TITLES_SQL)
        .bind(serde_json::to_string(&ids).map_err(|e| AppError::Internal(e.to_string()))?)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let entries: Vec<AuditEntry> = rows
        .iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor.clone(),
            actor_role: Role::parse(&r.role).unwrap_or(Role::Member),
            label: action_label(&r.action).to_owned(),
            action: r.action.clone(),
            subject: readable(&r.subject, &titles, r.about_id.zip(r.about.as_deref())),
        })
        .collect();
    let next = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage { entries, next }))
}

/// The titles of the activities among the ids of a JSON array, one index search each.
pub const TITLES_SQL: &str =
    "SELECT a.id, a.title FROM json_each(?) j CROSS JOIN activities a ON a.id = j.value";

/// The activity ids (UUIDs) a stored subject names.
fn activity_ids(subject: &str) -> impl Iterator<Item = &str> {
    let bytes = subject.as_bytes();
    (0..bytes.len().saturating_sub(35)).filter_map(move |i| {
        let candidate = subject.get(i..i + 36)?;
        let starts = i == 0 || !bytes[i - 1].is_ascii_hexdigit();
        let ends = bytes.get(i + 36).is_none_or(|b| !b.is_ascii_hexdigit());
        (starts && ends && is_uuid(candidate)).then_some(candidate)
    })
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A stored subject as a reader wants it: activities by their titles instead of their ids, and the person
/// it was about (`about`: id and name) by name where the subject names them by id. The log itself keeps
/// what was written.
fn readable(subject: &str, titles: &HashMap<String, String>, about: Option<(i64, &str)>) -> String {
    let mut text = subject.to_owned();
    for id in activity_ids(subject) {
        if let Some(title) = titles.get(id) {
            text = text.replacen(id, &format!("《{title}》"), 1);
        }
    }
    if let Some((id, name)) = about {
        for (by_id, by_name) in [
            (format!("》/{id}"), format!("》{name}")),
            (format!("记录人 {id}"), format!("记录人 {name}")),
        ] {
            text = text.replacen(&by_id, &by_name, 1);
        }
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_name_activities_by_title_and_people_by_name() {
        let id = "01a22e5e-ed19-75ea-b0f0-31c755347465";
        let titles = HashMap::from([(id.to_owned(), "主题党日".to_owned())]);
        assert_eq!(readable(id, &titles, None), "《主题党日》");
        assert_eq!(
            readable(
                &format!("{id}/42：缺席（出差）"),
                &titles,
                Some((42, "李明"))
            ),
            "《主题党日》李明：缺席（出差）"
        );
        assert_eq!(
            readable(
                "3 条记录，记录人 42，设备 phone",
                &titles,
                Some((42, "李明"))
            ),
            "3 条记录，记录人 李明，设备 phone"
        );
        // An activity no longer there, or text that only looks like an id, stays as written.
        let gone = "01a22e5e-ed19-75ea-b0f0-31c755347466/42";
        assert_eq!(readable(gone, &titles, Some((42, "李明"))), gone);
        assert_eq!(
            activity_ids("f01a22e5e-ed19-75ea-b0f0-31c755347465").count(),
            0
        );
        assert_eq!(activity_ids("名册：新增3人").count(), 0);
    }
}
