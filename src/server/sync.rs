//! Push and pull: how records made on phones arrive exactly once, and how changes flow back.
//!
//! A push is applied inside one write transaction, with the other pushes waiting at that moment (group
//! commit, see commit.rs), in a savepoint of its own; its receipts are sent after the commit. A retry of
//! records all stored already is answered from a read ([`already_stored`]), without a write. Each
//! mutation is first inserted into `mutations`, whose primary key is the id the phone gave it, with
//! `ON CONFLICT DO NOTHING`: if nothing was inserted the mutation arrived before, and its stored receipt
//! is answered again. There is no check-then-insert, so retries, replays and concurrent pushes of the same
//! batch all end with one row. A mutation that can never be accepted is stored as quarantined with its
//! reason and acknowledged, so it never blocks the queue.
//!
//! The device's `seq` is recorded (`devices.last_seq`) but not used to skip mutations: a phone whose
//! counter was reset would otherwise lose new records with old numbers. The id's UNIQUE constraint is
//! what makes a retry harmless.
//!
//! A file of unsent records exported on a phone goes through the same path (`import`), attributed to the
//! records' author; when someone else imports it, the mutation and every audit row it causes name them
//! (`imported_by`).
//!
//! **Signed records.** Each phone makes a signing key per person in the browser (WebCrypto ECDSA P-256,
//! the private half not extractable) and registers the public half when that person logs in on it
//! ([`register_key`]); every record it sends is signed ([`Mutation::signed_text`]). Push and import check
//! the signature against the author's keys for that phone before the write transaction: an altered or
//! invented record is quarantined, so a file of unsent records can be carried by anyone but changed by
//! no one. Records from phones without a key (an older app, a browser without WebCrypto) arrive unsigned:
//! the author's own push is believed (the session says who sent it), but someone else may import only a
//! member's unsigned sign-in, request or study record.

use axum::extract::{DefaultBodyLimit, Query, State};
use std::sync::OnceLock;

use crate::server::db::{self, Conn, Engine};
use axum::{Json, Router, routing::get, routing::post};
use serde::Deserialize;

use super::applying::{Applying, Outcome, Refusal, end_savepoint, refuse, savepoint};
use super::auth::{CurrentUser, Person, find_person};
use super::commit::Push;
use super::db::{Sequence, audit, now_ms};
use super::{AppError, AppState, Deferred};
use super::{activities, attendance, rights, study};
use crate::api::{
    ActivityView, AttendanceView, Change, DeviceKey, ErrorBody, FeedbackView, MAX_BATCH,
    MAX_IMPORT, MIN_PROTOCOL, Mutation, MutationKind, PullResponse, PushRequest, PushResponse,
    Receipt, ReceiptStatus, Settings, StudyView, UnsentFile, paths,
};
use crate::model::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::DEVICE_KEY, axum::routing::put(register_key))
        .route(paths::PUSH, post(push))
        .route(paths::PULL, get(pull))
        .route(
            paths::IMPORT,
            post(import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
}

/// An imported file may be larger than a push: up to [`MAX_IMPORT`] records.
pub const IMPORT_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Deliver records made on the phone. Answers one receipt per mutation, in order.
#[utoipa::path(post, path = paths::PUSH, tag = "sync", security(("bearer" = [])), request_body = PushRequest,
    responses(
        (status = 200, body = PushResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`code: history_changed`: the database was restored since the phone's last pull; it resyncs, then sends again"),
        (status = 422, body = ErrorBody), (status = 426, body = ErrorBody, description = "Client too old: update the app"),
        (status = 429, body = ErrorBody, description = "Today's quota of records is used up: the phone keeps them and retries"),
    ))]
