//! The district view (区委组织部): for an organisation and everything below it, in a period, each branch's
//! organisational life against the calendar (`crate::district`), attendance (应到 / 实到), sign-ins still
//! to confirm, members without participation for the quiet period (a count; names only for their own lead),
//! and 学时 completion by audience — as JSON or Excel. Rows are in tree order: never ranked.

use std::collections::HashMap;

use crate::server::db::{self, Conn, Engine};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing::get};
use serde::Deserialize;

use crate::api::{BranchRow, DistrictView, ErrorBody, OrgRef, paths};
use crate::district::{
    CALENDAR, GROUP_RULE, NO_GROUPS, Period, check, current, every_group, percent,
};
use crate::model::{ActivityKind, LocalTime, Role};
use crate::server::auth::CurrentUser;
use crate::server::db::{ORG_SCOPE, now_ms, org_tree};
use crate::server::life::register::{attachment, quiet_members};
use crate::server::study::{Tally, audience_counts, study_counts};
use crate::server::{AppError, AppState, Deferred};
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
    query: Deferred<Query<DistrictQuery>>,
) -> Result<Response, AppError> {
    let Query(q) = query.read()?;
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
    let root: Option<(i64, String, Option<i64>)> = db::query_as(
        "SELECT id, name, parent_id FROM orgs WHERE ($1 IS NULL AND parent_id IS NULL) OR id = $1 ORDER BY id LIMIT 1",
    )
    .bind(asked)
    .fetch_optional(&mut *conn)
    .await?;
    let (org_id, org_name, parent_id) = root.ok_or(AppError::NotFound("组织不存在"))?;
    let quiet_since = now
        - crate::server::settings::load(&mut *conn)
            .await?
            .inactive_after_ms;
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
        Some(id) => db::query_as("SELECT id, name FROM orgs WHERE id = $1")
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

/// Activities that took place in [$2, $3) and by $4 in the organisation $1 and below, a row per
/// organisation, kind and 党小组: their start times (comma-separated), and how many of them, with what
/// 应到, 实到 and 待确认 (as each activity keeps them, see the 0007 migration) fall in the period [$5, $6).
/// One search per organisation of an index that covers the query, and a few rows per branch rather than
/// one per activity: handing rows from SQLite to the server costs more than finding them. (`IN (SELECT id FROM scope)`, not
/// a join with the scope: SQLite plans that join as a lookup of every activity row.)
pub fn held_sql(engine: Engine) -> String {
    let times = engine.joined("a.starts_at");
    format!(
        "{ORG_SCOPE} SELECT a.org_id, a.kind, a.group_id, {times} AS times,
                count(*) FILTER (WHERE a.starts_at >= $5 AND a.starts_at < $6) AS held,
                CAST(sum(CASE WHEN a.starts_at >= $5 AND a.starts_at < $6 THEN a.expected ELSE 0 END) AS BIGINT) AS expected,
                CAST(sum(CASE WHEN a.starts_at >= $5 AND a.starts_at < $6 THEN a.present ELSE 0 END) AS BIGINT) AS present,
                CAST(sum(CASE WHEN a.starts_at >= $5 AND a.starts_at < $6 THEN a.unconfirmed ELSE 0 END) AS BIGINT) AS unconfirmed
         FROM activities a
         WHERE a.org_id IN (SELECT id FROM scope) AND a.state != 'cancelled' AND a.starts_at >= $2 AND a.starts_at < $3
               AND a.starts_at <= $4
         GROUP BY a.org_id, a.kind, a.group_id"
    )
}

/// What [`held_sql`] says of one organisation: the times of each kind (and 党小组) and the period's counts.
#[derive(Default)]
struct Held {
    times: Vec<(ActivityKind, Option<i64>, Vec<i64>)>,
    /// Activities in the period, 应到, 实到, 待确认.
    counts: (u32, u32, u32, u32),
}

impl Held {
    /// The times of `kind` (of the 党小组 `group`, when given), within [start, end) when given.
    fn times(
        &self,
        kind: ActivityKind,
        group: Option<i64>,
        within: Option<(i64, i64)>,
    ) -> Vec<i64> {
        self.times
            .iter()
            .filter(|(k, g, _)| *k == kind && (group.is_none() || *g == group))
            .flat_map(|(_, _, times)| times.iter().copied())
            .filter(|at| within.is_none_or(|(start, end)| (start..end).contains(at)))
            .collect()
    }
}

async fn build(
    conn: &mut dyn Conn,
    (org_id, org_name): (i64, String),
    period: Period,
    now: i64,
    quiet_since: i64,
    own_lead: Option<i64>,
) -> Result<DistrictView, AppError> {
    // In tree order: a committee's branches together.
    let tree = org_tree(conn.engine());
    let branches: Vec<(i64, String)> = db::query_as(&format!(
        "{tree} SELECT o.id, o.name FROM tree JOIN orgs o ON o.id = tree.id WHERE o.kind = 'branch'
         ORDER BY tree.path"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    let children: Vec<(i64, String)> = db::query_as(
        "SELECT id, name FROM orgs WHERE parent_id = $1 AND kind != 'group' ORDER BY id",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    // Activities that took place in the period (started, not cancelled); a yearly rule looks at the year.
    let (start, end) = period.bounds();
    let (year_start, year_end) = Period {
        quarter: None,
        ..period
    }
    .bounds();
    let groups: Vec<(i64, i64)> = db::query_as(&format!(
        "{ORG_SCOPE} SELECT id, parent_id FROM orgs WHERE kind = 'group' AND parent_id IN (SELECT id FROM scope)
         ORDER BY id"
    ))
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await?;
    /// One kind (and 党小组) of one organisation's activities ([`held_sql`]).
    #[derive(sqlx::FromRow)]
    struct Row {
        org_id: i64,
        kind: String,
        group_id: Option<i64>,
        times: String,
        #[sqlx(try_from = "i64")]
        held: u32,
        #[sqlx(try_from = "i64")]
        expected: u32,
        #[sqlx(try_from = "i64")]
        present: u32,
        #[sqlx(try_from = "i64")]
        unconfirmed: u32,
    }
    let rows: Vec<Row> = db::query_as(&held_sql(conn.engine()))
        .bind(org_id)
        .bind(year_start)
        .bind(year_end)
        .bind(now)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?;
    let mut quiet: HashMap<i64, Vec<String>> = HashMap::new();
    for (org, m) in quiet_members(conn, org_id, quiet_since).await? {
        quiet.entry(org).or_default().push(m.name);
    }
    let study = study_counts(conn, Some(org_id), period.year).await?;
    // Grouped by organisation once, so each branch's row reads only its own.
    let mut held_by: HashMap<i64, Held> = HashMap::new();
    for r in rows {
        let held = held_by.entry(r.org_id).or_default();
        let c = &mut held.counts;
        *c = (
            c.0 + r.held,
            c.1 + r.expected,
            c.2 + r.present,
            c.3 + r.unconfirmed,
        );
        if let Some(kind) = ActivityKind::parse(&r.kind) {
            let times = r.times.split(',').filter_map(|t| t.parse().ok()).collect();
            held.times.push((kind, r.group_id, times));
        }
    }
    let mut study_by: HashMap<i64, Vec<(Audience, Tally)>> = HashMap::new();
    for (&(org, audience), &counts) in &study {
        study_by.entry(org).or_default().push((audience, counts));
    }
    let mut groups_by: HashMap<i64, Vec<i64>> = HashMap::new();
    for (group, branch) in groups {
        groups_by.entry(branch).or_default().push(group);
    }

    let none = Held::default();
    let branches: Vec<BranchRow> = branches
        .into_iter()
        .map(|(id, name)| {
            let held = held_by.get(&id).unwrap_or(&none);
            let mut rules: Vec<_> = CALENDAR
                .iter()
                .map(|&(kind, cadence)| {
                    let whole_year = cadence == crate::district::Cadence::Year;
                    let times = held.times(kind, None, (!whole_year).then_some((start, end)));
                    check((kind, cadence), period, &times, now)
                })
                .collect();
            // A branch with 党小组: each group meets monthly.
            let meetings: Vec<Vec<i64>> = groups_by
                .get(&id)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|&group| held.times(GROUP_RULE.0, Some(group), None))
                .collect();
            if !meetings.is_empty() {
                rules.push(check(GROUP_RULE, period, &every_group(&meetings), now));
            }
            let (in_period, expected, present, unconfirmed) = held.counts;
            let quiet_names = quiet.get(&id).cloned().unwrap_or_default();
            let study = study_by.get(&id).map_or(&[][..], Vec::as_slice);
            BranchRow {
                org_id: id,
                org_name: name,
                members: study.iter().map(|(_, (people, _))| people).sum(),
                held: in_period,
                rules,
                expected,
                present,
                unconfirmed,
                quiet: quiet_names.len() as u32,
                quiet_names: if own_lead == Some(id) {
                    quiet_names
                } else {
                    Vec::new()
                },
                study: audience_counts(study.iter().copied()),
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
        study: audience_counts(
            study
                .iter()
                .map(|(&(_, audience), &counts)| (audience, counts)),
        ),
        branches,
        children: children
            .into_iter()
            .map(|(id, name)| OrgRef { id, name })
            .collect(),
        parent: None,
    })
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
