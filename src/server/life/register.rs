//! The lead's desk work, online: the attendance register of one activity as CSV or Excel, and the quiet
//! list of members without any participation for a while.

use crate::server::db::{self, Conn};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde::Deserialize;

use super::activities::{ACTIVITY_COLUMNS, ActivityRecord};
use super::attendance::{ATTENDANCE_COLUMNS, AttendanceRecord};
use crate::api::{AttendanceView, ErrorBody, Participation, QuietMember, paths};
use crate::life::Quorum;
use crate::model::{ActivityKind, AttendanceStatus, LocalTime, Membership, Role, Tally};
use crate::server::auth::CurrentUser;
use crate::server::db::{ORG_SCOPE, now_ms};
use crate::server::{AppError, AppState, Deferred};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::REGISTER, get(register))
        .route(paths::ROSTER, get(roster))
        .route(paths::PARTICIPATION, get(participation))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RegisterQuery {
    /// `csv` (UTF-8 with BOM, opens in Excel and WPS) or `xlsx`.
    pub format: String,
}

/// The register as the lead files it: the record's header lines, then one line per member.
pub struct Register {
    pub title: String,
    pub header: Vec<(&'static str, String)>,
    pub columns: [&'static str; 8],
    pub rows: Vec<[String; 8]>,
}

impl Register {
    fn new(a: &ActivityRecord, roster: &[AttendanceView]) -> Register {
        let tally = Tally::of(roster.iter().map(|r| (r.status, r.membership)));
        let kind = ActivityKind::parse(&a.kind).unwrap_or(ActivityKind::Other);
        let mut header = vec![
            ("主题", a.title.clone()),
            ("类型", kind.label().to_owned()),
            ("党组织", a.org_name.clone()),
            (
                "时间",
                format!(
                    "{} 至 {}",
                    LocalTime::from_millis(a.starts_at).table(),
                    LocalTime::from_millis(a.ends_at).table()
                ),
            ),
            ("地点", a.place.clone()),
            ("主持人", a.host.clone().unwrap_or_default()),
            ("记录人", a.recorder.clone().unwrap_or_default()),
            ("出席情况", tally.summary()),
            (
                "实到",
                format!(
                    "正式党员{}人，预备党员{}人",
                    tally.present_full, tally.present_probationary
                ),
            ),
        ];
        if kind == ActivityKind::GeneralMeeting {
            let quorum = Quorum::of(roster.iter().map(AttendanceView::counted));
            header.push(("表决", quorum.summary()));
        }
        if let Some(note) = a.online_note.as_ref().filter(|n| !n.is_empty()) {
            header.push(("其他线上参加人员", note.clone()));
        }
        header.push((
            "状态",
            if a.state == "closed" {
                "已归档"
            } else {
                "未归档（数据可能变化）"
            }
            .to_owned(),
        ));
        let rows = roster
            .iter()
            .map(|r| {
                let mut notes = r.proof_notes();
                if !notes.is_empty() && r.status == AttendanceStatus::Confirmed {
                    notes.push("书记已确认到会".to_owned());
                }
                notes.extend(r.lateness());
                let flag = notes.join("；");
                [
                    r.member_name.clone(),
                    match r.membership {
                        Membership::Full => "正式党员",
                        Membership::Probationary => "预备党员",
                    }
                    .to_owned(),
                    if r.guest { "是" } else { "" }.to_owned(),
                    r.status.label().to_owned(),
                    r.signed_at
                        .map(|t| LocalTime::from_millis(t).table())
                        .unwrap_or_default(),
                    r.reason.clone().unwrap_or_default(),
                    r.study.clone().unwrap_or_default(),
                    flag,
                ]
            })
            .collect();
        Register {
            title: a.title.clone(),
            header,
            columns: [
                "姓名",
                "党员类别",
                "外支部参加",
                "状态",
                "签到时间",
                "请假/缺席原因",
                "补学",
                "备注",
            ],
            rows,
        }
    }

    /// CSV with a BOM (so Excel and WPS read it as UTF-8) and CRLF line ends, every field quoted and
    /// none able to start a formula ([`inert`]).
    pub fn csv(&self) -> String {
        let line = |fields: &mut dyn Iterator<Item = &str>| {
            let quoted: Vec<String> = fields
                .map(|f| format!("\"{}\"", inert(f).replace('"', "\"\"")))
                .collect();
            quoted.join(",") + "\r\n"
        };
        let mut out = String::from("\u{feff}");
        for (k, v) in &self.header {
            out += &line(&mut [*k, v.as_str()].into_iter());
        }
        out += "\r\n";
        out += &line(&mut self.columns.iter().copied());
        for row in &self.rows {
            out += &line(&mut row.iter().map(String::as_str));
        }
        out
    }

    pub fn xlsx(&self) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format, Workbook};
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name("签到登记")?;
        let bold = Format::new().set_bold();
        let mut r = 0u32;
        for (k, v) in &self.header {
            sheet.write_string_with_format(r, 0, *k, &bold)?;
            sheet.write_string(r, 1, v)?;
            r += 1;
        }
        r += 1;
        for (c, name) in self.columns.iter().enumerate() {
            sheet.write_string_with_format(r, c as u16, *name, &bold)?;
        }
        for row in &self.rows {
            r += 1;
            for (c, value) in row.iter().enumerate() {
                sheet.write_string(r, c as u16, value)?;
            }
        }
        sheet.set_column_width(0, 14)?;
        sheet.set_column_width(1, 40)?;
        for c in 2..8 {
            sheet.set_column_width(c, 16)?;
        }
        book.save_to_buffer()
    }
}

