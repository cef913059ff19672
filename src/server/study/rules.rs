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

/// The rules as the admin sends them: every field, and nothing else. (`StudyRules` itself fills a missing
/// field with its default, so that phones read rules from a newer server; a request missing one would
/// silently put the district's rules back to the defaults.)
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesSent {
    requirements: Vec<crate::study::Requirement>,
    day_hours: crate::study::Hours,
    caps: Vec<crate::study::Cap>,
    window_start: i64,
}

/// The district admin changes the study rules: requirements per audience and period, the day→学时 factor,
/// per-kind caps. Phones receive them with their next pull.
#[utoipa::path(put, path = paths::STUDY_RULES, tag = "study", security(("bearer" = [])), request_body = RulesSent,
    responses((status = 200, body = StudyRules), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_rules(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<RulesSent>>,
) -> Result<Json<StudyRules>, AppError> {
    if user.role != Role::Admin {
        return Err(AppError::Forbidden("只有区委组织部管理员可以修改学时要求"));
    }
    let Json(sent) = body.read()?;
    let mut rules = StudyRules {
        requirements: sent.requirements,
        day_hours: sent.day_hours,
        caps: sent.caps,
        window_start: sent.window_start,
    };
    rules.check().map_err(AppError::BadRequest)?;
    for r in &mut rules.requirements {
        r.name = r.name.trim().to_owned();
    }
    let now = now_ms();
    let mut tx = state.db.writer.begin().await?;
    let json = RULES
        .save(&mut *tx, &rules, Some(user.id), now, false)
        .await?;
    audit(&mut tx, now, user.id, "study_rules", &json, None).await?;
    tx.commit().await?;
    Ok(Json(rules))
}
