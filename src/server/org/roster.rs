//! Roster import: the spreadsheet the department already keeps (.xlsx, or CSV as Excel saves it — UTF-8 or
//! GBK), read into members of their branches.
//!
//! Reading is all-or-nothing. Every row is checked first (unknown branch, duplicate phone, bad number,
//! unknown category or tag) and the report shows each row's problem; only a file without problems is
//! written, in one transaction. A member is known by their phone number, so importing the same file again
//! changes nothing, and an edited file changes exactly the rows that differ. Columns the import does not
//! know (性别, 出生年月 …) are ignored; an ID-card column is never read.

mod read;

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::server::db::{self, Conn, Sequence};
use crate::server::life::attendance::renumber_people;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::{Json, Router, routing::post};
use serde::Deserialize;

use crate::api::{ErrorBody, ImportReport, ImportRow, RowOutcome, paths};
use crate::model::{Membership, Role, is_valid_phone};
use crate::org::LEAD_POSTS;
use crate::server::auth::CurrentUser;
use crate::server::db::{ORG_SCOPE, audit, now_ms};
use crate::server::{AppError, AppState, Deferred};
use crate::study::Audience;

/// Largest roster file accepted (10,000 members as CSV are about 600 KB).
pub const ROSTER_LIMIT: usize = 8 * 1024 * 1024;
/// Most rows one file may hold.
pub const MAX_ROWS: usize = 50_000;

pub fn router() -> Router<AppState> {
    Router::new().route(
        paths::ROSTER_IMPORT,
        post(import).layer(DefaultBodyLimit::max(ROSTER_LIMIT)),
    )
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// Check every row and report, writing nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// Import the department's roster (district admins). The body is the file itself.
#[utoipa::path(post, path = paths::ROSTER_IMPORT, tag = "admin", security(("bearer" = [])), params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = ".xlsx, or CSV in UTF-8 or GBK; columns 姓名, 手机号, 支部 and optionally 类别, 职务, 标签, 学时对象"),
    responses((status = 200, body = ImportReport, description = "What the file does (or did); rows with problems are listed"),
        (status = 400, body = ErrorBody, description = "Not a roster: unreadable, or a required column is missing"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    query: Deferred<Query<ImportQuery>>,
    body: Bytes,
) -> Result<Json<ImportReport>, AppError> {
    // A committee admin imports their 党委's branches only.
    let root = match user.role {
        Role::Admin => None,
        Role::Committee => Some(user.org_id),
        Role::Member | Role::Lead => {
            return Err(AppError::Forbidden("只有管理员可以导入名册"));
        }
    };
    let Query(ImportQuery { dry_run }) = query.read()?;
    let table = parse_off_the_runtime(body)
        .await?
        .map_err(AppError::BadRequest)?;
    let actor = Some(user.id);
    let report = if dry_run {
        let mut conn = state.db.reader.acquire().await?;
        run(&mut conn, &table, true, root, actor, now_ms()).await?
    } else {
        let mut tx = state.db.writer.begin().await?;
        let report = run(&mut tx, &table, false, root, actor, now_ms()).await?;
        tx.commit().await?;
        report
    };
    Ok(Json(report?))
}

pub use read::read_table;

/// Reads an uploaded roster on a blocking thread, one file at a time: parsing is CPU work, and a server's
/// async workers must keep answering phones meanwhile.
async fn parse_off_the_runtime(body: Bytes) -> Result<Result<Vec<Vec<String>>, String>, AppError> {
    static ONE_AT_A_TIME: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let _turn = ONE_AT_A_TIME
        .get_or_init(|| tokio::sync::Semaphore::new(1))
        .acquire()
        .await
        .map_err(|e| AppError::Internal(format!("roster semaphore: {e}")))?;
    tokio::task::spawn_blocking(move || read_table(&body))
        .await
        .map_err(|e| AppError::Internal(format!("roster reader: {e}")))
}

/// Checks the table against the database and, unless `dry_run` or any row has a problem, writes it.
/// Only branches below `root` (a committee admin's 党委; `None`: the district) may be named, and only
/// their members changed. `Err` is a problem with the whole file (a missing column); the caller commits.
pub async fn run(
    conn: &mut dyn Conn,
    table: &[Vec<String>],
    dry_run: bool,
    root: Option<i64>,
    actor: Option<i64>,
    now: i64,
) -> Result<Result<ImportReport, AppError>, sqlx::Error> {
    let directory = Directory::load(conn, root).await?;
    let (columns, start) = match find_header(table) {
        Ok(found) => found,
        Err(message) => return Ok(Err(AppError::BadRequest(message))),
    };
    let (mut report, plan) = check(table, &columns, start, &directory);
    report.dry_run = dry_run;
    if dry_run || report.problems > 0 {
        return Ok(Ok(report));
    }
    // A new name, 类别, branch, 学时对象 or role shows in rows phones hold (a role decides who reviews their
    // study records): those people's rows are renumbered.
    let shown_changed: HashSet<&str> = plan
        .iter()
        .filter(|(_, phone, new)| {
            directory.users.get(phone.as_str()).is_some_and(|old| {
                (
                    &old.name,
                    old.membership,
                    old.org_id,
                    old.audience,
                    old.role,
                ) != (
                    &new.name,
                    new.membership,
                    new.org_id,
                    new.audience,
                    new.role,
                )
            })
        })
        .map(|(_, phone, _)| phone.as_str())
        .collect();
    // Before the first write, as every writer takes it (and only when something is renumbered).
    let mut seq = match shown_changed.is_empty() {
        true => None,
        false => Some(Sequence::begin(conn).await?),
    };
    let mut ids = HashMap::new();
    let mut renumber = Vec::new();
    for (line, phone, member) in &plan {
        let id = write(conn, phone, member, now).await?;
        if shown_changed.contains(phone.as_str()) {
            renumber.push(id);
        }
        ids.insert(*line, id);
    }
    if let Some(mut seq) = seq.take() {
        renumber_people(conn, &mut seq, &renumber).await?;
        seq.save(conn).await?;
    }
    for row in &mut report.rows {
        row.user_id = ids.get(&row.line).copied();
    }
    report.applied = true;
    if let Some(actor) = actor.filter(|_| report.created + report.updated > 0) {
        let subject = format!("名册：新增{}人，更新{}人", report.created, report.updated);
        audit(conn, now, actor, "import_roster", &subject, None).await?;
    }
    Ok(Ok(report))
}

/// The columns the import reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Column {
    Name,
    Phone,
    Branch,
    Category,
    Post,
    Tags,
    Audience,
}

impl Column {
    fn label(self) -> &'static str {
        match self {
            Column::Name => "姓名",
            Column::Phone => "手机号",
            Column::Branch => "支部",
            Column::Category => "类别",
            Column::Post => "职务",
            Column::Tags => "标签",
            Column::Audience => "学时对象",
        }
    }

    /// The headings departments use for each column.
    fn of(heading: &str) -> Option<Column> {
        let h: String = heading
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '*' | '＊'))
            .collect();
        Some(match h.as_str() {
            "姓名" | "党员姓名" => Column::Name,
            "手机号" | "手机号码" | "手机" | "联系电话" | "电话" | "联系方式" => {
                Column::Phone
            }
            "支部" | "党支部" | "所在支部" | "所在党支部" | "党组织" | "所在党组织" => {
                Column::Branch
            }
            "类别" | "党员类别" | "人员类别" | "党籍状态" => Column::Category,
            "职务" | "党内职务" => Column::Post,
            "标签" | "人员标签" => Column::Tags,
            "学时对象" | "学时类别" => Column::Audience,
            _ => return None,
        })
    }
}

