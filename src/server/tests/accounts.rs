//! Organisation and accounts through the real router: roster import (dry run, problems per row, GBK, xlsx,
//! 10,000 rows, idempotent re-import), invitations and joining, password reset through the lead, and the
//! members' rights — 投诉建议 with a reply, consents, 我的信息.

use super::*;
use crate::api::{Consent, ConsentKind, FeedbackEntry, FeedbackTopic, ReplyFeedback};
use crate::server::db;

const ADMIN: &str = "13800000009";
const COMMITTEE: &str = "13800000008";
const SITE: &str = "上海浦东项目部党支部";
const OFFICE: &str = "区发展改革委机关党支部";

async fn upload(h: &Harness, token: Option<&str>, bytes: Vec<u8>, dry_run: bool) -> Reply {
    let mut req = Request::builder()
        .method("POST")
        .uri(format!("{}?dry_run={dry_run}", paths::ROSTER_IMPORT));
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    h.send(req.body(Body::from(bytes)).unwrap()).await
}

fn csv(rows: &[&str]) -> Vec<u8> {
    rows.join("\r\n").into_bytes()
}

/// (outcome, detail) of the report row on spreadsheet line `line`.
fn row(report: &Value, line: u64) -> (String, String) {
    let r = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["line"] == line)
        .unwrap_or_else(|| panic!("no row {line} in {report}"));
    (
        r["outcome"].as_str().unwrap().to_owned(),
        r["detail"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_dry_run_shows_every_rows_problem_and_a_file_with_problems_writes_nothing() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let users = h.rows("SELECT count(*) FROM users").await;
    let file = csv(&[
        "上海浦东项目部党员名册（2026年11月）",
        "序号,姓名,性别,身份证号,手机号码,所在党支部,党员类别,党内职务,标签",
        &format!("1,吴刚,男,320000199001011234,13900000001,{SITE},正式党员,,流动党员"),
        "2,郑强,男,,13900000002,不存在的支部,正式党员,,",
        &format!("3,冯军,男,,1390000000,{SITE},正式党员,,"),
        &format!("4,陈红,女,,13900000001,{SITE},预备党员,,"),
        &format!("5,褚明,男,,139 0000 0005,{SITE},积极分子,,"),
        &format!("6,卫东,男,,13900000006,{SITE},正式党员,,劳模"),
        "",
        &format!("8,蒋华,男,,13800000009,{OFFICE},正式党员,,"),
        "9,,男,,1390000001,不存在的支部,积极分子,,劳模",
    ]);
    for dry_run in [true, false] {
        let r = upload(&h, Some(&admin), file.clone(), dry_run).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let report = &r.body;
        assert_eq!(report["applied"], false);
        assert_eq!(
            (&report["total"], &report["created"], &report["problems"]),
            (&json!(8), &json!(1), &json!(7))
        );
        assert_eq!(
            report["ignored_columns"],
            json!(["序号", "性别", "身份证号"])
        );
        assert_eq!(row(report, 3).0, "new");
        assert!(row(report, 4).1.contains("没有名为“不存在的支部”的支部"));
        assert!(row(report, 5).1.contains("不是11位手机号码"));
        assert!(row(report, 6).1.contains("手机号与第3行重复"));
        assert!(
            row(report, 7).1.contains("类别“积极分子”"),
            "spaces in a number are fine"
        );
        assert!(row(report, 8).1.contains("不认识的标签“劳模”"));
        assert!(row(report, 10).1.contains("管理员"));
        // A row with several problems names them all.
        let all = row(report, 11).1;
        for problem in [
            "姓名",
            "不是11位手机号码",
            "不存在的支部",
            "积极分子",
            "劳模",
        ] {
            assert!(all.contains(problem), "{problem} missing from {all}");
        }
        assert_eq!(h.rows("SELECT count(*) FROM users").await, users);
    }
    assert!(
        !String::from_utf8_lossy(&file).is_empty()
            && h.rows("SELECT count(*) FROM users WHERE phone = '13900000001'")
                .await
                == 0
    );
}

#[tokio::test]
async fn an_import_writes_members_once_and_a_reimport_changes_only_what_differs() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let first = csv(&[
        "姓名,手机号,支部,类别,职务,标签",
        &format!("吴刚,13900000001,{SITE},正式,组织委员,流动党员"),
        &format!("陈红,13900000002,{SITE},预备,,"),
        &format!("褚明,13900000003,{OFFICE},,,挂职干部、干部"),
        &format!("李明,13800000002,{SITE},正式,,流动党员"),
    ]);
    let r = upload(&h, Some(&admin), first.clone(), false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["applied"], true);
    assert_eq!(
        (&r.body["created"], &r.body["updated"], &r.body["unchanged"]),
        (&json!(3), &json!(0), &json!(1)),
        "{}",
        r.text
    );
    let wu = h.user_id("13900000001").await;
    assert_eq!(r.body["rows"][0]["user_id"], wu);
    let stored: (String, String, String, String, bool, String) = db::query_as(
        "SELECT role, membership, post, tags, mobile, password_hash FROM users WHERE id = $1",
    )
    .bind(wu)
    .fetch_one(&h.db.reader)
    .await
    .unwrap();
    assert_eq!(
        stored,
        (
            "lead".into(),
            "full".into(),
            "组织委员".into(),
            "流动党员".into(),
            true,
            String::new()
        ),
        "a 组织委员 leads the branch; nobody has a password before joining"
    );
    let chu: (String, String) =
        db::query_as("SELECT tags, audience FROM users WHERE phone = '13900000003'")
            .fetch_one(&h.db.reader)
            .await
            .unwrap();
    assert_eq!(chu, ("挂职干部、干部".into(), "township".into()));
    assert_eq!(
        h.try_login("13900000002", "").await.status,
        StatusCode::UNAUTHORIZED,
        "an imported member cannot log in with an empty password"
    );
    let audited = h
        .rows("SELECT count(*) FROM audit_log WHERE action = 'import_roster' AND subject = '名册：新增3人，更新0人'")
        .await;
    assert_eq!(audited, 1);

    // The same file again: nothing changes, nothing is audited.
    let again = upload(&h, Some(&admin), first, false).await;
    assert_eq!(
        (
            &again.body["created"],
            &again.body["updated"],
            &again.body["unchanged"]
        ),
        (&json!(0), &json!(0), &json!(4))
    );
    assert_eq!(again.body["rows"], json!([]));
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'import_roster'")
            .await,
        1
    );

    // 陈红 becomes a full member and moves to the 机关 branch.
    let edited = csv(&[
        "姓名,手机号,支部,类别,职务,标签",
        &format!("吴刚,13900000001,{SITE},正式,组织委员,流动党员"),
        &format!("陈红,13900000002,{OFFICE},正式,,"),
    ]);
    let r = upload(&h, Some(&admin), edited, false).await;
    assert_eq!(
        (&r.body["updated"], &r.body["unchanged"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        row(&r.body, 3),
        (
            "updated".into(),
            format!("支部：{SITE} → {OFFICE}；类别：预备党员 → 正式党员")
        )
    );
    assert_eq!(
        h.rows("SELECT org_id FROM users WHERE phone = '13900000002'")
            .await,
        4
    );
}

#[tokio::test]
async fn gbk_csv_from_excel_and_xlsx_with_numeric_phones_import_alike() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let text = format!("姓名,手机号,支部\r\n吴刚,13900000001,{SITE}\r\n");
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&text);
    assert!(!unmappable);
    let r = upload(&h, Some(&admin), gbk.into_owned(), true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["rows"][0]["name"], "吴刚");
    assert_eq!(r.body["created"], 1);

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, heading) in ["姓名", "手机号", "支部", "标签"].into_iter().enumerate() {
        sheet.write_string(0, col as u16, heading).unwrap();
    }
    sheet.write_string(1, 0, "吴刚").unwrap();
    sheet.write_number(1, 1, 13_900_000_001.0).unwrap();
    sheet.write_string(1, 2, SITE).unwrap();
    sheet.write_string(1, 3, "流动党员").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let r = upload(&h, Some(&admin), bytes, false).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["rows"][0]["phone"], "13900000001");
    assert_eq!(r.body["created"], 1);
    assert_eq!(
        h.rows("SELECT count(*) FROM users WHERE phone = '13900000001' AND tags = '流动党员'")
            .await,
        1
    );
}

