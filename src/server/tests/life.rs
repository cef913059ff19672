//! Organisational life through the real router: the rotating code, requests and decisions, cancelling,
//! editing and closing, the register export and the quiet list — each with the roles and a foreign branch.

use super::*;
use crate::api::{Cancel, CloseRecord, Decide, Request};
use crate::life::{ActivityMode, Decision, LeaveCategory, RequestKind, code_at, secret_hex};
use crate::server::db;

const GUEST: &str = "13800000010";
const PROBATIONARY: &str = "13800000005";
const ADMIN: &str = "13800000009";
pub(super) const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Publishes a rotating-code activity of `kind` from `starts` (relative to now) lasting `hours`.
pub(super) async fn publish(
    h: &Harness,
    lead: &str,
    kind: ActivityKind,
    starts: i64,
    hours: i64,
) -> NewActivity {
    let now = now_ms();
    let a = NewActivity {
        activity_id: new_id(),
        kind,
        title: "支部党员大会".into(),
        place: "项目部会议室".into(),
        starts_at: now + starts,
        ends_at: now + starts + hours * HOUR,
        mode: ActivityMode::Hybrid,
        secret: secret_hex(rand::random()),
        ..Default::default()
    };
    let (status, reason) = send(h, lead, Change::CreateActivity(a.clone()), now, 0).await;
    assert_eq!(status, "applied", "{reason}");
    a
}

/// Pushes one record made at `device_time` by a phone whose offset to the server is `offset`.
pub(super) async fn send(
    h: &Harness,
    token: &str,
    change: Change,
    device_time: i64,
    offset: i64,
) -> (String, String) {
    let m = Mutation::new(1, new_id(), &change, device_time, offset);
    pushed(h, token, m).await
}

pub(super) async fn now_send(h: &Harness, token: &str, change: Change) -> (String, String) {
    send(h, token, change, now_ms(), 0).await
}

pub(super) async fn row(
    h: &Harness,
    activity: &str,
    phone: &str,
) -> (String, bool, Option<String>) {
    db::query_as(
        "SELECT t.status, t.code_unverified, t.reason FROM attendance t JOIN users u ON u.id = t.member_id
         WHERE t.activity_id = $1 AND u.phone = $2",
    )
    .bind(activity)
    .bind(phone)
    .fetch_one(&h.db.reader)
    .await
    .unwrap()
}

pub(super) fn sign(activity: &NewActivity, at: i64) -> Change {
    Change::SignIn(SignIn {
        activity_id: activity.activity_id.clone(),
        code: code_at(&activity.secret, at, activity.code_step_ms),
        ..Default::default()
    })
}

fn request(activity: &str, kind: RequestKind, reason: &str) -> Change {
    Change::Request(Request {
        activity_id: activity.into(),
        kind,
        category: (kind == RequestKind::Leave).then_some(LeaveCategory::Work),
        reason: reason.into(),
    })
}

fn decide(activity: &str, member_id: i64, decision: Decision, reason: &str) -> Change {
    Change::Decide(Decide {
        activity_id: activity.into(),
        member_id,
        decision,
        reason: reason.into(),
    })
}

#[tokio::test]
async fn a_rotating_code_is_judged_at_the_time_the_member_claims_and_a_mismatch_is_flagged_not_lost()
 {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -2 * HOUR, 3).await;
    let now = now_ms();

    // Signed in offline 90 minutes ago with the code shown then; the record arrives only now.
    let member = h.login(MEMBER).await;
    let then = now - 90 * 60_000;
    assert_eq!(
        send(&h, &member, sign(&a, then), then, 0).await.0,
        "applied"
    );
    assert_eq!(
        row(&h, &a.activity_id, MEMBER).await,
        ("signed_in".into(), false, None)
    );

    // A phone whose clock is an hour slow: its known offset puts the claim at the true time.
    let other = h.login("13800000004").await;
    let slow = now - HOUR;
    assert_eq!(
        send(&h, &other, sign(&a, now), slow, HOUR).await.0,
        "applied"
    );
    assert!(!row(&h, &a.activity_id, "13800000004").await.1);

    // Today's code claimed for 90 minutes ago does not verify: kept, 待确认, flagged for the lead.
    let third = h.login(PROBATIONARY).await;
    let (status, _) = send(&h, &third, sign(&a, now), then, 0).await;
    assert_eq!(status, "applied");
    assert_eq!(
        row(&h, &a.activity_id, PROBATIONARY).await,
        ("signed_in".into(), true, None)
    );
    let pulled = h.pull(&lead, 0).await;
    let flagged: Vec<_> = pulled["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["code_unverified"] == true)
        .collect();
    assert_eq!(flagged.len(), 1, "the lead sees the flag");

    // Only the branch's lead receives the secret.
    let secret_of = |v: &Value| v["activities"][1]["secret"].clone();
    assert_eq!(secret_of(&pulled), json!(a.secret));
    assert_eq!(secret_of(&h.pull(&member, 0).await), Value::Null);
}

