//! The authorisation matrix: every endpoint × every role and scope, with the status each must get.
//!
//! The endpoints come from the OpenAPI document and every path constant in `api::paths` must be in it, so a
//! new endpoint without rows here fails this test until someone decides who may call it.

use std::collections::BTreeSet;

use super::*;
use crate::api::{FeedbackEntry, FeedbackTopic, StudyEntry};
use crate::study::{Hours, StudyKind};

const ADMIN: &str = "13800000009";
const COMMITTEE: &str = "13800000008";

/// Who calls: nobody signed in, a member (李明, 浦东 branch), that branch's lead, the lead of another
/// branch (机关, directly under the 区委), the committee admin of the joint committee the 浦东 branch is in,
/// the district admin.
const CALLERS: [&str; 6] = [
    "anonymous",
    "member",
    "lead",
    "other lead",
    "committee",
    "admin",
];

/// One request and the status each caller in [`CALLERS`] must get.
struct Row {
    method: &'static str,
    /// The documented path (with `{id}`).
    path: &'static str,
    uri: String,
    body: Option<Value>,
    raw: Option<Vec<u8>>,
    expect: [u16; 6],
}

fn row(method: &'static str, path: &'static str, expect: [u16; 6]) -> Row {
    Row {
        method,
        path,
        uri: path.to_owned(),
        body: None,
        raw: None,
        expect,
    }
}

impl Row {
    fn uri(mut self, uri: String) -> Row {
        self.uri = uri;
        self
    }
    fn json(mut self, body: Value) -> Row {
        self.body = Some(body);
        self
    }
}

