//! `/feedback`: 投诉建议 — written offline through the outbox; district admins reply the same way.

use leptos::prelude::*;

use crate::api::{Change, FeedbackEntry, FeedbackTopic, MAX_FEEDBACK_CHARS, ReplyFeedback};
use crate::client::components::Select;
use crate::client::new_id;
use crate::client::sync::Ctx;
use crate::model::{LocalTime, Role};
use crate::outbox::{FeedbackItem, RowMark, feedback_items};

/// `/feedback`: a member writes to the district (kept on the phone until it can be sent) and reads the
/// replies; a district admin reads everyone's and replies.
#[component]
pub fn FeedbackPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let topic = RwSignal::new(FeedbackTopic::Suggestion);
    let (body, set_body) = signal(String::new());
    let (note, set_note) = signal(None::<(bool, String)>);
    let admin = ctx.role() == Some(Role::Admin);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = body.get_untracked();
        let length = text.trim().chars().count();
        if length == 0 || length > MAX_FEEDBACK_CHARS {
            set_note.set(Some((
                false,
                format!("请填写内容（{MAX_FEEDBACK_CHARS}字以内）"),
            )));
            return;
        }
        let change = Change::Feedback(FeedbackEntry {
            feedback_id: new_id(),
            topic: topic.get_untracked(),
            body: text,
        });
        match ctx.record(change) {
            Ok(()) => {
                set_body.set(String::new());
                set_note.set(Some((
                    true,
                    "已保存在手机上，联网后送达区委组织部；答复会显示在下面。".to_owned(),
                )));
            }
            Err(e) => set_note.set(Some((false, e))),
        }
    };
    let items = move || {
        let Some(user) = ctx.session.with(|s| s.as_ref().map(|s| s.user.clone())) else {
            return Vec::new();
        };
        ctx.cache.with(|cache| {
            ctx.entries
                .with(|e| feedback_items((user.id, &user.name, &user.org_name), cache, e))
        })
    };
    view! {
        <section class="card">
            <h1>"投诉建议"</h1>
            <p class="hint">"意见、投诉、使用中的困难，或对本人信息的更正和删除要求，都可以在这里告诉区委组织部。没有网络时也可以写，联网后自动送达。"</p>
            <form on:submit=submit novalidate>
                <label for="feedback-topic">"类别"</label>
                <Select id="feedback-topic" value=topic/>
                <label for="feedback-body">"内容"</label>
                <textarea id="feedback-body" rows="5" maxlength="2000" prop:value=body
                    on:input=move |ev| set_body.set(event_target_value(&ev))></textarea>
                {move || note.get().map(|(ok, n)| view! { <p class=if ok { "hint" } else { "error" } role="status">{n}</p> })}
                <button type="submit" class="primary">"提交"</button>
            </form>
        </section>
        <section class="card">
            <h2>{if admin { "收到的投诉建议" } else { "我的投诉建议" }}</h2>
            <ul class="feedback" data-testid="feedback-list">
                {move || {
                    let items = items();
                    if items.is_empty() {
                        return view! { <li class="muted">"还没有投诉建议。"</li> }.into_any();
                    }
                    items.into_iter().map(|item| view! { <FeedbackCard item admin/> }).collect_view().into_any()
                }}
            </ul>
        </section>
    }
}

#[component]
fn FeedbackCard(item: FeedbackItem, admin: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let v = item.view;
    let state = match (&item.mark, &v.reply) {
        (RowMark::Refused(reason), _) => format!("未通过：{reason}"),
        (RowMark::Waiting, _) => "待上传".to_owned(),
        (RowMark::None, Some(_)) => "已答复".to_owned(),
        (RowMark::None, None) => "已送达，等待答复".to_owned(),
    };
    let (reply, set_reply) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let id = v.id.clone();
    let send_reply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = reply.get_untracked();
        if text.trim().is_empty() {
            set_error.set(Some("请填写答复".to_owned()));
            return;
        }
        let change = Change::ReplyFeedback(ReplyFeedback {
            feedback_id: id.clone(),
            reply: text,
        });
        if let Err(e) = ctx.record(change) {
            set_error.set(Some(e));
        }
    };
    let who = admin.then(|| format!("{}（{}） · ", v.user_name, v.org_name));
    view! {
        <li class="feedback-item">
            <p class="muted">{who}{v.topic.label()}" · "{LocalTime::from_millis(v.created_at).table()}" · "<span data-testid="feedback-state">{state}</span></p>
            <p>{v.body}</p>
            {v.reply.clone().map(|r| view! { <p class="reply" data-testid="feedback-reply"><strong>"答复："</strong>{r}</p> })}
            {(admin && v.server_seq > 0).then(|| view! {
                <form on:submit=send_reply novalidate>
                    <label>"答复"
                        <textarea rows="3" maxlength="2000" prop:value=reply on:input=move |ev| set_reply.set(event_target_value(&ev))></textarea>
                    </label>
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <button type="submit" class="secondary">"答复"</button>
                </form>
            })}
        </li>
    }
}