#[tokio::test]
async fn leave_is_asked_before_the_start_and_only_the_branch_lead_decides_it() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, 2 * HOUR, 2).await;
    let id = a.activity_id.as_str();
    let member = h.login(MEMBER).await;
    let member_id = h.user_id(MEMBER).await;

    let (status, reason) = now_send(&h, &member, request(id, RequestKind::Leave, "  ")).await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("quarantined", "请填写请假事由")
    );
    let late = now_ms() + 3 * HOUR;
    let (status, reason) = send(
        &h,
        &member,
        request(id, RequestKind::Leave, "出差"),
        late,
        0,
    )
    .await;
    assert_eq!(status, "quarantined");
    assert!(reason.starts_with("活动已开始"), "{reason}");
    assert_eq!(
        now_send(&h, &member, request(id, RequestKind::Leave, "外地施工"))
            .await
            .0,
        "applied"
    );
    assert_eq!(row(&h, id, MEMBER).await.0, "leave_pending");

    // Neither a member, nor another branch's lead, may decide it.
    let refusals = [
        (member.clone(), "只有党支部书记可以管理活动"),
        (h.login(OTHER_LEAD).await, "只能管理本支部的活动"),
        (h.login(ADMIN).await, "只有党支部书记可以管理活动"),
    ];
    for (token, why) in refusals {
        let r = now_send(
            &h,
            &token,
            decide(id, member_id, Decision::ApproveLeave, ""),
        )
        .await;
        assert_eq!(r, ("quarantined".into(), why.into()));
    }
    assert_eq!(
        now_send(&h, &lead, decide(id, member_id, Decision::ApproveLeave, ""))
            .await
            .0,
        "applied"
    );
    assert_eq!(
        row(&h, id, MEMBER).await,
        ("leave".into(), false, Some("外地施工".into()))
    );
    let audited = h
        .rows("SELECT count(*) FROM audit_log WHERE action = 'decide' AND subject LIKE '%准假%'")
        .await;
    assert_eq!(audited, 1);

    // Refusing leave needs a reason, which the member sees; the absence then needs its own.
    let other = h.login("13800000004").await;
    now_send(&h, &other, request(id, RequestKind::Leave, "家中有事")).await;
    let other_id = h.user_id("13800000004").await;
    let r = now_send(&h, &lead, decide(id, other_id, Decision::RejectLeave, "")).await;
    assert_eq!(r, ("quarantined".into(), "请填写原因".into()));
    let r = now_send(
        &h,
        &lead,
        decide(id, other_id, Decision::RejectLeave, "本次会议需全员参加"),
    )
    .await;
    assert_eq!(r.0, "applied");
    let pulled = h.pull(&other, 0).await;
    let mine = &pulled["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["activity_id"] == id)
        .unwrap()
        .clone();
    assert_eq!(mine["status"], "pending");
    assert_eq!(mine["lead_note"], "本次会议需全员参加");
    assert_eq!(mine.get("reason"), None);
    h.assert_kept_counts().await;
}

