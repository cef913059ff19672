//! The organisation tree through the real router: district admins add, rename, move and delete
//! organisations; the tree's rules hold; leads and members may not.

use super::*;

const ADMIN: &str = "13800000009";

fn entry(parent_id: i64, name: &str, form: &str, starts_on: Option<&str>) -> Value {
    json!({"parent_id": parent_id, "name": name, "form": form, "starts_on": starts_on})
}

#[tokio::test]
async fn the_admin_builds_the_tree_and_its_rules_hold() {
    let h = Harness::new().await;
    let (admin, lead) = (h.login(ADMIN).await, h.login(LEAD).await);
    let tree = h.call("GET", paths::ORGS, Some(&admin), None).await;
    let names: Vec<(&str, &str)> = tree
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap(), o["form"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("区委组织部", "department"),
            ("流动党员建筑行业联合党委", "joint_committee"),
            ("上海浦东项目部党支部", "branch"),
            ("钢筋班组党小组", "group"),
            ("区发展改革委机关党支部", "branch"),
        ],
        "parents before children"
    );
    assert_eq!(tree.body[2]["members"], 5);

    // A temporary project branch under the joint committee, with its dates.
    let r = h
        .call(
            "POST",
            paths::ORGS,
            Some(&admin),
            Some(entry(2, "苏州河项目临时党支部", "temporary_branch", None)),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["message"].as_str().unwrap().contains("成立日期"));
    let r = h
        .call(
            "POST",
            paths::ORGS,
            Some(&admin),
            Some(entry(
                2,
                "苏州河项目临时党支部",
                "temporary_branch",
                Some("2026-03-01"),
            )),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let temp = r.body["id"].as_i64().unwrap();
    assert_eq!(
        (&r.body["starts_on"], &r.body["members"]),
        (&json!("2026-03-01"), &json!(0))
    );
    // Only 党小组 sit under a branch; a roster can name the new branch at once.
    let r = h
        .call(
            "POST",
            paths::ORGS,
            Some(&admin),
            Some(entry(temp, "项目部二支部", "branch", None)),
        )
        .await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("下面只能设党小组"),
        "{}",
        r.text
    );

    // Ended: its end date; moved under the 区委; renamed.
    let mut edited = entry(
        1,
        "苏州河项目临时党支部（已撤销）",
        "temporary_branch",
        Some("2026-03-01"),
    );
    edited["ends_on"] = json!("2026-11-30");
    let r = h
        .call("PUT", &paths::org(temp), Some(&admin), Some(edited))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["parent_id"], &r.body["ends_on"]),
        (&json!(1), &json!("2026-11-30"))
    );
    // The committee cannot move below its own branch, nor become a branch while it has one.
    let r = h
        .call(
            "PUT",
            &paths::org(2),
            Some(&admin),
            Some(entry(3, "联合党委", "joint_committee", None)),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h
        .call(
            "PUT",
            &paths::org(2),
            Some(&admin),
            Some(entry(1, "联合党委", "branch", None)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = h
        .call(
            "PUT",
            &paths::org(1),
            Some(&admin),
            Some(entry(1, "区委", "department", None)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        h.call(
            "PUT",
            &paths::org(999),
            Some(&admin),
            Some(entry(1, "x", "branch", None))
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );

    // Deleting: only what nothing belongs to.
    assert_eq!(
        h.call("DELETE", &paths::org(3), Some(&admin), None)
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        h.call("DELETE", &paths::org(temp), Some(&admin), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        h.call("DELETE", &paths::org(temp), Some(&admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action IN ('create_org', 'edit_org', 'delete_org')").await,
        3
    );
    // Leads and members may not touch the tree.
    assert_eq!(
        h.call("GET", paths::ORGS, Some(&lead), None).await.status,
        StatusCode::FORBIDDEN
    );
    let r = h
        .call(
            "POST",
            paths::ORGS,
            Some(&lead),
            Some(entry(2, "x", "branch", None)),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_branch_that_has_ended_takes_no_activities_after_its_last_day() {
    let h = Harness::new().await;
    let (admin, lead) = (h.login(ADMIN).await, h.login(LEAD).await);
    let now = now_ms();
    let yesterday = crate::study::Day::of_millis(now - 86_400_000);
    let mut ended = entry(
        2,
        "上海浦东项目部党支部",
        "temporary_branch",
        Some("2026-01-01"),
    );
    ended["ends_on"] = json!(yesterday.iso());
    let r = h
        .call("PUT", &paths::org(3), Some(&admin), Some(ended))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let at = |starts_at: i64| {
        let a = NewActivity {
            activity_id: new_id(),
            kind: ActivityKind::ThemeDay,
            title: "主题党日".into(),
            place: "项目部".into(),
            starts_at,
            ends_at: starts_at + 3_600_000,
            code: "246810".into(),
            ..Default::default()
        };
        Mutation::new(1, new_id(), &Change::CreateActivity(a), now, 0)
    };
    let last_day = (yesterday.0 * 86_400_000) - 8 * 3_600_000 + 10 * 3_600_000;
    let r = h.push(&lead, "lead-phone", &[at(now + 3_600_000)]).await;
    assert_eq!(r.body["receipts"][0]["status"], "quarantined", "{}", r.text);
    assert!(r.text.contains("撤销，不能再发布之后的活动"), "{}", r.text);
    let r = h.push(&lead, "lead-phone-2", &[at(last_day)]).await;
    assert_eq!(r.body["receipts"][0]["status"], "applied", "{}", r.text);
}
