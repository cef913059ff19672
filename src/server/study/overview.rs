//! The overview of 完成情况: who has met their requirement, by organisation, and its Excel file.

use super::*;
use crate::server::db;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OverviewQuery {
    /// The calendar year (default: this year).
    pub year: Option<i64>,
    /// An organisation to drill down to (with everything below it); the admin's default is the district.
    pub org: Option<i64>,
    /// `json` (default) or `xlsx`.
    #[serde(default)]
    pub format: String,
    /// Where this page starts: the `next` of the page before (JSON only; the Excel file has everyone).
    pub from: Option<i64>,
}

/// Who in the reviewer's scope has met their study requirement for a year and who is behind, by how much.
/// Rows are in organisation and name order — a table to follow up, never a ranking.
#[utoipa::path(get, path = paths::STUDY_OVERVIEW, tag = "study", security(("bearer" = [])), params(OverviewQuery),
    responses((status = 200, body = StudyOverview, description = "JSON, or an .xlsx file with format=xlsx"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn overview(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Deferred<Query<OverviewQuery>>,
) -> Result<Response, AppError> {
    let Query(q) = query.read()?;
    let year = q.year.unwrap_or_else(|| Day::of_millis(now_ms()).year());
    if !(2000..=2100).contains(&year) {
        return Err(AppError::BadRequest("年份无效".to_owned()));
    }
    if !matches!(q.format.as_str(), "" | "json" | "xlsx") {
        return Err(AppError::BadRequest(
            "format 只能是 json 或 xlsx".to_owned(),
        ));
    }
    let mut conn = state.db.reader.acquire().await?;
    let root = user
        .scope(
            &mut conn,
            q.org,
            "只有书记和管理员可以查看学时完成情况",
            "只能查看本支部或本党委范围内的学时完成情况",
        )
        .await?;
    if q.format == "xlsx" {
        let rows = study_rows(&mut conn, root, year).await?;
        let overview = StudyOverview {
            year,
            rows,
            ..StudyOverview::default()
        };
        let body =
            overview_xlsx(&overview).map_err(|e| AppError::Internal(format!("xlsx: {e}")))?;
        let date = LocalTime::from_millis(now_ms());
        let stem = format!(
            "学时完成情况-{year}年-导出{:04}{:02}{:02}",
            date.year, date.month, date.day
        );
        state.security.log(
            "export",
            serde_json::json!({"by": user.id, "what": "study_overview", "org": root, "year": year, "rows": overview.rows.len()}),
        );
        return Ok(attachment("xlsx", &stem, body));
    }
    // A page: whole organisations from `from` on, until LIST_PAGE people; the summary counts everyone.
    let orgs = scope_orgs(&mut conn, root).await?;
    if orgs.is_empty() {
        return Err(AppError::NotFound("组织不存在"));
    }
    let first = resume_at(&orgs, q.from);
    let (mut page, mut people, mut next) = (Vec::new(), 0, None);
    for &org in &orgs[first..] {
        if people >= LIST_PAGE as i64 {
            next = Some(org);
            break;
        }
        people += db::query_scalar::<i64>(
            "SELECT count(*) FROM users WHERE org_id = $1 AND role NOT IN ('admin', 'committee')",
        )
        .bind(org)
        .fetch_one(&mut *conn)
        .await?;
        page.push(org);
    }
    let rows = study_rows_in(&mut conn, &page, year).await?;
    // The summary and the organisations below come with the first page only (the next ones add rows).
    let (mut summary, mut children) = (Vec::new(), Vec::new());
    if q.from.is_none() {
        summary = audience_counts(
            study_counts(&mut conn, root, year)
                .await?
                .into_iter()
                .map(|((_, audience), counts)| (audience, counts)),
        );
        children = db::query_as(
            "SELECT id, name FROM orgs
             WHERE parent_id = (SELECT id FROM orgs WHERE ($1 IS NULL AND parent_id IS NULL) OR id = $1 LIMIT 1)
               AND kind != 'group'
             ORDER BY id",
        )
        .bind(root)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(id, name)| OrgRef { id, name })
        .collect();
    }
    Ok(Json(StudyOverview {
        year,
        rows,
        next,
        summary,
        children,
    })
    .into_response())
}

/// People, and how many of them met every requirement of the year.
pub type Tally = (u32, u32);

/// The query of [`study_counts`] counting people ($1 the organisation, `NULL` the district) by organisation
/// and audience, from an index alone (see the 0008 migration).
pub fn people_counts_sql() -> String {
    format!(
        "{ORG_SCOPE} SELECT u.org_id, u.audience, count(*) FROM users u
         WHERE u.org_id IN (SELECT id FROM scope) AND u.role IN ('member', 'lead') GROUP BY u.org_id, u.audience"
    )
}

/// The query of [`study_counts`] for recognised study of the people of $1 and below: a probe of an index
/// per person, a row read only for what was recognised.
/// What a study record counts toward a requirement, as stored.
#[derive(sqlx::FromRow)]
struct CreditRow {
    user_id: i64,
    kind: String,
    starts_on: String,
    ends_on: String,
    #[sqlx(try_from = "i64")]
    credited: u32,
}

impl CreditRow {
    /// None for a row an older version wrote in a form this one does not read.
    fn credit(&self) -> Option<Credit> {
        Some(Credit {
            kind: StudyKind::parse(&self.kind)?,
            starts_on: Day::parse(&self.starts_on)?,
            ends_on: Day::parse(&self.ends_on)?,
            hours: Hours(self.credited),
        })
    }
}

pub fn recognised_sql() -> String {
    format!(
        "{ORG_SCOPE} SELECT u.id AS user_id, u.org_id, u.audience, s.kind, s.starts_on, s.ends_on, s.credited
         FROM users u JOIN study_records s ON s.user_id = u.id
         WHERE u.org_id IN (SELECT id FROM scope) AND u.role IN ('member', 'lead') AND s.status = 'recognised'"
    )
}

/// For the district view: per organisation in `root` and below, per audience, how many people there are
/// and how many met every requirement of `year`. Counted from the people grouped by organisation and
/// audience, and from the people who have recognised records, so it costs the organisations and records
/// there are rather than one row per person.
pub async fn study_counts(
    conn: &mut dyn Conn,
    root: Option<i64>,
    year: i64,
) -> Result<HashMap<(i64, Audience), Tally>, AppError> {
    let rules = load_rules(&mut *conn).await?;
    let groups: Vec<(i64, String, i64)> = db::query_as(&people_counts_sql())
        .bind(root)
        .fetch_all(&mut *conn)
        .await?;
    #[derive(sqlx::FromRow)]
    struct Recognised {
        org_id: i64,
        audience: String,
        #[sqlx(flatten)]
        record: CreditRow,
    }
    let records: Vec<Recognised> = db::query_as(&recognised_sql())
        .bind(root)
        .fetch_all(&mut *conn)
        .await?;
    let mut credits: HashMap<(i64, i64, Audience), Vec<Credit>> = HashMap::new();
    for r in records {
        let Some(credit) = r.record.credit() else {
            continue;
        };
        let audience = Audience::parse(&r.audience).unwrap_or_default();
        credits
            .entry((r.record.user_id, r.org_id, audience))
            .or_default()
            .push(credit);
    }
    let met = |audience, credits: &[Credit]| {
        rules
            .progress(audience, year, credits)
            .iter()
            .all(Progress::met)
    };
    // Everyone starts as someone without records; those with records are then moved to their own answer.
    let mut counts: HashMap<(i64, Audience), Tally> = HashMap::new();
    for (org_id, audience, people) in groups {
        let people = db::to_u32(people);
        let audience = Audience::parse(&audience).unwrap_or_default();
        let c = counts.entry((org_id, audience)).or_default();
        c.0 += people;
        c.1 += if met(audience, &[]) { people } else { 0 };
    }
    for ((_, org_id, audience), mine) in credits {
        let c = counts.entry((org_id, audience)).or_default();
        // (Saturating: a person moved between the two reads above may be missing from the first.)
        c.1 = c.1.saturating_sub(u32::from(met(audience, &[]))) + u32::from(met(audience, &mine));
    }
    Ok(counts)
}

/// People and those who met every requirement, per audience that has anyone, from (some of) the counts of
/// [`study_counts`].
pub fn audience_counts(counts: impl IntoIterator<Item = (Audience, Tally)>) -> Vec<AudienceCount> {
    let mut out: Vec<AudienceCount> = Audience::ALL
        .into_iter()
        .map(|audience| AudienceCount {
            audience,
            people: 0,
            met: 0,
        })
        .collect();
    for (audience, (people, met)) in counts {
        if let Some(c) = out.iter_mut().find(|c| c.audience == audience) {
            c.people += people;
            c.met += met;
        }
    }
    out.retain(|c| c.people > 0);
    out
}

/// Everyone's progress in the organisation `root` and below (the whole district when `None`) for `year`,
/// in organisation and name order; 404 for an unknown organisation.
pub async fn study_rows(
    conn: &mut dyn Conn,
    root: Option<i64>,
    year: i64,
) -> Result<Vec<OverviewRow>, AppError> {
    let orgs = scope_orgs(&mut *conn, root).await?;
    if orgs.is_empty() {
        return Err(AppError::NotFound("组织不存在"));
    }
    study_rows_in(conn, &orgs, year).await
}

/// Everyone's progress in exactly the organisations `orgs` for `year`, in the order of `orgs`, then by name.
pub async fn study_rows_in(
    conn: &mut dyn Conn,
    orgs: &[i64],
    year: i64,
) -> Result<Vec<OverviewRow>, AppError> {
    let rules = load_rules(&mut *conn).await?;
    let orgs = serde_json::to_string(orgs).map_err(|e| AppError::Internal(e.to_string()))?;
    let engine = conn.engine();
    let scope = format!(
        "WITH scope(id, at) AS (SELECT CAST(value AS BIGINT), key FROM {})",
        engine.json_array_rows("$1", "j")
    );
    let join = engine.join_in_order();
    #[derive(sqlx::FromRow)]
    struct Person {
        user_id: i64,
        name: String,
        org_id: i64,
        org_name: String,
        audience: String,
    }
    let people: Vec<Person> = db::query_as(&format!(
        "{scope} SELECT u.id AS user_id, u.name, u.org_id, o.name AS org_name, u.audience
         FROM scope {join} users u ON u.org_id = scope.id JOIN orgs o ON o.id = u.org_id
         WHERE u.role IN ('member', 'lead')
         ORDER BY scope.at, u.name_key, u.id"
    ))
    .bind(&orgs)
    .fetch_all(&mut *conn)
    .await?;
    #[derive(sqlx::FromRow)]
    struct Record {
        status: String,
        #[sqlx(flatten)]
        record: CreditRow,
    }
    let records: Vec<Record> = db::query_as(&format!(
        "{scope} SELECT s.user_id, s.kind, s.starts_on, s.ends_on, s.credited, s.status
         FROM users u JOIN study_records s ON s.user_id = u.id
         WHERE u.org_id IN (SELECT id FROM scope) AND s.status IN ('recognised', 'pending')"
    ))
    .bind(&orgs)
    .fetch_all(&mut *conn)
    .await?;
    let mut credits: HashMap<i64, Vec<Credit>> = HashMap::new();
    let mut pending: HashMap<i64, u32> = HashMap::new();
    for r in records {
        let user_id = r.record.user_id;
        if r.status == "pending" {
            *pending.entry(user_id).or_default() += 1;
        } else if let Some(credit) = r.record.credit() {
            credits.entry(user_id).or_default().push(credit);
        }
    }
    Ok(people
        .into_iter()
        .map(
            |Person {
                 user_id,
                 name,
                 org_id,
                 org_name,
                 audience,
             }| {
                let audience = Audience::parse(&audience).unwrap_or_default();
                let mine = credits.get(&user_id).map_or(&[][..], Vec::as_slice);
                OverviewRow {
                    user_id,
                    name,
                    org_id,
                    org_name,
                    audience,
                    progress: rules.progress(audience, year, mine),
                    pending: pending.get(&user_id).copied().unwrap_or(0),
                }
            },
        )
        .collect())
}

/// The overview as a workbook: one line per person and requirement.
fn overview_xlsx(o: &StudyOverview) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(format!("{}年学时", o.year))?;
    let bold = Format::new().set_bold();
    let columns = [
        "党组织",
        "姓名",
        "对象",
        "要求",
        "周期",
        "应完成学时",
        "已完成学时",
        "尚需学时",
        "情况",
        "待认定记录",
    ];
    for (c, name) in columns.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *name, &bold)?;
    }
    let mut r = 0u32;
    for row in &o.rows {
        for p in &row.progress {
            r += 1;
            sheet.write_string(r, 0, &row.org_name)?;
            sheet.write_string(r, 1, &row.name)?;
            sheet.write_string(r, 2, row.audience.label())?;
            sheet.write_string(r, 3, &p.name)?;
            sheet.write_string(r, 4, p.period_label())?;
            // Numbers, so that the sheet can sum and filter them.
            sheet.write_number(r, 5, f64::from(p.required.0) / 2.0)?;
            sheet.write_number(r, 6, f64::from(p.done.0) / 2.0)?;
            sheet.write_number(r, 7, f64::from(p.remaining().0) / 2.0)?;
            sheet.write_string(r, 8, if p.met() { "已达到" } else { "未达到" })?;
            sheet.write_number(r, 9, f64::from(row.pending))?;
        }
    }
    sheet.set_column_width(0, 24)?;
    for c in 1..10 {
        sheet.set_column_width(c, 12)?;
    }
    book.save_to_buffer()
}