#[tokio::test]
async fn make_ups_are_asked_within_the_window_approved_or_refused_and_study_is_recorded() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    // Ended a day ago (recorded the day after: within the backdating limit).
    let a = publish(&h, &lead, ActivityKind::PartyLecture, -DAY - 2 * HOUR, 2).await;
    let id = a.activity_id.as_str();
    let (member, other) = (h.login(MEMBER).await, h.login("13800000004").await);
    let (member_id, other_id) = (h.user_id(MEMBER).await, h.user_id("13800000004").await);

    assert_eq!(
        now_send(
            &h,
            &member,
            request(id, RequestKind::Makeup, "工地没有信号")
        )
        .await
        .0,
        "applied"
    );
    assert_eq!(
        now_send(&h, &other, request(id, RequestKind::Makeup, "忘记签到"))
            .await
            .0,
        "applied"
    );
    assert_eq!(row(&h, id, MEMBER).await.0, "makeup_pending");
    assert_eq!(
        now_send(
            &h,
            &lead,
            decide(id, member_id, Decision::ApproveMakeup, "")
        )
        .await
        .0,
        "applied"
    );
    assert_eq!(row(&h, id, MEMBER).await.0, "made_up");
    let r = now_send(
        &h,
        &lead,
        decide(id, other_id, Decision::RejectMakeup, "当天未见到本人"),
    )
    .await;
    assert_eq!(r.0, "applied");
    assert_eq!(row(&h, id, "13800000004").await.0, "makeup_rejected");

    // After the window (3 days by default) it is too late for 补签, but 补学 can be recorded.
    let third = h.login(PROBATIONARY).await;
    let late = now_ms() + 3 * DAY;
    let (status, reason) = send(&h, &third, request(id, RequestKind::Makeup, "x"), late, 0).await;
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("quarantined", "已超过补签期限，可登记补学")
    );
    let r = send(
        &h,
        &third,
        request(id, RequestKind::Study, "自学党课讲稿并写体会"),
        late,
        0,
    )
    .await;
    assert_eq!(r.0, "applied");
    let study: String = db::query_scalar(
        "SELECT t.study FROM attendance t JOIN users u ON u.id = t.member_id WHERE u.phone = $1 AND t.activity_id = $2",
    )
    .bind(PROBATIONARY)
    .bind(id)
    .fetch_one(&h.db.reader)
    .await
    .unwrap();
    assert_eq!(study, "自学党课讲稿并写体会");
    h.assert_kept_counts().await;
}

#[tokio::test]
async fn a_record_closes_only_when_settled_and_then_takes_no_more_records() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::GeneralMeeting, -3 * HOUR, 2).await;
    let id = a.activity_id.as_str();
    let close = |host: &str| {
        Change::CloseRecord(CloseRecord {
            activity_id: id.into(),
            host: host.into(),
            recorder: "李明".into(),
            online_note: String::new(),
        })
    };
    let (status, reason) = now_send(&h, &lead, close("王建国")).await;
    assert_eq!(status, "quarantined");
    assert!(reason.starts_with("请填写缺席原因："), "{reason}");
    assert!(
        reason.contains("李明") && reason.contains("钱鹏"),
        "{reason}"
    );

    // Everyone is settled: two marked present, the rest absent with a reason; one exempt.
    let ids: Vec<(i64, String)> = db::query_as(
        "SELECT u.id, u.phone FROM attendance t JOIN users u ON u.id = t.member_id WHERE t.activity_id = $1",
    )
    .bind(id)
    .fetch_all(&h.db.reader)
    .await
    .unwrap();
    for (member_id, phone) in &ids {
        let change = match phone.as_str() {
            LEAD | MEMBER => Change::Confirm(Confirm {
                activity_id: id.into(),
                member_id: *member_id,
            }),
            "13800000006" => decide(id, *member_id, Decision::Exempt, "长期患病"),
            _ => decide(id, *member_id, Decision::Absent, "外地施工未能返回"),
        };
        assert_eq!(now_send(&h, &lead, change).await.0, "applied");
    }
    assert_eq!(now_send(&h, &lead, close(" ")).await.1, "请填写主持人");
    assert_eq!(
        now_send(&h, &h.login(OTHER_LEAD).await, close("x")).await.1,
        "只能管理本支部的活动"
    );
    assert_eq!(now_send(&h, &lead, close("王建国")).await.0, "applied");
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM activities WHERE id = '{id}' AND state = 'closed'"
        ))
        .await,
        1
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'close_record'")
            .await,
        1
    );

    // Closed: nothing more is recorded on it.
    let member = h.login(PROBATIONARY).await;
    let why = "会议记录已归档，如需更正请联系党支部书记";
    assert_eq!(
        now_send(&h, &member, request(id, RequestKind::Makeup, "x"))
            .await
            .1,
        why
    );
    assert_eq!(now_send(&h, &lead, close("王建国")).await.1, why);
    let edit = Change::EditActivity(NewActivity {
        title: "改".into(),
        ..a.clone()
    });
    assert_eq!(now_send(&h, &lead, edit).await.1, why);
    let pulled = h.pull(&lead, 0).await;
    let record = &pulled["activities"][1]["record"];
    assert_eq!(record["host"], "王建国");
    h.assert_kept_counts().await;
}

