//! The outbox's rules, natively: receipts, migrations, overlays, the study ledger and feedback.

use super::*;
use crate::api::{NewActivity, SignIn};
use crate::model::{ActivityKind, Membership};

fn sign_in(seq: u64, activity: &str) -> Entry {
    let change = Change::SignIn(SignIn {
        activity_id: activity.into(),
        code: "123456".into(),
        ..Default::default()
    });
    Entry::new(
        2,
        Mutation::new(seq, format!("id-{seq}"), &change, 1_000, 0),
    )
}

#[test]
fn an_admins_phone_lets_go_of_the_district_an_older_app_kept() {
    let activity = |id: &str| ActivityView {
        id: id.into(),
        ..ActivityView::default()
    };
    let row = |activity: &str, member_id: i64| AttendanceView {
        activity_id: activity.into(),
        member_id,
        ..AttendanceView::default()
    };
    let mut cache = Cache {
        activities: vec![activity("theirs"), activity("mine")],
        attendance: vec![row("theirs", 7), row("mine", 7), row("mine", 9)],
        ..Cache::default()
    };
    let mut lead = cache.clone();
    lead.hold_for(Role::Lead, 9);
    assert_eq!(lead, cache, "a lead's phone keeps its branch");
    cache.hold_for(Role::Admin, 9);
    assert_eq!(cache.activities, vec![activity("mine")]);
    assert_eq!(cache.attendance, vec![row("mine", 9)]);
}

#[test]
fn the_phone_says_what_it_holds_and_where_an_admin_reads_the_rest() {
    let cache = Cache::default();
    let member = cache.holdings(Role::Member);
    assert!(member.starts_with("活动 0 项、应到名单 0 行"), "{member}");
    assert!(cache.holdings(Role::Admin).contains("本机不保存全区数据"));
    assert!(!member.contains("全区"));
}

fn receipt(id: &str, status: ReceiptStatus, received_at: Millis) -> Receipt {
    let reason = (status == ReceiptStatus::Quarantined).then(|| "签到码不正确".to_owned());
    Receipt {
        id: id.into(),
        status,
        reason,
        server_seq: 7,
        received_at,
    }
}

fn row(activity: &str, status: AttendanceStatus, server_seq: i64) -> AttendanceView {
    AttendanceView {
        activity_id: activity.into(),
        member_id: 2,
        member_name: "李明".into(),
        membership: Membership::Full,
        status,
        signed_at: None,
        clock_skewed: false,
        server_seq,
        ..Default::default()
    }
}

#[test]
fn feedback_written_offline_shows_at_once_and_a_reply_shows_until_the_server_has_it() {
    use crate::api::{FeedbackEntry, FeedbackTopic, ReplyFeedback};
    let note = |seq, author, change: Change| {
        Entry::new(
            author,
            Mutation::new(seq, format!("m-{seq}"), &change, 5_000 + seq as i64, 0),
        )
    };
    let written = note(
        1,
        2,
        Change::Feedback(FeedbackEntry {
            feedback_id: "f1".into(),
            topic: FeedbackTopic::Help,
            body: " 签到码看不清 ".into(),
        }),
    );
    let mut cache = Cache::default();
    let items = feedback_items((2, "李明", "浦东"), &cache, std::slice::from_ref(&written));
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0].view.body.as_str(), items[0].mark.clone()),
        ("签到码看不清", RowMark::Waiting)
    );
    assert_eq!(items[0].view.user_name, "李明");
    // Someone else's outbox entry on a shared phone is not shown as this person's.
    assert!(feedback_items((3, "王", "浦东"), &cache, std::slice::from_ref(&written)).is_empty());

    // The server has it; the admin's reply made on this phone shows until the server sends it back.
    let stored = FeedbackView {
        id: "f1".into(),
        user_id: 2,
        body: "签到码看不清".into(),
        server_seq: 5,
        ..FeedbackView::default()
    };
    cache.merge(PullResponse {
        feedback: vec![stored.clone()],
        ..PullResponse::default()
    });
    let mut reply = note(
        2,
        9,
        Change::ReplyFeedback(ReplyFeedback {
            feedback_id: "f1".into(),
            reply: "已调大字号".into(),
        }),
    );
    let items = feedback_items(
        (9, "周敏", "区委组织部"),
        &cache,
        std::slice::from_ref(&reply),
    );
    assert_eq!(
        (items[0].view.reply.as_deref(), items[0].mark.clone()),
        (Some("已调大字号"), RowMark::Waiting)
    );
    reply.state = EntryState::Quarantined {
        receipt: receipt("m-2", ReceiptStatus::Quarantined, 0),
    };
    let items = feedback_items(
        (9, "周敏", "区委组织部"),
        &cache,
        std::slice::from_ref(&reply),
    );
    assert_eq!(
        items[0].view.reply, None,
        "a refused reply is not shown as given"
    );
    assert!(matches!(items[0].mark, RowMark::Refused(_)));
    // An older copy never replaces a newer one.
    cache.merge(PullResponse {
        feedback: vec![FeedbackView {
            server_seq: 3,
            body: "旧".into(),
            ..stored
        }],
        ..PullResponse::default()
    });
    assert_eq!(cache.feedback[0].body, "签到码看不清");
}