const REQUIRED: [Column; 3] = [Column::Name, Column::Phone, Column::Branch];

/// Where each known column is and the headings not read; and the index of the first row after the heading.
struct Columns {
    at: HashMap<Column, usize>,
    ignored: Vec<String>,
}

/// The heading row: the first of the first ten rows that names 姓名 and 手机号 (a title row above it is fine).
fn find_header(table: &[Vec<String>]) -> Result<(Columns, usize), String> {
    let heading = table.iter().take(10).position(|row| {
        let known: Vec<Column> = row.iter().filter_map(|h| Column::of(h)).collect();
        known.contains(&Column::Name) && known.contains(&Column::Phone)
    });
    let Some(index) = heading else {
        let first = table
            .iter()
            .find(|r| r.iter().any(|c| !c.is_empty()))
            .map(|r| r.join("、"))
            .unwrap_or_default();
        return Err(format!(
            "找不到表头：名册需要“姓名”“手机号”“支部”三列（文件第一行是：{first}）"
        ));
    };
    let mut at = HashMap::new();
    let mut ignored = Vec::new();
    for (i, heading) in table[index].iter().enumerate() {
        match Column::of(heading) {
            Some(column) if at.contains_key(&column) => {
                return Err(format!("“{heading}”列出现了两次，请只保留一列"));
            }
            Some(column) => {
                at.insert(column, i);
            }
            None if heading.is_empty() => {}
            None => ignored.push(heading.clone()),
        }
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .filter(|c| !at.contains_key(c))
        .map(|c| c.label())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "缺少必需的列：{}（名册需要“姓名”“手机号”“支部”三列）",
            missing.join("、")
        ));
    }
    Ok((Columns { at, ignored }, index + 1))
}