#[tokio::test]
async fn edits_and_cancellations_reach_members_and_a_cancelled_activity_refuses_sign_ins() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 3).await;
    let edit = NewActivity {
        title: "主题党日（改在食堂）".into(),
        place: "工地食堂".into(),
        ..a.clone()
    };
    assert_eq!(
        now_send(&h, &lead, Change::EditActivity(edit)).await.0,
        "applied"
    );
    let member = h.login(MEMBER).await;
    let pulled = h.pull(&member, 0).await;
    assert_eq!(pulled["activities"][1]["place"], "工地食堂");

    let cancel = |reason: &str| {
        Change::CancelActivity(Cancel {
            activity_id: a.activity_id.clone(),
            reason: reason.into(),
        })
    };
    assert_eq!(
        now_send(&h, &member, cancel("x")).await.1,
        "只有党支部书记可以管理活动"
    );
    assert_eq!(
        now_send(&h, &lead, cancel("")).await.1,
        "请填写取消原因（200字以内）"
    );
    assert_eq!(
        now_send(&h, &lead, cancel("台风预警，改期举行")).await.0,
        "applied"
    );
    let now = now_ms();
    assert_eq!(
        send(&h, &member, sign(&a, now), now, 0).await.1,
        "活动已取消"
    );
    let pulled = h.pull(&member, 0).await;
    assert_eq!(pulled["activities"][1]["state"], "cancelled");
    assert_eq!(
        pulled["activities"][1]["cancel_reason"],
        "台风预警，改期举行"
    );
    let audited = h
        .rows("SELECT count(*) FROM audit_log WHERE action IN ('edit_activity', 'cancel_activity')")
        .await;
    assert_eq!(audited, 2);

    // No backdating beyond the limit (30 days by default).
    let old = NewActivity {
        activity_id: new_id(),
        starts_at: now - 31 * DAY,
        ends_at: now - 31 * DAY + HOUR,
        ..a
    };
    let r = now_send(&h, &lead, Change::CreateActivity(old)).await;
    assert_eq!(r, ("quarantined".into(), "不能补录30天以前的活动".into()));
    h.assert_kept_counts().await;
}

#[tokio::test]
async fn guests_and_exemptions_are_on_the_frozen_roster_and_quorum_counts_only_voting_members() {
    let h = Harness::new().await;
    let chen = h.user_id("13800000006").await;
    db::query("INSERT INTO exemptions (user_id, reason, until_at) VALUES ($1, '产假', $2)")
        .bind(chen)
        .bind(now_ms() + 30 * DAY)
        .execute(&h.db.writer)
        .await
        .unwrap();
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::GeneralMeeting, -HOUR, 2).await;
    let id = a.activity_id.as_str();
    assert_eq!(
        row(&h, id, "13800000006").await,
        ("exempt".into(), false, Some("产假".into()))
    );
    let guest_row: bool = db::query_scalar(
        "SELECT t.guest FROM attendance t JOIN users u ON u.id = t.member_id WHERE u.phone = $1 AND t.activity_id = $2",
    )
    .bind(GUEST)
    .bind(id)
    .fetch_one(&h.db.reader)
    .await
    .unwrap();
    assert!(guest_row);

    // The guest sees the host branch's activity and signs in; their own branch's people do not see it.
    let guest = h.login(GUEST).await;
    let pulled = h.pull(&guest, 0).await;
    assert!(
        pulled["activities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id)
    );
    let now = now_ms();
    assert_eq!(send(&h, &guest, sign(&a, now), now, 0).await.0, "applied");
    let cadre = h.login(CADRE).await;
    assert!(
        !h.pull(&cadre, 0).await["activities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id)
    );

    // Present: the lead, the probationary member and the guest. Voting: 王建国, 李明, 张伟 (陈静 exempt).
    for phone in [LEAD, PROBATIONARY] {
        let member_id = h.user_id(phone).await;
        let c = Change::Confirm(Confirm {
            activity_id: id.into(),
            member_id,
        });
        assert_eq!(now_send(&h, &lead, c).await.0, "applied");
    }
    let csv = h
        .call("GET", &paths::register(id, "csv"), Some(&lead), None)
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text);
    assert!(
        csv.text
            .contains("有表决权的党员3人，到会1人，到会人数未过半数"),
        "{}",
        csv.text
    );
    assert!(
        csv.text
            .contains("应到5人，实到3人，请假0人，缺席0人，到会率60.0%"),
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains("\"正式党员2人，预备党员1人\""),
        "{}",
        csv.text
    );
    h.assert_kept_counts().await;
}

