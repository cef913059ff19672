//! Reads that cost what they return: every pull and district-view query, and the lookup that answers a
//! retried push, is planned by SQLite as index searches, never a scan of `attendance`, `activities` or
//! `mutations` (which grow with the district's history). The
//! database is the scale fixture at its smallest, so the fixture's code paths are exercised too. The
//! district view's counting queries go further: an index covers them, so they read no row of the tables
//! they count.

use crate::model::Role;
use crate::server::db::engine::Pooled;
use crate::server::db::{self, Db, Engine};
use crate::server::life::{activities, attendance, register};
use crate::server::org::district;
use crate::server::scale::{self, Shape};
use crate::server::{rights, study};

/// (what, SQL, how many parameters it takes)
fn queries() -> Vec<(String, String, usize)> {
    let mut all = vec![
        (
            "pull: activities".to_owned(),
            activities::visible_since_sql(Engine::Sqlite),
            6,
        ),
        (
            "pull: roster rows".to_owned(),
            attendance::attendance_since_sql(Engine::Sqlite),
            7,
        ),
        (
            "pull: 投诉建议".to_owned(),
            rights::feedback_since_sql(Engine::Sqlite),
            5,
        ),
        (
            "audit log: the titles of the activities a page names".to_owned(),
            crate::server::org::audit::titles_sql(Engine::Sqlite),
            1,
        ),
        (
            "push: the stored records a retry is answered from".to_owned(),
            crate::server::sync::stored_sql(Engine::Sqlite),
            1,
        ),
        (
            "district view: activities held, 应到 and 实到".to_owned(),
            district::held_sql(Engine::Sqlite),
            6,
        ),
        (
            "district view: members without participation".to_owned(),
            register::quiet_sql(),
            2,
        ),
        (
            "district view: people by audience".to_owned(),
            study::people_counts_sql(),
            1,
        ),
        (
            "district view: recognised study".to_owned(),
            study::recognised_sql(),
            1,
        ),
    ];
    for role in [Role::Member, Role::Lead, Role::Committee, Role::Admin] {
        all.push((
            format!("pull: study records ({role:?})"),
            study::study_since_sql(role, Engine::Sqlite),
            5,
        ));
    }
    all
}

/// A plan step that reads a growing table whole.
fn scans_history(detail: &str) -> bool {
    let Some(rest) = detail.strip_prefix("SCAN ") else {
        return false;
    };
    let table = rest.split_whitespace().next().unwrap_or_default();
    [
        "a",
        "t",
        "b",
        "r",
        "s",
        "f",
        "activities",
        "attendance",
        "study_records",
        "feedback",
        "m",
        "mutations",
    ]
    .contains(&table)
}

#[tokio::test]
async fn every_pull_and_district_view_query_searches_indexes_and_never_scans_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let shape = Shape {
        members: 120,
        committees: 2,
        branches: 4,
        months: 2,
        meetings_per_month: 3,
        detailed_months: 1,
    };
    let built = scale::seed(&path, &shape, |_| {}).await.unwrap();
    assert!(built.activities >= 12, "{built:?}");
    assert!(built.records > built.activities * 20, "{built:?}");
    let db = Db::open(&path).await.unwrap();
    let mut pooled = db.reader.acquire().await.unwrap();
    let problems = crate::server::ops::integrity(&mut *pooled).await.unwrap();
    assert_eq!(problems, Vec::<String>::new());
    let Pooled::Sqlite(conn) = &mut pooled else {
        unreachable!("the plans are SQLite's")
    };
    let present: i64 = sqlx::query_scalar("SELECT sum(present) FROM activities")
        .fetch_one(&mut **conn)
        .await
        .unwrap();
    assert!(present > 0);
    assert_plans(conn, "without statistics").await;
    // The server keeps SQLite's statistics (`PRAGMA optimize` as it starts), and SQLite plans differently
    // with them: the same queries, planned again after ANALYZE.
    db::query("ANALYZE").execute(&db.writer).await.unwrap();
    sqlx::query("ANALYZE sqlite_schema")
        .execute(&mut **conn)
        .await
        .unwrap();
    assert_plans(conn, "with statistics").await;
}

async fn assert_plans(conn: &mut sqlx::SqliteConnection, how: &str) {
    for (what, sql, params) in queries() {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        // (Not kept prepared: a kept statement keeps its first plan.)
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain).persistent(false);
        for _ in 0..params {
            q = q.bind(1_i64);
        }
        let plan: Vec<String> = q
            .fetch_all(&mut *conn)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.3)
            .collect();
        assert!(
            !plan.iter().any(|d| scans_history(d)),
            "{what} scans its table ({how}):\n{}",
            plan.join("\n")
        );
        assert!(
            plan.iter().any(|d| d.starts_with("SEARCH")),
            "{what} ({how}):\n{}",
            plan.join("\n")
        );
        if what.starts_with("district view") && !what.ends_with("without participation") {
            let counted = plan
                .iter()
                .find(|d| d.starts_with("SEARCH a ") || d.starts_with("SEARCH u "));
            assert!(
                counted.is_some_and(|d| d.contains("COVERING INDEX")),
                "{what} reads the rows it counts ({how}):\n{}",
                plan.join("\n")
            );
        }
    }
}

#[test]
fn a_scan_of_history_is_told_from_a_search() {
    assert!(scans_history("SCAN a"));
    assert!(scans_history("SCAN t USING INDEX attendance_seq"));
    assert!(!scans_history(
        "SEARCH a USING INDEX activities_org_seq (org_id=? AND server_seq>? AND server_seq<?)"
    ));
    assert!(!scans_history("SCAN scope"));
    assert!(!scans_history("USE TEMP B-TREE FOR ORDER BY"));
}