/// One member as the roster (or the database) has them.
#[derive(Clone, Debug, PartialEq)]
struct Member {
    name: String,
    org_id: i64,
    membership: Membership,
    post: String,
    tags: String,
    role: Role,
    audience: Audience,
}

/// What the database already has: the branches the importer may name, and every account by phone.
struct Directory {
    /// (id, name, parent's name)
    branches: Vec<(i64, String, String)>,
    users: HashMap<String, Member>,
    /// Whether the branches are one 党委's (a committee admin imports).
    scoped: bool,
}

impl Directory {
    async fn load(conn: &mut dyn Conn, root: Option<i64>) -> Result<Directory, sqlx::Error> {
        let branches: Vec<(i64, String, String)> = db::query_as(&format!(
            "{ORG_SCOPE} SELECT o.id, o.name, coalesce(p.name, '') FROM orgs o LEFT JOIN orgs p ON p.id = o.parent_id
             WHERE o.kind = 'branch' AND o.id IN (SELECT id FROM scope) ORDER BY o.id"
        ))
        .bind(root)
        .fetch_all(&mut *conn)
        .await?;
        type Row = (String, String, i64, String, String, String, String, String);
        let rows: Vec<Row> = db::query_as(
            "SELECT phone, name, org_id, membership, post, tags, role, audience FROM users",
        )
        .fetch_all(&mut *conn)
        .await?;
        let users = rows
            .into_iter()
            .map(
                |(phone, name, org_id, membership, post, tags, role, audience)| {
                    let member = Member {
                        name,
                        org_id,
                        membership: Membership::parse(&membership).unwrap_or_default(),
                        post,
                        tags,
                        role: Role::parse(&role).unwrap_or(Role::Member),
                        audience: Audience::parse(&audience).unwrap_or_default(),
                    };
                    (phone, member)
                },
            )
            .collect();
        Ok(Directory {
            branches,
            users,
            scoped: root.is_some(),
        })
    }

    /// The branch a cell names: `二支部`, or `某党委/二支部` when two branches share a name.
    fn branch(&self, cell: &str) -> Result<i64, String> {
        let cell = cell.trim();
        if cell.is_empty() {
            return Err("没有填写支部".to_owned());
        }
        let (parent, name) = match cell.rsplit_once(['/', '／']) {
            Some((parent, name)) => (Some(parent.trim()), name.trim()),
            None => (None, cell),
        };
        let found: Vec<i64> = self
            .branches
            .iter()
            .filter(|(_, n, p)| n == name && parent.is_none_or(|parent| parent == p))
            .map(|(id, _, _)| *id)
            .collect();
        match found.as_slice() {
            [id] => Ok(*id),
            [] if self.scoped => Err(format!(
                "本党委范围内没有名为“{cell}”的支部（请检查名称，或请区委组织部建立）"
            )),
            [] => Err(format!(
                "没有名为“{cell}”的支部（请先在组织管理中建立，或检查名称）"
            )),
            _ => Err(format!(
                "有{}个支部都叫“{name}”，请写成“上级组织/支部名称”",
                found.len()
            )),
        }
    }

    fn branch_name(&self, id: i64) -> &str {
        self.branches
            .iter()
            .find(|(b, _, _)| *b == id)
            .map_or("", |(_, n, _)| n.as_str())
    }
}

/// Only a district admin sets or changes a cadre's 学时对象 (it decides who reviews their study and how
/// much they owe).
pub const CADRE_AUDIENCE: &str = "干部的学时对象（乡科级、县处级）只能由区委组织部设置";

