//! `/members`: 成员与邀请 for leads and admins — who has joined, and a one-time code to join or to set a
//! new password. Online only; its own chunk.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Invitation, LIST_PAGE, MemberPage, MemberRow, NewInvitation, paths};
use crate::client::components::say;
use crate::client::http;
use crate::client::load::{Loader, OFFLINE, Status};
use crate::client::sync::Ctx;
use crate::model::{LocalTime, Role};

/// `/members`: who the lead (their branch) or admin looks after, who has joined, and invitations. A page
/// at a time (a district is 100,000 people); the search asks the server, so it reaches everyone.
#[component]
pub fn MembersPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let members = RwSignal::new(None::<Vec<MemberRow>>);
    let next = RwSignal::new(None::<i64>);
    let loader = Loader::new(OFFLINE);
    let (filter, set_filter) = signal(String::new());
    // Fetches a page (`from`) or a search (`q`); only the latest question's answer arrives (see `Loader`).
    let load = move |from: Option<i64>, q: String| {
        let encoded = String::from(js_sys::encode_uri_component(&q));
        loader.get_page(
            paths::members(from, &encoded),
            from.is_some(),
            move |page: MemberPage| {
                members.update(|m| match (m, from) {
                    (Some(list), Some(_)) => list.extend(page.rows),
                    (m, _) => *m = Some(page.rows),
                });
                next.set(page.next);
            },
        );
    };
    load(None, String::new());
    let search = move |ev| {
        let text = event_target_value(&ev);
        set_filter.set(text.clone());
        members.set(None);
        next.set(None);
        load(None, text.trim().to_owned());
    };
    let more = move |_| load(next.get_untracked(), String::new());
    let admin = ctx.role().is_some_and(Role::administers);
    view! {
        <section class="card">
            <h1>"成员与邀请"</h1>
            <p class="hint">{if admin {
                "导入的成员需要一次性邀请码才能设置密码并登录；忘记密码的成员可以用新的重置码重新设置。邀请码7天内有效，只能使用一次，请当面或电话告诉本人，不要发到群里。"
            } else {
                "导入的成员需要一次性邀请码才能设置密码并登录。邀请码7天内有效，只能使用一次，请当面或电话告诉本人，不要发到群里。已加入的成员忘记密码，请联系党委或区委组织部管理员重置。"
            }}</p>
            {admin.then(|| view! { <a href="/roster" class="row-link"><span>"导入名册"</span><span class="muted">" ›"</span></a> })}
            <label for="member-filter">"按姓名或手机号查找"</label>
            <input id="member-filter" type="search" prop:value=filter on:input=search/>
            <Status of=loader/>
            <ul class="members">
                {move || members.get().into_iter().flatten().map(|m| view! { <MemberItem member=m admin/> }).collect_view()}
            </ul>
            {move || (members.with(|m| m.as_ref().is_some_and(Vec::is_empty)) && !loader.busy()).then(|| {
                let within = match ctx.role() {
                    Some(Role::Admin) => "全区",
                    Some(Role::Committee) => "本党委范围内",
                    _ => "本支部",
                };
                let q = filter.get();
                let text = if q.trim().is_empty() {
                    format!("{within}还没有成员。")
                } else {
                    format!("{within}没有找到“{}”。请检查姓名或手机号。", q.trim())
                };
                view! { <p class="hint" role="status" data-testid="members-none">{text}</p> }
            })}
            {move || next.get().is_some().then(|| view! {
                <button type="button" class="secondary" disabled=move || loader.busy() on:click=more>"显示更多成员"</button>
            })}
            {move || (!filter.get().trim().is_empty() && members.with(|m| m.as_ref().is_some_and(|m| m.len() >= LIST_PAGE)))
                .then(|| view! { <p class="hint">{format!("只显示前{LIST_PAGE}个结果，请输入更完整的姓名或手机号。")}</p> })}
        </section>
    }
}

#[component]
fn MemberItem(member: MemberRow, admin: bool) -> impl IntoView {
    let mut about = vec![member.role.label().to_owned()];
    about.extend(
        [member.post, member.tags]
            .into_iter()
            .filter(|s| !s.is_empty()),
    );
    if admin {
        about.insert(0, member.org_name);
    }
    let (id, joined, disabled) = (member.id, member.joined, member.disabled);
    // A new password for someone who has had one, or anything about a fellow lead, is for the admins
    // above the branch (a lead who could reset a member's password could log in as them).
    let reset = joined || member.joined_before;
    let may_invite = !disabled && (admin || (!reset && member.role != Role::Lead));
    let (state, class) = match (disabled, joined, reset) {
        (true, _, _) => ("已停用", "tag warn"),
        (false, true, _) => ("已加入", "tag"),
        (false, false, true) => ("待重置密码", "tag warn"),
        (false, false, false) => ("未加入", "tag warn"),
    };
    view! {
        <li class="member" data-testid="member">
            <p>
                <strong>{member.name}</strong>" "{member.phone}" "
                <span class=class>{state}</span>
            </p>
            <p class="muted">{about.join(" · ")}</p>
            {(!member.role.administers()).then(|| view! {
                <a href=format!("/members/{id}") class="row-link"><span>"成员资料"</span><span class="muted">"职务、标签、外出登记、免参加 ›"</span></a>
                {may_invite.then(|| view! { <InviteButton user_id=id joined=reset/> })}
            })}
        </li>
    }
}

/// Issues a one-time code (or, for someone who has joined, a password reset) and shows it to read out.
#[component]
pub fn InviteButton(user_id: i64, joined: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let invitation = RwSignal::new(None::<Invitation>);
    let (error, set_error) = signal(None::<String>);
    let issue = move |_| {
        let Some(token) = ctx.token() else { return };
        spawn_local(async move {
            let body = NewInvitation { user_id };
            match http::post_json::<_, Invitation>(Some(&token), paths::INVITATIONS, &body).await {
                Ok(i) => invitation.set(Some(i)),
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
        });
    };
    let origin = window().location().origin().unwrap_or_default();
    view! {
        {move || match invitation.get() {
            None => view! {
                <button type="button" class="secondary" on:click=issue>{if joined { "重置密码" } else { "发邀请" }}</button>
            }.into_any(),
            Some(i) => view! {
                <div class="invitation" data-testid="invitation">
                    <p>{format!("{}的{}：", i.name, if i.reset { "重置码" } else { "邀请码" })}</p>
                    <p class="code" data-testid="invitation-code">{i.code.clone()}</p>
                    <p class="hint">"或打开链接："<span data-testid="invitation-link">{format!("{origin}{}", i.link)}</span></p>
                    <p class="hint">{format!("{} 前有效，只能使用一次。", LocalTime::from_millis(i.expires_at).table())}</p>
                </div>
            }.into_any(),
        }}
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}