#[tokio::test]
async fn files_that_are_not_rosters_and_callers_who_are_not_admins_are_refused() {
    let h = Harness::new().await;
    let (admin, lead, member) = (
        h.login(ADMIN).await,
        h.login(LEAD).await,
        h.login(MEMBER).await,
    );
    let good = csv(&["姓名,手机号,支部", &format!("吴刚,13900000001,{SITE}")]);
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some(&member), StatusCode::FORBIDDEN),
        (Some(&lead), StatusCode::FORBIDDEN),
    ] {
        let r = upload(&h, token.map(String::as_str), good.clone(), true).await;
        assert_eq!(r.status, status, "{}", r.text);
    }
    for (file, message) in [
        (csv(&["name,phone,branch", "a,1,b"]), "找不到表头"),
        (
            csv(&["姓名,手机号,性别", "吴刚,13900000001,男"]),
            "缺少必需的列：支部",
        ),
        (csv(&["姓名,手机号,支部"]), "表头下面没有任何成员"),
        (Vec::new(), "文件是空的"),
        (b"\xD0\xCF\x11\xE0old".to_vec(), "另存为 .xlsx"),
        (b"PK\x03\x04not a zip".to_vec(), "无法读取"),
    ] {
        let r = upload(&h, Some(&admin), file, true).await;
        let text = if r.status == StatusCode::OK {
            r.body["rows"][0]["detail"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        } else {
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
            r.body["message"].as_str().unwrap().to_owned()
        };
        assert!(text.contains(message), "{message}: {text}");
    }
    let r = upload(&h, Some(&admin), vec![b'x'; 9 * 1024 * 1024], true).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn ten_thousand_rows_import_in_one_go_and_again_change_nothing() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let mut rows = vec!["姓名,手机号,支部,类别,职务,标签".to_owned()];
    for i in 0..10_000 {
        let branch = if i % 2 == 0 { SITE } else { OFFICE };
        let category = if i % 7 == 0 {
            "预备党员"
        } else {
            "正式党员"
        };
        rows.push(format!("成员{i},139{i:08},{branch},{category},,流动党员"));
    }
    let file = rows.join("\n").into_bytes();
    let started = std::time::Instant::now();
    let r = upload(&h, Some(&admin), file.clone(), false).await;
    let took = started.elapsed();
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["created"], &r.body["problems"]),
        (&json!(10_000), &json!(0))
    );
    println!(
        "10,000-row roster ({} KB) imported in {took:?}",
        file.len() / 1024
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM users WHERE phone LIKE '139%'")
            .await,
        10_000
    );
    let again = upload(&h, Some(&admin), file, false).await;
    assert_eq!(
        (&again.body["unchanged"], &again.body["created"]),
        (&json!(10_000), &json!(0))
    );
}