/// The attendance register of one activity: its lead (or an admin) downloads it as CSV or Excel.
#[utoipa::path(get, path = paths::REGISTER, tag = "activities", security(("bearer" = [])),
    params(("id" = String, Path, description = "Activity id"), RegisterQuery),
    responses(
        (status = 200, description = "text/csv or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<String>>,
    query: Deferred<Query<RegisterQuery>>,
) -> Result<Response, AppError> {
    let Path(id) = id.read()?;
    let Query(RegisterQuery { format }) = query.read()?;
    if format != "csv" && format != "xlsx" {
        return Err(AppError::BadRequest("format 只能是 csv 或 xlsx".to_owned()));
    }
    let mut conn = state.db.reader.acquire().await?;
    let activity: ActivityRecord = db::query_as(&format!(
        "SELECT {ACTIVITY_COLUMNS} FROM activities a JOIN orgs o ON o.id = a.org_id WHERE a.id = $1"
    ))
    .bind(&id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound("活动不存在"))?;
    if !user.administers(&mut conn, activity.org_id, true).await? {
        return Err(AppError::Forbidden("只能导出本支部活动的签到登记"));
    }
    let rows: Vec<AttendanceRecord> = db::query_as(&format!(
        "SELECT {ATTENDANCE_COLUMNS} FROM attendance t JOIN users u ON u.id = t.member_id
         WHERE t.activity_id = $1 ORDER BY t.guest, u.membership, t.member_id"
    ))
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?;
    let roster = rows
        .into_iter()
        .map(AttendanceRecord::view)
        .collect::<Result<Vec<_>, _>>()?;
    let register = Register::new(&activity, &roster);
    let date = LocalTime::from_millis(activity.starts_at);
    let stem = format!(
        "签到登记-{:04}{:02}{:02}-{}",
        date.year, date.month, date.day, register.title
    );
    let body = if format == "csv" {
        register.csv().into_bytes()
    } else {
        register
            .xlsx()
            .map_err(|e| AppError::Internal(format!("xlsx: {e}")))?
    };
    state.security.log(
        "export",
        serde_json::json!({"by": user.id, "what": "register", "activity": id, "format": format, "rows": roster.len()}),
    );
    Ok(attachment(&format, &stem, body))
}

/// A download: `format` is `csv` or `xlsx`, `stem` the file name without extension (Chinese is fine).
pub fn attachment(format: &str, stem: &str, body: Vec<u8>) -> Response {
    let mime = match format {
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        _ => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    let disposition = format!(
        "attachment; filename=\"hongyan.{format}\"; filename*=UTF-8''{}.{format}",
        percent_encode(stem)
    );
    (
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// RFC 5987 encoding of a file name: unreserved ASCII stays, every other byte becomes `%XX`.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One activity's roster rows, for its branch's lead (or an admin above it): what a lead's phone fetches
/// when it opens an activity whose roster it no longer syncs.
#[utoipa::path(get, path = paths::ROSTER, tag = "activities", security(("bearer" = [])),
    params(("id" = String, Path, description = "Activity id")),
    responses((status = 200, body = Vec<AttendanceView>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn roster(
    State(state): State<AppState>,
    user: CurrentUser,
    id: Deferred<Path<String>>,
) -> Result<Json<Vec<AttendanceView>>, AppError> {
    let Path(id) = id.read()?;
    let mut conn = state.db.reader.acquire().await?;
    let org: i64 = db::query_scalar("SELECT org_id FROM activities WHERE id = $1")
        .bind(&id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AppError::NotFound("活动不存在"))?;
    if !user.administers(&mut conn, org, true).await? {
        return Err(AppError::Forbidden("只能查看本支部活动的应到名单"));
    }
    let rows: Vec<AttendanceRecord> = db::query_as(&format!(
        "SELECT {ATTENDANCE_COLUMNS} FROM attendance t JOIN users u ON u.id = t.member_id
         WHERE t.activity_id = $1 ORDER BY t.member_id"
    ))
    .bind(&id)
    .fetch_all(&mut *conn)
    .await?;
    let rows = rows
        .into_iter()
        .map(AttendanceRecord::view)
        .collect::<Result<_, _>>()?;
    Ok(Json(rows))
}

/// The lead's quiet list: members of their branch (home branch) without any participation — at home or at
/// a host branch — for the configured time. Only the member's own lead sees names; it is a reminder to get
/// in touch, never a sanction.
#[utoipa::path(get, path = paths::PARTICIPATION, tag = "activities", security(("bearer" = [])),
    responses((status = 200, body = Participation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn participation(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Participation>, AppError> {
    if user.role != Role::Lead {
        return Err(AppError::Forbidden(
            "只有党支部书记可以查看本支部的参加情况",
        ));
    }
    let mut conn = state.db.reader.acquire().await?;
    let since = now_ms()
        - crate::server::settings::load(&mut *conn)
            .await?
            .inactive_after_ms;
    let members = quiet_members(&mut conn, user.org_id, since)
        .await?
        .into_iter()
        .filter(|(_, m)| m.member_id != user.id)
        .map(|(_, m)| m)
        .collect();
    Ok(Json(Participation { since, members }))
}

/// The query of [`quiet_members`] ($1 the organisation, $2 since when): each person's last participation
/// is kept on their account (see the 0007 migration), so this reads the people, not their history.
pub fn quiet_sql() -> String {
    format!(
        "{ORG_SCOPE} SELECT u.org_id, u.id, u.name, a.starts_at, o.name
         FROM users u LEFT JOIN activities a ON a.id = u.last_present LEFT JOIN orgs o ON o.id = a.org_id
         WHERE u.org_id IN (SELECT id FROM scope) AND u.last_present_at < $2 AND u.role IN ('member', 'lead') AND u.created_at < $2
         ORDER BY u.last_present_at, u.id"
    )
}

/// Members and leads whose home is the organisation `root` or below, on the roster since before `since`,
/// with no participation anywhere (home or host branch) since then — with their home organisation.
pub async fn quiet_members(
    conn: &mut dyn Conn,
    root: i64,
    since: i64,
) -> Result<Vec<(i64, QuietMember)>, sqlx::Error> {
    type Row = (i64, i64, String, Option<i64>, Option<String>);
    let rows: Vec<Row> = db::query_as(&quiet_sql())
        .bind(root)
        .bind(since)
        .fetch_all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(org_id, member_id, name, last_at, last_org)| {
            let member = QuietMember {
                member_id,
                name,
                last_at,
                last_org,
            };
            (org_id, member)
        })
        .collect())
}

/// A cell as a spreadsheet will not run it: text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return (or their full-width forms, which some spreadsheets also read as formulas) gets a leading `'`.
pub fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    const STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];
    if cell.starts_with(STARTS) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_cell_of_an_export_can_start_a_formula() {
        for formula in [
            "=1+1",
            "+86 138",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "＝HYPERLINK(\"x\")",
            "＋1",
            "－1",
            "＠x",
        ] {
            assert!(inert(formula).starts_with('\''), "{formula}");
        }
        assert_eq!(inert("李明"), "李明");
        assert_eq!(inert(""), "");
    }

    #[test]
    fn file_names_are_percent_encoded_for_content_disposition() {
        assert_eq!(
            percent_encode("签到 a-1.csv"),
            "%E7%AD%BE%E5%88%B0%20a-1.csv"
        );
    }
}
