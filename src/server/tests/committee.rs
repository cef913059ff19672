//! 党委管理员 and 党小组 through the real router: a committee admin administers their 党委's part of the tree
//! and nothing else; the district admin names and withdraws them; a branch's 党小组 have members, meet on
//! their own roster and are judged monthly in the district view.

use super::*;

const ADMIN: &str = "13800000009";
/// 郭强, admin of the joint committee (org 2), which holds the 浦东 branch (3) but not the 机关 branch (4).
const COMMITTEE: &str = "13800000008";
/// 钱鹏: home branch 机关 (4).
const OFFICE_MEMBER: &str = "13800000010";

fn message(r: &Reply) -> &str {
    r.body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_committee_admin_sees_and_runs_their_committee_and_nothing_else() {
    let h = Harness::new().await;
    let committee = h.login(COMMITTEE).await;
    let me = h.call("GET", paths::ME, Some(&committee), None).await;
    assert_eq!(
        (&me.body["role"], &me.body["org_name"]),
        (&json!("committee"), &json!("流动党员建筑行业联合党委"))
    );

    // Members: the 党委's, by default; another part of the tree is refused.
    let members = h.call("GET", paths::MEMBERS, Some(&committee), None).await;
    let orgs: Vec<i64> = members.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["org_id"].as_i64().unwrap())
        .collect();
    assert!(orgs.contains(&3) && !orgs.contains(&4), "{}", members.text);
    let elsewhere = format!("{}?org=4", paths::MEMBERS);
    let r = h.call("GET", &elsewhere, Some(&committee), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(message(&r).contains("本党委"), "{}", r.text);

    // A member of the 党委 may be edited and invited; one outside may not, nor an admin's account.
    let inside = h.user_id("13800000004").await;
    let outside = h.user_id(OFFICE_MEMBER).await;
    let r = h
        .call("GET", &paths::member(inside), Some(&committee), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for id in [outside, h.user_id(ADMIN).await] {
        let r = h
            .call("GET", &paths::member(id), Some(&committee), None)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let r = h
            .call(
                "POST",
                paths::INVITATIONS,
                Some(&committee),
                Some(json!({"user_id": id})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let r = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&committee),
            Some(json!({"user_id": inside})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // The district view starts at the 党委 and goes no higher; a branch below it leads back up to it.
    let r = h.call("GET", paths::DISTRICT, Some(&committee), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["org_id"], 2);
    assert!(r.body.get("parent").is_none(), "{}", r.text);
    let branch = paths::district(Some(3), 2026, None, "json");
    let r = h.call("GET", &branch, Some(&committee), None).await;
    assert_eq!(r.body["parent"]["id"], 2, "{}", r.text);
    let office = paths::district(Some(4), 2026, None, "json");
    let r = h.call("GET", &office, Some(&committee), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h
        .call(
            "GET",
            &format!("{}?org=4", paths::STUDY_OVERVIEW),
            Some(&committee),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Activities: the 浦东 branch's register, not the 机关 branch's. The admin's phone holds no copy of the
    // committee: their pull carries neither branch's activities nor rosters (they read the server's views).
    let (pudong, _) = h.publish(&h.login(LEAD).await).await;
    let (office_activity, _) = h.publish(&h.login(OTHER_LEAD).await).await;
    let pulled = h.pull(&committee, 0).await;
    assert_eq!(pulled["activities"], json!([]), "{pulled}");
    assert_eq!(pulled["attendance"], json!([]), "{pulled}");
    let r = h
        .call(
            "GET",
            &paths::register(&pudong, "csv"),
            Some(&committee),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h
        .call(
            "GET",
            &paths::register(&office_activity, "csv"),
            Some(&committee),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // The tree: their part of it, read only.
    let tree = h.call("GET", paths::ORGS, Some(&committee), None).await;
    let ids: Vec<i64> = tree
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        [2, 3, 5],
        "the 党委, its branch and the branch's 党小组"
    );
    let r = h
        .call(
            "POST",
            paths::ORGS,
            Some(&committee),
            Some(json!({"parent_id": 2, "name": "新支部", "form": "branch"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_committee_admin_imports_only_their_branches_members() {
    let h = Harness::new().await;
    let committee = h.login(COMMITTEE).await;
    let import = |csv: String| {
        let req = Request::builder()
            .method("POST")
            .uri(format!("{}?dry_run=false", paths::ROSTER_IMPORT))
            .header(header::AUTHORIZATION, format!("Bearer {committee}"))
            .body(Body::from(csv.into_bytes()))
            .unwrap();
        h.send(req)
    };
    let r = import(
        "姓名,手机号,支部\n冯强,13900000011,上海浦东项目部党支部\n钱鹏,13800000010,上海浦东项目部党支部\n蒋红,13900000012,区发展改革委机关党支部\n"
            .to_owned(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let problems: Vec<(i64, &str)> = r.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["outcome"] == "problem")
        .map(|row| {
            (
                row["line"].as_i64().unwrap(),
                row["detail"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(problems.len(), 2, "{}", r.text);
    assert_eq!(problems[0].0, 3);
    assert!(problems[0].1.contains("其他党委"), "{problems:?}");
    assert_eq!(problems[1].0, 4);
    assert!(problems[1].1.contains("本党委范围内没有"), "{problems:?}");
    assert_eq!(
        h.rows("SELECT count(*) FROM users WHERE phone LIKE '139000000%'")
            .await,
        0
    );
    let r = import("姓名,手机号,支部\n冯强,13900000011,上海浦东项目部党支部\n".to_owned()).await;
    assert_eq!(r.body["created"], 1, "{}", r.text);
    assert_eq!(
        h.rows("SELECT org_id FROM users WHERE phone = '13900000011'")
            .await,
        3
    );
}

#[tokio::test]
async fn the_district_admin_names_and_withdraws_a_committee_admin() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let add = |org: i64, name: &str, phone: &str| {
        let (path, body) = (
            paths::org_admins(org),
            json!({"name": name, "phone": phone}),
        );
        let admin = admin.clone();
        let h = &h;
        async move { h.call("POST", &path, Some(&admin), Some(body)).await }
    };
    // Only a 党委-like organisation has admins; a phone with an account of its own cannot be one.
    let r = add(3, "郑华", "13900000002").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = add(2, "郑华", MEMBER).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = add(2, "郑华", "1390000").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = add(2, "郑华", "13900000002").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = r.body["id"].as_i64().unwrap();
    assert_eq!(r.body["joined"], false);
    let tree = h.call("GET", paths::ORGS, Some(&admin), None).await;
    let listed: Vec<&str> = tree.body[1]["admins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["郭强", "郑华"]);
    assert_eq!(tree.body[1]["members"], 0, "admins are not members");

    // Invited by the district admin (a committee admin cannot invite another admin), joins, signs in.
    let r = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&h.login(COMMITTEE).await),
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&admin),
            Some(json!({"user_id": id})),
        )
        .await;
    let code = r.body["code"].as_str().unwrap().to_owned();
    let r = h
        .call(
            "POST",
            paths::JOIN,
            None,
            Some(json!({"code": code, "password": "zhenghua-2026", "privacy_consent": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(r.body["user"]["role"], "committee");

    // Withdrawn: the session ends at once, the password no longer works, the list no longer shows them.
    let r = h
        .call("DELETE", &paths::org_admin(2, id), Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = h.call("GET", paths::ME, Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = h.try_login("13900000002", "zhenghua-2026").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&admin),
            Some(json!({"user_id": id})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = h
        .call("DELETE", &paths::org_admin(2, id), Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Named again (for another 党委): the same account comes back, to be invited afresh.
    let r = add(2, "郑华", "13900000002").await;
    assert_eq!(
        (r.status, r.body["id"].as_i64()),
        (StatusCode::OK, Some(id))
    );
    let audited = h
        .rows(
            "SELECT count(*) FROM audit_log WHERE action IN ('add_org_admin', 'remove_org_admin')",
        )
        .await;
    assert_eq!(audited, 3);
}

#[tokio::test]
async fn groups_hold_their_own_meetings_and_the_district_asks_each_for_one_a_month() {
    let h = Harness::new().await;
    let (admin, lead) = (h.login(ADMIN).await, h.login(LEAD).await);
    // A 党小组 sits under a branch only.
    let group = |parent: i64, name: &str| {
        h.call(
            "POST",
            paths::ORGS,
            Some(&admin),
            Some(json!({"parent_id": parent, "name": name, "form": "group"})),
        )
    };
    let r = group(2, "木工班组党小组").await;
    assert!(
        message(&r).contains("党小组只能设在党支部下面"),
        "{}",
        r.text
    );
    let r = group(3, "木工班组党小组").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let second = r.body["id"].as_i64().unwrap();

    // The lead's phone knows the branch's groups; a member is put in one of them, not another branch's.
    let me = h.call("GET", paths::ME, Some(&lead), None).await;
    let groups: Vec<&str> = me.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["钢筋班组党小组", "木工班组党小组"]);
    let chen = h.user_id("13800000006").await;
    let mut profile = h
        .call("GET", &paths::member(chen), Some(&lead), None)
        .await
        .body["profile"]
        .clone();
    profile["group_id"] = json!(second);
    let r = h
        .call(
            "PUT",
            &paths::member(chen),
            Some(&lead),
            Some(profile.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["profile"]["group_id"], second);
    assert_eq!(r.body["groups"].as_array().unwrap().len(), 2);
    let other_branch = group(4, "机关第一党小组").await.body["id"]
        .as_i64()
        .unwrap();
    profile["group_id"] = json!(other_branch);
    let r = h
        .call("PUT", &paths::member(chen), Some(&lead), Some(profile))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // A 党小组会 for the first group: its three members on the roster, nobody else, no guests.
    let now = now_ms();
    let meeting = |kind: ActivityKind, group: i64| NewActivity {
        activity_id: new_id(),
        kind,
        title: "党小组会".into(),
        place: "钢筋加工棚".into(),
        starts_at: now - 60_000,
        ends_at: now + 3_600_000,
        code: "246810".into(),
        group_id: Some(group),
        ..Default::default()
    };
    let held = meeting(ActivityKind::GroupMeeting, 5);
    let wrong_kind = meeting(ActivityKind::ThemeDay, 5);
    let elsewhere = meeting(ActivityKind::GroupMeeting, other_branch);
    let mutations: Vec<Mutation> = [&held, &wrong_kind, &elsewhere]
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Mutation::new(
                i as u64 + 1,
                new_id(),
                &Change::CreateActivity((*a).clone()),
                now,
                0,
            )
        })
        .collect();
    let r = h.push(&lead, "lead-phone", &mutations).await;
    let statuses: Vec<&str> = r.body["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["applied", "quarantined", "quarantined"],
        "{}",
        r.text
    );
    assert!(
        r.text.contains("只有党小组会") && r.text.contains("不在本支部"),
        "{}",
        r.text
    );
    let roster = h
        .rows(&format!(
            "SELECT count(*) FROM attendance WHERE activity_id = '{}'",
            held.activity_id
        ))
        .await;
    assert_eq!(roster, 3, "王建国, 李明 and 张伟 are in 钢筋班组");
    let pulled = h.pull(&h.login(MEMBER).await, 0).await;
    let shown = pulled["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == held.activity_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(shown["group_name"], "钢筋班组党小组");

    // The district view: this month is open for the 浦东 branch (one of two groups met), and the 机关
    // branch is asked too now that it has a group; a branch without groups is not asked.
    let year = crate::model::LocalTime::from_millis(now).year;
    let view = h
        .call(
            "GET",
            &paths::district(None, year, None, "json"),
            Some(&admin),
            None,
        )
        .await;
    let rule = |branch: i64| -> Option<Value> {
        view.body["branches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["org_id"] == branch)
            .unwrap()["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "group_meeting")
            .cloned()
    };
    assert_eq!(rule(3).unwrap()["held"], 0, "the second group has not met");
    assert!(rule(4).is_some());
    let r = h
        .call(
            "POST",
            paths::ORGS,
            Some(&admin),
            Some(json!({"parent_id": 1, "name": "新支部", "form": "branch"})),
        )
        .await;
    let fresh = r.body["id"].as_i64().unwrap();
    let view = h
        .call(
            "GET",
            &paths::district(None, year, None, "json"),
            Some(&admin),
            None,
        )
        .await;
    let fresh_rules = view.body["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["org_id"] == fresh)
        .unwrap()["rules"]
        .clone();
    assert!(!fresh_rules.to_string().contains("group_meeting"));

    // A group with members, or with a meeting, stays; an empty one may go. Moving the branch's member
    // to another branch by roster takes them out of the group.
    let r = h
        .call("DELETE", &paths::org(second), Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = h
        .call("DELETE", &paths::org(other_branch), Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let req = Request::builder()
        .method("POST")
        .uri(paths::ROSTER_IMPORT)
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::from(
            "姓名,手机号,支部\n陈静,13800000006,区发展改革委机关党支部\n",
        ))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.body["updated"], 1, "{}", r.text);
    assert_eq!(
        h.rows("SELECT count(*) FROM users WHERE phone = '13800000006' AND group_id IS NULL")
            .await,
        1
    );
}