/// An invitation issued by `token` for `user_id`: (code, link).
async fn invite(h: &Harness, token: &str, user_id: i64) -> Reply {
    h.call(
        "POST",
        paths::INVITATIONS,
        Some(token),
        Some(json!({ "user_id": user_id })),
    )
    .await
}

async fn join(h: &Harness, code: &str, password: &str, consent: bool) -> Reply {
    let body = json!({"code": code, "password": password, "privacy_consent": consent});
    h.call("POST", paths::JOIN, None, Some(body)).await
}

#[tokio::test]
async fn an_imported_member_joins_with_a_one_time_code_from_their_lead() {
    let h = Harness::new().await;
    let (admin, lead, other_lead, member) = (
        h.login(ADMIN).await,
        h.login(LEAD).await,
        h.login(OTHER_LEAD).await,
        h.login(MEMBER).await,
    );
    let file = csv(&["姓名,手机号,支部", &format!("吴刚,13900000001,{SITE}")]);
    assert_eq!(
        upload(&h, Some(&admin), file, false).await.status,
        StatusCode::OK
    );
    let wu = h.user_id("13900000001").await;

    // Who may invite whom.
    assert_eq!(invite(&h, &member, wu).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        invite(&h, &other_lead, wu).await.status,
        StatusCode::FORBIDDEN
    );
    let lead_id = h.user_id(LEAD).await;
    assert_eq!(
        invite(&h, &lead, lead_id).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        invite(&h, &lead, 999_999).await.status,
        StatusCode::NOT_FOUND
    );
    let admin_id = h.user_id(ADMIN).await;
    assert_eq!(
        invite(&h, &lead, admin_id).await.status,
        StatusCode::FORBIDDEN
    );

    // The lead sees 吴刚 has not joined and invites him; an older invitation stops working.
    let listed = h.call("GET", paths::MEMBERS, Some(&lead), None).await;
    let wu_row = listed.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == wu)
        .unwrap()
        .clone();
    assert_eq!(
        (&wu_row["joined"], &wu_row["phone"]),
        (&json!(false), &json!("13900000001"))
    );
    let older = invite(&h, &lead, wu).await.body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = invite(&h, &lead, wu).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let code = r.body["code"].as_str().unwrap().to_owned();
    assert_eq!(r.body["link"], format!("/join?code={code}"));
    assert_eq!(r.body["reset"], false);
    let check = |code: String| {
        let h = h.clone();
        async move {
            h.call(
                "POST",
                paths::JOIN_CHECK,
                None,
                Some(json!({ "code": code })),
            )
            .await
        }
    };
    assert_eq!(check(older).await.status, StatusCode::NOT_FOUND);
    let preview = check(code.to_lowercase().replace('-', " ")).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.text);
    assert_eq!(
        (
            &preview.body["name"],
            &preview.body["phone"],
            &preview.body["org_name"]
        ),
        (&json!("吴刚"), &json!("139****0001"), &json!(SITE))
    );

    // Joining needs a password of 8 or more and the privacy consent; then the code is spent.
    assert_eq!(
        join(&h, &code, "short", true).await.status,
        StatusCode::BAD_REQUEST
    );
    let r = join(&h, &code, "wugang-2026", false).await;
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("个人信息保护说明")
    );
    let r = join(&h, &code, "wugang-2026", true).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["user"]["name"], "吴刚");
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.call("GET", paths::ME, Some(&token), None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        join(&h, &code, "another-one", true).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.try_login("13900000001", "wugang-2026").await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM consents WHERE user_id = {wu} AND kind = 'privacy' AND granted"
        ))
        .await,
        1
    );
    let listed = h.call("GET", paths::MEMBERS, Some(&lead), None).await;
    assert!(
        listed.body["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == wu && m["joined"] == true)
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'invite' AND subject = '吴刚'")
            .await,
        2
    );

    // An expired invitation is refused.
    let code = invite(&h, &admin, wu).await.body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    db::query("UPDATE invitations SET expires_at = 0 WHERE used_at IS NULL")
        .execute(&h.db.writer)
        .await
        .unwrap();
    assert_eq!(
        join(&h, &code, "wugang-2027", true).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_lead_cannot_take_over_a_joined_members_account_and_a_reset_is_told_to_the_member() {
    let h = Harness::new().await;
    let (lead, committee, member) = (
        h.login(LEAD).await,
        h.login(COMMITTEE).await,
        h.login_on(MEMBER, "liming-phone").await,
    );
    let liming = h.user_id(MEMBER).await;
    // The attack: the lead issues a reset for a member who has a password, and logs in as them.
    let r = invite(&h, &lead, liming).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.text.contains("管理员重置"), "{}", r.text);
    // Their 党委's admin may; the old password and sessions work until the code is used.
    let r = invite(&h, &committee, liming).await;
    assert_eq!(r.body["reset"], true, "{}", r.text);
    assert_eq!(
        h.call("GET", paths::ME, Some(&member), None).await.status,
        StatusCode::OK,
    );
    let code = r.body["code"].as_str().unwrap();
    let joined = join(&h, code, "liming-new-1", true).await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.text);
    assert_eq!(
        h.call("GET", paths::ME, Some(&member), None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        h.try_login(MEMBER, demo::PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Back on their own phone, the member is told who reset it and when, and that a password was set.
    let r = h.try_login_on(MEMBER, "liming-new-1", "liming-phone").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let notices = r.body["notices"].to_string();
    assert!(
        notices.contains("郭强（党委管理员）发起了密码重置")
            && notices.contains("用重置码设置了新密码"),
        "{notices}"
    );
    // Told once on that phone.
    let again = h.try_login_on(MEMBER, "liming-new-1", "liming-phone").await;
    assert_eq!(again.body["notices"], Value::Null, "{}", again.text);
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'reset_password'")
            .await,
        1
    );
}

#[tokio::test]
async fn wrong_codes_are_throttled_per_address() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let code = invite(&h, &admin, h.user_id(MEMBER).await).await.body["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = ["AAAA-AAAA", "", "x", "BBBB-BBBB", "CCCC-CCCC"];
    for wrong in wrong.iter().chain(&wrong) {
        assert_eq!(
            join(&h, wrong, "liming-new-1", true).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let r = join(&h, &code, "liming-new-1", true).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains("邀请码错误次数过多")
    );
}

#[tokio::test]
async fn members_lists_are_for_leads_of_the_branch_and_admins() {
    let h = Harness::new().await;
    let (admin, lead, member) = (
        h.login(ADMIN).await,
        h.login(LEAD).await,
        h.login(MEMBER).await,
    );
    assert_eq!(
        h.call("GET", paths::MEMBERS, Some(&member), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let other = format!("{}?org=4", paths::MEMBERS);
    assert_eq!(
        h.call("GET", &other, Some(&lead), None).await.status,
        StatusCode::FORBIDDEN
    );
    let mine = h.call("GET", paths::MEMBERS, Some(&lead), None).await;
    let orgs: Vec<i64> = mine.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["org_id"].as_i64().unwrap())
        .collect();
    assert!(orgs.len() == 5 && orgs.iter().all(|&o| o == 3), "{orgs:?}");
    // The lead first, then the members by pinyin (not by code point: 刘 U+5218 before 李 U+674E).
    let names: Vec<&str> = mine.body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["王建国", "陈静", "李明", "刘洋", "张伟"]);
    let all = h.call("GET", paths::MEMBERS, Some(&admin), None).await;
    assert_eq!(
        all.body["rows"].as_array().unwrap().len(),
        10,
        "everyone, with both admins"
    );
    let office = h.call("GET", &other, Some(&admin), None).await;
    assert_eq!(office.body["rows"].as_array().unwrap().len(), 3);
}

fn feedback(body: &str) -> (String, Change) {
    let id = new_id();
    let change = Change::Feedback(FeedbackEntry {
        feedback_id: id.clone(),
        topic: FeedbackTopic::Suggestion,
        body: body.into(),
    });
    (id, change)
}

async fn send(h: &Harness, token: &str, change: &Change) -> Value {
    let m = Mutation::new(1, new_id(), change, now_ms(), 0);
    h.push(token, "phone", &[m]).await.body["receipts"][0].clone()
}

#[tokio::test]
async fn feedback_reaches_the_district_and_the_reply_comes_back() {
    let h = Harness::new().await;
    let (admin, lead, member) = (
        h.login(ADMIN).await,
        h.login(LEAD).await,
        h.login(MEMBER).await,
    );
    let (id, change) = feedback("工地信号差，希望签到码能离线显示更久");
    assert_eq!(send(&h, &member, &change).await["status"], "applied");
    assert_eq!(
        send(&h, &member, &change).await["reason"],
        "这条投诉建议已经提交过"
    );
    let (_, empty) = feedback("   ");
    assert_eq!(send(&h, &member, &empty).await["status"], "quarantined");

    let seen = |token: String| {
        let h = h.clone();
        let id = id.clone();
        async move {
            let body = h.pull(&token, 0).await;
            body["feedback"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == id)
                .cloned()
        }
    };
    assert!(
        seen(lead.clone()).await.is_none(),
        "leads do not read the district's feedback"
    );
    assert_eq!(seen(admin.clone()).await.unwrap()["user_name"], "李明");
    let reply = |text: &str| {
        Change::ReplyFeedback(ReplyFeedback {
            feedback_id: id.clone(),
            reply: text.into(),
        })
    };
    assert_eq!(
        send(&h, &member, &reply("我自己答复")).await["status"],
        "quarantined"
    );
    assert_eq!(
        send(&h, &lead, &reply("书记答复")).await["status"],
        "quarantined"
    );
    let unknown = Change::ReplyFeedback(ReplyFeedback {
        feedback_id: new_id(),
        reply: "答复".into(),
    });
    assert_eq!(
        send(&h, &admin, &unknown).await["reason"],
        "没有这条投诉建议"
    );
    let cursor = h.pull(&member, 0).await["cursor"].as_i64().unwrap();
    assert_eq!(
        send(&h, &admin, &reply("已转项目部，签到码每60秒更新")).await["status"],
        "applied"
    );
    let after = h.pull(&member, cursor).await;
    assert_eq!(
        after["feedback"][0]["reply"],
        "已转项目部，签到码每60秒更新"
    );
    assert_eq!(
        h.rows("SELECT count(*) FROM audit_log WHERE action = 'reply_feedback'")
            .await,
        1
    );
}

#[tokio::test]
async fn my_data_holds_everything_stored_about_me_and_nobody_else() {
    let h = Harness::new().await;
    let (lead, member) = (h.login(LEAD).await, h.login(MEMBER).await);
    let (activity, code) = h.publish(&lead).await;
    assert_eq!(
        h.push(&member, "phone", &[sign_in(1, &activity, &code)])
            .await
            .status,
        StatusCode::OK
    );
    let location = |granted| {
        Change::Consent(Consent {
            kind: ConsentKind::Location,
            granted,
            version: String::new(),
        })
    };
    assert_eq!(
        send(&h, &member, &location(true)).await["status"],
        "applied"
    );
    assert_eq!(
        send(&h, &member, &location(false)).await["status"],
        "applied"
    );
    let (_, change) = feedback("希望增加字体大小设置");
    send(&h, &member, &change).await;
    let (_, theirs) = feedback("别人的建议");
    send(&h, &lead, &theirs).await;

    assert_eq!(
        h.call("GET", paths::MY_DATA, None, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let r = h.call("GET", paths::MY_DATA, Some(&member), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let disposition = r.headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment;") && disposition.ends_with(".json"),
        "{disposition}"
    );
    let d = &r.body;
    assert_eq!(d["app"], "hongyan-my-data");
    assert_eq!(
        (&d["profile"]["name"], &d["profile"]["phone"]),
        (&json!("李明"), &json!(MEMBER))
    );
    assert_eq!(d["profile"]["org_name"], SITE);
    let mine = |key: &str| d[key].as_array().unwrap().len();
    assert_eq!(
        mine("attendance"),
        2,
        "the demo activity and today's, {}",
        d["attendance"]
    );
    assert!(
        d["attendance"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["row"]["activity_id"] == activity && a["row"]["status"] == "signed_in")
    );
    assert_eq!(
        d["consents"],
        json!([
            {"kind": "location", "granted": true, "version": "", "at": d["consents"][0]["at"]},
            {"kind": "location", "granted": false, "version": "", "at": d["consents"][1]["at"]},
        ])
    );
    assert_eq!(mine("feedback"), 1);
    assert_eq!(d["feedback"][0]["body"], "希望增加字体大小设置");
    assert_eq!(d["devices"][0]["device_id"], "phone");
    assert!(!r.text.contains("password") && !r.text.contains("argon2"));
}

#[tokio::test]
async fn a_lead_keeps_a_mobile_members_registration_host_branches_and_exemptions() {
    let h = Harness::new().await;
    let (admin, lead, other_lead, member) = (
        h.login(ADMIN).await,
        h.login(LEAD).await,
        h.login(OTHER_LEAD).await,
        h.login(MEMBER).await,
    );
    let zhang = h.user_id("13800000004").await;
    let path = paths::member(zhang);
    for (token, status) in [(&member, 403), (&other_lead, 403)] {
        assert_eq!(
            h.call("GET", &path, Some(token), None)
                .await
                .status
                .as_u16(),
            status
        );
    }
    let lead_id = h.user_id(LEAD).await;
    assert_eq!(
        h.call("GET", &paths::member(lead_id), Some(&lead), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call(
            "GET",
            &paths::member(h.user_id(ADMIN).await),
            Some(&admin),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.call("GET", &paths::member(999), Some(&admin), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let r = h.call("GET", &path, Some(&lead), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (&r.body["member"]["name"], &r.body["profile"]["tags"]),
        (&json!("张伟"), &json!("流动党员"))
    );
    let branches: Vec<i64> = r.body["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(branches, [4], "every branch but his home");

    let mut profile = json!({
        "membership": "full", "post": "组织委员", "tags": "干部，流动党员", "audience": "member",
        "host_org_ids": [4],
        "mobile": {"destination": "上海市浦东新区", "employer": "苏州河项目", "starts_on": "2026-03-01",
                   "card_no": "苏流2026-0012", "card_valid_until": "2027-02-28", "last_contact_on": "2026-11-20"},
        "exemptions": [{"reason": "孕产", "until": "2099-12-31"}],
    });
    // Appointing a co-lead is for the admins above the branch, not the lead.
    let r = h
        .call("PUT", &path, Some(&lead), Some(profile.clone()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    profile["post"] = json!("宣传委员");
    let r = h
        .call("PUT", &path, Some(&lead), Some(profile.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["profile"]["tags"], "流动党员、干部");
    assert_eq!(r.body["member"]["role"], "member");
    assert_eq!(r.body["profile"]["mobile"]["card_no"], "苏流2026-0012");
    assert_eq!(r.body["profile"]["exemptions"][0]["until"], "2099-12-31");
    assert_eq!(r.body["profile"]["host_org_ids"], json!([4]));
    let subject: String = db::query_scalar(
        "SELECT subject FROM audit_log WHERE action = 'edit_member' AND about_user = $1",
    )
    .bind(zhang)
    .fetch_one(&h.db.reader)
    .await
    .unwrap();
    for change in [
        "职务：（无） → 宣传委员",
        "标签：流动党员 → 流动党员、干部",
        "参加组织生活的其他支部：（无） → 区发展改革委机关党支部",
        "免参加：（无） → 孕产（至2099-12-31）",
    ] {
        assert!(subject.contains(change), "{change}: {subject}");
    }
    // The exemption and the host branch take effect on rosters published from now on.
    let (activity, _) = h.publish(&lead).await;
    let status: String =
        db::query_scalar("SELECT status FROM attendance WHERE activity_id = $1 AND member_id = $2")
            .bind(&activity)
            .bind(zhang)
            .fetch_one(&h.db.reader)
            .await
            .unwrap();
    assert_eq!(status, "exempt");

    for (change, message) in [
        (json!({"host_org_ids": [3]}), "所在支部"),
        (json!({"host_org_ids": [1]}), "应为支部"),
        (json!({"tags": "劳模"}), "不认识的标签"),
        (
            json!({"mobile": {"destination": "上海", "starts_on": "2026-13-01"}}),
            "外出日期",
        ),
    ] {
        let mut bad = profile.clone();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let r = h.call("PUT", &path, Some(&lead), Some(bad)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{change}: {}", r.text);
        assert!(
            r.body["message"].as_str().unwrap().contains(message),
            "{}",
            r.text
        );
    }
    profile["mobile"] = Value::Null;
    profile["exemptions"] = json!([]);
    profile["post"] = json!("组织委员");
    let r = h.call("PUT", &path, Some(&admin), Some(profile)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["profile"].get("mobile").is_none());
    assert_eq!(
        r.body["member"]["role"], "lead",
        "a 组织委员 leads the branch"
    );
    let r = h.call("GET", &path, Some(&lead), None).await;
    assert_eq!(r.status, StatusCode::OK, "a lead reads a co-lead's record");
    let r = h
        .call("PUT", &path, Some(&lead), Some(r.body["profile"].clone()))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "but does not change it: {}",
        r.text
    );
    assert_eq!(
        h.rows(&format!(
            "SELECT count(*) FROM exemptions WHERE user_id = {zhang}"
        ))
        .await,
        0
    );
}

/// Names and 党员类别 are read from the accounts as a pull is answered: when the admin renames a branch,
/// changes a member's 类别 or imports a roster with a corrected name, the rows that show them take a new
/// number, and the lead's phone, pulling on from where it was, ends with what a fresh pull gives.
#[tokio::test]
async fn a_renamed_branch_or_member_reaches_the_phones_that_hold_their_rows() {
    let h = Harness::new().await;
    let (admin, lead) = (h.login(ADMIN).await, h.login(LEAD).await);
    // 张伟's 投诉建议 shows his name and branch on the district admin's phone.
    let zhang_token = h.login("13800000004").await;
    let (_, note) = feedback("工地夜班多，希望支部会议安排在周末");
    assert_eq!(send(&h, &zhang_token, &note).await["status"], "applied");
    let mut copy = crate::outbox::Cache::default();
    h.pull_into(&lead, &mut copy).await;
    let mut admins = crate::outbox::Cache::default();
    h.pull_into(&admin, &mut admins).await;

    let tree = h.call("GET", paths::ORGS, Some(&admin), None).await;
    let site = tree
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == SITE)
        .unwrap()
        .clone();
    let renamed = json!({
        "parent_id": site["parent_id"], "name": "上海浦东项目部第一党支部", "form": site["form"],
        "starts_on": site["starts_on"], "ends_on": site["ends_on"],
    });
    let r = h
        .call(
            "PUT",
            &paths::org(site["id"].as_i64().unwrap()),
            Some(&admin),
            Some(renamed),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Both phones pull after each change, so each change must reach them by itself.
    h.pull_into(&lead, &mut copy).await;
    h.pull_into(&admin, &mut admins).await;

    let liu = paths::member(h.user_id("13800000005").await);
    let detail = h.call("GET", &liu, Some(&admin), None).await;
    assert_eq!(detail.body["profile"]["membership"], "probationary");
    let mut profile = detail.body["profile"].clone();
    profile["membership"] = json!("full");
    let r = h.call("PUT", &liu, Some(&admin), Some(profile)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    h.pull_into(&lead, &mut copy).await;
    h.pull_into(&admin, &mut admins).await;

    let corrected = csv(&[
        "姓名,手机号,支部,类别",
        "张伟强,13800000004,上海浦东项目部第一党支部,正式",
    ]);
    let r = upload(&h, Some(&admin), corrected, false).await;
    assert_eq!(
        (r.status, &r.body["updated"]),
        (StatusCode::OK, &json!(1)),
        "{}",
        r.text
    );

    h.pull_into(&lead, &mut copy).await;
    assert_eq!(h.stale_rows(&lead, &copy).await, Vec::<String>::new());
    assert!(
        copy.activities
            .iter()
            .all(|a| a.org_name == "上海浦东项目部第一党支部")
    );
    let rows_of = |id: i64| copy.attendance.iter().filter(move |r| r.member_id == id);
    let zhang = h.user_id("13800000004").await;
    assert!(rows_of(zhang).all(|r| r.member_name == "张伟强"));
    let liu = h.user_id("13800000005").await;
    assert!(rows_of(liu).all(|r| r.membership == crate::model::Membership::Full));
    assert!(rows_of(liu).count() > 0);
    h.pull_into(&admin, &mut admins).await;
    assert_eq!(h.stale_rows(&admin, &admins).await, Vec::<String>::new());
    assert!(
        admins.feedback.iter().any(|f| f.user_name == "张伟强"),
        "{:?}",
        admins.feedback
    );
}

/// What a phone may hold follows its person's role: a 书记 relieved of the post is a member again, and
/// their phone — pulling on from where it was — starts over, keeping neither the branch's rosters nor
/// the key of any 签到码; the member appointed in their place starts over too and receives them. A push
/// from the old copy is answered 409, so the phone resyncs before it sends.
#[tokio::test]
async fn a_new_role_starts_the_phones_copy_over() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let (old_lead, new_lead) = (h.login(LEAD).await, h.login("13800000004").await);
    let (mut old_copy, mut new_copy) = (
        crate::outbox::Cache::default(),
        crate::outbox::Cache::default(),
    );
    h.pull_into(&old_lead, &mut old_copy).await;
    h.pull_into(&new_lead, &mut new_copy).await;
    let codes =
        |c: &crate::outbox::Cache| c.activities.iter().filter(|a| a.secret.is_some()).count();
    let others = |c: &crate::outbox::Cache, me: i64| {
        c.attendance.iter().filter(|r| r.member_id != me).count()
    };
    let (old_id, next_id) = (h.user_id(LEAD).await, h.user_id("13800000004").await);
    assert!(
        codes(&old_copy) > 0 && others(&old_copy, old_id) > 0,
        "the lead holds codes and rosters"
    );
    assert_eq!((codes(&new_copy), others(&new_copy, next_id)), (0, 0));

    for (id, post) in [(old_id, ""), (next_id, "书记")] {
        let path = paths::member(id);
        let mut profile = h.call("GET", &path, Some(&admin), None).await.body["profile"].clone();
        profile["post"] = json!(post);
        let r = h.call("PUT", &path, Some(&admin), Some(profile)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }

    let stale = Mutation::new(
        1,
        new_id(),
        &Change::Feedback(crate::api::FeedbackEntry {
            feedback_id: new_id(),
            topic: crate::api::FeedbackTopic::Suggestion,
            body: "旧副本发出的记录".into(),
        }),
        now_ms(),
        0,
    );
    let mut push = json!({"device_id": "phone", "protocol": crate::api::PROTOCOL, "mutations": [stale],
                          "history": old_copy.history});
    let r = h
        .call("POST", paths::PUSH, Some(&old_lead), Some(push.clone()))
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::CONFLICT, Some("history_changed")),
        "{}",
        r.text
    );

    h.pull_into(&old_lead, &mut old_copy).await;
    h.pull_into(&new_lead, &mut new_copy).await;
    assert_eq!(
        (codes(&old_copy), others(&old_copy, old_id)),
        (0, 0),
        "nothing of the branch's is left"
    );
    assert!(
        codes(&new_copy) > 0 && others(&new_copy, next_id) > 0,
        "the new 书记 holds them"
    );
    assert_eq!(
        h.stale_rows(&old_lead, &old_copy).await,
        Vec::<String>::new()
    );
    assert_eq!(
        h.stale_rows(&new_lead, &new_copy).await,
        Vec::<String>::new()
    );
    // With the new history, the record goes through.
    push["history"] = json!(old_copy.history);
    let r = h
        .call("POST", paths::PUSH, Some(&old_lead), Some(push))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);

    // Moved to another branch by a roster import: the phone starts over too (the new branch's earlier
    // activities lie behind its cursor).
    let liu = h.login("13800000005").await;
    let mut copy = crate::outbox::Cache::default();
    h.pull_into(&liu, &mut copy).await;
    let before = copy.history;
    let moved = csv(&[
        "姓名,手机号,支部,类别",
        &format!("刘洋,13800000005,{OFFICE},预备"),
    ]);
    let r = upload(&h, Some(&admin), moved, false).await;
    assert_eq!(r.body["updated"], 1, "{}", r.text);
    h.pull_into(&liu, &mut copy).await;
    assert_ne!(copy.history, before, "a new history: the copy started over");
    assert_eq!(h.stale_rows(&liu, &copy).await, Vec::<String>::new());
}
