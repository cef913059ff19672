//! Records nobody can fake: each test is an attack a dishonest member, an overreaching lead or a stranger
//! with a script would try, through the real router, and what stops it.

use super::life::{HOUR, now_send, publish, row, send, sign};
use super::*;
use crate::api::{Consent, ConsentKind, Decide, MemberProfile, Request};
use crate::life::{Decision, Fence, LeaveCategory, MAX_CODE_ATTEMPTS, RequestKind, code_at};
use crate::server::db;
use crate::study::{Audience, Hours};

const ADMIN: &str = "13800000009";
const COMMITTEE: &str = "13800000008";

/// One record as a phone with the given clock and last sync would send it.
async fn claimed(
    h: &Harness,
    token: &str,
    change: Change,
    device_time: i64,
    synced_at: i64,
) -> (String, String) {
    let mut m = Mutation::new(1, new_id(), &change, device_time, 0);
    m.synced_at = synced_at;
    pushed(h, token, m).await
}

#[tokio::test]
async fn a_member_guessing_the_code_gets_a_few_tries_and_then_is_left_for_the_lead() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let member = h.login(MEMBER).await;
    let now = now_ms();
    let right = code_at(&a.secret, now, a.code_step_ms);
    // Every code for one claimed time, as a script would push them.
    let mut batch = Vec::new();
    for guess in 0..50 {
        let code = format!(
            "{:06}",
            (right.parse::<u32>().unwrap() + 1 + guess) % 1_000_000
        );
        let change = Change::SignIn(SignIn {
            activity_id: a.activity_id.clone(),
            code,
            ..Default::default()
        });
        batch.push(Mutation::new(guess as u64 + 1, new_id(), &change, now, 0));
    }
    batch.push(Mutation::new(51, new_id(), &sign(&a, now), now, 0));
    let r = h.push(&member, "script", &batch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Stored, but the right code among the guesses proves nothing: the row stays for the lead.
    assert_eq!(
        row(&h, &a.activity_id, MEMBER).await,
        ("signed_in".into(), true, None)
    );
    let wrong: i64 = h
        .rows(&format!(
            "SELECT wrong_codes FROM attendance WHERE activity_id = '{}' AND member_id = {}",
            a.activity_id,
            h.user_id(MEMBER).await
        ))
        .await;
    assert_eq!(
        wrong, MAX_CODE_ATTEMPTS as i64,
        "counting stops where checking stops"
    );
    let pulled = h.pull(&lead, 0).await;
    let mine = pulled["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["member_name"] == "李明" && r["activity_id"] == a.activity_id.as_str())
        .unwrap();
    let view: crate::api::AttendanceView = serde_json::from_value(mine.clone()).unwrap();
    assert!(!view.verified_sign_in(), "not in 一键确认全部");
    assert!(!view.may_retry_code(), "no more tries");
    assert_eq!(view.proof_notes(), ["签到码输错3次，已停止校验"]);

    // An honest member who mistypes once still gets in with the right code.
    let other = h.login("13800000004").await;
    let typo = Change::SignIn(SignIn {
        activity_id: a.activity_id.clone(),
        code: "000000".into(),
        ..Default::default()
    });
    assert_eq!(now_send(&h, &other, typo).await.0, "applied");
    assert_eq!(now_send(&h, &other, sign(&a, now_ms())).await.0, "applied");
    assert_eq!(
        row(&h, &a.activity_id, "13800000004").await,
        ("signed_in".into(), false, None)
    );
}

#[tokio::test]
async fn signing_in_to_many_meetings_at_once_stops_being_checked_after_the_hourly_limit() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let member = h.login(MEMBER).await;
    let mut last = None;
    for _ in 0..=crate::life::MAX_CHECKED_SIGN_INS_PER_HOUR {
        let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
        assert_eq!(now_send(&h, &member, sign(&a, now_ms())).await.0, "applied");
        last = Some(a);
    }
    let last = last.unwrap();
    assert!(
        row(&h, &last.activity_id, MEMBER).await.1,
        "the sign-in past the limit is kept for the lead, unchecked"
    );
}

#[tokio::test]
async fn a_location_inside_the_fence_claimed_from_anywhere_is_a_statement_not_proof() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let a = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        starts_at: now - HOUR,
        ends_at: now + HOUR,
        secret: crate::life::secret_hex(rand::random()),
        fence: Some(Fence::around(31.2304, 121.4737, 200)),
        ..Default::default()
    };
    assert_eq!(
        now_send(&h, &lead, Change::CreateActivity(a.clone()))
            .await
            .0,
        "applied"
    );
    // The phone says "inside, 3 m, accurate to 5 m" from a hundred kilometres away.
    let member = h.login(MEMBER).await;
    let consent = Change::Consent(crate::api::Consent {
        kind: crate::api::ConsentKind::Location,
        granted: true,
        version: String::new(),
    });
    assert_eq!(now_send(&h, &member, consent).await.0, "applied");
    let claim = Change::SignIn(SignIn {
        activity_id: a.activity_id.clone(),
        code: String::new(),
        location: Some(crate::life::LocationCheck {
            inside: true,
            distance_m: 3,
            accuracy_m: 5,
        }),
    });
    assert_eq!(now_send(&h, &member, claim).await.0, "applied");
    let pulled = h.pull(&lead, 0).await;
    let view: crate::api::AttendanceView = serde_json::from_value(
        pulled["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["member_name"] == "李明" && r["activity_id"] == a.activity_id.as_str())
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert!(view.code_unverified && !view.verified_sign_in(), "{view:?}");
    assert_eq!(
        view.proof_notes(),
        ["位置自报：范围内，距离3米（精度5米），未经签到码验证"]
    );
    // Typing the code there proves it.
    assert!(view.may_retry_code());
    assert_eq!(now_send(&h, &member, sign(&a, now_ms())).await.0, "applied");
    assert!(!row(&h, &a.activity_id, MEMBER).await.1);
}

#[tokio::test]
async fn a_lead_cannot_backdate_a_meeting_by_setting_the_phone_clock_back() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let long_ago = now - 40 * 24 * HOUR;
    let a = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::ThemeDay,
        title: "补录的主题党日".into(),
        starts_at: long_ago,
        ends_at: long_ago + 2 * HOUR,
        secret: crate::life::secret_hex(rand::random()),
        ..Default::default()
    };
    // The phone claims it was recorded the same evening, forty days ago.
    let (status, reason) = send(&h, &lead, Change::CreateActivity(a), long_ago + 3 * HOUR, 0).await;
    assert_eq!(status, "quarantined");
    assert!(reason.contains("不能补录30天以前的活动"), "{reason}");
}