/// The members list of a large scope comes a page at a time (whole organisations, every person once), and
/// a search finds anyone in the scope.
#[tokio::test]
async fn the_members_list_of_a_district_comes_in_pages_and_a_search_reaches_everyone() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pages.db");
    let shape = Shape {
        members: 1_300,
        committees: 2,
        branches: 26,
        months: 0,
        meetings_per_month: 3,
        detailed_months: 0,
    };
    let built = scale::seed(&path, &shape, |_| {}).await.unwrap();
    let db = Db::open(&path).await.unwrap();
    let site = crate::server::Site::load(std::path::Path::new("public")).unwrap();
    let app = crate::server::app(crate::server::AppState::new(db.clone(), site));
    let call = async |path: &str, token: Option<&str>, body: Option<serde_json::Value>| {
        let mut req =
            Request::builder()
                .uri(path)
                .method(if body.is_some() { "POST" } else { "GET" });
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        let res = app.clone().oneshot(req.unwrap()).await.unwrap();
        assert!(res.status().is_success(), "{path}: {}", res.status());
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap()
    };
    let login = serde_json::json!({"phone": built.samples.admin, "password": scale::PASSWORD});
    let token = call(crate::api::paths::LOGIN, None, Some(login)).await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Tree order: each organisation before those below it, a committee's branches together (the fixture
    // creates branches for the committees in turn, so id order would interleave them).
    let tree = crate::server::db::scope_orgs(&mut db.reader.acquire().await.unwrap(), None)
        .await
        .unwrap();
    let parents: std::collections::HashMap<i64, Option<i64>> =
        db::query_as("SELECT id, parent_id FROM orgs")
            .fetch_all(&db.reader)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(tree.len(), parents.len());
    let at = |id: i64| tree.iter().position(|&o| o == id).unwrap();
    for (&id, &parent) in &parents {
        if let Some(parent) = parent {
            assert!(
                at(parent) < at(id),
                "{id} listed before its parent {parent}"
            );
            // Everything between the parent and this organisation is below the parent too.
            for &between in &tree[at(parent) + 1..at(id)] {
                let mut up = parents[&between];
                while up.is_some_and(|u| u != parent) {
                    up = parents[&up.unwrap()];
                }
                assert_eq!(up, Some(parent), "{between} breaks {parent}'s subtree");
            }
        }
    }

    let mut seen = std::collections::HashSet::new();
    let mut listed_orgs: Vec<i64> = Vec::new();
    let mut pages = 0;
    let mut from = None;
    loop {
        let page = call(&crate::api::paths::members(from, ""), Some(&token), None).await;
        let rows = page["rows"].as_array().unwrap();
        pages += 1;
        for r in rows {
            assert!(seen.insert(r["id"].as_i64().unwrap()), "listed twice: {r}");
            let org = r["org_id"].as_i64().unwrap();
            if listed_orgs.last() != Some(&org) {
                listed_orgs.push(org);
            }
        }
        match page["next"].as_i64() {
            Some(next) => {
                assert!(
                    rows.len() >= crate::server::db::LIST_PAGE && rows.len() < 600,
                    "{}",
                    rows.len()
                );
                from = Some(next);
            }
            None => break,
        }
    }
    let everyone: i64 = db::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db.reader)
        .await
        .unwrap();
    assert_eq!(seen.len() as i64, everyone);
    assert_eq!(pages, 3);
    // Each organisation's people together, the organisations in tree order.
    let mut in_tree = listed_orgs.clone();
    in_tree.sort_by_key(|&o| at(o));
    in_tree.dedup();
    assert_eq!(listed_orgs, in_tree);
    // The district view's branches, as its note says: 按组织顺序列出.
    let year = crate::study::Day::of_millis(crate::server::db::now_ms()).year();
    let view = call(
        &crate::api::paths::district(None, year, None, "json"),
        Some(&token),
        None,
    )
    .await;
    let branches: Vec<i64> = view["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["org_id"].as_i64().unwrap())
        .collect();
    assert_eq!(branches.len(), 26);
    assert!(branches.is_sorted_by_key(|&b| at(b)), "{branches:?}");

    // 完成情况 the same way.
    let people: i64 =
        db::query_scalar("SELECT count(*) FROM users WHERE role IN ('member', 'lead')")
            .fetch_one(&db.reader)
            .await
            .unwrap();
    let (mut rows, mut pages, mut from) = (0, 0, None);
    loop {
        let page = call(
            &crate::api::paths::study_overview_page(year, None, from),
            Some(&token),
            None,
        )
        .await;
        rows += page["rows"].as_array().unwrap().len() as i64;
        pages += 1;
        let summed: i64 = page["summary"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["people"].as_i64().unwrap())
            .sum();
        // The summary of everyone and the organisations below come with the first page.
        let first = from.is_none();
        assert_eq!(summed, if first { people } else { 0 });
        assert_eq!(
            page["children"].as_array().unwrap().len(),
            if first { 2 } else { 0 },
            "the two committees"
        );
        match page["next"].as_i64() {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    assert_eq!((rows, pages), (people, 3));

    let found = call(
        &crate::api::paths::members(None, "13900001234"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(found["rows"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["rows"][0]["phone"], "13900001234");
    assert!(found.get("next").is_none());
}
