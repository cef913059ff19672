//! The audit log, for district admins: every lead's and admin's action (publishing, confirming, each decision
//! with its reason, imports, 学时 recognised or returned, rule changes), newest first, a page at a time.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::{Json, Router, routing::get};
use serde::Deserialize;

use crate::api::{AuditEntry, AuditPage, ErrorBody, paths};
use crate::model::Role;
use crate::server::auth::CurrentUser;
use crate::server::db::{self, Engine};
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
    let rows: Vec<Logged> = db::query_as(
        "SELECT l.id, l.at, u.name AS actor, u.role, l.action, l.subject, l.about_user AS about_id,
                p.name AS about
         FROM audit_log l JOIN users u ON u.id = l.actor_id LEFT JOIN users p ON p.id = l.about_user
         WHERE l.id < $1 ORDER BY l.id DESC LIMIT $2",
    )
    .bind(before.unwrap_or(i64::MAX))
    .bind(AUDIT_PAGE + 1)
    .fetch_all(&mut *conn)
    .await?;
    let more = rows.len() as i64 > AUDIT_PAGE;
    let rows = &rows[..rows.len().min(AUDIT_PAGE as usize)];
    // The activities the page names, by their titles.
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| activity_id(&r.action, &r.subject))
        .collect();
    let titles: HashMap<String, String> = db::query_as(&titles_sql(conn.engine()))
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
            subject: readable(
                &r.action,
                &r.subject,
                &titles,
                r.about_id.zip(r.about.as_deref()),
            ),
        })
        .collect();
    let next = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Json(AuditPage { entries, next }))
}

/// The titles of the activities among the ids of a JSON array, one index search each.
pub fn titles_sql(engine: Engine) -> String {
    let (ids, join) = (engine.json_array_rows("$1", "j"), engine.join_in_order());
    format!("SELECT a.id, a.title FROM {ids} {join} activities a ON a.id = j.value")
}

/// Actions whose subject begins with the activity's id (and, for a member's row, `/member id`).
const ABOUT_AN_ACTIVITY: [&str; 9] = [
    "publish_activity",
    "edit_activity",
    "cancel_activity",
    "close_record",
    "confirm_attendance",
    "mark_present",
    "mark_self_present",
    "decide",
    "add_to_roster",
];

/// The activity a stored subject is about: the id it begins with, for the actions that write one there.
/// (Only there: an id anywhere else — in a reason, a device's name, a study record's id a member chose
/// — is text someone wrote, not the subject.)
fn activity_id<'a>(action: &str, subject: &'a str) -> Option<&'a str> {
    let id = subject.get(..36)?;
    (ABOUT_AN_ACTIVITY.contains(&action) && is_uuid(id)).then_some(id)
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A stored subject as a reader wants it: the activity by its (current) title instead of its id, and the
/// person it was about (`about`: id and name) by name where the subject's own format names them by id.
/// Only those places are rewritten, from the stored text, so a title or a reason cannot take the place
/// of anything. The log itself keeps what was written.
fn readable(
    action: &str,
    subject: &str,
    titles: &HashMap<String, String>,
    about: Option<(i64, &str)>,
) -> String {
    if let Some(id) = activity_id(action, subject)
        && let Some(title) = titles.get(id)
    {
        let rest = &subject[id.len()..];
        let rest = match about {
            Some((member, name)) => match rest.strip_prefix(&format!("/{member}")) {
                Some(after) if !after.starts_with(|c: char| c.is_ascii_digit()) => {
                    format!("{name}{after}")
                }
                _ => rest.to_owned(),
            },
            None => rest.to_owned(),
        };
        return format!("《{title}》{rest}");
    }
    if action == "import_records"
        && let Some((member, name)) = about
    {
        // `{n} 条记录，记录人 {id}，设备 {device}`: the first mention is the one the server wrote.
        return subject.replacen(
            &format!("记录人 {member}，"),
            &format!("记录人 {name}，"),
            1,
        );
    }
    subject.to_owned()
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
        "settings" => "修改签到与提醒设置",
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
    fn subjects_name_activities_by_title_and_people_by_name_where_the_server_wrote_them() {
        let id = "01a22e5e-ed19-75ea-b0f0-31c755347465";
        let titles = HashMap::from([(id.to_owned(), "主题党日".to_owned())]);
        let shown = |action, subject: &str, about| readable(action, subject, &titles, about);
        assert_eq!(shown("publish_activity", id, None), "《主题党日》");
        assert_eq!(
            shown(
                "decide",
                &format!("{id}/42：缺席（出差）"),
                Some((42, "李明"))
            ),
            "《主题党日》李明：缺席（出差）"
        );
        assert_eq!(
            shown(
                "import_records",
                "3 条记录，记录人 42，设备 phone",
                Some((42, "李明"))
            ),
            "3 条记录，记录人 李明，设备 phone"
        );
        // Not another member whose id begins the same.
        assert_eq!(
            shown("add_to_roster", &format!("{id}/421"), Some((42, "李明"))),
            "《主题党日》/421"
        );
        // An activity no longer there stays as written.
        let gone = "01a22e5e-ed19-75ea-b0f0-31c755347466/42";
        assert_eq!(shown("decide", gone, Some((42, "李明"))), gone);
        // An id a member chose for a study record, or one written in a reason, is not an activity.
        let study = format!("{id}：认定2学时（申报2学时）");
        assert_eq!(shown("recognise_study", &study, Some((42, "李明"))), study);
        let reason = format!("{id}：退回（见 {id}/42）");
        assert_eq!(shown("return_study", &reason, Some((42, "李明"))), reason);
        let title = format!("《主题党日》：不是 {id}");
        assert_eq!(
            readable("edit_activity", &format!("{id}：不是 {id}"), &titles, None),
            title
        );
    }
}
