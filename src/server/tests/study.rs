//! The study ledger through the real router: records, edits and withdrawals from phones, reviews within
//! scope, conflicts quarantined with a reason, credit from confirmed attendance, rules, evidence and the
//! overview — each with the roles that may and may not.

use super::*;
use crate::api::{ReviewStudy, StudyEntry, WithdrawStudy};
use crate::study::{Hours, StudyKind};

const ADMIN: &str = "13800000009";

fn entry(title: &str, hours: u32) -> StudyEntry {
    StudyEntry {
        study_id: new_id(),
        kind: StudyKind::Training,
        title: title.into(),
        organiser: "中共上海市委党校".into(),
        starts_on: "2026-11-02".into(),
        ends_on: "2026-11-04".into(),
        hours: Hours::whole(hours),
        submit: true,
        ..Default::default()
    }
}

async fn send(h: &Harness, token: &str, change: Change) -> (String, String) {
    pushed(h, token, Mutation::new(1, new_id(), &change, now_ms(), 0)).await
}

fn review(id: &str, version: u32, credited: Option<u32>, comment: &str) -> Change {
    Change::ReviewStudy(ReviewStudy {
        study_id: id.into(),
        version,
        credited: credited.map(Hours::whole),
        comment: comment.into(),
    })
}

/// The record `id` as `token` pulls it (Null if not visible).
async fn pulled(h: &Harness, token: &str, id: &str) -> Value {
    let body = h.pull(token, 0).await;
    body["study"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_cadre_submits_and_the_district_recognises_fewer_hours_than_declared() {
    let h = Harness::new().await;
    let (cadre, admin, lead) = (
        h.login(CADRE).await,
        h.login(ADMIN).await,
        h.login(OTHER_LEAD).await,
    );
    let mut e = entry("长三角一体化专题培训", 24);
    e.submit = false;
    assert_eq!(
        send(&h, &cadre, Change::SaveStudy(e.clone())).await.0,
        "applied"
    );
    assert_eq!(pulled(&h, &cadre, &e.study_id).await["status"], "draft");
    assert!(
        pulled(&h, &admin, &e.study_id).await.is_null(),
        "drafts stay private"
    );
    e.submit = true;
    assert_eq!(
        send(&h, &cadre, Change::SaveStudy(e.clone())).await.0,
        "applied"
    );
    let seen = pulled(&h, &admin, &e.study_id).await;
    assert_eq!(seen["status"], "pending");
    assert_eq!(seen["version"], 2);
    assert_eq!(seen["hours"], 48);
    assert!(
        pulled(&h, &lead, &e.study_id).await.is_null(),
        "a cadre is not the branch's to review"
    );

    // The branch lead may not recognise a cadre's record; the admin may, with fewer hours.
    let (status, reason) = send(&h, &lead, review(&e.study_id, 2, Some(20), "")).await;
    assert_eq!(
        (status.as_str(), reason.contains("区委组织部")),
        ("quarantined", true)
    );
    let (status, reason) = send(&h, &admin, review(&e.study_id, 2, Some(30), "")).await;
    assert_eq!(status, "quarantined");
    assert!(reason.contains("不超过申报学时"), "{reason}");
    assert_eq!(
        send(
            &h,
            &admin,
            review(&e.study_id, 2, Some(20), "按实际课时认定")
        )
        .await
        .0,
        "applied"
    );
    let mine = pulled(&h, &cadre, &e.study_id).await;
    assert_eq!(mine["status"], "recognised");
    assert_eq!(mine["credited"], 40);
    assert_eq!(mine["reviewer"], "周敏");
    assert_eq!(mine["comment"], "按实际课时认定");
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'recognise_study'")
            .await,
        1
    );

    // Once recognised, the author's edit or withdrawal is kept out with the reason, never applied.
    let mut late = e.clone();
    late.hours = Hours::whole(30);
    let (status, reason) = send(&h, &cadre, Change::SaveStudy(late)).await;
    assert_eq!(status, "quarantined");
    assert!(reason.contains("已认定"), "{reason}");
    let withdraw = Change::WithdrawStudy(WithdrawStudy {
        study_id: e.study_id.clone(),
    });
    assert_eq!(send(&h, &cadre, withdraw).await.0, "quarantined");
    let after = pulled(&h, &cadre, &e.study_id).await;
    assert_eq!(
        (after["hours"].as_u64(), after["credited"].as_u64()),
        (Some(48), Some(40))
    );
}

#[tokio::test]
async fn a_review_of_a_record_changed_since_is_refused_and_a_returned_record_comes_back() {
    let h = Harness::new().await;
    let (member, lead) = (h.login(MEMBER).await, h.login(LEAD).await);
    let e = entry("党史学习专题讲座", 3);
    assert_eq!(
        send(&h, &member, Change::SaveStudy(e.clone())).await.0,
        "applied"
    );
    assert_eq!(pulled(&h, &lead, &e.study_id).await["version"], 1);
    // The member corrects the record while the lead, offline, recognises the old version.
    let mut fixed = e.clone();
    fixed.hours = Hours::whole(2);
    assert_eq!(
        send(&h, &member, Change::SaveStudy(fixed.clone())).await.0,
        "applied"
    );
    let (status, reason) = send(&h, &lead, review(&e.study_id, 1, Some(3), "")).await;
    assert_eq!(status, "quarantined");
    assert!(reason.contains("修改"), "{reason}");
    // Returning needs a comment; the member sees it, edits and submits again.
    assert_eq!(
        send(&h, &lead, review(&e.study_id, 2, None, " ")).await.0,
        "quarantined"
    );
    assert_eq!(
        send(&h, &lead, review(&e.study_id, 2, None, "请补充讲座通知"))
            .await
            .0,
        "applied"
    );
    let mine = pulled(&h, &member, &e.study_id).await;
    assert_eq!(
        (mine["status"].as_str(), mine["comment"].as_str()),
        (Some("returned"), Some("请补充讲座通知"))
    );
    assert_eq!(
        send(&h, &member, Change::SaveStudy(fixed)).await.0,
        "applied"
    );
    assert_eq!(pulled(&h, &lead, &e.study_id).await["status"], "pending");
    // Withdrawn: out of the queue; a review of it is refused.
    let withdraw = Change::WithdrawStudy(WithdrawStudy {
        study_id: e.study_id.clone(),
    });
    assert_eq!(send(&h, &member, withdraw).await.0, "applied");
    assert_eq!(
        send(&h, &lead, review(&e.study_id, 5, Some(2), "")).await.0,
        "quarantined"
    );
    assert_eq!(
        pulled(&h, &member, &e.study_id).await["status"],
        "withdrawn"
    );
}

#[tokio::test]
async fn each_reviewer_sees_and_decides_only_their_scope() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let e = entry("在职自学：党章", 2);
    assert_eq!(
        send(&h, &member, Change::SaveStudy(e.clone())).await.0,
        "applied"
    );
    let others = [
        h.login(OTHER_LEAD).await,
        h.login(ADMIN).await,
        h.login("13800000004").await,
    ];
    for token in &others {
        assert!(pulled(&h, token, &e.study_id).await.is_null());
        assert_eq!(
            send(&h, token, review(&e.study_id, 1, Some(2), "")).await.0,
            "quarantined"
        );
    }
    // Nobody reviews their own: the lead's own record goes to the district.
    let lead = h.login(LEAD).await;
    let own = entry("书记培训班", 8);
    assert_eq!(
        send(&h, &lead, Change::SaveStudy(own.clone())).await.0,
        "applied"
    );
    assert_eq!(
        send(&h, &lead, review(&own.study_id, 1, Some(8), ""))
            .await
            .0,
        "quarantined"
    );
    assert_eq!(
        send(&h, &others[1], review(&own.study_id, 1, Some(8), ""))
            .await
            .0,
        "applied"
    );
    // Someone else's id cannot be overwritten.
    let mut stolen = e.clone();
    stolen.title = "改写".into();
    let (status, reason) = send(&h, &others[2], Change::SaveStudy(stolen)).await;
    assert_eq!(
        (status.as_str(), reason.contains("冲突")),
        ("quarantined", true)
    );
    // Bad entries are refused with what to correct.
    for (bad, why) in [
        (
            StudyEntry {
                ends_on: "2026-10-01".into(),
                ..entry("x", 2)
            },
            "早于",
        ),
        (
            StudyEntry {
                hours: Hours::ZERO,
                ..entry("x", 2)
            },
            "学时",
        ),
        (
            StudyEntry {
                study_id: "nope".into(),
                ..entry("x", 2)
            },
            "编号",
        ),
        (
            StudyEntry {
                starts_on: "2099-01-01".into(),
                ends_on: "2099-01-02".into(),
                ..entry("x", 2)
            },
            "结束后",
        ),
    ] {
        let (status, reason) = send(&h, &member, Change::SaveStudy(bad)).await;
        assert_eq!(status, "quarantined");
        assert!(reason.contains(why), "{reason}");
    }
}

