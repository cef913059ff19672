//! 我的信息 (`/me/info`: what the server keeps about me, and the file to take it away; withdrawing consent)
//! and the privacy notice.

use leptos::prelude::*;

use crate::api::{Change, Consent, ConsentKind, MyData, paths};
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;
use crate::model::LocalTime;

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
        loader.download(
            paths::MY_DATA.to_owned(),
            format!("我的信息-{name}.json"),
            Some("已导出。"),
        );
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