pub async fn push(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<PushRequest>>,
) -> Result<Json<PushResponse>, AppError> {
    let Json(req) = body.read()?;
    if req.protocol < MIN_PROTOCOL {
        return Err(AppError::UpgradeRequired);
    }
    check_device_id(&req.device_id)?;
    // A phone that last pulled from a history the server no longer has (a restore) resyncs first: it
    // registers its signing key again before its records are judged against the keys the server knows.
    if !same_history(req.history, history_for(state.db.history, user.view_epoch)) {
        return Err(AppError::HistoryChanged);
    }
    if req.mutations.len() > MAX_BATCH {
        return Err(AppError::BadRequest(format!(
            "一次最多上传{MAX_BATCH}条记录"
        )));
    }
    let refusals =
        judge_signatures(&state, user.person(), &req.device_id, &req.mutations, false).await?;
    let receipts = deliver(
        &state,
        Push {
            author: user.person(),
            device_id: req.device_id,
            mutations: req.mutations,
            refusals,
            imported_by: None,
            now: now_ms(),
            near_quota: false,
        },
    )
    .await?;
    Ok(Json(PushResponse {
        receipts,
        server_time: now_ms(),
    }))
}

/// Import a file of unsent records exported on a phone (我的 → 同步状态). The member may import their own;
/// a lead those of their branch's members; an admin anyone's. Records already delivered answer `duplicate`.
#[utoipa::path(post, path = paths::IMPORT, tag = "sync", security(("bearer" = [])), request_body = UnsentFile,
    responses(
        (status = 200, body = PushResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "The author's quota of records for today is used up"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<UnsentFile>>,
) -> Result<Json<PushResponse>, AppError> {
    let Json(file) = body.read()?;
    if file.app != UnsentFile::APP {
        return Err(AppError::BadRequest(
            "这不是红雁导出的未上传记录文件".to_owned(),
        ));
    }
    if file.format > UnsentFile::FORMAT {
        return Err(AppError::BadRequest(
            "文件来自更新版本的应用，请联系管理员升级服务器后再导入".to_owned(),
        ));
    }
    check_device_id(&file.device_id)?;
    if file.records.len() > MAX_IMPORT {
        return Err(AppError::BadRequest(format!(
            "一个文件最多导入{MAX_IMPORT}条记录"
        )));
    }
    let mut conn = state.db.reader.acquire().await?;
    let author = find_person(&mut conn, file.user_id)
        .await?
        .ok_or(AppError::NotFound("文件中的记录人不存在"))?;
    drop(conn);
    let allowed = author.id == user.id
        || (user.role == Role::Lead && author.org_id == user.org_id)
        || user.role == Role::Admin;
    if !allowed {
        return Err(AppError::Forbidden("只能导入本人或本支部成员的记录"));
    }
    let importer = (author.id != user.id).then_some(user.id);
    let refusals = judge_signatures(
        &state,
        author,
        &file.device_id,
        &file.records,
        importer.is_some(),
    )
    .await?;
    let records = file.records.len();
    let receipts = deliver(
        &state,
        Push {
            author,
            device_id: file.device_id,
            mutations: file.records,
            refusals,
            imported_by: importer,
            now: now_ms(),
            near_quota: false,
        },
    )
    .await?;
    if let Some(importer) = importer {
        state.security.log(
            "records_imported",
            serde_json::json!({"by": importer, "author": author.id, "records": records}),
        );
    }
    Ok(Json(PushResponse {
        receipts,
        server_time: now_ms(),
    }))
}

fn check_device_id(device_id: &str) -> Result<(), AppError> {
    if device_id.is_empty() || device_id.len() > 64 {
        return Err(AppError::BadRequest("设备编号无效".to_owned()));
    }
    Ok(())
}

/// Register the public half of this phone's signing key for the signed-in person (the app does it after
/// logging in). Records signed with it are then provably theirs, whoever carries them.
#[utoipa::path(put, path = paths::DEVICE_KEY, tag = "sync", security(("bearer" = [])), request_body = DeviceKey,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Too many phones registered for this person"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn register_key(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Deferred<Json<DeviceKey>>,
) -> Result<axum::http::StatusCode, AppError> {
    let Json(key) = body.read()?;
    check_device_id(&key.device_id)?;
    if verifying_key(&key.public_key).is_none() {
        return Err(AppError::BadRequest("签名公钥无效".to_owned()));
    }
    let mut tx = state.db.writer.begin().await?;
    let (known, on_this_phone): (i64, i64) = db::query_as(
        "SELECT count(*), count(*) FILTER (WHERE device_id = $1) FROM device_keys WHERE user_id = $2",
    )
    .bind(&key.device_id)
    .bind(user.id)
    .fetch_one(&mut *tx)
    .await?;
    let new = !key_known(&mut tx, user.id, &key).await?;
    if new && (known >= MAX_KEYS || on_this_phone >= MAX_KEYS_PER_PHONE) {
        return Err(AppError::Conflict("本账号登记的手机过多，请联系管理员"));
    }
    let added = db::query(
        "INSERT INTO device_keys (user_id, device_id, public_key, registered_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(user.id)
    .bind(&key.device_id)
    .bind(key.public_key.to_ascii_lowercase())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if added > 0 {
        state.security.log(
            "device_key_registered",
            serde_json::json!({"user": user.id, "device": key.device_id}),
        );
    }
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// Records one person may send in a day (a member makes a few; the fault harness's busiest phone a few
/// thousand).
pub const MAX_RECORDS_PER_DAY: i64 = 20_000;
/// What is kept of a refused record's payload, as evidence of what was sent.
const KEEP_REFUSED_BYTES: usize = 2_048;

/// `text` cut to at most `bytes`, at a character boundary.
fn truncated(text: &str, bytes: usize) -> &str {
    let mut end = text.len().min(bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Signing keys one person may register (phones over the years), and on one phone (a browser's storage
/// cleared now and then). Each key is tried on each signed record: few keys, little work.
const MAX_KEYS: i64 = 50;
const MAX_KEYS_PER_PHONE: i64 = 3;

async fn key_known(
    conn: &mut dyn Conn,
    user_id: i64,
    key: &DeviceKey,
) -> Result<bool, sqlx::Error> {
    db::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM device_keys WHERE user_id = $1 AND device_id = $2 AND public_key = $3)",
    )
    .bind(user_id)
    .bind(&key.device_id)
    .bind(key.public_key.to_ascii_lowercase())
    .fetch_one(conn)
    .await
}

/// A P-256 public key from its uncompressed point in hex.
fn verifying_key(public_key: &str) -> Option<p256::ecdsa::VerifyingKey> {
    let bytes = from_hex(public_key)?;
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&bytes).ok()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 256 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Kinds of record someone other than the author may carry in unsigned (from a phone without a signing
/// key): a member's own sign-in, request or study record — never a consent, a 投诉建议 or a lead's record.
const CARRIED_UNSIGNED: [MutationKind; 3] = [
    MutationKind::SignIn,
    MutationKind::Request,
    MutationKind::SaveStudy,
];

/// Why each record must be refused before it is applied, judged outside the write transaction and off
/// the async workers: a signature that does not match the author's keys for this phone (the record was
/// altered or invented), or, in a file someone else imports, an unsigned record of a kind only its author
/// may deliver — or any unsigned record once the author's phones sign (they have registered a key).
/// The work is bounded by the few keys a phone may have (each record is tried against each).
async fn judge_signatures(
    state: &AppState,
    author: Person,
    device_id: &str,
    mutations: &[Mutation],
    carried_by_another: bool,
) -> Result<Vec<Option<String>>, AppError> {
    // The phone's own unsigned records, from its author's session: nothing to check.
    if !carried_by_another && mutations.iter().all(|m| m.sig.is_empty()) {
        return Ok(vec![None; mutations.len()]);
    }
    let keys: Vec<String> = if mutations.iter().any(|m| !m.sig.is_empty()) {
        db::query_scalar("SELECT public_key FROM device_keys WHERE user_id = $1 AND device_id = $2")
            .bind(author.id)
            .bind(device_id)
            .fetch_all(&state.db.reader)
            .await?
    } else {
        Vec::new()
    };
    let signs: bool = carried_by_another
        && db::query_scalar("SELECT EXISTS (SELECT 1 FROM device_keys WHERE user_id = $1)")
            .bind(author.id)
            .fetch_one(&state.db.reader)
            .await?;
    let records: Vec<(String, String, MutationKind)> = mutations
        .iter()
        .map(|m| {
            let text = if m.sig.is_empty() {
                String::new()
            } else {
                m.signed_text(author.id, device_id)
            };
            (m.sig.clone(), text, m.kind)
        })
        .collect();
    static CHECKING: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let _turn = CHECKING
        .get_or_init(|| tokio::sync::Semaphore::new(2))
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("signature semaphore: {e}")))?;
    tokio::task::spawn_blocking(move || {
        use p256::ecdsa::signature::Verifier;
        const ALTERED: &str = "记录与签名不符（可能被改动或伪造），未予接收";
        let keys: Vec<p256::ecdsa::VerifyingKey> =
            keys.iter().filter_map(|k| verifying_key(k)).collect();
        records
            .into_iter()
            .map(|(sig, text, kind)| {
                if !sig.is_empty() {
                    let genuine = from_hex(&sig)
                        .and_then(|bytes| p256::ecdsa::Signature::from_slice(&bytes).ok())
                        .is_some_and(|sig| {
                            keys.iter().any(|k| k.verify(text.as_bytes(), &sig).is_ok())
                        });
                    (!genuine).then(|| ALTERED.to_owned())
                } else if carried_by_another
                    && (signs || !(author.role == Role::Member && CARRIED_UNSIGNED.contains(&kind)))
                {
                    Some("这条记录未经本人签名，只能由本人上传，不能由他人代为导入".to_owned())
                } else {
                    None
                }
            })
            .collect()
    })
    .await
    .map_err(|e| AppError::Internal(format!("signature check: {e}")))
}

/// Stores one author's records; answers one receipt each, in order, once they are durable. A retry of
/// records already stored is answered from what is stored, without a write; the rest go to the
/// committer, which applies them with the other pushes waiting and commits once (see commit.rs).
async fn deliver(state: &AppState, mut push: Push) -> Result<Vec<Receipt>, AppError> {
    let mut conn = state.db.reader.acquire().await?;
    if let Some(receipts) = already_stored(&mut conn, &push).await? {
        return Ok(receipts);
    }
    // A quota of records per person and day: a phone (or a script) cannot fill the database. Refused
    // whole, with a 429 the phone retries later, so nothing is lost. Counted here from what is stored;
    // pushes sent at once are all counted before any is stored, so an author near the quota is counted
    // again in the write transaction ([`store`]), where the count is exact.
    let today = records_today(&mut conn, push.author.id, push.now).await?;
    drop(conn);
    let records = push.mutations.len() as i64;
    push.near_quota = today + records > MAX_RECORDS_PER_DAY / 2;
    let author = push.author.id;
    let refused = || {
        state.security.log(
            "record_quota",
            serde_json::json!({"user": author, "today": today}),
        );
        Err(over_quota())
    };
    if today + records > MAX_RECORDS_PER_DAY {
        return refused();
    }
    match state.committer.store(push).await {
        Err(AppError::TooManyAttempts(_)) => refused(),
        answer => answer,
    }
}

/// Records `author` sent in the 24 hours before `now` (the index `mutations_user_received` covers it).
async fn records_today(conn: &mut dyn Conn, author: i64, now: i64) -> Result<i64, sqlx::Error> {
    db::query_scalar("SELECT count(*) FROM mutations WHERE user_id = $1 AND received_at > $2")
        .bind(author)
        .bind(now - 24 * 3_600_000)
        .fetch_one(conn)
        .await
}

fn over_quota() -> AppError {
    AppError::TooManyAttempts(
        "今天上传的记录已达上限，记录仍保存在手机上，明天会自动继续上传".to_owned(),
    )
}

/// The receipts of a push every record of which is already stored (a retry whose answer was lost), read
/// without a write; `None` if any record must go through [`apply`]. Answers what `apply` would: only
/// records that would be looked up there (a valid id, not refused, not oversized) are answered here.
/// Someone else's import always goes through the writer: it is audited even when it changes nothing.
async fn already_stored(
    conn: &mut dyn Conn,
    push: &Push,
) -> Result<Option<Vec<Receipt>>, AppError> {
    let plain = |(m, refused): (&Mutation, &Option<String>)| {
        refused.is_none() && valid_id(m) && !oversized(m)
    };
    if push.imported_by.is_some()
        || push.mutations.is_empty()
        || !push.mutations.iter().zip(&push.refusals).all(plain)
    {
        return Ok(None);
    }
    let ids = serde_json::to_string(&push.mutations.iter().map(|m| &m.id).collect::<Vec<_>>())
        .map_err(|e| AppError::Internal(format!("ids: {e}")))?;
    let rows: Vec<StoredRow> = db::query_as(&stored_sql(conn.engine()))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    let stored: std::collections::HashMap<&str, &StoredRow> =
        rows.iter().map(|r| (r.id.as_str(), r)).collect();
    Ok(push
        .mutations
        .iter()
        .map(|m| {
            stored
                .get(m.id.as_str())
                .map(|row| row.receipt(push.author, push.now))
        })
        .collect())
}

/// The stored records among the ids of a JSON array: one index search per id (`CROSS JOIN` keeps
/// SQLite from scanning `mutations` and probing the list instead).
pub(super) fn stored_sql(engine: Engine) -> String {
    let (ids, join) = (engine.json_array_rows("$1", "j"), engine.join_in_order());
    format!(
        "SELECT m.id, m.user_id, m.status, m.reason, m.server_seq, m.received_at
         FROM {ids} {join} mutations m ON m.id = j.value"
    )
}

/// A record as stored in `mutations`, to answer a retry of it.
#[derive(sqlx::FromRow)]
struct StoredRow {
    id: String,
    user_id: i64,
    status: String,
    reason: Option<String>,
    server_seq: i64,
    received_at: i64,
}

impl StoredRow {
    /// The receipt a retry of this record gets from `author`: its first answer again, or, if the id is
    /// someone else's record, a quarantine (received `now`) that leaves their record alone and says
    /// nothing of it.
    fn receipt(&self, author: Person, now: i64) -> Receipt {
        if self.user_id != author.id {
            return Receipt {
                id: self.id.clone(),
                status: ReceiptStatus::Quarantined,
                reason: Some("记录编号与他人的记录冲突".to_owned()),
                server_seq: 0,
                received_at: now,
            };
        }
        Receipt {
            id: self.id.clone(),
            status: if self.status == "quarantined" {
                ReceiptStatus::Quarantined
            } else {
                ReceiptStatus::Duplicate
            },
            reason: self.reason.clone(),
            server_seq: self.server_seq,
            received_at: self.received_at,
        }
    }
}

/// Applies one push inside the committer's transaction (see commit.rs): each record, then the phone's
/// last sequence and, for an import, the audit row. Answers one receipt per record, in order.
pub(super) async fn store(
    conn: &mut dyn Conn,
    settings: &Settings,
    seq: &mut Sequence,
    push: &Push,
) -> Result<Vec<Receipt>, AppError> {
    let Push {
        author,
        ref device_id,
        ref mutations,
        ref refusals,
        imported_by,
        now,
        near_quota,
    } = *push;
    if near_quota
        && records_today(conn, author.id, now).await? + mutations.len() as i64 > MAX_RECORDS_PER_DAY
    {
        return Err(over_quota());
    }
    let mut receipts = Vec::with_capacity(mutations.len());
    for (m, refused) in mutations.iter().zip(refusals) {
        receipts.push(
            apply(
                conn,
                settings,
                seq,
                author,
                device_id,
                m,
                now,
                imported_by,
                refused.as_deref(),
            )
            .await?,
        );
    }
    if let Some(max_seq) = mutations.iter().map(|m| m.seq).max() {
        db::query(
            "INSERT INTO devices (device_id, user_id, last_seq, last_seen) VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, user_id) DO UPDATE
             SET last_seq = CASE WHEN excluded.last_seq > devices.last_seq THEN excluded.last_seq
                                 ELSE devices.last_seq END,
                 last_seen = excluded.last_seen",
        )
        .bind(device_id)
        .bind(author.id)
        .bind(max_seq as i64)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    if let Some(actor) = imported_by {
        let subject = format!(
            "{} 条记录，记录人 {}，设备 {device_id}",
            mutations.len(),
            author.id
        );
        audit(
            conn,
            now,
            actor,
            "import_records",
            &subject,
            Some(author.id),
        )
        .await?;
    }
    Ok(receipts)
}

/// An id a record can be stored under (one that is not is quarantined without being looked up).
fn valid_id(m: &Mutation) -> bool {
    !m.id.is_empty() && m.id.len() <= 64
}

/// A payload larger than its kind allows (refused before it is applied).
fn oversized(m: &Mutation) -> bool {
    m.payload.get().len() > m.kind.max_payload_bytes()
}

/// Stores one mutation at most once and returns its receipt. A retry takes no new server sequence.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply(
    conn: &mut dyn Conn,
    settings: &Settings,
    seq: &mut Sequence,
    author: Person,
    device_id: &str,
    m: &Mutation,
    now: i64,
    imported_by: Option<i64>,
    refused: Option<&str>,
) -> Result<Receipt, AppError> {
    let receipt = |status, reason: Option<String>, server_seq| Receipt {
        id: m.id.clone(),
        status,
        reason,
        server_seq,
        received_at: now,
    };
    if !valid_id(m) {
        return Ok(receipt(
            ReceiptStatus::Quarantined,
            Some("记录编号无效".to_owned()),
            0,
        ));
    }
    let refused = if oversized(m) {
        Some("记录内容过大，未予接收")
    } else {
        refused
    };
    // Refused before it is applied: kept as evidence, but not under its id, so whoever sent or carried a
    // bad copy cannot keep the genuine record out.
    if let Some(reason) = refused {
        db::query(
            "INSERT INTO refused_records (record_id, user_id, device_id, kind, payload, reason, imported_by, received_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&m.id)
        .bind(author.id)
        .bind(device_id)
        .bind(m.kind.as_str())
        .bind(truncated(m.payload.get(), KEEP_REFUSED_BYTES))
        .bind(reason)
        .bind(imported_by)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        return Ok(receipt(
            ReceiptStatus::Quarantined,
            Some(reason.to_owned()),
            0,
        ));
    }
    let inserted = db::query(
        "INSERT INTO mutations (id, device_id, user_id, seq, kind, payload, device_time, server_offset_ms,
                                status, server_seq, received_at, imported_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'applied', $9, $10, $11)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&m.id)
    .bind(device_id)
    .bind(author.id)
    .bind(m.seq as i64)
    .bind(m.kind.as_str())
    .bind(m.payload.get())
    .bind(m.device_time)
    .bind(m.server_offset_ms)
    .bind(seq.peek())
    .bind(now)
    .bind(imported_by)
    .execute(&mut *conn)
    .await?;

    if inserted == 0 {
        let row: StoredRow = db::query_as(
            "SELECT id, user_id, status, reason, server_seq, received_at FROM mutations WHERE id = $1",
        )
        .bind(&m.id)
        .fetch_one(&mut *conn)
        .await?;
        return Ok(row.receipt(author, now));
    }

    let server_seq = seq.take();
    let applying = Applying {
        author,
        record_id: &m.id,
        device_time: m.device_time,
        offset: m.server_offset_ms,
        seq: server_seq,
        now,
        settings,
        synced_at: m.synced_at,
        imported_by,
        carried_unsigned: imported_by.is_some() && m.sig.is_empty(),
    };
    let outcome = match m.change() {
        Ok(change) => apply_in_savepoint(conn, change, &applying).await,
        Err(reason) => Err(refuse(reason)),
    };
    match outcome {
        Ok(()) => Ok(receipt(ReceiptStatus::Applied, None, server_seq)),
        Err(Refusal::Database(e)) => Err(e.into()),
        Err(Refusal::Refused(reason)) => {
            // Kept as evidence of what was sent, but no larger than that needs.
            db::query(
                "UPDATE mutations SET status = 'quarantined', reason = $1, payload = substr(payload, 1, CAST($2 AS INTEGER))
                 WHERE id = $3",
            )
            .bind(&reason)
            .bind(KEEP_REFUSED_BYTES as i64)
            .bind(&m.id)
            .execute(&mut *conn)
            .await?;
            Ok(receipt(
                ReceiptStatus::Quarantined,
                Some(reason),
                server_seq,
            ))
        }
    }
}

/// Applies a change inside a savepoint: on a refusal, whatever its applier had written is undone, so a
/// quarantined record leaves nothing behind but itself.
async fn apply_in_savepoint(conn: &mut dyn Conn, change: Change, ap: &Applying<'_>) -> Outcome {
    savepoint(conn).await?;
    let outcome = change.apply(conn, ap).await;
    end_savepoint(conn, &outcome).await?;
    outcome
}

/// One kind of row a pull returns: read by server sequence, as this user may see it.
trait Feed: Sized {
    fn seq(&self) -> i64;

    /// The rows after `cursor` up to `upto`, at most `limit` of them (in sequence order).
    async fn since(
        conn: &mut dyn Conn,
        user: &CurrentUser,
        cursor: i64,
        upto: i64,
        limit: Option<usize>,
    ) -> Result<Vec<Self>, AppError>;
}

/// Declares how a pull reads one kind of row.
macro_rules! feed {
    ($row:ty, $since:path) => {
        impl Feed for $row {
            fn seq(&self) -> i64 {
                self.server_seq
            }

            async fn since(
                conn: &mut dyn Conn,
                user: &CurrentUser,
                cursor: i64,
                upto: i64,
                limit: Option<usize>,
            ) -> Result<Vec<Self>, AppError> {
                $since(conn, user, cursor, upto, limit).await
            }
        }
    };
}

feed!(ActivityView, activities::visible_since);
feed!(AttendanceView, attendance::attendance_since);
feed!(StudyView, study::study_since);
feed!(FeedbackView, rights::feedback_since);

/// A page of one kind of row after `cursor`, ending where every sequence number in it is whole; moves
/// `upto` back to that end.
async fn page<F: Feed>(
    conn: &mut dyn Conn,
    user: &CurrentUser,
    cursor: i64,
    upto: &mut i64,
) -> Result<Vec<F>, AppError> {
    let mut rows = F::since(conn, user, cursor, *upto, Some(PULL_PAGE + 1)).await?;
    if end_page(rows.iter().map(F::seq), upto) {
        rows = F::since(conn, user, cursor, *upto, None).await?;
    }
    Ok(rows)
}

fn keep_upto<F: Feed>(rows: &mut Vec<F>, upto: i64) {
    rows.retain(|r| r.seq() <= upto);
}

/// Rows of each kind one pull returns at most (a little more when many rows share one sequence number,
/// as a published roster does).
pub const PULL_PAGE: usize = 1_000;

/// Where a page of rows, fetched by sequence with a limit of [`PULL_PAGE`] + 1, must end so that every
/// sequence number up to the end is complete.
#[derive(Debug, PartialEq)]
enum PageEnd {
    /// Fewer rows than the limit: everything up to `upto` is here.
    All,
    /// Cut before the sequence number of the row past the page (all rows before it are here).
    Before(i64),
    /// The whole page shares one sequence number: fetch that group whole, and end there.
    Group(i64),
}

/// Moves `upto` to where a page of rows (fetched by sequence with a limit of [`PULL_PAGE`] + 1) must end;
/// answers whether the group of rows at the new end must be fetched whole.
fn end_page(seqs: impl Iterator<Item = i64>, upto: &mut i64) -> bool {
    match page_end(seqs, *upto) {
        PageEnd::All => false,
        PageEnd::Before(end) => {
            *upto = end;
            false
        }
        PageEnd::Group(end) => {
            *upto = end;
            true
        }
    }
}

fn page_end(seqs: impl Iterator<Item = i64>, upto: i64) -> PageEnd {
    let seqs: Vec<i64> = seqs.collect();
    match (seqs.first(), seqs.get(PULL_PAGE)) {
        (Some(&first), Some(&past)) if first < past => PageEnd::Before((past - 1).min(upto)),
        (Some(_), Some(&past)) => PageEnd::Group(past),
        _ => PageEnd::All,
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PullQuery {
    /// The `cursor` of the previous pull; 0 or absent for everything.
    #[serde(default)]
    pub cursor: i64,
    /// The `history` of the previous pull; 0 or absent when the phone has none.
    #[serde(default)]
    pub history: i64,
}

/// The server's last sequence number, and whether the cursor `$1` lies outside the history this database
/// holds: past its last number (a phone that pulled from a newer copy), or within a break a restore left
/// (see `db::break_history`). For phones too old to send the history's id.
const LAST_AND_BEYOND_SQL: &str = "SELECT value, $1 > value OR EXISTS (
        SELECT 1 FROM history_breaks WHERE kept_upto < $1 AND $1 < resumed_from)
    FROM counters WHERE name = 'server_seq'";

/// Whether a phone's copy, from the history `sent` (0: it does not know, an older app or no pull yet), is
/// of the history the database holds.
fn same_history(sent: i64, held: i64) -> bool {
    sent == 0 || sent == held
}

/// The history a person's phones are told: the database's, moved by the person's view epoch. The epoch
/// rises when what their phones may hold changes — a lead made a member again (their phone must let go
/// of the branch's rosters and codes), a member made a lead, or moved to another branch (whose earlier
/// activities their cursor has passed) — and a phone whose copy is of another history starts over, as
/// after a restore. Epoch 0 is the database's own history; every value stays a positive integer that
/// JavaScript holds exactly, as the database's does.
pub fn history_for(database: i64, epoch: i64) -> i64 {
    const SPAN: i128 = 9_007_199_254_740_990; // database histories are 1 ..= SPAN
    ((database as i128 - 1 + epoch as i128 * 1_000_000_007).rem_euclid(SPAN) + 1) as i64
}

/// What changed for this user since `cursor`, ordered by server sequence; everything, marked as a resync,
/// when the cursor came from a history the server no longer has.
#[utoipa::path(get, path = paths::PULL, tag = "sync", security(("bearer" = [])), params(PullQuery),
    responses((status = 200, body = PullResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn pull(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Deferred<Query<PullQuery>>,
) -> Result<Json<PullResponse>, AppError> {
    let Query(PullQuery {
        cursor,
        history: sent_history,
    }) = query.read()?;
    if cursor < 0 {
        return Err(AppError::BadRequest("cursor 不能为负数".to_owned()));
    }
    // One snapshot: nothing up to its last sequence can still be uncommitted, because all writes commit
    // in sequence order (see db::Sequence). A phone far behind gets a page and pulls again.
    let mut tx = state.db.reader.snapshot().await?;
    let (last, beyond): (i64, bool) = db::query_as(LAST_AND_BEYOND_SQL)
        .bind(cursor)
        .fetch_one(&mut *tx)
        .await?;
    // A copy from another history starts again from nothing.
    let history = history_for(state.db.history, user.view_epoch);
    let lost = beyond || !same_history(sent_history, history);
    let cursor = if lost { 0 } else { cursor };
    let mut upto = last;
    let mut activities = page::<ActivityView>(&mut tx, &user, cursor, &mut upto).await?;
    let mut attendance = page::<AttendanceView>(&mut tx, &user, cursor, &mut upto).await?;
    let mut study = page::<StudyView>(&mut tx, &user, cursor, &mut upto).await?;
    let mut feedback = page::<FeedbackView>(&mut tx, &user, cursor, &mut upto).await?;
    let study_rules = study::load_rules(&mut tx).await?;
    let settings = super::settings::load(&mut *tx).await?;
    tx.commit().await?;
    // A later kind may have ended the page earlier than an earlier kind's rows reach.
    keep_upto(&mut activities, upto);
    keep_upto(&mut attendance, upto);
    keep_upto(&mut study, upto);
    keep_upto(&mut feedback, upto);
    Ok(Json(PullResponse {
        cursor: upto.max(cursor),
        more: upto < last,
        resync: lost,
        history,
        server_time: now_ms(),
        activities,
        attendance,
        study,
        feedback,
        settings,
        study_rules,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_epoch_moves_the_history_a_phone_is_told() {
        for database in [1, 42, 9_007_199_254_740_990] {
            assert_eq!(
                history_for(database, 0),
                database,
                "epoch 0: the database's own"
            );
            let told: Vec<i64> = (0..50).map(|e| history_for(database, e)).collect();
            let distinct: std::collections::HashSet<_> = told.iter().collect();
            assert_eq!(distinct.len(), told.len(), "each epoch its own history");
            assert!(told.iter().all(|h| (1..=9_007_199_254_740_990).contains(h)));
        }
    }

    #[test]
    fn a_page_ends_where_every_sequence_number_before_it_is_whole() {
        assert_eq!(page_end([3, 4, 5].into_iter(), 9), PageEnd::All);
        assert_eq!(page_end(std::iter::empty(), 9), PageEnd::All);
        // One more row than a page: stop before the sequence number of the row that did not fit.
        let seqs = (1..=PULL_PAGE as i64 + 1).map(|i| 10 + i / 3);
        let past = 10 + (PULL_PAGE as i64 + 1) / 3;
        assert_eq!(page_end(seqs, 10_000), PageEnd::Before(past - 1));
        // A page of rows that all share one number (a large roster published at once): take it whole.
        let same = std::iter::repeat_n(42, PULL_PAGE + 1);
        assert_eq!(page_end(same, 10_000), PageEnd::Group(42));
    }
}