#[tokio::test]
async fn the_register_exports_as_csv_and_xlsx_for_the_branch_lead_and_admins_only() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let id = a.activity_id.as_str();
    let member = h.login(MEMBER).await;
    let now = now_ms();
    send(&h, &member, sign(&a, now), now, 0).await;

    let csv = h
        .call("GET", &paths::register(id, "csv"), Some(&lead), None)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.text.starts_with('\u{feff}'),
        "a BOM, so Excel reads UTF-8"
    );
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = csv.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.contains("filename*=UTF-8''%E7%AD%BE%E5%88%B0"),
        "{disposition}"
    );
    let lines: Vec<&str> = csv.text.split("\r\n").collect();
    assert_eq!(lines[0], "\u{feff}\"主题\",\"支部党员大会\"");
    let header_at = lines
        .iter()
        .position(|l| l.starts_with("\"姓名\""))
        .unwrap();
    assert_eq!(
        lines[header_at],
        "\"姓名\",\"党员类别\",\"外支部参加\",\"状态\",\"签到时间\",\"请假/缺席原因\",\"补学\",\"备注\""
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"李明\",\"正式党员\",\"\",\"已签到（待确认）\",\"20")),
        "{}",
        csv.text
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"钱鹏\",\"正式党员\",\"是\",\"待签到\"")),
        "{}",
        csv.text
    );

    let xlsx = h
        .call("GET", &paths::register(id, "xlsx"), Some(&lead), None)
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert_eq!(
        xlsx.headers[header::CONTENT_TYPE],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let raw = xlsx_bytes(&h, &lead, id).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(raw)).unwrap();
    let mut strings = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/sharedStrings.xml").unwrap(),
        &mut strings,
    )
    .unwrap();
    for text in [
        "支部党员大会",
        "李明",
        "已签到（待确认）",
        "钱鹏",
        "请假/缺席原因",
    ] {
        assert!(strings.contains(text), "{text} in the workbook");
    }

    for (who, status) in [
        (h.login(MEMBER).await, StatusCode::FORBIDDEN),
        (h.login(OTHER_LEAD).await, StatusCode::FORBIDDEN),
        (h.login(ADMIN).await, StatusCode::OK),
    ] {
        assert_eq!(
            h.call("GET", &paths::register(id, "csv"), Some(&who), None)
                .await
                .status,
            status
        );
    }
    assert_eq!(
        h.call("GET", &paths::register(id, "pdf"), Some(&lead), None)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        h.call("GET", &paths::register(&new_id(), "csv"), Some(&lead), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.call("GET", &paths::register(id, "csv"), None, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

async fn xlsx_bytes(h: &Harness, token: &str, id: &str) -> Vec<u8> {
    let req = axum::http::Request::builder()
        .uri(paths::register(id, "xlsx"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = h.app.clone().oneshot(req).await.unwrap();
    res.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn the_quiet_list_counts_host_branch_attendance_and_only_the_home_lead_sees_it() {
    let h = Harness::new().await;
    // Everyone joined long ago.
    db::query("UPDATE users SET created_at = 0")
        .execute(&h.db.writer)
        .await
        .unwrap();
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let guest = h.login(GUEST).await;
    let now = now_ms();
    send(&h, &guest, sign(&a, now), now, 0).await;

    let quiet = |body: &Value| -> Vec<String> {
        body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let home_lead = h.login(OTHER_LEAD).await;
    let r = h
        .call("GET", paths::PARTICIPATION, Some(&home_lead), None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        quiet(&r.body),
        ["赵磊"],
        "钱鹏 took part at the host branch, which counts at home"
    );
    let r = h.call("GET", paths::PARTICIPATION, Some(&lead), None).await;
    let names = quiet(&r.body);
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(
        !names.contains(&"钱鹏".to_owned()),
        "a guest is on their home lead's list, not the host's"
    );

    for token in [h.login(MEMBER).await, h.login(ADMIN).await] {
        let r = h
            .call("GET", paths::PARTICIPATION, Some(&token), None)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    h.assert_kept_counts().await;
}

#[tokio::test]
async fn a_location_sign_in_stores_only_the_outcome_and_outside_the_fence_is_flagged() {
    use crate::life::{Fence, LocationCheck};
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let now = now_ms();
    let fence = Fence::around(31.2304, 121.4737, 200);
    let a = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        starts_at: now - HOUR,
        ends_at: now + HOUR,
        secret: secret_hex(rand::random()),
        fence: Some(fence),
        ..Default::default()
    };
    assert_eq!(
        now_send(&h, &lead, Change::CreateActivity(a.clone()))
            .await
            .0,
        "applied"
    );
    let bad_fence = NewActivity {
        activity_id: new_id(),
        fence: Some(Fence {
            radius_m: 5,
            ..fence
        }),
        ..a.clone()
    };
    assert!(
        now_send(&h, &lead, Change::CreateActivity(bad_fence))
            .await
            .1
            .starts_with("签到范围无效")
    );

    let by_location = |check: LocationCheck| {
        Change::SignIn(SignIn {
            activity_id: a.activity_id.clone(),
            code: String::new(),
            location: Some(check),
        })
    };
    let member = h.login(MEMBER).await;
    let other = h.login("13800000004").await;
    for token in [&member, &other] {
        let consent = Change::Consent(crate::api::Consent {
            kind: crate::api::ConsentKind::Location,
            granted: true,
            version: String::new(),
        });
        assert_eq!(now_send(&h, token, consent).await.0, "applied");
    }
    let inside = fence.check(31.2310, 121.4737, 20.0);
    assert_eq!(
        now_send(&h, &member, by_location(inside)).await.0,
        "applied"
    );
    // Inside the fence by the phone's own account: kept, never code-verified, out of 一键确认全部.
    assert_eq!(
        row(&h, &a.activity_id, MEMBER).await,
        ("signed_in".into(), true, None)
    );
    let outside = fence.check(31.2394, 121.4737, 30.0);
    assert_eq!(
        now_send(&h, &other, by_location(outside)).await.0,
        "applied"
    );
    assert!(
        row(&h, &a.activity_id, "13800000004").await.1,
        "outside: kept, flagged"
    );

    // Stored: the outcome only. The lead sees it; the register says it.
    let pulled = h.pull(&lead, 0).await;
    let mine = pulled["attendance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["member_name"] == "李明" && r["activity_id"] == a.activity_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        mine["location"],
        json!({"inside": true, "distance_m": inside.distance_m, "accuracy_m": 20})
    );
    assert_eq!(
        pulled["activities"][1]["fence"],
        json!({"lat_e6": 31_230_400, "lng_e6": 121_473_700, "radius_m": 200})
    );
    let csv = h
        .call(
            "GET",
            &paths::register(&a.activity_id, "csv"),
            Some(&lead),
            None,
        )
        .await
        .text;
    assert!(
        csv.contains("位置自报：范围外，距离1001米（精度30米），未经签到码验证"),
        "{csv}"
    );

    // No fence: a location sign-in is refused (the member types the code instead).
    let plain = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let r = now_send(
        &h,
        &member,
        Change::SignIn(SignIn {
            activity_id: plain.activity_id,
            code: String::new(),
            location: Some(inside),
        }),
    )
    .await;
    assert_eq!(
        r,
        (
            "quarantined".into(),
            "该活动未设置位置签到，请输入签到码".into()
        )
    );
}

#[tokio::test]
async fn the_lead_adds_a_late_joiner_or_invites_a_mobile_member_and_they_receive_the_activity() {
    let h = Harness::new().await;
    let lead = h.login(LEAD).await;
    let a = publish(&h, &lead, ActivityKind::ThemeDay, -HOUR, 2).await;
    let id = a.activity_id.as_str();
    // The cadre pulled before being on the roster: the activity is not theirs yet.
    let cadre = h.login(CADRE).await;
    let cursor = h.pull(&cadre, 0).await["cursor"].as_i64().unwrap();
    let add = |phone: &str| {
        Change::AddToRoster(crate::api::AddToRoster {
            activity_id: id.into(),
            phone: phone.into(),
        })
    };
    // 赵磊 is not a mobile member: another branch's cadre is not invited as a guest.
    assert!(
        now_send(&h, &lead, add(CADRE))
            .await
            .1
            .starts_with("只能加入本支部党员")
    );
    assert_eq!(
        now_send(&h, &lead, add("13900000000")).await.1,
        "没有这个手机号的党员，请核对"
    );
    assert_eq!(
        now_send(&h, &h.login(OTHER_LEAD).await, add(CADRE)).await.1,
        "只能管理本支部的活动"
    );
    db::query("UPDATE users SET mobile = TRUE WHERE phone = $1")
        .bind(CADRE)
        .execute(&h.db.writer)
        .await
        .unwrap();
    assert_eq!(now_send(&h, &lead, add(CADRE)).await.0, "applied");
    assert_eq!(
        now_send(&h, &lead, add(CADRE)).await.0,
        "applied",
        "twice is harmless"
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'add_to_roster'")
            .await,
        1
    );
    let pulled = h.pull(&cadre, cursor).await;
    assert!(
        pulled["activities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id),
        "{pulled}"
    );
    let mine = &pulled["attendance"][0];
    assert_eq!(
        (mine["status"].as_str(), mine["guest"].as_bool()),
        (Some("pending"), Some(true))
    );
    h.assert_kept_counts().await;
}

/// The settings phones receive are the district's, in the database: the district admin changes them on
/// 设置, every server applies them at once (the second server here shares the database), and phones
/// receive them with their next pull. Nobody else may change them; a value out of range or a missing
/// field is refused with what is wrong.
#[tokio::test]
async fn the_district_admin_sets_what_every_server_applies_and_phones_receive() {
    let h = Harness::new().await;
    let other = h.another_server().await;
    let (admin, lead, member) = (
        h.login(ADMIN).await,
        h.login(LEAD).await,
        h.login(MEMBER).await,
    );
    let mut settings = serde_json::to_value(crate::api::Settings::default()).unwrap();
    settings["backdate_limit_ms"] = json!(7 * DAY);
    settings["code_step_ms"] = json!(30_000);

    for token in [&lead, &member] {
        let r = h
            .call("PUT", paths::SETTINGS, Some(token), Some(settings.clone()))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let mut wrong = settings.clone();
    wrong["code_step_ms"] = json!(5_000);
    let r = h
        .call("PUT", paths::SETTINGS, Some(&admin), Some(wrong))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.text
            .contains("签到码每隔多少秒更换：请填写10至600之间的整数"),
        "{}",
        r.text
    );
    let mut partial = settings.clone();
    partial.as_object_mut().unwrap().remove("inactive_after_ms");
    let r = h
        .call("PUT", paths::SETTINGS, Some(&admin), Some(partial))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    let r = h
        .call("PUT", paths::SETTINGS, Some(&admin), Some(settings.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'settings'")
            .await,
        1
    );
    // Phones receive them through either server.
    for server in [&h, &other] {
        assert_eq!(server.pull(&member, 0).await["settings"], settings);
    }
    // And the other server applies them at once: eight days back is now too far.
    let now = now_ms();
    let old = NewActivity {
        activity_id: new_id(),
        kind: ActivityKind::ThemeDay,
        title: "补录：主题党日".into(),
        place: "项目部".into(),
        starts_at: now - 8 * DAY,
        ends_at: now - 8 * DAY + HOUR,
        secret: secret_hex(rand::random()),
        ..Default::default()
    };
    let r = now_send(&other, &lead, Change::CreateActivity(old)).await;
    assert_eq!(r, ("quarantined".into(), "不能补录7天以前的活动".into()));

    // A database without settings takes the first server's options; one with settings keeps its own.
    let fresh = Harness::new().await;
    let options = crate::api::Settings {
        code_step_ms: 20_000,
        ..Default::default()
    };
    let adopted = crate::server::settings::adopt(&fresh.db, &options)
        .await
        .unwrap();
    assert_eq!(adopted, options);
    let again = crate::server::settings::adopt(&fresh.db, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        again, options,
        "the database's, not the next server's options"
    );
}