/// Checks every row; the report and the rows that add or change a member (line, phone, member).
fn check(
    table: &[Vec<String>],
    columns: &Columns,
    start: usize,
    directory: &Directory,
) -> (ImportReport, Vec<(usize, String, Member)>) {
    let mut report = ImportReport {
        ignored_columns: columns.ignored.clone(),
        ..ImportReport::default()
    };
    let mut plan = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, row) in table.iter().enumerate().skip(start) {
        if row.iter().all(|c| c.is_empty()) {
            continue;
        }
        let line = index + 1;
        let cell = |c: Column| {
            columns
                .at
                .get(&c)
                .and_then(|&i| row.get(i))
                .map_or("", |s| s.as_str())
        };
        report.total += 1;
        let phone: String = cell(Column::Phone)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '　'))
            .collect();
        let mut out = ImportRow {
            line,
            name: cell(Column::Name).to_owned(),
            phone: phone.clone(),
            branch: cell(Column::Branch).to_owned(),
            outcome: RowOutcome::Problem,
            detail: String::new(),
            user_id: None,
        };
        let parsed = parse_row(&cell, &phone, directory).and_then(|member| {
            if let Some(first) = seen.get(&phone) {
                return Err(format!("手机号与第{first}行重复"));
            }
            Ok(member)
        });
        if is_valid_phone(&phone) {
            seen.entry(phone.clone()).or_insert(line);
        }
        let existing = directory.users.get(&phone);
        let parsed = parsed.and_then(|member| {
            // Cadres' 学时对象 (乡科级 / 县处级) are the 区委组织部's to set, not a 党委's.
            let before = existing.map_or(Audience::Member, |e| e.audience);
            if directory.scoped
                && before != member.audience
                && (before.is_cadre() || member.audience.is_cadre())
            {
                return Err(CADRE_AUDIENCE.to_owned());
            }
            Ok(member)
        });
        match parsed.and_then(|member| match existing {
            None => Ok((RowOutcome::New, String::new(), member)),
            Some(existing) if existing.role.administers() => {
                Err("这是管理员的账号，名册不能修改它".to_owned())
            }
            Some(existing) if !directory.branches.iter().any(|b| b.0 == existing.org_id) => {
                Err("这个手机号是其他党委的党员，请联系区委组织部".to_owned())
            }
            Some(existing) if *existing == member => {
                Ok((RowOutcome::Unchanged, String::new(), member))
            }
            Some(existing) => Ok((
                RowOutcome::Updated,
                changes(existing, &member, directory),
                member,
            )),
        }) {
            Err(problem) => {
                report.problems += 1;
                out.detail = problem;
                report.rows.push(out);
            }
            Ok((RowOutcome::Unchanged, _, _)) => report.unchanged += 1,
            Ok((outcome, detail, member)) => {
                match outcome {
                    RowOutcome::New => report.created += 1,
                    _ => report.updated += 1,
                }
                out.outcome = outcome;
                out.detail = detail;
                report.rows.push(out);
                plan.push((line, phone, member));
            }
        }
    }
    if report.total == 0 {
        report.problems += 1;
        report.rows.push(ImportRow {
            line: start + 1,
            name: String::new(),
            phone: String::new(),
            branch: String::new(),
            outcome: RowOutcome::Problem,
            detail: "表头下面没有任何成员".to_owned(),
            user_id: None,
        });
    }
    (report, plan)
}

fn parse_row<'a>(
    cell: &dyn Fn(Column) -> &'a str,
    phone: &str,
    directory: &Directory,
) -> Result<Member, String> {
    // Every problem of the row, so that one round of corrections fixes it.
    let mut problems = Vec::new();
    let mut check = |checked: Result<(), String>| {
        if let Err(problem) = checked {
            problems.push(problem);
        }
    };
    let name = cell(Column::Name).trim();
    if name.is_empty() || name.chars().count() > 50 {
        check(Err("姓名应为1到50个字".to_owned()));
    }
    if !is_valid_phone(phone) {
        check(Err(format!(
            "手机号“{}”不是11位手机号码",
            cell(Column::Phone)
        )));
    }
    let org_id = directory.branch(cell(Column::Branch));
    let membership = match cell(Column::Category).trim() {
        "" | "正式" | "正式党员" => Ok(Membership::Full),
        "预备" | "预备党员" => Ok(Membership::Probationary),
        other => Err(format!("类别“{other}”应为“正式党员”或“预备党员”")),
    };
    let post = cell(Column::Post).trim();
    if post.chars().count() > 20 {
        check(Err("职务最多20个字".to_owned()));
    }
    let tags = crate::org::tags(cell(Column::Tags));
    let role = if LEAD_POSTS.contains(&post) {
        Role::Lead
    } else {
        Role::Member
    };
    let is_cadre = tags.as_ref().is_ok_and(|t| t.contains("干部"));
    let audience = match cell(Column::Audience).trim() {
        "" if is_cadre => Ok(Audience::Township),
        "" if post == "书记" => Ok(Audience::Secretary),
        "" => Ok(Audience::Member),
        label => Audience::ALL
            .into_iter()
            .find(|a| a.label() == label)
            .ok_or_else(|| {
                let all: Vec<&str> = Audience::ALL.iter().map(|a| a.label()).collect();
                format!("学时对象“{label}”应为{}之一", all.join("、"))
            }),
    };
    check(org_id.as_ref().map(|_| ()).map_err(Clone::clone));
    check(membership.as_ref().map(|_| ()).map_err(Clone::clone));
    check(tags.as_ref().map(|_| ()).map_err(Clone::clone));
    check(audience.as_ref().map(|_| ()).map_err(Clone::clone));
    match (org_id, membership, tags, audience) {
        (Ok(org_id), Ok(membership), Ok(tags), Ok(audience)) if problems.is_empty() => Ok(Member {
            name: name.to_owned(),
            org_id,
            membership,
            post: post.to_owned(),
            tags,
            role,
            audience,
        }),
        _ => Err(problems.join("；")),
    }
}

