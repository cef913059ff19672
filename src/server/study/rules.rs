//! The district's study rules (学时要求): read by everyone, set by the district admin.

use super::*;

/// The district's study rules (also sent with every pull).
#[utoipa::path(get, path = paths::STUDY_RULES, tag = "study", security(("bearer" = [])),
    responses((status = 200, body = StudyRules), (status = 401, body = ErrorBody)))]
pub async fn get_rules(
    State(state): State<AppState>,
    _user: CurrentUser,
) -> Result<Json<StudyRules>, AppError> {
    let mut conn = state.db.reader.acquire().await?;
    Ok(Json(load_rules(&mut conn).await?))
}

/// The district admin changes the study rules: requirements per audience and period, the day→学时 factor,
/// per-kind caps. Phones receive them with their next pull.
#[utoipa::path(put, path = paths::STUDY_RULES, tag = "study", security(("bearer" = [])), request_body = StudyRules,
    responses((status = 200, body = StudyRules), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_rules(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<StudyRules>, JsonRejection>,
) -> Result<Json<StudyRules>, AppError> {
    if user.role != Role::Admin {
        return Err(AppError::Forbidden("只有区委组织部管理员可以修改学时要求"));
    }
    let Json(mut rules) = body?;
    rules.check().map_err(AppError::BadRequest)?;
    for r in &mut rules.requirements {
        r.name = r.name.trim().to_owned();
    }
    let json = serde_json::to_string(&rules).map_err(|e| AppError::Internal(e.to_string()))?;
    let now = now_ms();
    let mut tx = state.db.writer.begin().await?;
    sqlx::query(
        "INSERT INTO study_rules (id, rules, updated_by, updated_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET rules = excluded.rules, updated_by = excluded.updated_by,
                                        updated_at = excluded.updated_at",
    )
    .bind(&json)
    .bind(user.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit(&mut tx, now, user.id, "study_rules", &json, None).await?;
    tx.commit().await?;
    Ok(Json(rules))
}