#[test]
fn the_next_batch_is_the_oldest_pending_records_in_sequence_order() {
    let mut entries = vec![sign_in(3, "a"), sign_in(1, "a"), sign_in(2, "a")];
    entries[2].state = EntryState::Delivered {
        receipt: receipt("id-2", ReceiptStatus::Applied, 0),
    };
    let seqs: Vec<u64> = next_batch(&entries, 10).iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 3]);
    assert_eq!(next_batch(&entries, 1).len(), 1);
}

#[test]
fn receipts_move_records_out_of_pending_and_unknown_receipts_change_nothing() {
    let mut entries = vec![sign_in(1, "a"), sign_in(2, "a")];
    let changed = apply_receipts(
        &mut entries,
        &[
            receipt("id-1", ReceiptStatus::Duplicate, 5),
            receipt("id-2", ReceiptStatus::Quarantined, 5),
            receipt("id-9", ReceiptStatus::Applied, 5),
        ],
    );
    assert_eq!(changed.len(), 2);
    assert!(matches!(entries[0].state, EntryState::Delivered { .. }));
    assert!(matches!(entries[1].state, EntryState::Quarantined { .. }));
    assert!(next_batch(&entries, 10).is_empty());
    assert!(
        apply_receipts(
            &mut entries,
            &[receipt("id-1", ReceiptStatus::Duplicate, 5)]
        )
        .is_empty()
    );
}

#[test]
fn only_old_deliveries_are_forgotten() {
    let mut entries = vec![sign_in(1, "a"), sign_in(2, "a"), sign_in(3, "a")];
    entries[0].state = EntryState::Delivered {
        receipt: receipt("id-1", ReceiptStatus::Applied, 0),
    };
    entries[1].state = EntryState::Quarantined {
        receipt: receipt("id-2", ReceiptStatus::Quarantined, 0),
    };
    assert_eq!(
        expired_deliveries(&entries, KEEP_DELIVERED_MS + 1),
        ["id-1"]
    );
    assert!(expired_deliveries(&entries, KEEP_DELIVERED_MS).is_empty());
}

#[test]
fn the_member_sees_waiting_then_delivered_then_confirmed() {
    let mut cache = Cache::default();
    let mut entries = vec![sign_in(1, "a")];
    assert_eq!(
        sign_in_view("a", 2, &cache, &[]),
        SignInView::NotSignedIn(AttendanceStatus::Pending)
    );
    assert_eq!(sign_in_view("a", 2, &cache, &entries), SignInView::Waiting);
    apply_receipts(&mut entries, &[receipt("id-1", ReceiptStatus::Applied, 5)]);
    assert_eq!(sign_in_view("a", 2, &cache, &entries).label(), "已送达");
    cache.put_attendance(row("a", AttendanceStatus::Confirmed, 9));
    assert_eq!(sign_in_view("a", 2, &cache, &entries).label(), "已确认");
}

#[test]
fn a_rejected_sign_in_shows_its_reason_and_may_be_retried() {
    let cache = Cache::default();
    let mut entries = vec![sign_in(1, "a")];
    apply_receipts(
        &mut entries,
        &[receipt("id-1", ReceiptStatus::Quarantined, 5)],
    );
    let view = sign_in_view("a", 2, &cache, &entries);
    assert_eq!(view.label(), "未通过：签到码不正确");
    assert!(view.can_sign_in());
    entries.push(sign_in(2, "a"));
    assert_eq!(sign_in_view("a", 2, &cache, &entries), SignInView::Waiting);
}

