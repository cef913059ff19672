//! `/members/:id`: 成员资料 — what the organisation keeps about one member (category, post, tags, 学时对象,
//! the branches they also attend, 流动党员 registration with the 《流动党员活动证》, approved exemptions),
//! edited by their lead or an admin. Online only; its own chunk.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Exemption, MemberDetail, MobileRegistration, paths};
use crate::client::components::{Select, say};
use crate::client::http;
use crate::client::load::{Loader, Status};
use crate::client::router;
use crate::client::sync::Ctx;
use crate::model::Membership;
use crate::org::{TAGS, check_profile};

const OFFLINE: &str = "当前无网络，成员资料需要联网查看和修改";

#[component]
pub fn ProfilePage() -> impl IntoView {
    let id: i64 = router::id().get_untracked().parse().unwrap_or_default();
    let detail = RwSignal::new(None::<MemberDetail>);
    let loader = Loader::new(OFFLINE);
    loader.get(paths::member(id), move |d| detail.set(Some(d)));
    view! {
        <section class="card">
            <h1>"成员资料"</h1>
            <p class="hint"><a href="/members">"‹ 成员与邀请"</a></p>
            <Status of=loader/>
        </section>
        {move || detail.get().map(|d| view! {
            <Editor detail=d.clone() id/>
            <Access disabled=d.member.disabled id/>
        })}
    }
}

/// 停用账号 (transferred out, phone lost: no login, no new rosters) or 恢复账号, with the reason.
#[component]
fn Access(disabled: bool, id: i64) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (disabled, set_disabled) = signal(disabled);
    let reason = RwSignal::new(String::new());
    let (note, set_note) = signal(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(token) = ctx.token() else { return };
        let access = crate::api::MemberAccess {
            enabled: disabled.get_untracked(),
            reason: reason.get_untracked().trim().to_owned(),
        };
        spawn_local(async move {
            match http::put::<_, crate::api::MemberRow>(&token, &paths::member_access(id), &access)
                .await
            {
                Ok(row) => {
                    set_disabled.set(row.disabled);
                    let admin = ctx.role().is_some_and(crate::model::Role::administers);
                    set_note.set(Some(if row.disabled {
                        "账号已停用：该成员已退出登录，不再列入新活动的应到名单。".to_owned()
                    } else if row.joined_before && !admin {
                        "账号已恢复。需由党委或区委组织部管理员重置密码后，该成员才能登录。"
                            .to_owned()
                    } else {
                        "账号已恢复。请为其发邀请，设置密码后即可登录。".to_owned()
                    }));
                }
                Err(e) => set_note.set(Some(say(e, OFFLINE))),
            }
        });
    };
    view! {
        <section class="card">
            <h2>"账号"</h2>
            <p data-testid="account-state">{move || if disabled.get() { "已停用" } else { "使用中" }}</p>
            <form on:submit=submit>
                <Show when=move || !disabled.get()>
                    <label>"停用原因（必填，如组织关系转出、手机丢失）"
                        <input type="text" maxlength="200" bind:value=reason/>
                    </label>
                </Show>
                <button type="submit" class="secondary">{move || if disabled.get() { "恢复账号" } else { "停用账号" }}</button>
            </form>
            {move || note.get().map(|n| view! { <p class="hint" role="status">{n}</p> })}
        </section>
    }
}

