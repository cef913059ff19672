//! Evidence photos of study records (certificates), within a size budget per person.

use super::*;
use crate::server::db;

fn check_data_url(data_url: &str) -> Result<(), AppError> {
    study::check_photo(data_url).map_err(|problem| match problem {
        PhotoProblem::NotAPhoto => {
            AppError::BadRequest("证明材料应为照片（JPEG、PNG或WebP）".to_owned())
        }
        PhotoProblem::TooLarge => AppError::PayloadTooLarge,
        PhotoProblem::Damaged => AppError::BadRequest("照片数据无效，请重新选择".to_owned()),
    })
}

/// The author attaches (or replaces) the photo of a certificate while the record is not yet recognised.
#[utoipa::path(put, path = paths::EVIDENCE, tag = "study", security(("bearer" = [])), request_body = Evidence,
    params(("id" = String, Path, description = "Study record id")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn put_evidence(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<String>>,
    body: Deferred<Json<Evidence>>,
) -> Result<Response, AppError> {
    let Path(id) = id.read()?;
    let Json(evidence) = body.read()?;
    check_data_url(&evidence.data_url)?;
    let mut tx = state.db.writer.begin().await?;
    // First: on PostgreSQL this waits for every server's write that takes a number, so the checks below
    // see a recognition or another photo committed elsewhere a moment ago.
    let mut seq = Sequence::begin(&mut tx).await?;
    let (owner, status) = stored(&mut tx, &id)
        .await?
        .ok_or(AppError::NotFound("学习记录还没有上传，请稍后再试"))?;
    if owner != user.id {
        return Err(AppError::Forbidden("只能为本人的学习记录上传证明材料"));
    }
    if check_editable(status).is_err() {
        return Err(AppError::Conflict("该学习记录已认定，不能再更换证明材料"));
    }
    // A quota per person: photos are the one thing members upload in bulk.
    let others: i64 = db::query_scalar(
        "SELECT coalesce(sum(length(e.data_url)), 0) FROM study_evidence e JOIN study_records r ON r.id = e.study_id
         WHERE r.user_id = $1 AND e.study_id != $2",
    )
    .bind(user.id)
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    if others + evidence.data_url.len() as i64 > MAX_EVIDENCE_BYTES_PER_PERSON {
        return Err(AppError::Conflict(
            "您上传的证明材料已达上限（约40MB），请删除不需要的照片或联系管理员",
        ));
    }
    let now = now_ms();
    db::query(
        "INSERT INTO study_evidence (study_id, data_url, uploaded_at) VALUES ($1, $2, $3)
         ON CONFLICT (study_id) DO UPDATE SET data_url = excluded.data_url, uploaded_at = excluded.uploaded_at",
    )
    .bind(&id)
    .bind(&evidence.data_url)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    // The record moves forward so that reviewers' phones learn that it has a photo now.
    db::query("UPDATE study_records SET server_seq = $1 WHERE id = $2")
        .bind(seq.take())
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    seq.save(&mut tx).await?;
    tx.commit().await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

/// The photo of a record, for its author and its reviewers.
#[utoipa::path(get, path = paths::EVIDENCE, tag = "study", security(("bearer" = [])),
    params(("id" = String, Path, description = "Study record id")),
    responses((status = 200, body = Evidence), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_evidence(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<String>>,
) -> Result<Json<Evidence>, AppError> {
    let Path(id) = id.read()?;
    let mut conn = state.db.reader.acquire().await?;
    type Row = (i64, String, i64, String, Option<String>);
    let (author_id, role, org_id, audience, data_url): Row = db::query_as(
        "SELECT u.id, u.role, u.org_id, u.audience, e.data_url
         FROM study_records s JOIN users u ON u.id = s.user_id LEFT JOIN study_evidence e ON e.study_id = s.id
         WHERE s.id = $1",
    )
    .bind(&id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound("学习记录不存在"))?;
    let author = Author::stored(author_id, &role, org_id, &audience);
    if author.id != user.id && !may_review(user.person(), &author) {
        return Err(AppError::Forbidden("只能查看本人或本人负责认定的证明材料"));
    }
    let data_url = data_url.ok_or(AppError::NotFound("该记录没有证明材料"))?;
    Ok(Json(Evidence { data_url }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_image_as_base64_is_taken_as_evidence() {
        let data = "data:image/jpeg;base64,/9j/4AAQSkZJRg==";
        assert!(check_data_url(data).is_ok());
        assert!(check_data_url("data:text/html;base64,PGgxPg==").is_err());
        assert!(check_data_url("data:image/jpeg;base64,<script>").is_err());
    }
}