#[test]
fn a_pull_merges_by_key_and_never_moves_a_row_backwards() {
    let mut cache = Cache::default();
    cache.put_attendance(row("a", AttendanceStatus::Confirmed, 9));
    cache.merge(PullResponse {
        cursor: 10,
        more: false,
        server_time: 0,
        activities: vec![],
        attendance: vec![
            row("a", AttendanceStatus::SignedIn, 8),
            row("b", AttendanceStatus::Pending, 3),
        ],
        ..PullResponse::default()
    });
    assert_eq!(cache.attendance.len(), 2);
    assert_eq!(cache.attendance[0].status, AttendanceStatus::Confirmed);
    assert_eq!(cache.cursor, 10);
    cache.merge(PullResponse {
        cursor: 4,
        more: false,
        server_time: 0,
        activities: vec![],
        attendance: vec![],
        ..PullResponse::default()
    });
    assert_eq!(cache.cursor, 10, "the cursor never goes back");
}

#[test]
fn the_leads_confirmation_shows_at_once_and_a_refusal_shows_its_reason() {
    let confirm = |seq: u64, member_id: i64| {
        let change = Change::Confirm(crate::api::Confirm {
            activity_id: "a".into(),
            member_id,
        });
        Entry::new(1, Mutation::new(seq, format!("c-{seq}"), &change, 0, 0))
    };
    let mut cache = Cache::default();
    cache.put_attendance(row("a", AttendanceStatus::SignedIn, 4));
    let status = |cache: &Cache, entries: &[Entry]| {
        let r = &lead_roster("a", cache, entries)[0];
        (r.row.status, r.mark.clone())
    };
    assert_eq!(
        status(&cache, &[]),
        (AttendanceStatus::SignedIn, RowMark::None)
    );

    let mut entries = vec![confirm(1, 2)];
    assert_eq!(
        status(&cache, &entries),
        (AttendanceStatus::Confirmed, RowMark::Waiting)
    );
    // Sent, not yet pulled back: still shown confirmed; pulled: the server's row speaks.
    apply_receipts(&mut entries, &[receipt("c-1", ReceiptStatus::Applied, 5)]);
    assert_eq!(
        status(&cache, &entries),
        (AttendanceStatus::Confirmed, RowMark::None)
    );
    cache.put_attendance(row("a", AttendanceStatus::Confirmed, 9));
    assert_eq!(
        status(&cache, &entries),
        (AttendanceStatus::Confirmed, RowMark::None)
    );

    let mut cache = Cache::default();
    cache.put_attendance(row("a", AttendanceStatus::Leave, 4));
    let mut entries = vec![confirm(2, 2)];
    apply_receipts(
        &mut entries,
        &[receipt("c-2", ReceiptStatus::Quarantined, 5)],
    );
    assert_eq!(
        status(&cache, &entries),
        (
            AttendanceStatus::Leave,
            RowMark::Refused("签到码不正确".into())
        )
    );
    assert!(
        lead_roster("a", &cache, &[confirm(3, 99)])[0].mark == RowMark::None,
        "another member"
    );
}

#[test]
fn an_activity_the_server_refused_leaves_the_list_but_its_record_stays() {
    let activity = NewActivity {
        activity_id: "act".into(),
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        place: String::new(),
        starts_at: 0,
        ends_at: 1,
        code: "123456".into(),
        ..Default::default()
    };
    let view = |id: &str, server_seq| ActivityView {
        id: id.into(),
        org_id: 3,
        org_name: "支部".into(),
        kind: ActivityKind::ThemeDay,
        title: "主题党日".into(),
        place: String::new(),
        starts_at: 0,
        ends_at: 1,
        code: None,
        server_seq,
        ..Default::default()
    };
    let mut cache = Cache {
        activities: vec![view("act", 0), view("other", 0)],
        ..Cache::default()
    };
    let mut entries = vec![Entry::new(
        2,
        Mutation::new(1, "id-1".into(), &Change::CreateActivity(activity), 0, 0),
    )];
    assert!(!cache.forget_refused(&entries), "still pending: kept");
    let changed = apply_receipts(
        &mut entries,
        &[receipt("id-1", ReceiptStatus::Quarantined, 5)],
    );
    assert!(cache.forget_refused(&changed));
    let ids: Vec<&str> = cache.activities.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["other"]);
    assert_eq!(Health::of(&entries, 5).quarantined.len(), 1);
}

