//! The district view through the real router: rows per branch in tree order, the calendar, attendance,
//! unconfirmed sign-ins, quiet members (names only for their own lead), 学时 by audience, drill-down, Excel,
//! and who may see what.

use super::*;
use crate::server::db;

const ADMIN: &str = "13800000009";

fn view_path(org: Option<i64>) -> String {
    let (year, quarter) = crate::district::current(now_ms());
    paths::district(org, year, Some(quarter), "json")
}

#[tokio::test]
async fn the_district_sees_each_branch_against_the_calendar_without_names() {
    let h = Harness::new().await;
    let (admin, lead, member) = (
        h.login(ADMIN).await,
        h.login(LEAD).await,
        h.login(MEMBER).await,
    );
    // Everyone has been on the roster long enough to be counted as quiet.
    db::query("UPDATE users SET created_at = 0")
        .execute(&h.db.writer)
        .await
        .unwrap();
    let (activity, code) = h.publish(&lead).await;
    let r = h
        .push(&member, "phone", &[sign_in(1, &activity, &code)])
        .await;
    assert_eq!(r.body["receipts"][0]["status"], "applied");

    let r = h.call("GET", &view_path(None), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let v = &r.body;
    assert_eq!(v["org_name"], "区委组织部");
    let names: Vec<&str> = v["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["org_name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["上海浦东项目部党支部", "区发展改革委机关党支部"],
        "tree order"
    );
    let site = &v["branches"][0];
    assert_eq!((&site["members"], &site["held"]), (&json!(5), &json!(1)));
    let theme = site["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "theme_day")
        .unwrap();
    assert_eq!(theme["held"], 1);
    assert_eq!(
        (&site["present"], &site["unconfirmed"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        site["expected"].as_u64().unwrap(),
        6,
        "five members and the guest from the 机关 branch"
    );
    assert_eq!(site["quiet"], 4, "all but 李明, who signed in");
    assert!(
        site.get("quiet_names").is_none(),
        "the district sees counts only: {site}"
    );
    let office = &v["branches"][1];
    assert_eq!(
        (&office["held"], &office["present"]),
        (&json!(0), &json!(0))
    );
    let audiences: Vec<(&str, u64)> = office["study"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["audience"].as_str().unwrap(),
                c["people"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        audiences,
        [("member", 1), ("secretary", 1), ("township", 1)]
    );
    assert_eq!(v["children"].as_array().unwrap().len(), 2);

    // Drill down to the joint committee: its one branch, with the way back up.
    let r = h.call("GET", &view_path(Some(2)), Some(&admin), None).await;
    assert_eq!(r.body["branches"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["parent"]["name"], "区委组织部");

    // The branch's own lead sees the names; no one else's branch.
    let r = h.call("GET", &view_path(None), Some(&lead), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mine = &r.body["branches"];
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let quiet: Vec<&str> = mine[0]["quiet_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(quiet.len(), 4);
    assert!(!quiet.contains(&"李明"));
    assert!(r.body.get("parent").is_none());
    assert_eq!(
        h.call("GET", &view_path(Some(4)), Some(&lead), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call("GET", &view_path(None), Some(&member), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Bad periods, unknown organisations, and the Excel file.
    for (path, status) in [
        (
            paths::district(None, 2026, Some(5), "json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            paths::district(None, 1900, None, "json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            paths::district(None, 2026, None, "pdf"),
            StatusCode::BAD_REQUEST,
        ),
        (
            paths::district(Some(999), 2026, None, "json"),
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_eq!(
            h.call("GET", &path, Some(&admin), None).await.status,
            status,
            "{path}"
        );
    }
    let r = h
        .call(
            "GET",
            &paths::district(None, 2026, None, "xlsx"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let disposition = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(disposition.contains(".xlsx"), "{disposition}");
}