/// `支部：一支部 → 二支部；职务：（无） → 组织委员`
fn changes(old: &Member, new: &Member, directory: &Directory) -> String {
    let or_none = |s: &str| {
        if s.is_empty() {
            "（无）".to_owned()
        } else {
            s.to_owned()
        }
    };
    let category = |m: Membership| match m {
        Membership::Full => "正式党员",
        Membership::Probationary => "预备党员",
    };
    let mut parts = Vec::new();
    let mut differ = |label: &str, a: String, b: String| {
        if a != b {
            parts.push(format!("{label}：{a} → {b}"));
        }
    };
    differ("姓名", old.name.clone(), new.name.clone());
    differ(
        "支部",
        directory.branch_name(old.org_id).to_owned(),
        directory.branch_name(new.org_id).to_owned(),
    );
    differ(
        "类别",
        category(old.membership).to_owned(),
        category(new.membership).to_owned(),
    );
    differ("职务", or_none(&old.post), or_none(&new.post));
    differ("标签", or_none(&old.tags), or_none(&new.tags));
    differ(
        "角色",
        old.role.label().to_owned(),
        new.role.label().to_owned(),
    );
    differ(
        "学时对象",
        old.audience.label().to_owned(),
        new.audience.label().to_owned(),
    );
    parts.join("；")
}

/// Writes one row (a new member, or the changes to one known by phone); answers the account's id.
async fn write(conn: &mut dyn Conn, phone: &str, m: &Member, now: i64) -> Result<i64, sqlx::Error> {
    db::query_scalar(
        "INSERT INTO users (phone, name, password_hash, role, org_id, membership, mobile, post, tags, audience,
                            created_at, name_key)
         VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (phone) DO UPDATE SET name = excluded.name, name_key = excluded.name_key,
             role = excluded.role, org_id = excluded.org_id,
             -- A 党小组 belongs to one branch: a member who moves leaves theirs.
             group_id = CASE WHEN users.org_id = excluded.org_id THEN users.group_id END,
             membership = excluded.membership, mobile = excluded.mobile, post = excluded.post,
             tags = excluded.tags, audience = excluded.audience,
             -- A new role or branch changes what their phones may hold: they start over.
             view_epoch = users.view_epoch
                 + CASE WHEN users.role <> excluded.role OR users.org_id <> excluded.org_id THEN 1 ELSE 0 END
         RETURNING id",
    )
    .bind(phone)
    .bind(&m.name)
    .bind(m.role.as_str())
    .bind(m.org_id)
    .bind(m.membership.as_str())
    .bind(m.tags.contains("流动党员"))
    .bind(&m.post)
    .bind(&m.tags)
    .bind(m.audience.as_str())
    .bind(now)
    .bind(db::name_key(&m.name))
    .fetch_one(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect()
    }

    #[test]
    fn the_heading_may_sit_below_a_title_and_unknown_columns_are_ignored() {
        let t = table(&[
            &["某某党支部党员名册"],
            &[
                "序号",
                "姓名",
                "性别",
                "身份证号",
                "手机号码",
                "所在党支部",
                "党员类别",
            ],
        ]);
        let (columns, start) = find_header(&t).unwrap();
        assert_eq!(start, 2);
        assert_eq!(columns.at[&Column::Phone], 4);
        assert_eq!(columns.at[&Column::Branch], 5);
        assert_eq!(columns.ignored, ["序号", "性别", "身份证号"]);
    }

    #[test]
    fn a_file_without_the_required_columns_says_which_are_missing() {
        let e = find_header(&table(&[&["姓名", "手机号", "性别"]]))
            .err()
            .unwrap();
        assert!(e.contains("缺少必需的列：支部"), "{e}");
        let e = find_header(&table(&[&["name", "phone", "branch"]]))
            .err()
            .unwrap();
        assert!(
            e.contains("找不到表头") && e.contains("name、phone、branch"),
            "{e}"
        );
        let e = find_header(&table(&[&["姓名", "手机", "支部", "电话"]]))
            .err()
            .unwrap();
        assert!(e.contains("出现了两次"), "{e}");
    }
}