#[tokio::test]
async fn a_clock_set_back_after_the_last_sync_is_flagged_and_the_lead_sees_how_late_it_arrived() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -3 * HOUR, 2).await;
    // A code relayed to a member at home; the phone synced ten minutes ago, then its clock was set back
    // to the meeting.
    let member = h.login(MEMBER).await;
    let at = now - 2 * HOUR;
    let (status, _) = claimed(&h, &member, sign(&a, at), at, now - 10 * 60_000).await;
    assert_eq!(status, "applied", "kept: the member may have a reason");
    let pulled = h.pull(&lead, 0).await;
    let view: crate::api::AttendanceView = serde_json::from_value(
        pulled["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["member_name"] == "李明" && r["activity_id"] == a.activity_id.as_str())
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert!(view.time_doubtful && !view.verified_sign_in(), "{view:?}");
    assert!(!view.may_retry_code());
    assert_eq!(
        view.proof_notes(),
        ["时间早于该手机上次同步，手机时间可能被调整过"]
    );
    assert!(
        view.lateness().unwrap().contains("晚于签到 2 小时"),
        "{:?}",
        view.lateness()
    );

    // Offline all along (no sync since before the meeting): the same late arrival is believed, and
    // its lateness shown.
    let other = h.login("13800000004").await;
    let (status, _) = claimed(&h, &other, sign(&a, at), at, a.starts_at - HOUR).await;
    assert_eq!(status, "applied");
    assert!(!row(&h, &a.activity_id, "13800000004").await.1);

    // Leave "before" a meeting that is over, asked with the clock set back.
    let b = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let leave = Change::Request(Request {
        activity_id: b.activity_id.clone(),
        kind: RequestKind::Leave,
        category: Some(LeaveCategory::Work),
        reason: "工地加班".into(),
    });
    let (status, _) = claimed(&h, &member, leave, b.starts_at - HOUR, now - 60_000).await;
    assert_eq!(status, "applied");
    let doubtful: i64 = h
        .rows(&format!(
            "SELECT CAST(CASE WHEN time_doubtful THEN 1 ELSE 0 END AS BIGINT) FROM attendance WHERE activity_id = '{}' AND member_id = {}",
            b.activity_id,
            h.user_id(MEMBER).await
        ))
        .await;
    assert_eq!(doubtful, 1);
}

#[tokio::test]
async fn a_lead_cannot_confirm_their_own_attendance_into_recognised_hours() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let a = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::PartyLecture,
        title: "党课".into(),
        starts_at: now - HOUR,
        ends_at: now + HOUR,
        secret: crate::life::secret_hex(rand::random()),
        study_hours: Hours::whole(3),
        ..Default::default()
    };
    assert_eq!(
        now_send(&h, &lead, Change::CreateActivity(a.clone()))
            .await
            .0,
        "applied"
    );
    let lead_id = h.user_id(LEAD).await;
    let own = Change::Confirm(Confirm {
        activity_id: a.activity_id.clone(),
        member_id: lead_id,
    });
    assert_eq!(now_send(&h, &lead, own).await.0, "applied");
    // Their own statement: present, flagged, never confirmed, no 学时.
    assert_eq!(
        row(&h, &a.activity_id, LEAD).await,
        ("signed_in".into(), true, None)
    );
    let credited = format!("SELECT count(*) FROM study_records WHERE user_id = {lead_id}");
    let before = h.rows(&credited).await;
    // Nor may they approve their own leave or excuse themselves.
    for decision in [Decision::Online, Decision::Exempt, Decision::RejectSignIn] {
        let d = Change::Decide(Decide {
            activity_id: a.activity_id.clone(),
            member_id: lead_id,
            decision,
            reason: "本人".into(),
        });
        assert_eq!(
            now_send(&h, &lead, d).await.0,
            "quarantined",
            "{decision:?}"
        );
    }
    // Another lead of the branch confirms: present, and the 学时 wait for the district admin, who
    // reviews leads' study.
    let admin = h.login(ADMIN).await;
    let zhang = h.user_id("13800000004").await;
    let r = h
        .call(
            "PUT",
            &paths::member(zhang),
            Some(&admin),
            Some(
                json!({"membership": "full", "post": "组织委员", "tags": "", "audience": "member"}),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let co_lead = h.login("13800000004").await;
    let theirs = Change::Confirm(Confirm {
        activity_id: a.activity_id.clone(),
        member_id: lead_id,
    });
    assert_eq!(now_send(&h, &co_lead, theirs).await.0, "applied");
    assert_eq!(row(&h, &a.activity_id, LEAD).await.0, "confirmed");
    assert_eq!(h.rows(&credited).await, before + 1);
    let status: String = db::query_scalar("SELECT status FROM study_records WHERE user_id = $1")
        .bind(lead_id)
        .fetch_one(&h.db.reader)
        .await
        .unwrap();
    assert_eq!(
        status, "pending",
        "a lead's 学时 are recognised by the district admin"
    );
}

#[tokio::test]
async fn a_lead_cannot_lower_a_cadres_requirement_or_change_a_fellow_lead() {
    let h = Harness::new().await;
    let office_lead = h.login(OTHER_LEAD).await;
    let cadre = h.user_id(CADRE).await;
    let as_member =
        json!({"membership": "full", "post": "", "tags": "挂职干部", "audience": "member"});
    let r = h
        .call(
            "PUT",
            &paths::member(cadre),
            Some(&office_lead),
            Some(as_member.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("区委组织部"), "{}", r.text);
    let r = h
        .call(
            "PUT",
            &paths::member(cadre),
            Some(&h.login(COMMITTEE).await),
            Some(as_member.clone()),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "not the 党委 either: {}",
        r.text
    );
    let audience: String = db::query_scalar("SELECT audience FROM users WHERE id = $1")
        .bind(cadre)
        .fetch_one(&h.db.reader)
        .await
        .unwrap();
    assert_eq!(Audience::parse(&audience), Some(Audience::Township));
    // The district admin may, and the audit says what changed.
    let r = h
        .call(
            "PUT",
            &paths::member(cadre),
            Some(&h.login(ADMIN).await),
            Some(as_member),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let subject: String = db::query_scalar(
        "SELECT subject FROM audit_log WHERE action = 'edit_member' AND about_user = $1",
    )
    .bind(cadre)
    .fetch_one(&h.db.reader)
    .await
    .unwrap();
    assert!(
        subject.contains("学时对象：乡科级及以下干部 → 党员"),
        "{subject}"
    );

    // A lead's co-lead: not theirs to edit, demote or reset.
    let admin = h.login(ADMIN).await;
    let zhang = h.user_id("13800000004").await;
    let co_lead: MemberProfile = serde_json::from_value(json!({
        "membership": "full", "post": "组织委员", "tags": "", "audience": "member"
    }))
    .unwrap();
    let r = h
        .call(
            "PUT",
            &paths::member(zhang),
            Some(&admin),
            Some(json!(co_lead)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lead = h.login(LEAD).await;
    let demoted = json!({"membership": "full", "post": "", "tags": "", "audience": "member"});
    let r = h
        .call("PUT", &paths::member(zhang), Some(&lead), Some(demoted))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&lead),
            Some(json!({"user_id": zhang})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn a_tiny_spreadsheet_claiming_the_whole_sheet_is_refused_and_the_server_keeps_answering() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    // One heading and one cell in the last row and column: a reader that trusts positions makes a
    // dense sheet of 17 billion cells and aborts the process.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "姓名").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let file = book.save_to_buffer().unwrap();
    assert!(file.len() < 8 * 1024, "{} bytes", file.len());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(format!("{}?dry_run=true", paths::ROSTER_IMPORT))
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .body(Body::from(file))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("最多导入"), "{}", r.text);
    assert_eq!(
        h.call("GET", paths::ME, Some(&admin), None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_hundred_guesses_sent_at_once_are_judged_one_after_another() {
    let h = Harness::new().await;
    let started = std::time::Instant::now();
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..100 {
        let h = h.clone();
        guesses.spawn(async move { h.try_login(LEAD, &format!("guess-{i}")).await.status });
    }
    let mut checked = 0;
    while let Some(status) = guesses.join_next().await {
        match status.unwrap() {
            StatusCode::UNAUTHORIZED => checked += 1,
            // Throttled, or shed before any work (more than the server takes at once).
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("{other}"),
        }
    }
    // Never more than the free tries (a busy test machine may turn one away before its check).
    assert!(
        checked <= crate::server::throttle::PHONE.free,
        "{checked} guesses were checked"
    );
    // And once the free tries are used up, the phone must wait, even with the right password: for a
    // second after the last counted guess. (A busy machine may shed most of the hundred before they are
    // counted, or take longer than that second over them; then the right password is let in.)
    let right = h.try_login(LEAD, demo::PASSWORD).await.status;
    if checked == crate::server::throttle::PHONE.free
        && started.elapsed() < std::time::Duration::from_secs(1)
    {
        assert_eq!(right, StatusCode::TOO_MANY_REQUESTS, "the phone must wait");
    } else {
        assert!(
            matches!(right, StatusCode::TOO_MANY_REQUESTS | StatusCode::OK),
            "{right}"
        );
    }
    // The lead's own phone, which logged in before, is not kept out by a stranger's guessing.
    let h2 = Harness::new().await;
    h2.login_on(LEAD, "lead-phone").await;
    for i in 0..20 {
        h2.try_login(LEAD, &format!("stranger-{i}")).await;
    }
    assert_eq!(
        h2.try_login(LEAD, demo::PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "an unknown phone waits"
    );
    h2.login_on(LEAD, "lead-phone").await;
}

/// A request as it arrives through the reverse proxy at `peer`, for `forwarded`.
fn through_proxy(
    peer: &str,
    forwarded: &str,
    path: &str,
    body: Value,
) -> axum::http::Request<Body> {
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-forwarded-for", forwarded)
        .body(Body::from(body.to_string()))
        .unwrap();
    let peer: std::net::SocketAddr = format!("{peer}:40000").parse().unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    req
}

#[tokio::test]
async fn behind_the_reverse_proxy_a_strangers_wrong_codes_do_not_stop_others_from_joining() {
    let proxy: std::net::IpAddr = "10.0.0.2".parse().unwrap();
    let h = Harness::with_trusted_proxy(proxy).await;
    let admin = h.login(ADMIN).await;
    let code = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&admin),
            Some(json!({"user_id": h.user_id(MEMBER).await})),
        )
        .await
        .body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..30 {
        let wrong = json!({"code": format!("AAAA-AA{:02}", i % 100)});
        h.send(through_proxy(
            "10.0.0.2",
            "203.0.113.9",
            paths::JOIN_CHECK,
            wrong,
        ))
        .await;
    }
    let stranger = h
        .send(through_proxy(
            "10.0.0.2",
            "203.0.113.9",
            paths::JOIN_CHECK,
            json!({"code": code}),
        ))
        .await;
    assert_eq!(
        stranger.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        stranger.text
    );
    // The member on the site's network: another address behind the same proxy.
    let member = h
        .send(through_proxy(
            "10.0.0.2",
            "198.51.100.7",
            paths::JOIN_CHECK,
            json!({"code": code}),
        ))
        .await;
    assert_eq!(member.status, StatusCode::OK, "{}", member.text);
    // A header from a peer that is not the proxy is not believed: it cannot pick someone else's bucket.
    let spoofed = h
        .send(through_proxy(
            "203.0.113.9",
            "198.51.100.8",
            paths::JOIN_CHECK,
            json!({"code": code}),
        ))
        .await;
    assert_eq!(
        spoofed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        spoofed.text
    );
}

#[tokio::test]
async fn a_disabled_member_is_out_at_once_and_on_no_new_roster() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let member = h.login(MEMBER).await;
    let liming = h.user_id(MEMBER).await;
    let off = json!({"enabled": false, "reason": "组织关系转出"});
    // Not their own lead's co-lead, and not without a reason.
    let r = h
        .call(
            "PUT",
            &paths::member_access(liming),
            Some(&lead),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = h
        .call(
            "PUT",
            &paths::member_access(liming),
            Some(&lead),
            Some(off.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["disabled"], true);
    assert_eq!(
        h.call("GET", paths::ME, Some(&member), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.try_login(MEMBER, demo::PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (activity, _) = h.publish(&lead).await;
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM attendance WHERE activity_id = '{activity}' AND member_id = {liming}"
        ))
        .await,
        0
    );
    // Restored by the lead, but a new password for someone who had one is the admins' to issue.
    let r = h
        .call(
            "PUT",
            &paths::member_access(liming),
            Some(&lead),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&lead),
            Some(json!({"user_id": liming})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // A lead cannot disable a co-lead, nor themselves.
    let r = h
        .call(
            "PUT",
            &paths::member_access(h.user_id(LEAD).await),
            Some(&lead),
            Some(off),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}

#[tokio::test]
async fn people_change_their_own_password_knowing_the_current_one() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let elsewhere = h.login(MEMBER).await;
    let change = |current: &str, new: &str| json!({"current": current, "new": new});
    for (body, status) in [
        (change("wrong", "liming-2026-new"), StatusCode::FORBIDDEN),
        (change(demo::PASSWORD, "12345678"), StatusCode::BAD_REQUEST),
        (
            change(demo::PASSWORD, "woaini1314"),
            StatusCode::BAD_REQUEST,
        ),
        (
            change(demo::PASSWORD, "13800000002"),
            StatusCode::BAD_REQUEST,
        ),
        (
            change(demo::PASSWORD, "liming-2026-new"),
            StatusCode::NO_CONTENT,
        ),
    ] {
        let r = h
            .call("PUT", paths::PASSWORD, Some(&member), Some(body))
            .await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    assert_eq!(
        h.call("GET", paths::ME, Some(&member), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.call("GET", paths::ME, Some(&elsewhere), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "other sessions end"
    );
    assert_eq!(
        h.try_login(MEMBER, "liming-2026-new").await.status,
        StatusCode::OK
    );
}

/// A phone's signing key for one person, as the browser keeps it, and its registration.
struct PhoneKey {
    key: p256::ecdsa::SigningKey,
    device: String,
}

impl PhoneKey {
    async fn registered(h: &Harness, token: &str, device: &str) -> PhoneKey {
        let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        let public = p256::ecdsa::VerifyingKey::from(&key)
            .to_encoded_point(false)
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>();
        let r = h
            .call(
                "PUT",
                paths::DEVICE_KEY,
                Some(token),
                Some(json!({"device_id": device, "public_key": public})),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        PhoneKey {
            key,
            device: device.to_owned(),
        }
    }

    fn sign(&self, author: i64, seq: u64, change: &Change) -> Mutation {
        use p256::ecdsa::signature::Signer;
        let mut m = Mutation::new(seq, new_id(), change, now_ms(), 0);
        let sig: p256::ecdsa::Signature = self
            .key
            .sign(m.signed_text(author, &self.device).as_bytes());
        m.sig = sig.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        m
    }
}

/// A file of unsent records as the phone writes it (payloads exactly as made).
fn unsent_file(author: i64, device: &str, records: &[Mutation]) -> String {
    serde_json::to_string(&crate::api::UnsentFile {
        app: crate::api::UnsentFile::APP.to_owned(),
        format: crate::api::UnsentFile::FORMAT,
        exported_at: now_ms(),
        device_id: device.to_owned(),
        user_id: author,
        user_name: "李明".to_owned(),
        records: records.to_vec(),
    })
    .unwrap()
}

async fn import(h: &Harness, token: &str, file: String) -> Reply {
    let req = axum::http::Request::builder()
        .method("POST")
        .uri(paths::IMPORT)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(file))
        .unwrap();
    h.send(req).await
}

#[tokio::test]
async fn a_signed_record_altered_on_the_way_is_refused_and_one_signed_elsewhere_too() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let liming = h.user_id(MEMBER).await;
    let phone = PhoneKey::registered(&h, &member, "liming-phone").await;
    let wrong = Change::SignIn(SignIn {
        activity_id: activity.clone(),
        code: "000000".into(),
        ..Default::default()
    });
    let mut altered = phone.sign(liming, 1, &wrong);
    altered.payload = Payload::of(&SignIn {
        activity_id: activity.clone(),
        code: code.clone(),
        ..Default::default()
    });
    let right = Change::SignIn(SignIn {
        activity_id: activity.clone(),
        code,
        ..Default::default()
    });
    let genuine = phone.sign(liming, 2, &right);
    // Signed with this key, but sent as if from another phone of the same person.
    let elsewhere = phone.sign(liming, 3, &right);
    let r = h.push(&member, "liming-phone", &[altered, genuine]).await;
    let statuses: Vec<&str> = r.body["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["quarantined", "applied"], "{}", r.text);
    assert!(r.text.contains("记录与签名不符"), "{}", r.text);
    let r = h.push(&member, "another-phone", &[elsewhere]).await;
    assert_eq!(r.body["receipts"][0]["status"], "quarantined", "{}", r.text);
}

#[tokio::test]
async fn a_lead_may_carry_a_members_signed_records_but_not_speak_for_them_unsigned() {
    use crate::api::{Consent, ConsentKind, FeedbackEntry, FeedbackTopic, StudyEntry};
    use crate::study::StudyKind;
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, code) = h.publish(&lead).await;
    let withdraw = Change::Consent(Consent {
        kind: ConsentKind::Location,
        granted: false,
        version: String::new(),
    });
    let complaint = |body: &str| {
        Change::Feedback(FeedbackEntry {
            feedback_id: new_id(),
            topic: FeedbackTopic::Complaint,
            body: body.into(),
        })
    };
    let sign_in = Change::SignIn(SignIn {
        activity_id: activity.clone(),
        code: code.clone(),
        ..Default::default()
    });
    let statuses = |r: &Reply| -> Vec<String> {
        r.body["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["status"].as_str().unwrap().to_owned())
            .collect()
    };

    // 张伟's phone has no signing key (an older app): the lead may carry in only his sign-in, request or
    // study record, and what they carry proves nothing and is not theirs to decide.
    let zhang = h.user_id("13800000004").await;
    let study = StudyEntry {
        study_id: new_id(),
        kind: StudyKind::SelfStudy,
        title: "自学党章".into(),
        starts_on: "2026-11-02".into(),
        ends_on: "2026-11-02".into(),
        hours: Hours::whole(8),
        submit: true,
        ..Default::default()
    };
    let forged: Vec<Mutation> = [
        withdraw.clone(),
        complaint("书记代我撤回了投诉"),
        sign_in.clone(),
        Change::SaveStudy(study.clone()),
    ]
    .iter()
    .enumerate()
    .map(|(i, c)| Mutation::new(i as u64 + 1, new_id(), c, now_ms(), 0))
    .collect();
    let r = import(&h, &lead, unsent_file(zhang, "zhang-phone", &forged)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        statuses(&r),
        ["quarantined", "quarantined", "applied", "applied"],
        "{}",
        r.text
    );
    assert!(r.text.contains("未经本人签名"), "{}", r.text);
    assert_eq!(
        row(&h, &activity, "13800000004").await,
        ("signed_in".into(), true, None),
        "the lead knows the code: a carried sign-in proves nothing"
    );
    let review = Change::ReviewStudy(crate::api::ReviewStudy {
        study_id: study.study_id.clone(),
        version: 1,
        credited: Some(Hours::whole(8)),
        comment: String::new(),
    });
    let carried = h
        .rows(&format!(
            "SELECT count(*) FROM study_records WHERE id = '{}' AND carried_by = {}",
            study.study_id,
            h.user_id(LEAD).await
        ))
        .await;
    assert_eq!(carried, 1);
    let (status, reason) = now_send(&h, &lead, review).await;
    assert_eq!(
        status, "quarantined",
        "the carrier does not recognise what they carried"
    );
    assert!(reason.contains("代为导入"), "{reason}");

    // 李明's phone signs: nothing of his may be carried in unsigned any more.
    let member = h.login(MEMBER).await;
    let liming = h.user_id(MEMBER).await;
    let phone = PhoneKey::registered(&h, &member, "liming-phone").await;
    let unsigned = Mutation::new(1, new_id(), &sign_in, now_ms(), 0);
    let r = import(&h, &lead, unsent_file(liming, "liming-phone", &[unsigned])).await;
    assert_eq!(statuses(&r), ["quarantined"], "{}", r.text);
    // His own signed consent, exported from his phone, carried by the lead: his, and the carrier named.
    let signed = phone.sign(liming, 10, &withdraw);
    let r = import(
        &h,
        &lead,
        unsent_file(liming, "liming-phone", std::slice::from_ref(&signed)),
    )
    .await;
    assert_eq!(r.body["receipts"][0]["status"], "applied", "{}", r.text);
    let lead_id = h.user_id(LEAD).await;
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM mutations WHERE id = '{}' AND user_id = {liming} AND imported_by = {lead_id}",
            signed.id
        ))
        .await,
        1
    );
    // A carrier who alters his signed complaint gets it refused — and the genuine one still arrives.
    let genuine = phone.sign(liming, 11, &complaint("书记不按时组织活动"));
    let mut altered = genuine.clone();
    altered.payload = Payload::of(&FeedbackEntry {
        feedback_id: new_id(),
        topic: FeedbackTopic::Suggestion,
        body: "没有意见".into(),
    });
    let r = import(&h, &lead, unsent_file(liming, "liming-phone", &[altered])).await;
    assert_eq!(statuses(&r), ["quarantined"], "{}", r.text);
    let r = h.push(&member, "liming-phone", &[genuine]).await;
    assert_eq!(statuses(&r), ["applied"], "{}", r.text);

    // A lead's own records cannot be carried in unsigned by someone else either.
    let admin = h.login(ADMIN).await;
    let cancel = Change::CancelActivity(crate::api::Cancel {
        activity_id: activity.clone(),
        reason: "代为取消".into(),
    });
    let file = serde_json::to_string(&crate::api::UnsentFile {
        app: crate::api::UnsentFile::APP.to_owned(),
        format: crate::api::UnsentFile::FORMAT,
        exported_at: now_ms(),
        device_id: "lead-phone".into(),
        user_id: lead_id,
        user_name: "王建国".into(),
        records: vec![Mutation::new(5, new_id(), &cancel, now_ms(), 0)],
    })
    .unwrap();
    let r = import(&h, &admin, file).await;
    assert_eq!(statuses(&r), ["quarantined"], "{}", r.text);
}

#[tokio::test]
async fn every_audit_row_of_an_imported_record_names_who_carried_it_in() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let lead_id = h.user_id(LEAD).await;
    let (activity, _) = h.publish(&lead).await;
    let phone = PhoneKey::registered(&h, &lead, "lead-phone").await;
    let confirm = Change::Confirm(Confirm {
        activity_id: activity,
        member_id: h.user_id(MEMBER).await,
    });
    let admin = h.login(ADMIN).await;
    let file = json!({
        "app": "hongyan-unsent", "format": 1, "exported_at": now_ms(), "device_id": "lead-phone",
        "user_id": lead_id, "user_name": "王建国", "records": [phone.sign(lead_id, 9, &confirm)],
    });
    let r = h
        .call("POST", paths::IMPORT, Some(&admin), Some(file))
        .await;
    assert_eq!(r.body["receipts"][0]["status"], "applied", "{}", r.text);
    let admin_id = h.user_id(ADMIN).await;
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM audit_log WHERE action = 'mark_present' AND actor_id = {lead_id} AND imported_by = {admin_id}"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn an_oversized_record_is_refused_and_kept_only_in_part() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let (activity, _) = h.publish(&lead).await;
    let member = h.login(MEMBER).await;
    let huge = Change::SignIn(SignIn {
        activity_id: activity,
        code: "1".repeat(200_000),
        ..Default::default()
    });
    let m = Mutation::new(1, new_id(), &huge, now_ms(), 0);
    let r = h.push(&member, "script", std::slice::from_ref(&m)).await;
    assert_eq!(r.body["receipts"][0]["status"], "quarantined", "{}", r.text);
    assert!(r.text.contains("记录内容过大"), "{}", r.text);
    assert!(
        h.rows(&format!(
            "SELECT CAST(length(payload) AS BIGINT) FROM refused_records WHERE record_id = '{}'",
            m.id
        ))
        .await
            <= 2_048
    );
    // A reason no lead would write, on a decision that needs none, is refused too.
    let decision = Change::Decide(Decide {
        activity_id: h.publish(&lead).await.0,
        member_id: h.user_id(MEMBER).await,
        decision: Decision::Exempt,
        reason: "长".repeat(1_000),
    });
    assert_eq!(now_send(&h, &lead, decision).await.0, "quarantined");
}

#[tokio::test]
async fn a_person_cannot_fill_the_database_and_loses_nothing_trying() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let liming = h.user_id(MEMBER).await;
    // Today's records so far, as if a script had sent them.
    db::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO mutations (id, device_id, user_id, seq, kind, payload, device_time, server_offset_ms, status,
                                server_seq, received_at)
         SELECT 'flood-' || i, 'script', $2, i, 'feedback', '{}', 0, 0, 'quarantined', 0, $3 FROM n",
    )
    .bind(crate::server::sync::MAX_RECORDS_PER_DAY)
    .bind(liming)
    .bind(now_ms())
    .execute(&h.db.writer)
    .await
    .unwrap();
    let r = h
        .push(
            &member,
            "phone",
            &[Mutation::new(
                1,
                new_id(),
                &Change::Consent(Default::default()),
                now_ms(),
                0,
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert!(r.text.contains("记录仍保存在手机上"), "{}", r.text);
}

/// A script that sends many pushes at once, each checked before any is stored, still stops at the quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pushes_sent_at_once_do_not_overshoot_the_daily_quota() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let liming = h.user_id(MEMBER).await;
    let max = crate::server::sync::MAX_RECORDS_PER_DAY;
    db::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO mutations (id, device_id, user_id, seq, kind, payload, device_time, server_offset_ms, status,
                                server_seq, received_at)
         SELECT 'flood-' || i, 'script', $2, i, 'feedback', '{}', 0, 0, 'quarantined', 0, $3 FROM n",
    )
    .bind(max - 10)
    .bind(liming)
    .bind(now_ms())
    .execute(&h.db.writer)
    .await
    .unwrap();
    let mut pushes = tokio::task::JoinSet::new();
    for p in 0..20 {
        let (h, member) = (h.clone(), member.clone());
        pushes.spawn(async move {
            let records: Vec<Mutation> = (0..5)
                .map(|i| {
                    // A consent to location sign-in: harmless to repeat (the default, a withdrawn privacy
                    // consent, would close the account while the other pushes are still arriving).
                    let change = Change::Consent(Consent {
                        kind: ConsentKind::Location,
                        granted: true,
                        ..Default::default()
                    });
                    Mutation::new(p * 5 + i + 1, new_id(), &change, now_ms(), 0)
                })
                .collect();
            h.push(&member, "phone", &records).await.status
        });
    }
    let statuses = pushes.join_all().await;
    let stored = h
        .rows(&format!(
            "SELECT count(*) FROM mutations WHERE user_id = {liming}"
        ))
        .await;
    assert!(
        stored <= max,
        "{stored} records stored, over the quota of {max}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        2,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn evidence_photos_have_a_quota_per_person() {
    use crate::api::StudyEntry;
    use crate::study::StudyKind;
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let liming = h.user_id(MEMBER).await;
    let entry = |title: &str| StudyEntry {
        study_id: new_id(),
        kind: StudyKind::SelfStudy,
        title: title.into(),
        starts_on: "2026-11-02".into(),
        ends_on: "2026-11-02".into(),
        hours: Hours::whole(2),
        submit: true,
        ..Default::default()
    };
    let first = entry("学习党章");
    assert_eq!(
        now_send(&h, &member, Change::SaveStudy(first.clone()))
            .await
            .0,
        "applied"
    );
    // Forty megabytes of photos already kept for other records.
    db::query(
        "INSERT INTO study_records (id, user_id, kind, title, organiser, starts_on, ends_on, hours, status, created_at,
                                    server_seq) VALUES ('bulk', $1, 'self_study', 'x', '', '2026-01-01', '2026-01-01', 2,
                                    'pending', 0, 0)",
    )
    .bind(liming)
    .execute(&h.db.writer)
    .await
    .unwrap();
    let forty_mib = match super::engine() {
        Engine::Sqlite => "zeroblob(41943040)",
        Engine::Postgres => "repeat('x', 41943040)",
    };
    db::query(&format!("INSERT INTO study_evidence (study_id, data_url, uploaded_at) VALUES ('bulk', {forty_mib}, 0)"))
        .execute(&h.db.writer)
        .await
        .unwrap();
    let photo = json!({"data_url": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ=="});
    let r = h
        .call(
            "PUT",
            &paths::evidence(&first.study_id),
            Some(&member),
            Some(photo),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("已达上限"), "{}", r.text);
}

#[tokio::test]
async fn my_data_holds_everything_kept_about_me_and_withdrawing_consent_stops_the_account() {
    use crate::api::{Consent, ConsentKind};
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let liming = h.user_id(MEMBER).await;
    let profile = json!({
        "membership": "full", "post": "", "tags": "流动党员", "audience": "member", "group_id": null,
        "mobile": {"destination": "上海市浦东新区", "starts_on": "2026-03-01", "card_no": "苏流2026-0012"},
        "exemptions": [{"reason": "孕产", "until": "2020-12-31"}],
    });
    let r = h
        .call("PUT", &paths::member(liming), Some(&admin), Some(profile))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let a = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        starts_at: now + 2 * HOUR,
        ends_at: now + 3 * HOUR,
        secret: crate::life::secret_hex(rand::random()),
        fence: Some(Fence::around(31.2304, 121.4737, 200)),
        ..Default::default()
    };
    let (status, reason) = now_send(&h, &lead, Change::CreateActivity(a.clone())).await;
    assert_eq!(status, "applied", "{reason}");
    let member = h.login(MEMBER).await;
    let leave = Change::Request(Request {
        activity_id: a.activity_id.clone(),
        kind: RequestKind::Leave,
        category: Some(LeaveCategory::Personal),
        reason: "家中有事".into(),
    });
    assert_eq!(now_send(&h, &member, leave).await.0, "applied");
    let data = h.call("GET", paths::MY_DATA, Some(&member), None).await;
    assert_eq!(data.status, StatusCode::OK, "{}", data.text);
    let body = &data.body;
    assert_eq!(
        body["profile"]["mobile"]["card_no"], "苏流2026-0012",
        "{}",
        data.text
    );
    assert_eq!(body["profile"]["exemptions"][0]["reason"], "孕产");
    let mine = body["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["row"]["activity_id"] == a.activity_id.as_str())
        .unwrap();
    assert_eq!(mine["row"]["category"], "personal", "{mine}");
    assert!(
        body["audit"].to_string().contains("修改成员资料"),
        "what the admin changed about me: {}",
        body["audit"]
    );

    // A location sign-in without the separate consent is refused by the server as well as the phone.
    // Withdrawing the privacy consent stops the account, as the notice says.
    let withdraw = Change::Consent(Consent {
        kind: ConsentKind::Privacy,
        granted: false,
        version: String::new(),
    });
    assert_eq!(now_send(&h, &member, withdraw).await.0, "applied");
    assert_eq!(
        h.call("GET", paths::ME, Some(&member), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.try_login(MEMBER, demo::PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let (activity, _) = h.publish(&lead).await;
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM attendance WHERE activity_id = '{activity}' AND member_id = {liming}"
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn a_location_sign_in_needs_the_members_own_consent_on_record() {
    use crate::api::{Consent, ConsentKind};
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let a = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        starts_at: now - HOUR,
        ends_at: now + HOUR,
        secret: crate::life::secret_hex(rand::random()),
        fence: Some(Fence::around(31.2304, 121.4737, 200)),
        ..Default::default()
    };
    assert_eq!(
        now_send(&h, &lead, Change::CreateActivity(a.clone()))
            .await
            .0,
        "applied"
    );
    let member = h.login(MEMBER).await;
    let by_location = Change::SignIn(SignIn {
        activity_id: a.activity_id.clone(),
        code: String::new(),
        location: Some(crate::life::LocationCheck {
            inside: true,
            distance_m: 30,
            accuracy_m: 20,
        }),
    });
    let (status, reason) = now_send(&h, &member, by_location.clone()).await;
    assert_eq!(status, "quarantined");
    assert!(reason.contains("位置签到"), "{reason}");
    let consent = |granted| {
        Change::Consent(Consent {
            kind: ConsentKind::Location,
            granted,
            version: String::new(),
        })
    };
    assert_eq!(now_send(&h, &member, consent(true)).await.0, "applied");
    assert_eq!(now_send(&h, &member, by_location).await.0, "applied");
}

#[tokio::test]
async fn the_security_log_sees_logins_refusals_exports_and_imports_but_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("security.log");
    let log = std::sync::Arc::new(crate::server::security::SecurityLog::open(&path).unwrap());
    let h = Harness::with(|state| state.security = log).await;
    assert_eq!(
        h.try_login(LEAD, "guess-1").await.status,
        StatusCode::UNAUTHORIZED
    );
    let lead = h.login(LEAD).await;
    let member = h.login(MEMBER).await;
    let (activity, _) = h.publish(&lead).await;
    assert_eq!(
        h.call(
            "GET",
            &paths::register(&activity, "csv"),
            Some(&member),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call("GET", &paths::register(&activity, "csv"), Some(&lead), None)
            .await
            .status,
        StatusCode::OK
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for kind in ["login_failed", "login", "forbidden", "export"] {
        assert!(kinds.contains(&kind), "{kind}: {kinds:?}");
    }
    let export = events.iter().find(|e| e["event"] == "export").unwrap();
    assert_eq!(export["what"], "register");
    assert_eq!(export["rows"], 6, "{export}");
    assert!(
        !text.contains("guess-1") && !text.contains(&lead) && !text.contains(LEAD),
        "{text}"
    );
}

#[tokio::test]
async fn an_admin_adds_an_authenticator_and_a_stolen_password_is_not_enough() {
    use crate::server::two_factor::{code, matching_step};
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let r = h.call("POST", paths::TWO_FACTOR, Some(&member), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let admin = h.login(ADMIN).await;
    let r = h.call("POST", paths::TWO_FACTOR, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let hex: String = db::query_scalar("SELECT totp_pending FROM users WHERE phone = $1")
        .bind(ADMIN)
        .fetch_one(&h.db.reader)
        .await
        .unwrap();
    let secret: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let now_code = |offset: i64| code(&secret, (now_ms() / 1_000) / 30 + offset);
    let on = |code: String| json!({"enabled": true, "code": code});
    let r = h
        .call(
            "PUT",
            paths::TWO_FACTOR,
            Some(&admin),
            Some(on("000000".into())),
        )
        .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST || now_code(0) == "000000",
        "{}",
        r.text
    );
    // The code just shown enables it; a later login uses a newer one.
    let r = h
        .call(
            "PUT",
            paths::TWO_FACTOR,
            Some(&admin),
            Some(on(now_code(-1))),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        h.call("GET", paths::ME, Some(&admin), None).await.body["two_factor"],
        true
    );

    // The password alone: asked for the code.
    let r = h.try_login(ADMIN, demo::PASSWORD).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.body["code"], "otp_required");
    let with = |otp: String| json!({"phone": ADMIN, "password": demo::PASSWORD, "otp": otp});
    let r = h
        .call("POST", paths::LOGIN, None, Some(with(now_code(0))))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The same code again (seen over a shoulder): refused.
    let r = h
        .call("POST", paths::LOGIN, None, Some(with(now_code(0))))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert!(matching_step(&secret, &now_code(0), now_ms()).is_some());
}

#[tokio::test]
async fn a_lead_signing_in_with_the_code_they_hold_proves_nothing_and_cannot_erase_their_own_mark()
{
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let own = Change::Confirm(Confirm {
        activity_id: a.activity_id.clone(),
        member_id: h.user_id(LEAD).await,
    });
    assert_eq!(now_send(&h, &lead, own).await.0, "applied");
    assert_eq!(now_send(&h, &lead, sign(&a, now_ms())).await.0, "applied");
    let marked: i64 = h
        .rows(&format!(
            "SELECT CAST((CASE WHEN self_marked THEN 1 ELSE 0 END) + (CASE WHEN code_unverified THEN 1 ELSE 0 END) AS BIGINT) FROM attendance WHERE activity_id = '{}' AND member_id = {}",
            a.activity_id,
            h.user_id(LEAD).await
        ))
        .await;
    assert_eq!(marked, 2, "still their own statement");
    // And not a day ahead of the meeting.
    let later = publish(&h, &lead, ActivityKind::ThemeDay, 24 * HOUR, 2).await;
    let early = Change::Confirm(Confirm {
        activity_id: later.activity_id.clone(),
        member_id: h.user_id(LEAD).await,
    });
    assert_eq!(now_send(&h, &lead, early).await.0, "quarantined");
}

#[tokio::test]
async fn signature_checks_cost_little_whatever_a_script_sends() {
    let h = Harness::new().await;
    let member = h.login(MEMBER).await;
    let liming = h.user_id(MEMBER).await;
    // Keys on one phone are few: each is tried on every signed record.
    for i in 0..3 {
        PhoneKey::registered(&h, &member, "cpu").await;
        let _ = i;
    }
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let public: String = p256::ecdsa::VerifyingKey::from(&key)
        .to_encoded_point(false)
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let r = h
        .call(
            "PUT",
            paths::DEVICE_KEY,
            Some(&member),
            Some(json!({"device_id": "cpu", "public_key": public})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // Two hundred records with signatures that do not match: refused, tried against three keys at most.
    let batch: Vec<Mutation> = (1..=200u64)
        .map(|i| {
            let mut m = Mutation::new(
                i,
                new_id(),
                &Change::Consent(Default::default()),
                now_ms(),
                0,
            );
            m.sig = "ab".repeat(64);
            m
        })
        .collect();
    let r = h.push(&member, "cpu", &batch).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        r.body["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["status"] == "quarantined" && x["server_seq"] == 0)
    );
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM mutations WHERE user_id = {liming}"
        ))
        .await,
        0,
        "refused before they were applied: kept apart, under no id"
    );
}

#[tokio::test]
async fn leave_that_arrives_after_the_start_is_marked_and_complaints_are_dated_by_the_server() {
    use crate::api::{FeedbackEntry, FeedbackTopic};
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let member = h.login(MEMBER).await;
    let leave = Change::Request(Request {
        activity_id: a.activity_id.clone(),
        kind: RequestKind::Leave,
        category: Some(LeaveCategory::Work),
        reason: "加班".into(),
    });
    // A script claims a time before the start, and no last sync at all.
    let (status, _) = send(&h, &member, leave, a.starts_at - HOUR, 0).await;
    assert_eq!(status, "applied");
    let pulled = h.pull(&lead, 0).await;
    let view: crate::api::AttendanceView = serde_json::from_value(
        pulled["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["member_name"] == "李明" && r["activity_id"] == a.activity_id.as_str())
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert!(
        view.proof_notes()
            .contains(&"请假在活动开始后才送达服务器".to_owned()),
        "{view:?}"
    );
    let complaint = Change::Feedback(FeedbackEntry {
        feedback_id: new_id(),
        topic: FeedbackTopic::Complaint,
        body: "去年的投诉".into(),
    });
    let (status, _) = send(&h, &member, complaint, now_ms() - 400 * 24 * HOUR, 0).await;
    assert_eq!(status, "applied");
    let dated = h.rows("SELECT created_at FROM feedback").await;
    assert!(now_ms() - dated < 60_000, "dated by the server");
    // And the admins' inbox is not a place to flood.
    let mut refused = 0;
    for i in 0..25 {
        let f = Change::Feedback(FeedbackEntry {
            feedback_id: new_id(),
            topic: FeedbackTopic::Suggestion,
            body: format!("建议{i}"),
        });
        if now_send(&h, &member, f).await.0 == "quarantined" {
            refused += 1;
        }
    }
    assert_eq!(refused, 6, "twenty a day");
}