#[tokio::test]
async fn days_are_converted_by_the_districts_rule_which_only_the_admin_changes() {
    let h = Harness::new().await;
    let (cadre, admin, lead) = (
        h.login(CADRE).await,
        h.login(ADMIN).await,
        h.login(LEAD).await,
    );
    let mut e = entry("集中轮训", 1);
    e.days = Some(Hours::whole(2));
    assert_eq!(
        send(&h, &cadre, Change::SaveStudy(e.clone())).await.0,
        "applied"
    );
    assert_eq!(
        pulled(&h, &cadre, &e.study_id).await["hours"],
        30,
        "2 days × 7.5"
    );

    let rules = h.call("GET", paths::STUDY_RULES, Some(&lead), None).await;
    assert_eq!(rules.status, StatusCode::OK);
    let mut changed = rules.body.clone();
    changed["day_hours"] = json!(16);
    let r = h
        .call(
            "PUT",
            paths::STUDY_RULES,
            Some(&lead),
            Some(changed.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .call("PUT", paths::STUDY_RULES, None, Some(changed.clone()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut bad = changed.clone();
    bad["requirements"][0]["years"] = json!(3);
    let r = h
        .call("PUT", paths::STUDY_RULES, Some(&admin), Some(bad))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["message"].as_str().unwrap().contains("1年或5年"));
    let r = h
        .call(
            "PUT",
            paths::STUDY_RULES,
            Some(&admin),
            Some(json!({"day_hours": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = h
        .call("PUT", paths::STUDY_RULES, Some(&admin), Some(changed))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(h.pull(&cadre, 0).await["study_rules"]["day_hours"], 16);
    e.title = "集中轮训（更正）".into();
    assert_eq!(
        send(&h, &cadre, Change::SaveStudy(e.clone())).await.0,
        "applied"
    );
    assert_eq!(
        pulled(&h, &cadre, &e.study_id).await["hours"],
        32,
        "2 days × 8"
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'study_rules'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_confirmed_attendance_at_an_activity_with_study_hours_is_recognised_once() {
    let h = Harness::new().await;
    let (lead, member) = (h.login(LEAD).await, h.login(MEMBER).await);
    let now = now_ms();
    let lecture = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::SecretaryForum,
        title: "书记讲坛：安全生产".into(),
        place: "项目部会议室".into(),
        starts_at: now - 60_000,
        ends_at: now + 3_600_000,
        code: "246810".into(),
        study_hours: Hours(3),
        ..Default::default()
    };
    assert_eq!(
        send(&h, &lead, Change::CreateActivity(lecture.clone()))
            .await
            .0,
        "applied"
    );
    let (plain, _) = h.publish(&lead).await;
    let member_id = h.user_id(MEMBER).await;
    let other_id = h.user_id("13800000004").await;
    for activity in [&lecture.activity_id, &plain] {
        assert_eq!(
            pushed(&h, &lead, confirm(1, activity, member_id)).await.0,
            "applied"
        );
    }
    assert_eq!(
        pushed(&h, &lead, confirm(1, &lecture.activity_id, member_id))
            .await
            .0,
        "applied"
    );
    let decide = Change::Decide(crate::api::Decide {
        activity_id: lecture.activity_id.clone(),
        member_id: other_id,
        decision: crate::life::Decision::Online,
        reason: String::new(),
    });
    assert_eq!(send(&h, &lead, decide).await.0, "applied");
    let body = h.pull(&member, 0).await;
    let mine: Vec<&Value> = body["study"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["user_id"] == member_id)
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "one record, only for the activity with 学时: {mine:?}"
    );
    assert_eq!(mine[0]["status"], "recognised");
    assert_eq!(mine[0]["kind"], "secretary_forum");
    assert_eq!(mine[0]["credited"], 3);
    assert_eq!(mine[0]["activity_id"], lecture.activity_id.as_str());
    assert_eq!(
        h.rows("SELECT count(*) FROM study_records WHERE activity_id IS NOT NULL")
            .await,
        2,
        "the member confirmed and the one marked 线上参加"
    );
    // The record of an attendance is not the member's to change.
    let edit = StudyEntry {
        study_id: mine[0]["id"].as_str().unwrap().into(),
        ..entry("x", 1)
    };
    assert_eq!(
        send(&h, &member, Change::SaveStudy(edit)).await.0,
        "quarantined"
    );
}

#[tokio::test]
async fn evidence_is_uploaded_by_the_author_and_seen_by_reviewers_only() {
    let h = Harness::new().await;
    let (member, lead, other) = (
        h.login(MEMBER).await,
        h.login(LEAD).await,
        h.login("13800000004").await,
    );
    let e = entry("专题讲座", 2);
    let path = paths::evidence(&e.study_id);
    let photo = json!({"data_url": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ=="});
    let r = h
        .call("PUT", &path, Some(&member), Some(photo.clone()))
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "the record has not arrived yet"
    );
    assert_eq!(
        send(&h, &member, Change::SaveStudy(e.clone())).await.0,
        "applied"
    );
    let r = h
        .call("PUT", &path, Some(&other), Some(photo.clone()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h
        .call(
            "PUT",
            &path,
            Some(&member),
            Some(json!({"data_url": "data:text/html;base64,PGI+"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let huge = format!(
        "data:image/jpeg;base64,{}",
        "A".repeat(crate::study::MAX_EVIDENCE_CHARS)
    );
    let r = h
        .call(
            "PUT",
            &path,
            Some(&member),
            Some(json!({ "data_url": huge })),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = h
        .call("PUT", &path, Some(&member), Some(photo.clone()))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(pulled(&h, &lead, &e.study_id).await["has_evidence"], true);
    for (token, status) in [
        (&member, StatusCode::OK),
        (&lead, StatusCode::OK),
        (&other, StatusCode::FORBIDDEN),
    ] {
        let r = h.call("GET", &path, Some(token), None).await;
        assert_eq!(r.status, status);
    }
    assert_eq!(h.call("GET", &path, Some(&lead), None).await.body, photo);
    assert_eq!(
        send(&h, &lead, review(&e.study_id, 1, Some(2), "")).await.0,
        "applied"
    );
    let r = h.call("PUT", &path, Some(&member), Some(photo)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_overview_shows_each_reviewer_their_scope_in_name_order() {
    let h = Harness::new().await;
    let (admin, lead, member) = (
        h.login(ADMIN).await,
        h.login(OTHER_LEAD).await,
        h.login(MEMBER).await,
    );
    let year = crate::study::Day::of_millis(now_ms()).year();
    let path = |q: &str| format!("{}?year={year}{q}", paths::STUDY_OVERVIEW);
    let r = h.call("GET", &path(""), Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rows = r.body["rows"].as_array().unwrap();
    assert!(rows.len() >= 8, "everyone but the admin");
    let cadre = rows.iter().find(|r| r["name"] == "赵磊").unwrap();
    assert_eq!(cadre["audience"], "township");
    assert_eq!(cadre["progress"][0]["name"], "集中培训");
    assert_eq!(
        cadre["progress"][0]["done"], 75,
        "the demo's recognised week"
    );
    assert_eq!(cadre["progress"][1]["done"], 40);
    // The branch lead sees their branch only; another branch or a member is refused.
    let r = h.call("GET", &path(""), Some(&lead), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["org_id"] == 4)
    );
    assert_eq!(
        h.call("GET", &path("&org=3"), Some(&lead), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call("GET", &path(""), Some(&member), None).await.status,
        StatusCode::FORBIDDEN
    );
    // The admin drills down to one branch (the committee includes the branch below it).
    let r = h.call("GET", &path("&org=2"), Some(&admin), None).await;
    assert!(
        r.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["org_id"] == 3)
    );
    assert_eq!(
        h.call("GET", &path("&org=999"), Some(&admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call("GET", &path("&format=pdf"), Some(&admin), None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let r = h
        .call(
            "GET",
            &format!("{}?year=1800", paths::STUDY_OVERVIEW),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h
        .call("GET", &path("&format=xlsx"), Some(&admin), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''")
    );
}
