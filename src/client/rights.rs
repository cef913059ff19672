//! Members' rights: 投诉建议 (written offline through the outbox; district admins reply the same way),
//! 我的信息 (what the server keeps about me, and the file to take it away), and the privacy notice.

use leptos::prelude::*;

use super::components::Select;
use super::load::{Loader, Status};
use super::new_id;
use super::sync::Ctx;
use crate::api::{
    Change, Consent, ConsentKind, FeedbackEntry, FeedbackTopic, MAX_FEEDBACK_CHARS, MyData,
    ReplyFeedback, paths,
};
use crate::model::{LocalTime, Role};
use crate::outbox::{FeedbackItem, RowMark, feedback_items};

/// 个人信息保护说明: what is kept, why, who sees it, and the member's rights.
#[component]
pub fn PrivacyNotice() -> impl IntoView {
    view! {
        <details class="privacy">
            <summary>"《个人信息保护说明》"</summary>
            <p>"红雁只为组织生活和学习记录处理您的个人信息："</p>
            <ul>
                <li>"保存：姓名、手机号、所在支部、党员类别、党内职务、标签，参加组织生活的签到和请假记录，学习记录和证明照片，您的投诉建议。"</li>
                <li>"不保存：身份证号、您的坐标或行动轨迹（位置签到只上传是否在范围内、距离和精度，且须您单独同意）。"</li>
                <li>"谁能看到：本人、本支部书记和上级组织部门的管理员；其他人看到的手机号会隐去中间四位。"</li>
                <li>"您的权利：在“我的信息”中查看并导出本人的全部信息；通过“投诉建议”提出更正、删除或其他意见；随时撤回位置签到的同意。"</li>
                <li>"撤回对本说明的同意：在“我的信息”中操作。撤回后账号停用，不能再登录，也不再列入新活动的应到名单；此前的组织生活记录按党内规定由支部保存。需要时可请管理员恢复账号。"</li>
            </ul>
        </details>
    }
}

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

/// `/me/info`: everything the server keeps about me, and the file to take away (online).
#[component]
pub fn MyInfoPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let data = RwSignal::new(None::<MyData>);
    let loader = Loader::new("当前无网络，联网后可查看服务器保存的全部信息。");
    loader.get(paths::MY_DATA.to_owned(), move |d| data.set(Some(d)));
    let export = move |_| {
        let name = ctx
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.user.name.clone()))
            .unwrap_or_default();
        loader.download(paths::MY_DATA.to_owned(), format!("我的信息-{name}.json"));
    };
    view! {
        <section class="card">
            <h1>"我的信息"</h1>
            <p class="hint">"服务器保存的关于您的全部信息。导出的文件包含下列全部内容（JSON格式）。"</p>
            <button type="button" class="primary" on:click=export>"导出我的信息"</button>
            <Status of=loader/>
        </section>
        {move || data.get().map(|d| view! { <MyDataView data=d/> })}
        <section class="card"><PrivacyNotice/></section>
    }
}

/// 撤回同意: what the privacy notice says it does — the account stops. Asked first; goes through the
/// outbox like every record.
#[component]
fn WithdrawPrivacy() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (note, set_note) = signal(None::<String>);
    let withdraw = move |_| {
        let question = "撤回后账号将停用：不能再登录，也不再列入新活动的应到名单；此前的组织生活记录由支部保存。如需恢复，请联系党支部书记。确定撤回吗？";
        if !window().confirm_with_message(question).unwrap_or(false) {
            return;
        }
        let record = Change::Consent(Consent {
            kind: ConsentKind::Privacy,
            granted: false,
            version: crate::api::PRIVACY_VERSION.to_owned(),
        });
        set_note.set(Some(match ctx.record(record) {
            Ok(()) => "已记录撤回。上传到服务器后账号即停用。".to_owned(),
            Err(e) => e,
        }));
    };
    view! {
        <section class="card">
            <h2>"撤回对《个人信息保护说明》的同意"</h2>
            <p class="hint">"撤回对《个人信息保护说明》的同意后，账号停用。"</p>
            <button type="button" class="link danger" on:click=withdraw>"撤回同意并停用账号"</button>
            {move || note.get().map(|n| view! { <p class="hint" role="status">{n}</p> })}
        </section>
    }
}

#[component]
fn MyDataView(data: MyData) -> impl IntoView {
    let p = data.profile;
    let category = match p.membership {
        crate::model::Membership::Full => "正式党员",
        crate::model::Membership::Probationary => "预备党员",
    };
    let or_none = |s: String| if s.is_empty() { "无".to_owned() } else { s };
    let hosts = if p.host_orgs.is_empty() {
        "无".to_owned()
    } else {
        p.host_orgs.join("、")
    };
    let consents: Vec<String> = data
        .consents
        .into_iter()
        .rev()
        .map(|c| {
            let what = if c.granted { "同意" } else { "撤回" };
            format!(
                "{} {}{}",
                LocalTime::from_millis(c.at).table(),
                what,
                c.kind.label()
            )
        })
        .collect();
    let group = p.group.unwrap_or_else(|| "无".to_owned());
    let mobile = p.mobile.map_or("无".to_owned(), |m| {
        format!(
            "{} {} {}起，活动证{}",
            m.destination, m.employer, m.starts_on, m.card_no
        )
    });
    let exemptions = if p.exemptions.is_empty() {
        "无".to_owned()
    } else {
        p.exemptions
            .iter()
            .map(|e| format!("{}（至{}）", e.reason, e.until))
            .collect::<Vec<_>>()
            .join("、")
    };
    let lines = |items: Vec<String>| {
        if items.is_empty() {
            view! { <p class="muted">"无"</p> }.into_any()
        } else {
            view! { <ul>{items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}</ul> }
                .into_any()
        }
    };
    let consents = lines(consents);
    let account = lines(data.account);
    let audit = lines(
        data.audit
            .into_iter()
            .rev()
            .map(|a| {
                format!(
                    "{} {} {}：{}",
                    LocalTime::from_millis(a.at).table(),
                    a.actor,
                    a.action,
                    a.subject
                )
            })
            .collect(),
    );
    view! {
        <section class="card" data-testid="my-data">
            <h2>"基本信息"</h2>
            <dl class="facts">
                <dt>"姓名"</dt><dd>{p.name}</dd>
                <dt>"手机号"</dt><dd>{p.phone}</dd>
                <dt>"所在支部"</dt><dd>{p.org_name}</dd>
                <dt>"类别"</dt><dd>{category}</dd>
                <dt>"职务"</dt><dd>{or_none(p.post)}</dd>
                <dt>"标签"</dt><dd>{or_none(p.tags)}</dd>
                <dt>"学时对象"</dt><dd>{p.audience.label()}</dd>
                <dt>"参加组织生活的其他组织"</dt><dd>{hosts}</dd>
                <dt>"党小组"</dt><dd>{group}</dd>
                <dt>"流动党员登记"</dt><dd>{mobile}</dd>
                <dt>"免参加"</dt><dd>{exemptions}</dd>
            </dl>
            <h2>"记录"</h2>
            <p>{format!("组织生活 {} 条 · 学习记录 {} 条 · 投诉建议 {} 条 · 上传过记录的手机 {} 部",
                data.attendance.len(), data.study.len(), data.feedback.len(), data.devices.len())}</p>
            <h2>"授权记录"</h2>
            {consents}
            <h2>"账号记录"</h2>
            {account}
            <h2>"书记和管理员对您的操作"</h2>
            {audit}
        </section>
        <WithdrawPrivacy/>
    }
}
