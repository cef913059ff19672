//! The district view (区委组织部): for an organisation and everything below it, in a period, each branch's
//! organisational life against the calendar (`crate::district`), attendance (应到 / 实到), sign-ins still
//! to confirm, members without participation for the quiet period (a count; names only for their own lead),
//! and 学时 completion by audience — as JSON or Excel. Rows are in tree order: never ranked.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde::Deserialize;
use sqlx::SqliteConnection;

use super::auth::CurrentUser;
use super::db::{ORG_SCOPE, now_ms};
use super::register::{attachment, quiet_members};
use super::study::study_rows;
use super::{AppError, AppState};
use crate::api::{AudienceCount, BranchRow, DistrictView, ErrorBody, OrgRef, OverviewRow, paths};
use crate::district::{
    CALENDAR, GROUP_RULE, NO_GROUPS, Period, check, current, every_group, percent,
};
use crate::model::{ActivityKind, AttendanceStatus, LocalTime, Membership, Role, Tally};
use crate::study::Audience;

pub fn router() -> Router<AppState> {
    Router::new().route(paths::DISTRICT, get(district))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DistrictQuery {
    /// The organisation (admins: any; leads: their branch). Absent: the district (a lead: their branch).
    pub org: Option<i64>,
    /// Absent: this year.
    pub year: Option<i64>,
    /// 1–4; absent: the whole year.
    pub quarter: Option<u32>,
    /// `json` (default) or `xlsx`.
    #[serde(default)]
    pub format: String,
}

/// The district view of an organisation and everything below it for a year or a quarter.
#[utoipa::path(get, path = paths::DISTRICT, tag = "admin", security(("bearer" = [])), params(DistrictQuery),
    responses((status = 200, body = DistrictView, description = "JSON, or an .xlsx file with format=xlsx"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn district(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Result<Query<DistrictQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(q) = query?;
    let now = now_ms();
    let period = Period::new(q.year.unwrap_or_else(|| current(now).0), q.quarter)
        .ok_or_else(|| AppError::BadRequest("年份或季度无效".to_owned()))?;
    if !matches!(q.format.as_str(), "" | "json" | "xlsx") {
        return Err(AppError::BadRequest(
            "format 只能是 json 或 xlsx".to_owned(),
        ));
    }
    let mut conn = state.db.reader.acquire().await?;
    let asked = user
        .scope(
            &mut conn,
            q.org,
            "只有书记和管理员可以查看统计",
            "只能查看本支部或本党委范围内的统计",
        )
        .await?;
    let root: Option<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, parent_id FROM orgs WHERE (?1 IS NULL AND parent_id IS NULL) OR id = ?1 ORDER BY id LIMIT 1",
    )
    .bind(asked)
    .fetch_optional(&mut *conn)
    .await?;
    let (org_id, org_name, parent_id) = root.ok_or(AppError::NotFound("组织不存在"))?;
    let quiet_since = now - state.settings.inactive_after_ms;
    let own_lead = (user.role == Role::Lead).then_some(user.org_id);
    let view = build(
        &mut conn,
        (org_id, org_name),
        period,
        now,
        quiet_since,
        own_lead,
    )
    .await?;
    // Back up the tree, but not above the part of it this person administers.
    let up = match user.role {
        Role::Admin => parent_id,
        Role::Committee => parent_id.filter(|_| org_id != user.org_id),
        Role::Lead | Role::Member => None,
    };
    let parent = match up {
        Some(id) => sqlx::query_as("SELECT id, name FROM orgs WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .map(|(id, name)| OrgRef { id, name }),
        _ => None,
    };
    let view = DistrictView { parent, ..view };
    if q.format == "xlsx" {
        let body = workbook(&view).map_err(|e| AppError::Internal(format!("xlsx: {e}")))?;
        let stem = format!("组织生活统计-{}-{}", view.org_name, view.period);
        state.security.log(
            "export",
            serde_json::json!({"by": user.id, "what": "district", "org": view.org_id, "rows": view.branches.len()}),
        );
        return Ok(attachment("xlsx", &stem, body));
    }
    Ok(Json(view).into_response())
}

async fn build(
    conn: &mut SqliteConnection,
    (org_id, org_name): (i64, String),
    period: Period,
    now: i64,
    quiet_since: i64,
    own_lead: Option<i64>,
) -> Result<DistrictView, AppError> {
    let branches: Vec<(i64, String)> = sqlx::query_as(&format!(
        "{ORG_SCOPE} SELECT id, name FROM orgs WHERE id IN (SELECT id FROM scope) AND kind = 'branch' ORDER BY id"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    let children: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, name FROM orgs WHERE parent_id = ? AND kind != 'group' ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    let members: HashMap<i64, u32> = sqlx::query_as::<_, (i64, u32)>(&format!(
        "{ORG_SCOPE} SELECT org_id, count(*) FROM users
         WHERE org_id IN (SELECT id FROM scope) AND role NOT IN ('admin', 'committee') GROUP BY org_id"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    // Activities that took place in the period (started, not cancelled); a yearly rule looks at the year.
    let (start, end) = period.bounds();
    let (year_start, year_end) = Period {
        quarter: None,
        ..period
    }
    .bounds();
    let groups: Vec<(i64, i64)> = sqlx::query_as(&format!(
        "{ORG_SCOPE} SELECT id, parent_id FROM orgs WHERE kind = 'group' AND parent_id IN (SELECT id FROM scope)
         ORDER BY id"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    let held: Vec<(i64, String, i64, Option<i64>)> = sqlx::query_as(&format!(
        "{ORG_SCOPE} SELECT org_id, kind, starts_at, group_id FROM activities
         WHERE org_id IN (SELECT id FROM scope) AND state != 'cancelled' AND starts_at >= ?2 AND starts_at < ?3
           AND starts_at <= ?4"
    ))
    .bind(org_id)
    .bind(year_start)
    .bind(year_end)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
        "{ORG_SCOPE} SELECT a.org_id, t.status, u.membership FROM attendance t
         JOIN activities a ON a.id = t.activity_id JOIN users u ON u.id = t.member_id
         WHERE a.org_id IN (SELECT id FROM scope) AND a.state != 'cancelled'
           AND a.starts_at >= ?2 AND a.starts_at < ?3 AND a.starts_at <= ?4"
    ))
    .bind(org_id)
    .bind(start)
    .bind(end)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    let mut roster: HashMap<i64, Vec<(AttendanceStatus, Membership)>> = HashMap::new();
    for (org, status, membership) in rows {
        if let Some(status) = AttendanceStatus::parse(&status) {
            let membership = Membership::parse(&membership).unwrap_or_default();
            roster.entry(org).or_default().push((status, membership));
        }
    }
    let mut quiet: HashMap<i64, Vec<String>> = HashMap::new();
    for (org, m) in quiet_members(conn, org_id, quiet_since).await? {
        quiet.entry(org).or_default().push(m.name);
    }
    let study = study_rows(conn, Some(org_id), period.year).await?;

    let branches: Vec<BranchRow> = branches
        .into_iter()
        .map(|(id, name)| {
            let times = |kind: ActivityKind, whole_year: bool| -> Vec<i64> {
                held.iter()
                    .filter(|(org, k, at, _)| {
                        *org == id
                            && ActivityKind::parse(k) == Some(kind)
                            && (whole_year || (start..end).contains(at))
                    })
                    .map(|(_, _, at, _)| *at)
                    .collect()
            };
            let mut rules: Vec<_> = CALENDAR
                .iter()
                .map(|&(kind, cadence)| {
                    let whole_year = cadence == crate::district::Cadence::Year;
                    check((kind, cadence), period, &times(kind, whole_year), now)
                })
                .collect();
            // A branch with 党小组: each group meets monthly.
            let meetings: Vec<Vec<i64>> = groups
                .iter()
                .filter(|(_, branch)| *branch == id)
                .map(|(group, _)| {
                    held.iter()
                        .filter(|(org, k, _, g)| {
                            *org == id
                                && *g == Some(*group)
                                && ActivityKind::parse(k) == Some(GROUP_RULE.0)
                        })
                        .map(|(_, _, at, _)| *at)
                        .collect()
                })
                .collect();
            if !meetings.is_empty() {
                rules.push(check(GROUP_RULE, period, &every_group(&meetings), now));
            }
            let tally = Tally::of(roster.get(&id).cloned().unwrap_or_default());
            let unconfirmed = roster.get(&id).map_or(0, |r| {
                r.iter()
                    .filter(|(s, _)| *s == AttendanceStatus::SignedIn)
                    .count() as u32
            });
            let quiet_names = quiet.get(&id).cloned().unwrap_or_default();
            BranchRow {
                org_id: id,
                org_name: name,
                members: members.get(&id).copied().unwrap_or(0),
                held: held
                    .iter()
                    .filter(|(org, _, at, _)| *org == id && (start..end).contains(at))
                    .count() as u32,
                rules,
                expected: tally.expected,
                present: tally.present,
                unconfirmed,
                quiet: quiet_names.len() as u32,
                quiet_names: if own_lead == Some(id) {
                    quiet_names
                } else {
                    Vec::new()
                },
                study: by_audience(study.iter().filter(|r| r.org_id == id)),
            }
        })
        .collect();
    Ok(DistrictView {
        org_id,
        org_name,
        period: period.label(),
        year: period.year,
        quarter: period.quarter,
        quiet_after_days: (now - quiet_since) / 86_400_000,
        study: by_audience(study.iter()),
        branches,
        children: children
            .into_iter()
            .map(|(id, name)| OrgRef { id, name })
            .collect(),
        parent: None,
    })
}

/// People and those who met every requirement, per audience that has anyone.
fn by_audience<'a>(rows: impl Iterator<Item = &'a OverviewRow>) -> Vec<AudienceCount> {
    let mut counts: Vec<AudienceCount> = Audience::ALL
        .into_iter()
        .map(|audience| AudienceCount {
            audience,
            people: 0,
            met: 0,
        })
        .collect();
    for row in rows {
        if let Some(c) = counts.iter_mut().find(|c| c.audience == row.audience) {
            c.people += 1;
            c.met += u32::from(row.met());
        }
    }
    counts.retain(|c| c.people > 0);
    counts
}

/// The view as a workbook: one line per branch, in tree order.
fn workbook(v: &DistrictView) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("组织生活统计")?;
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, format!("{} · {}", v.org_name, v.period), &bold)?;
    let mut headings = vec![
        "党组织".to_owned(),
        "党员人数".to_owned(),
        "举办活动".to_owned(),
    ];
    headings.extend(
        CALENDAR
            .iter()
            .chain([&GROUP_RULE])
            .map(|(kind, cadence)| format!("{}（{}）", kind.label(), cadence.label())),
    );
    headings.extend([
        "应到人次".to_owned(),
        "实到人次".to_owned(),
        "出席率".to_owned(),
        "待确认签到".to_owned(),
        format!("{}天以上未参加", v.quiet_after_days),
    ]);
    headings.extend(
        Audience::ALL
            .iter()
            .map(|a| format!("学时达标：{}", a.label())),
    );
    for (col, h) in headings.iter().enumerate() {
        sheet.write_string_with_format(2, col as u16, h, &bold)?;
    }
    for (i, b) in v.branches.iter().enumerate() {
        let row = 3 + i as u32;
        sheet.write_string(row, 0, &b.org_name)?;
        sheet.write_number(row, 1, b.members)?;
        sheet.write_number(row, 2, b.held)?;
        let mut col = 3u16;
        for rule in &b.rules {
            let missing = if rule.met() {
                String::new()
            } else {
                format!("（缺{}）", rule.missing.join("、"))
            };
            sheet.write_string(row, col, format!("{}{missing}", rule.cell()))?;
            col += 1;
        }
        if b.rules.len() == CALENDAR.len() {
            sheet.write_string(row, col, NO_GROUPS)?;
            col += 1;
        }
        sheet.write_number(row, col, b.expected)?;
        sheet.write_number(row, col + 1, b.present)?;
        sheet.write_string(row, col + 2, percent(b.present, b.expected))?;
        sheet.write_number(row, col + 3, b.unconfirmed)?;
        sheet.write_number(row, col + 4, b.quiet)?;
        col += 5;
        for audience in Audience::ALL {
            let cell = b
                .study
                .iter()
                .find(|c| c.audience == audience)
                .map_or(String::new(), |c| format!("{}/{}", c.met, c.people));
            sheet.write_string(row, col, cell)?;
            col += 1;
        }
    }
    let date = LocalTime::from_millis(now_ms());
    let note = 4 + v.branches.len() as u32;
    sheet.write_string(
        note,
        0,
        format!(
            "导出于{}年{}月{}日；按组织顺序列出，不作比较。",
            date.year, date.month, date.day
        ),
    )?;
    sheet.set_column_width(0, 28)?;
    book.save_to_buffer()
}