#[test]
fn a_stored_entry_round_trips_through_json() {
    let e = sign_in(1, "a");
    let json = serde_json::to_string(&e).unwrap();
    assert!(json.contains(r#""state":{"state":"pending"}"#), "{json}");
    let back: Entry = serde_json::from_str(&json).unwrap();
    assert_eq!(migrate(back, 2).unwrap(), e);

    let receipt = Receipt {
        id: "m".into(),
        status: ReceiptStatus::Applied,
        reason: None,
        server_seq: 7,
        received_at: 9,
    };
    for state in [
        EntryState::Delivered {
            receipt: receipt.clone(),
        },
        EntryState::Quarantined { receipt },
    ] {
        let json = serde_json::to_string(&state).unwrap();
        assert!(
            json.starts_with(r#"{"state":""#) && json.contains(r#","receipt":{"id":"m""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<EntryState>(&json).unwrap(), state);
    }
    let error = |json: &str| {
        serde_json::from_str::<EntryState>(json)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(error(r#"{"state":"delivered"}"#), "missing field `receipt`");
    assert!(error(r#"{"state":"lost"}"#).starts_with("unknown variant `lost`"));
    assert!(error(r#"{"receipt":null}"#).starts_with("missing field `state`"));
}

/// A record exactly as version 1 of the app wrote it (format 1, no author).
const FORMAT_1: &str = r#"{"format":1,"mutation":{"seq":4,"id":"0190b0c2-7a8e-7d1c-9f00-3c5a1b2c3d4e",
    "kind":"sign_in","payload":{"activity_id":"a","code":"123456"},"device_time":1700000000000,
    "server_offset_ms":-1200},"state":{"state":"pending"}}"#;

#[test]
fn a_format_1_record_is_upgraded_and_keeps_everything_it_had() {
    let stored: Entry = serde_json::from_str(FORMAT_1).unwrap();
    let e = migrate(stored, 5).unwrap();
    assert_eq!((e.format, e.author, e.mutation.seq), (FORMAT, 5, 4));
    assert!(e.is_pending());
    assert_eq!(e.mutation.server_offset_ms, -1200);
    assert_eq!(
        e.change(),
        Some(Change::SignIn(SignIn {
            activity_id: "a".into(),
            code: "123456".into(),
            ..Default::default()
        }))
    );
    // Upgrading an upgraded record changes nothing.
    assert_eq!(migrate(e.clone(), 9).unwrap(), e);
}

#[test]
fn a_record_from_a_newer_app_is_refused_not_guessed() {
    let mut newer: Entry = serde_json::from_str(FORMAT_1).unwrap();
    newer.format = 3;
    assert!(migrate(newer, 5).unwrap_err().contains("需要更新应用"));
    assert!(
        serde_json::from_str::<Entry>(r#"{"format": 2}"#).is_err(),
        "damaged"
    );
}

#[test]
fn health_counts_the_outbox_and_warns_only_when_records_may_be_evicted() {
    const DAY: Millis = 86_400_000;
    let mut entries = vec![sign_in(1, "a"), sign_in(2, "b"), sign_in(3, "c")];
    entries[0].state = EntryState::Delivered {
        receipt: receipt("id-1", ReceiptStatus::Applied, 0),
    };
    entries[1].state = EntryState::Quarantined {
        receipt: receipt("id-2", ReceiptStatus::Quarantined, 0),
    };
    let now = 1_000 + 3 * DAY;
    let health = Health::of(&entries, now);
    assert_eq!(health.pending, 1);
    assert_eq!(health.delivered, 1);
    assert_eq!(health.oldest_pending_ms, Some(3 * DAY));
    assert_eq!(health.quarantined[0].1, "签到码不正确");
    let settings = Settings::default();
    assert!(health.at_risk(None, &settings));
    assert!(health.at_risk(Some(false), &settings));
    assert!(
        !health.at_risk(Some(true), &settings),
        "persisted storage is not evicted"
    );
    let younger = Health::of(&entries, 1_000 + DAY);
    assert!(!younger.at_risk(Some(false), &settings));
    assert!(
        !Health::of(&entries[..2], now).at_risk(None, &settings),
        "nothing pending"
    );
    let seqs: Vec<u64> = unsent(&entries).iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        [2, 3],
        "the export carries refused and pending records"
    );
}

#[test]
fn the_leads_decisions_and_a_members_requests_show_at_once_by_the_same_rules_as_the_server() {
    use crate::api::{Decide, Request};
    use crate::life::{Decision, LeaveCategory};
    let entry = |seq: u64, author: i64, change: Change| {
        Entry::new(
            author,
            Mutation::new(seq, format!("e-{seq}"), &change, 0, 0),
        )
    };
    let mut cache = Cache::default();
    cache.put_attendance(row("a", AttendanceStatus::Pending, 4));
    // The member (id 2 in `row`) asks for leave offline: 请假待审批 at once, marked as waiting.
    let ask = entry(
        1,
        2,
        Change::Request(Request {
            activity_id: "a".into(),
            kind: RequestKind::Leave,
            category: Some(LeaveCategory::Illness),
            reason: "发烧".into(),
        }),
    );
    let mine = my_row("a", 2, &cache, std::slice::from_ref(&ask));
    assert_eq!(
        (mine.row.status, mine.row.reason.as_deref(), mine.mark),
        (
            AttendanceStatus::LeavePending,
            Some("发烧"),
            RowMark::Waiting
        )
    );
    assert_eq!(
        my_row("b", 2, &cache, &[ask]).row.status,
        AttendanceStatus::Pending
    );

    // The lead approves it offline: 已请假 on the lead's phone before anything is sent.
    cache.put_attendance(AttendanceView {
        status: AttendanceStatus::LeavePending,
        ..row("a", AttendanceStatus::Pending, 5)
    });
    let decide = |seq, decision, reason: &str| {
        entry(
            seq,
            1,
            Change::Decide(Decide {
                activity_id: "a".into(),
                member_id: 2,
                decision,
                reason: reason.into(),
            }),
        )
    };
    let mut entries = vec![decide(2, Decision::ApproveLeave, "")];
    let r = &lead_roster("a", &cache, &entries)[0];
    assert_eq!(
        (r.row.status, &r.mark),
        (AttendanceStatus::Leave, &RowMark::Waiting)
    );
    // A decision the rules do not allow changes nothing locally; the server refuses it with a reason.
    entries = vec![decide(3, Decision::ApproveMakeup, "")];
    assert_eq!(
        lead_roster("a", &cache, &entries)[0].row.status,
        AttendanceStatus::LeavePending
    );
    apply_receipts(
        &mut entries,
        &[receipt("e-3", ReceiptStatus::Quarantined, 6)],
    );
    assert_eq!(
        lead_roster("a", &cache, &entries)[0].mark,
        RowMark::Refused("签到码不正确".into())
    );
}

#[test]
fn a_refused_edit_makes_the_next_pull_start_over() {
    let change = Change::CancelActivity(crate::api::Cancel {
        activity_id: "a".into(),
        reason: "改期".into(),
    });
    let mut entries = vec![Entry::new(1, Mutation::new(1, "x".into(), &change, 0, 0))];
    let mut cache = Cache {
        cursor: 40,
        ..Cache::default()
    };
    assert!(!cache.forget_refused(&entries));
    apply_receipts(&mut entries, &[receipt("x", ReceiptStatus::Quarantined, 1)]);
    assert!(cache.forget_refused(&entries));
    assert_eq!(cache.cursor, 0);
}

// --- The study ledger

fn study_change(seq: u64, author: i64, change: Change) -> Entry {
    Entry::new(
        author,
        Mutation::new(seq, format!("s-{seq}"), &change, 1_000, 0),
    )
}

fn entry(hours: u32) -> crate::api::StudyEntry {
    crate::api::StudyEntry {
        study_id: "rec".into(),
        kind: crate::study::StudyKind::Training,
        title: "专题培训".into(),
        starts_on: "2026-11-02".into(),
        ends_on: "2026-11-02".into(),
        hours: Hours::whole(hours),
        submit: true,
        ..Default::default()
    }
}

fn server_copy(status: StudyStatus, credited: u32, version: u32, server_seq: i64) -> StudyView {
    StudyView {
        id: "rec".into(),
        user_id: 3,
        user_name: "赵磊".into(),
        audience: Audience::Township,
        kind: crate::study::StudyKind::Training,
        title: "专题培训".into(),
        starts_on: "2026-11-02".into(),
        ends_on: "2026-11-02".into(),
        hours: Hours::whole(8),
        status,
        credited: Hours::whole(credited),
        version,
        server_seq,
        ..Default::default()
    }
}

#[test]
fn a_study_record_made_offline_shows_at_once_and_counts_only_once_recognised() {
    let mut cache = Cache::default();
    let mut entries = vec![study_change(1, 3, Change::SaveStudy(entry(8)))];
    let mine = my_study(3, "赵磊", Audience::Township, &cache, &entries);
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].view.status, &mine[0].mark),
        (StudyStatus::Pending, &RowMark::Waiting)
    );
    assert_eq!(
        (mine[0].view.hours, mine[0].view.version),
        (Hours::whole(8), 1)
    );
    assert_eq!(
        progress(&cache.study_rules, Audience::Township, 2026, &mine)[0].done,
        Hours::ZERO
    );
    // Someone else's records on a shared phone are not this person's.
    assert!(my_study(4, "李明", Audience::Member, &cache, &entries).is_empty());

    apply_receipts(
        &mut entries,
        &[Receipt {
            id: "s-1".into(),
            ..receipt("s-1", ReceiptStatus::Applied, 5)
        }],
    );
    assert!(delivered_study(&entries, "rec"));
    assert_eq!(
        my_study(3, "赵磊", Audience::Township, &cache, &entries)[0].mark,
        RowMark::None
    );

    cache.merge(PullResponse {
        study: vec![server_copy(StudyStatus::Recognised, 6, 2, 9)],
        ..PullResponse::default()
    });
    let mine = my_study(3, "赵磊", Audience::Township, &cache, &entries);
    assert_eq!(mine.len(), 1, "the server's copy replaces the phone's");
    assert_eq!(mine[0].view.status, StudyStatus::Recognised);
    let p = progress(&cache.study_rules, Audience::Township, 2026, &mine);
    assert_eq!(p[0].sentence(), "应完成90学时，已完成6学时，尚需84学时");
}

#[test]
fn an_edit_of_a_recognised_record_is_not_shown_as_applied_and_its_refusal_says_why() {
    let mut cache = Cache::default();
    cache.merge(PullResponse {
        study: vec![server_copy(StudyStatus::Recognised, 8, 2, 9)],
        ..PullResponse::default()
    });
    let mut entries = vec![study_change(1, 3, Change::SaveStudy(entry(20)))];
    let shown = &my_study(3, "赵磊", Audience::Township, &cache, &entries)[0];
    assert_eq!(
        (shown.view.status, shown.view.hours),
        (StudyStatus::Recognised, Hours::whole(8))
    );
    let refused = Receipt {
        reason: Some("该学习记录已认定，不能再修改或撤回".into()),
        ..receipt("s-1", ReceiptStatus::Quarantined, 5)
    };
    apply_receipts(&mut entries, &[refused]);
    let shown = &my_study(3, "赵磊", Audience::Township, &cache, &entries)[0];
    assert_eq!(shown.view.hours, Hours::whole(8));
    assert!(matches!(&shown.mark, RowMark::Refused(r) if r.contains("已认定")));
}

#[test]
fn a_reviewers_decision_shows_in_the_queue_until_the_server_has_it() {
    let mut cache = Cache::default();
    cache.merge(PullResponse {
        study: vec![server_copy(StudyStatus::Pending, 0, 1, 9)],
        ..PullResponse::default()
    });
    assert_eq!(review_queue(8, &cache, &[]).len(), 1);
    assert!(
        review_queue(3, &cache, &[]).is_empty(),
        "nobody reviews their own"
    );
    let decision = Change::ReviewStudy(crate::api::ReviewStudy {
        study_id: "rec".into(),
        version: 1,
        credited: Some(Hours::whole(6)),
        comment: String::new(),
    });
    let mut entries = vec![study_change(1, 8, decision)];
    let queue = review_queue(8, &cache, &entries);
    assert_eq!(
        (queue[0].view.status, &queue[0].mark),
        (StudyStatus::Recognised, &RowMark::Waiting)
    );
    apply_receipts(&mut entries, &[receipt("s-1", ReceiptStatus::Applied, 5)]);
    cache.merge(PullResponse {
        study: vec![server_copy(StudyStatus::Recognised, 6, 2, 12)],
        ..PullResponse::default()
    });
    assert!(review_queue(8, &cache, &entries).is_empty());
}

#[test]
fn a_new_record_the_server_refused_still_shows_what_was_written_and_why() {
    let cache = Cache::default();
    let mut entries = vec![study_change(1, 3, Change::SaveStudy(entry(8)))];
    let refused = Receipt {
        reason: Some("学习结束后才能登记学时".into()),
        ..receipt("s-1", ReceiptStatus::Quarantined, 5)
    };
    apply_receipts(&mut entries, &[refused]);
    let shown = &my_study(3, "赵磊", Audience::Township, &cache, &entries)[0];
    assert_eq!(shown.view.title, "专题培训");
    assert!(matches!(&shown.mark, RowMark::Refused(r) if r.contains("结束后")));
}

#[test]
fn the_study_form_turns_what_was_typed_into_a_record_or_says_what_to_correct() {
    use crate::study::{Day, Hours, StudyKind};
    let today = Day::parse("2026-03-10").unwrap();
    let day_hours = Hours::parse("7.5").unwrap();
    let typed = StudyDraft {
        kind: StudyKind::Training,
        title: "  春季主体班 ".into(),
        organiser: "中共上海市委党校".into(),
        starts_on: "2026-03-02".into(),
        ends_on: "2026-03-06".into(),
        amount: "5".into(),
        by_days: true,
        ..StudyDraft::new(today)
    };
    assert_eq!(
        typed.converted(day_hours).as_deref(),
        Some("按每天7.5学时折算为37.5学时")
    );
    let entry = typed
        .to_entry("s-1".into(), true, day_hours, today)
        .unwrap();
    assert_eq!(entry.study_id, "s-1");
    assert_eq!(entry.hours, Hours::parse("37.5").unwrap());
    assert_eq!(entry.days, Hours::parse("5"));
    assert!(entry.submit);
    assert_eq!(
        entry.title, "  春季主体班 ",
        "the record is trimmed where it is applied"
    );

    // Back into the form to change it: days stay days.
    let view = StudyView {
        kind: entry.kind,
        title: entry.title.clone(),
        organiser: entry.organiser.clone(),
        starts_on: entry.starts_on.clone(),
        ends_on: entry.ends_on.clone(),
        hours: entry.hours,
        days: entry.days,
        ..StudyView::default()
    };
    assert_eq!(StudyDraft::of(&view), typed);

    let by_hours = StudyDraft {
        by_days: false,
        amount: "3.5".into(),
        ..typed.clone()
    };
    assert_eq!(by_hours.converted(day_hours), None);
    let draft = by_hours
        .to_entry("s-1".into(), false, day_hours, today)
        .unwrap();
    assert_eq!(
        (draft.hours, draft.days, draft.submit),
        (Hours::parse("3.5").unwrap(), None, false)
    );

    let wrong = |draft: StudyDraft| {
        draft
            .to_entry("s-1".into(), true, day_hours, today)
            .unwrap_err()
    };
    assert_eq!(
        wrong(StudyDraft {
            amount: "半天".into(),
            ..typed.clone()
        }),
        "学时（或天数）请填写数字，最小单位0.5"
    );
    assert_eq!(
        wrong(StudyDraft {
            ends_on: "2026-03-01".into(),
            ..typed.clone()
        }),
        "结束日期不能早于开始日期"
    );
    assert_eq!(
        wrong(StudyDraft {
            title: " ".into(),
            ..typed.clone()
        }),
        "请填写学习内容（名称）"
    );
    let new = StudyDraft::new(today);
    assert_eq!(
        (
            new.starts_on.as_str(),
            new.ends_on.as_str(),
            new.amount.as_str()
        ),
        ("2026-03-10", "2026-03-10", "")
    );
}

#[test]
fn the_activity_form_turns_what_was_typed_into_a_record_or_says_what_to_correct() {
    use crate::life::{ActivityMode, Fence};
    use crate::model::LocalTime;
    use crate::study::Hours;
    let now = LocalTime::parse_input("2026-03-08T10:30").unwrap();
    let settings = Settings::default();
    let fence = Fence::around(31.23, 121.47, 200);
    let typed = ActivityDraft {
        kind: ActivityKind::GroupMeeting,
        title: " 三月党小组会 ".into(),
        place: "项目部会议室".into(),
        study: "2".into(),
        fence: Some(fence),
        ..ActivityDraft::new(now, Some(4))
    };
    assert_eq!(
        (typed.starts.as_str(), typed.ends.as_str()),
        ("2026-03-08T11:00", "2026-03-08T13:00")
    );

    let new = typed
        .to_new_activity("a-1".into(), "ab".repeat(16), &settings, now)
        .unwrap();
    assert_eq!(new.title, "三月党小组会");
    assert_eq!(new.starts_at, now + 30 * 60_000);
    assert_eq!(new.ends_at, now + 150 * 60_000);
    assert_eq!(new.study_hours, Hours::parse("2").unwrap());
    assert_eq!((new.fence, new.group_id), (Some(fence), Some(4)));
    assert_eq!(new.code_step_ms, settings.code_step_ms);

    // An edit (no new secret) keeps the fence and group the activity has.
    let edit = typed
        .to_new_activity("a-1".into(), String::new(), &settings, now)
        .unwrap();
    assert_eq!(
        (edit.fence, edit.group_id, edit.secret.as_str()),
        (None, None, "")
    );
    // Only a 党小组会 has a group.
    let day = ActivityDraft {
        kind: ActivityKind::ThemeDay,
        ..typed.clone()
    };
    let day = day
        .to_new_activity("a-2".into(), "cd".repeat(16), &settings, now)
        .unwrap();
    assert_eq!(day.group_id, None);

    let wrong = |draft: ActivityDraft| {
        draft
            .to_new_activity("a-1".into(), "ab".repeat(16), &settings, now)
            .unwrap_err()
    };
    assert_eq!(
        wrong(ActivityDraft {
            study: "两小时".into(),
            ..typed.clone()
        }),
        "学时请填写数字，最小单位0.5；不计学时请留空"
    );
    assert_eq!(
        wrong(ActivityDraft {
            ends: String::new(),
            ..typed.clone()
        }),
        "请填写开始和结束时间"
    );
    assert!(
        !wrong(ActivityDraft {
            title: "  ".into(),
            ..typed.clone()
        })
        .is_empty()
    );
    assert_eq!(
        ActivityDraft {
            study: " ".into(),
            ..typed.clone()
        }
        .to_new_activity("a-1".into(), "ab".repeat(16), &settings, now)
        .unwrap()
        .study_hours,
        Hours::ZERO
    );

    // What the phone shows at once: the form's fields over what it had.
    let had = ActivityView {
        id: "a-1".into(),
        org_name: "第一支部".into(),
        mode: ActivityMode::Online,
        ..ActivityView::default()
    };
    let shown = published(&edit, had.clone());
    assert_eq!(
        (shown.id.as_str(), shown.org_name.as_str()),
        ("a-1", "第一支部")
    );
    assert_eq!(
        (shown.title.as_str(), shown.mode, shown.starts_at),
        ("三月党小组会", ActivityMode::Offline, new.starts_at)
    );
    assert_eq!(ActivityDraft::of(&shown).title, "三月党小组会");
    assert_eq!(ActivityDraft::of(&shown).study, "2");
}

#[test]
fn a_resync_replaces_the_copy_and_sends_every_delivered_record_again() {
    let activity = |id: &str, server_seq: i64| ActivityView {
        id: id.into(),
        server_seq,
        ..ActivityView::default()
    };
    let mut cache = Cache {
        cursor: 90,
        activities: vec![activity("lost", 80), activity("kept", 10)],
        study: vec![StudyView {
            id: "s-lost".into(),
            server_seq: 85,
            ..StudyView::default()
        }],
        ..Cache::default()
    };
    let mut ordinary = cache.clone();
    ordinary.merge(PullResponse {
        cursor: 120,
        activities: vec![activity("new", 110)],
        ..PullResponse::default()
    });
    assert_eq!(
        ordinary.activities.len(),
        3,
        "an ordinary pull drops nothing"
    );

    cache.merge(PullResponse {
        cursor: 120,
        resync: true,
        activities: vec![activity("kept", 10), activity("new", 110)],
        ..PullResponse::default()
    });
    let ids: Vec<&str> = cache.activities.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        ids,
        ["kept", "new"],
        "what the server no longer has leaves the phone"
    );
    assert!(cache.study.is_empty());
    assert_eq!(cache.cursor, 120);

    let mut entries = vec![sign_in(1, "lost"), sign_in(2, "kept"), sign_in(3, "new")];
    entries[0].state = EntryState::Delivered {
        receipt: receipt("id-1", ReceiptStatus::Applied, 0),
    };
    entries[1].state = EntryState::Quarantined {
        receipt: receipt("id-2", ReceiptStatus::Quarantined, 0),
    };
    let changed = send_again(&mut entries);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].mutation.id, "id-1");
    assert!(entries[0].is_pending() && entries[2].is_pending());
    assert!(
        matches!(entries[1].state, EntryState::Quarantined { .. }),
        "a refusal stays a refusal"
    );
    let seqs: Vec<u64> = next_batch(&entries, 10).iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 3]);
}