#[tokio::test]
async fn every_endpoint_answers_each_role_and_scope_as_the_matrix_says() {
    let h = Harness::new().await;
    let phones = [MEMBER, LEAD, OTHER_LEAD, COMMITTEE, ADMIN];
    let mut tokens = vec![None];
    for phone in phones {
        tokens.push(Some(h.login(phone).await));
    }
    let token = |i: usize| tokens[i].clone().unwrap();
    let (member, lead) = (token(1), token(2));

    // What the rows act on: an activity of the 浦东 branch, the member's study record with a photo, a
    // pending invitation, and an unsent-records file of the member's.
    let (activity, _) = h.publish(&lead).await;
    let study = StudyEntry {
        study_id: new_id(),
        kind: StudyKind::SelfStudy,
        title: "学习党章".into(),
        starts_on: "2026-11-02".into(),
        ends_on: "2026-11-02".into(),
        hours: Hours::whole(2),
        submit: true,
        ..Default::default()
    };
    let pushed = h
        .push(
            &member,
            "p",
            &[Mutation::new(
                1,
                new_id(),
                &Change::SaveStudy(study.clone()),
                now_ms(),
                0,
            )],
        )
        .await;
    assert_eq!(
        pushed.body["receipts"][0]["status"], "applied",
        "{}",
        pushed.text
    );
    let photo = json!({"data_url": "data:image/jpeg;base64,/9j/4AAQ"});
    let evidence = paths::evidence(&study.study_id);
    let r = h
        .call("PUT", &evidence, Some(&member), Some(photo.clone()))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let member_id = h.user_id(MEMBER).await;
    let invited = h.user_id("13800000004").await;
    let r = h
        .call(
            "POST",
            paths::INVITATIONS,
            Some(&h.login(ADMIN).await),
            Some(json!({"user_id": invited})),
        )
        .await;
    let code = r.body["code"].as_str().unwrap().to_owned();
    let feedback = Change::Feedback(FeedbackEntry {
        feedback_id: new_id(),
        topic: FeedbackTopic::Help,
        body: "导入测试".into(),
    });
    let unsent = json!({
        "app": "hongyan-unsent", "format": 1, "exported_at": now_ms(), "device_id": "old-phone",
        "user_id": member_id, "user_name": "李明",
        "records": [Mutation::new(1, new_id(), &feedback, now_ms(), 0)],
    });
    let rules = h
        .call("GET", paths::STUDY_RULES, Some(&member), None)
        .await
        .body;
    // A second admin for the joint committee, to be withdrawn.
    let r = h
        .call(
            "POST",
            &paths::org_admins(2),
            Some(&h.login(ADMIN).await),
            Some(json!({"name": "郑华", "phone": "13900000002"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let second = r.body["id"].as_i64().unwrap();
    let roster = format!(
        "姓名,手机号,支部\n吴刚,13900000001,{}\n",
        "上海浦东项目部党支部"
    )
    .into_bytes();

    let public_key: String =
        p256::ecdsa::VerifyingKey::from(&p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
            .to_encoded_point(false)
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    const OK: u16 = 200;
    const NO: u16 = 204;
    let rows = vec![
        row("post", paths::LOGIN, [OK; 6])
            .json(json!({"phone": MEMBER, "password": demo::PASSWORD})),
        row("get", paths::ME, [401, OK, OK, OK, OK, OK]),
        // Everyone registers their own phone's signing key.
        row("put", paths::DEVICE_KEY, [401, NO, NO, NO, NO, NO])
            .json(json!({"device_id": "matrix", "public_key": public_key})),
        row("post", paths::PUSH, [401, OK, OK, OK, OK, OK])
            .json(json!({"device_id": "matrix", "protocol": PROTOCOL, "mutations": []})),
        row("get", paths::PULL, [401, OK, OK, OK, OK, OK]),
        // The member's own file, their lead, not another branch's lead, the district admin.
        row("post", paths::IMPORT, [401, OK, OK, 403, 403, OK]).json(unsent),
        row("get", paths::OPENAPI, [OK; 6]),
        row("get", paths::REGISTER, [401, 403, OK, 403, OK, OK])
            .uri(paths::register(&activity, "csv")),
        row("get", paths::ROSTER, [401, 403, OK, 403, OK, OK]).uri(paths::roster(&activity)),
        row("get", paths::PARTICIPATION, [401, 403, OK, OK, 403, 403]),
        row("get", paths::STUDY_RULES, [401, OK, OK, OK, OK, OK]),
        row("put", paths::STUDY_RULES, [401, 403, 403, 403, 403, OK]).json(rules),
        row("get", paths::SETTINGS, [401, OK, OK, OK, OK, OK]),
        row("put", paths::SETTINGS, [401, 403, 403, 403, 403, OK])
            .json(serde_json::to_value(crate::api::Settings::default()).unwrap()),
        row("get", paths::STUDY_OVERVIEW, [401, 403, OK, OK, OK, OK]),
        // The author and the reviewers in scope (the member's lead; the admin reviews cadres and leads).
        row("get", paths::EVIDENCE, [401, OK, OK, 403, 403, 403]).uri(evidence.clone()),
        row("put", paths::EVIDENCE, [401, NO, 403, 403, 403, 403])
            .uri(evidence)
            .json(photo),
        row("get", paths::AUDIT, [401, 403, 403, 403, 403, OK]),
        Row {
            raw: Some(roster),
            ..row("post", paths::ROSTER_IMPORT, [401, 403, 403, 403, OK, OK])
                .uri(format!("{}?dry_run=true", paths::ROSTER_IMPORT))
        },
        row("get", paths::MEMBERS, [401, 403, OK, OK, OK, OK]),
        // 张伟's record: his own lead, his 党委's admin and the district admin.
        row("get", paths::MEMBER, [401, 403, OK, 403, OK, OK]).uri(paths::member(invited)),
        row("put", paths::MEMBER, [401, 403, OK, 403, OK, OK])
            .uri(paths::member(invited))
            .json(json!({
                "membership": "full", "post": "", "tags": "流动党员", "audience": "member",
            })),
        // Disabling or restoring 张伟 (here: restoring, which changes nothing): his lead, his 党委's admin and
        // the district admin.
        row("put", paths::MEMBER_ACCESS, [401, 403, OK, 403, OK, OK])
            .uri(paths::member_access(invited))
            .json(json!({"enabled": true})),
        // Two-step login: for committee and district admins (here: turning it off when it is not on).
        row("post", paths::TWO_FACTOR, [401, 403, 403, 403, OK, OK]),
        row("put", paths::TWO_FACTOR, [401, 403, 403, 403, 409, 409])
            .json(json!({"enabled": false, "code": "000000"})),
        // Everyone changes only their own password, knowing the current one (here: not).
        row("put", paths::PASSWORD, [401, 403, 403, 403, 403, 403])
            .json(json!({"current": "not the password", "new": "a-much-better-one-2026"})),
        // Anyone holding a code may see whose it is, before newer codes replace it (wrong codes are throttled: see the accounts tests).
        row("post", paths::JOIN_CHECK, [OK; 6]).json(json!({"code": code})),
        // 张伟 is in the 浦东 branch and has a password: a new one is for the joint committee's admin and the
        // district admin to issue, not for his lead (who could then log in as him).
        row("post", paths::INVITATIONS, [401, 403, 403, 403, OK, OK])
            .json(json!({"user_id": invited})),
        // The code is looked up (and throttled) before any password is hashed; it was replaced just above.
        row("post", paths::JOIN, [404; 6])
            .json(json!({"code": code, "password": "short", "privacy_consent": true})),
        row("get", paths::MY_DATA, [401, OK, OK, OK, OK, OK]),
        // Leads: their branch (asked without `org`); committee admins: their 党委; district admins: anywhere.
        row("get", paths::DISTRICT, [401, 403, OK, OK, OK, OK]),
        // The district admin edits the tree (a new organisation each time it is allowed); a committee admin
        // reads their part of it.
        row("get", paths::ORGS, [401, 403, 403, 403, OK, OK]),
        row("post", paths::ORGS, [401, 403, 403, 403, 403, OK])
            .json(json!({"parent_id": 1, "name": "新支部", "form": "branch"})),
        row("put", paths::ORG, [401, 403, 403, 403, 403, OK])
            .uri(paths::org(4))
            .json(json!({"parent_id": 1, "name": "区发展改革委机关党支部", "form": "branch"})),
        row("delete", paths::ORG, [401, 403, 403, 403, 403, 409]).uri(paths::org(4)),
        // 党委管理员 are named and withdrawn by the district admin.
        row("post", paths::ORG_ADMINS, [401, 403, 403, 403, 403, OK])
            .uri(paths::org_admins(2))
            .json(json!({"name": "冯强", "phone": "13900000003"})),
        row("delete", paths::ORG_ADMIN, [401, 403, 403, 403, 403, NO])
            .uri(paths::org_admin(2, second)),
        // Last: it ends each caller's session.
        row("post", paths::LOGOUT, [401, NO, NO, NO, NO, NO]),
    ];

    // Every documented endpoint has a row, and every row is a documented endpoint.
    let doc = h.call("GET", paths::OPENAPI, None, None).await.body;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let covered: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(
        documented, covered,
        "each endpoint in the OpenAPI document needs a row in the authorisation matrix"
    );

    let mut wrong = Vec::new();
    for r in &rows {
        for (i, caller) in CALLERS.iter().enumerate() {
            let mut req = Request::builder()
                .method(r.method.to_uppercase().as_str())
                .uri(&r.uri);
            if let Some(t) = &tokens[i] {
                req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
            }
            let body = match (&r.raw, &r.body) {
                (Some(raw), _) => Body::from(raw.clone()),
                (None, Some(json)) => {
                    req = req.header(header::CONTENT_TYPE, "application/json");
                    Body::from(json.to_string())
                }
                (None, None) => Body::empty(),
            };
            let got = h.send(req.body(body).unwrap()).await;
            if got.status.as_u16() != r.expect[i] {
                wrong.push(format!(
                    "{} {} as {caller}: {} (expected {}) {}",
                    r.method, r.uri, got.status, r.expect[i], got.text
                ));
            }
            let listed = &doc["paths"][r.path][r.method]["responses"][got.status.as_str()];
            if listed.is_null() {
                wrong.push(format!(
                    "{} {} answers {} but the OpenAPI document does not list it",
                    r.method, r.path, got.status
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every endpoint that takes JSON answers a body that is not JSON with 415, and says so in the document.
#[tokio::test]
async fn a_body_that_is_not_json_gets_415_wherever_json_is_expected_and_the_document_says_so() {
    let h = Harness::new().await;
    let admin = h.login(ADMIN).await;
    let doc = h.call("GET", paths::OPENAPI, None, None).await.body;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op["requestBody"]["content"]["application/json"].is_null() {
                continue;
            }
            assert!(
                !op["responses"]["415"].is_null(),
                "{method} {path} does not list 415"
            );
            let uri = path.replace("{id}", "1").replace("{user_id}", "1");
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("not json"))
                .unwrap();
            let r = h.send(req).await;
            assert_eq!(
                r.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{method} {path}: {}",
                r.text
            );
            assert!(r.body["message"].is_string(), "{method} {path}: {}", r.text);
            checked += 1;
        }
    }
    assert!(checked >= 15, "{checked}");
}

/// Every path constant in `api::paths` is served and documented (so the matrix above sees it).
#[tokio::test]
async fn every_path_in_the_wire_contract_is_documented() {
    let h = Harness::new().await;
    let doc = h.call("GET", paths::OPENAPI, None, None).await.body;
    let documented: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    let source = include_str!("../../api.rs");
    let module = &source[source.find("pub mod paths {").unwrap()..];
    let module = &module[..module.find("\n}\n").unwrap()];
    let constants: Vec<&str> = module
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub const "))
        .filter_map(|l| l.split('"').nth(1))
        .collect();
    assert!(constants.len() >= 19, "{constants:?}");
    for path in constants {
        assert!(
            documented.iter().any(|d| *d == path),
            "{path} is not in the OpenAPI document"
        );
    }
}