#[component]
fn Editor(detail: MemberDetail, id: i64) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let p = detail.profile;
    let membership = RwSignal::new(p.membership);
    let post = RwSignal::new(p.post);
    let tags = RwSignal::new(p.tags);
    let audience = RwSignal::new(p.audience);
    let hosts = RwSignal::new(p.host_org_ids);
    let group = RwSignal::new(p.group_id);
    let away = RwSignal::new(p.mobile.is_some());
    let m = p.mobile.unwrap_or_default();
    let fields: [(&'static str, &'static str, RwSignal<String>); 7] = [
        ("外出地点", "text", RwSignal::new(m.destination)),
        ("工作单位或项目", "text", RwSignal::new(m.employer)),
        ("外出日期", "date", RwSignal::new(m.starts_on)),
        ("返回日期", "date", RwSignal::new(m.ends_on)),
        ("《流动党员活动证》编号", "text", RwSignal::new(m.card_no)),
        ("活动证有效期至", "date", RwSignal::new(m.card_valid_until)),
        ("最近联系日期", "date", RwSignal::new(m.last_contact_on)),
    ];
    let exemptions = RwSignal::new(p.exemptions);
    let (note, set_note) = signal(None::<(bool, String)>);
    let home = detail.member.org_id;
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |i: usize| fields[i].2.get_untracked();
        let profile = crate::api::MemberProfile {
            membership: membership.get_untracked(),
            post: post.get_untracked(),
            tags: tags.get_untracked(),
            audience: audience.get_untracked(),
            host_org_ids: hosts.get_untracked(),
            group_id: group.get_untracked(),
            mobile: away.get_untracked().then(|| MobileRegistration {
                destination: value(0),
                employer: value(1),
                starts_on: value(2),
                ends_on: value(3),
                card_no: value(4),
                card_valid_until: value(5),
                last_contact_on: value(6),
            }),
            exemptions: exemptions.get_untracked(),
        };
        if let Err(e) = check_profile(&profile, home) {
            set_note.set(Some((false, e)));
            return;
        }
        let Some(token) = ctx.token() else { return };
        spawn_local(async move {
            match http::put::<_, MemberDetail>(&token, &paths::member(id), &profile).await {
                Ok(_) => set_note.set(Some((
                    true,
                    "已保存。新的免参加和参加的支部从此后发布的活动起生效。".to_owned(),
                ))),
                Err(e) => set_note.set(Some((false, say(e, OFFLINE)))),
            }
        });
    };
    let toggle_tag = move |tag: &'static str| {
        tags.update(|t| {
            let mut set: Vec<&str> = TAGS
                .iter()
                .copied()
                .filter(|x| t.contains(x) && *x != tag)
                .collect();
            if !t.contains(tag) {
                set.push(tag);
            }
            *t = TAGS
                .iter()
                .copied()
                .filter(|x| set.contains(x))
                .collect::<Vec<_>>()
                .join("、");
        })
    };
    let member = detail.member;
    view! {
        <form class="card" on:submit=save novalidate data-testid="profile">
            <h2>{format!("{} {}", member.name, member.phone)}</h2>
            <p class="muted">{format!("{} · {}", member.org_name, member.role.label())}</p>
            <label for="p-category">"类别"</label>
            <select id="p-category" on:change=move |ev| membership.set(if event_target_value(&ev) == "probationary" { Membership::Probationary } else { Membership::Full })>
                <option value="full" selected=move || membership.get() == Membership::Full>"正式党员"</option>
                <option value="probationary" selected=move || membership.get() == Membership::Probationary>"预备党员"</option>
            </select>
            <label for="p-post">"党内职务（书记、副书记、组织委员为支部管理人）"</label>
            <input id="p-post" type="text" maxlength="20" prop:value=post on:input=move |ev| post.set(event_target_value(&ev))/>
            <fieldset class="unit">
                <legend>"标签"</legend>
                {TAGS.into_iter().map(|tag| view! {
                    <label><input type="checkbox" prop:checked=move || tags.with(|t| t.contains(tag)) on:change=move |_| toggle_tag(tag)/>{tag}</label>
                }).collect_view()}
            </fieldset>
            <label for="p-audience">"学时对象"</label>
            <Select id="p-audience" value=audience/>
            {(!detail.groups.is_empty()).then(|| view! {
                <label for="p-group">"党小组"</label>
                <select id="p-group" on:change=move |ev| group.set(event_target_value(&ev).parse().ok())>
                    <option value="" selected=move || group.get().is_none()>"未分组"</option>
                    {detail.groups.into_iter().map(|g| {
                        let gid = g.id;
                        view! { <option value=gid.to_string() selected=move || group.get() == Some(gid)>{g.name}</option> }
                    }).collect_view()}
                </select>
            })}
            <fieldset class="unit">
                <legend>"同时参加组织生活的支部（一方隶属、多重组织生活）"</legend>
                {detail.branches.into_iter().map(|b| {
                    let bid = b.id;
                    view! {
                        <label><input type="checkbox" prop:checked=move || hosts.with(|h| h.contains(&bid))
                            on:change=move |_| hosts.update(|h| if h.contains(&bid) { h.retain(|x| *x != bid) } else { h.push(bid) })/>{b.name}</label>
                    }
                }).collect_view()}
            </fieldset>
            <label class="check"><input type="checkbox" prop:checked=away on:change=move |ev| away.set(event_target_checked(&ev))/>"流动党员外出登记"</label>
            <Show when=move || away.get()>
                {fields.into_iter().map(|(label, kind, value)| view! {
                    <label>{label}<input type=kind prop:value=value on:input=move |ev| value.set(event_target_value(&ev))/></label>
                }).collect_view()}
            </Show>
            <h3>"免参加（经批准）"</h3>
            {move || exemptions.get().into_iter().enumerate().map(|(i, e)| view! {
                <p>{format!("{}，至{}", e.reason, e.until)}" "
                    <button type="button" class="link" on:click=move |_| exemptions.update(|x| { x.remove(i); })>"删除"</button></p>
            }).collect_view()}
            <NewExemption exemptions/>
            {move || note.get().map(|(ok, n)| view! { <p class=if ok { "hint" } else { "error" } role="status">{n}</p> })}
            <button type="submit" class="primary">"保存资料"</button>
        </form>
    }
}

#[component]
fn NewExemption(exemptions: RwSignal<Vec<Exemption>>) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let add = move |_| {
        if reason.with_untracked(|r| r.trim().is_empty()) || until.with_untracked(String::is_empty)
        {
            return;
        }
        exemptions.update(|x| {
            x.push(Exemption {
                reason: reason.get_untracked(),
                until: until.get_untracked(),
            })
        });
        reason.set(String::new());
        until.set(String::new());
    };
    view! {
        <div class="new-exemption">
            <label>"原因（疾病、孕产、年老体弱、出国（境）等）"<input type="text" maxlength="50" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev))/></label>
            <label>"截止日期"<input type="date" prop:value=until on:input=move |ev| until.set(event_target_value(&ev))/></label>
            <button type="button" class="secondary" on:click=add>"添加免参加"</button>
        </div>
    }
}
