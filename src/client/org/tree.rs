//! `/orgs`: 组织管理 for district admins — the tree, a new organisation under a 党委 or the 区委 (or a 党小组
//! under a branch), renaming, moving, a temporary branch's dates, deleting an empty one, and each 党委's
//! admins (named, invited, withdrawn). A committee admin reads their part of the tree. Online only; its own
//! chunk.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::members::InviteButton;
use crate::api::{NewOrgAdmin, OrgAdmin, OrgEntry, OrgNode, paths};
use crate::client::components::say;
use crate::client::http;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;
use crate::model::Role;
use crate::org::{OrgForm, check};

const OFFLINE: &str = "当前无网络，组织管理需要联网，请稍后再试";

#[component]
pub fn OrgsPage() -> impl IntoView {
    let nodes = RwSignal::new(Vec::<OrgNode>::new());
    let loader = Loader::new(OFFLINE);
    let reload = move || loader.get(paths::ORGS.to_owned(), move |list| nodes.set(list));
    reload();
    // Which organisation's form is open: (node being edited, or the parent of a new one).
    let open = RwSignal::new(None::<(Option<i64>, i64)>);
    view! {
        <section class="card">
            <h1>"组织管理"</h1>
            <p class="hint">"区委 → 党委 / 联合党委 / 党总支 → 党支部 / 临时党支部 / 流动党员党支部 → 党小组。临时党支部需填写成立日期，结束后填写撤销日期。名册导入时按这里的支部名称识别。党委管理员管理本党委范围内的成员、名册和统计。"</p>
            <Status of=loader/>
            <ul class="org-tree" data-testid="org-tree">
                {move || {
                    let all = nodes.get();
                    all.iter().map(|n| {
                        let depth = depth(&all, n);
                        let node = n.clone();
                        view! { <OrgItem node depth all=all.clone() open reload/> }
                    }).collect_view()
                }}
            </ul>
        </section>
    }
}

fn depth(all: &[OrgNode], node: &OrgNode) -> usize {
    let mut d = 0;
    let mut parent = node.parent_id;
    while let Some(p) = parent.and_then(|p| all.iter().find(|n| n.id == p)) {
        d += 1;
        parent = p.parent_id;
        if d > 20 {
            break;
        }
    }
    d
}

#[component]
fn OrgItem(
    node: OrgNode,
    depth: usize,
    all: Vec<OrgNode>,
    open: RwSignal<Option<(Option<i64>, i64)>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // Only a district admin edits the tree; a committee admin reads it.
    let edits = ctx.role() == Some(Role::Admin);
    let (error, set_error) = signal(None::<String>);
    let id = node.id;
    let dates = match (&node.starts_on, &node.ends_on) {
        (Some(s), Some(e)) => format!(" · {s} 至 {e}"),
        (Some(s), None) => format!(" · {s} 成立"),
        _ => String::new(),
    };
    let about = format!("{}{dates} · {}人", node.form.label(), node.members);
    let deletable = node.parent_id.is_some() && node.members == 0 && node.children == 0;
    let remove = move |_| {
        let Some(token) = ctx.token() else { return };
        spawn_local(async move {
            match http::delete(&token, &paths::org(id)).await {
                Ok(()) => reload(),
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
        });
    };
    let new_child = if node.form.kind() == "branch" {
        "新建党小组"
    } else {
        "新建下级组织"
    };
    let editing = node.clone();
    let parent_for_new = node.id;
    view! {
        <li class=format!("org depth-{}", depth.min(4)) data-testid="org">
            <p><strong>{node.name.clone()}</strong><br/><span class="muted">{about}</span></p>
            {((edits && node.form.kind() == "committee") || !node.admins.is_empty()).then(|| view! {
                <Admins org=id admins=node.admins.clone() edits reload/>
            })}
            <div class="actions">
                {(edits && node.parent_id.is_some()).then(|| view! {
                    <button type="button" class="link" on:click=move |_| open.set(Some((Some(id), id)))>"修改"</button>
                })}
                {(edits && node.form.has_children()).then(|| view! {
                    <button type="button" class="link" on:click=move |_| open.set(Some((None, parent_for_new)))>{new_child}</button>
                })}
                {(edits && deletable).then(|| view! { <button type="button" class="link" on:click=remove>"删除"</button> })}
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match open.get() {
                Some((Some(e), _)) if e == id => Some(view! { <OrgEditor editing=Some(editing.clone()) parent=editing.parent_id.unwrap_or(0) all=all.clone() open reload/> }.into_any()),
                Some((None, p)) if p == id => Some(view! { <OrgEditor editing=None parent=id all=all.clone() open reload/> }.into_any()),
                _ => None,
            }}
        </li>
    }
}

#[component]
fn OrgEditor(
    editing: Option<OrgNode>,
    parent: i64,
    all: Vec<OrgNode>,
    open: RwSignal<Option<(Option<i64>, i64)>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = editing.as_ref().map(|n| n.id);
    let parent_id = RwSignal::new(parent);
    let name = RwSignal::new(editing.as_ref().map(|n| n.name.clone()).unwrap_or_default());
    // A new organisation under a branch is a 党小组; elsewhere a branch.
    let under_branch = all
        .iter()
        .any(|n| n.id == parent && n.form.kind() == "branch");
    let new_form = if under_branch {
        OrgForm::Group
    } else {
        OrgForm::Branch
    };
    let form = RwSignal::new(editing.as_ref().map_or(new_form, |n| n.form));
    let starts_on = RwSignal::new(
        editing
            .as_ref()
            .and_then(|n| n.starts_on.clone())
            .unwrap_or_default(),
    );
    let ends_on = RwSignal::new(
        editing
            .as_ref()
            .and_then(|n| n.ends_on.clone())
            .unwrap_or_default(),
    );
    let (error, set_error) = signal(None::<String>);
    // Possible parents: organisations that may have children, never the one edited.
    let parents: Vec<(i64, String, OrgForm)> = all
        .iter()
        .filter(|n| n.form.has_children() && Some(n.id) != id)
        .map(|n| (n.id, n.name.clone(), n.form))
        .collect();
    let forms_of_parents = parents.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let optional = |s: String| (!s.trim().is_empty()).then_some(s);
        let entry = OrgEntry {
            parent_id: parent_id.get_untracked(),
            name: name.get_untracked(),
            form: form.get_untracked(),
            starts_on: optional(starts_on.get_untracked()),
            ends_on: optional(ends_on.get_untracked()),
        };
        let parent_form = forms_of_parents
            .iter()
            .find(|p| p.0 == entry.parent_id)
            .map(|p| p.2);
        if let Err(e) = check(
            entry.form,
            &entry.name,
            parent_form,
            entry.starts_on.as_deref(),
            entry.ends_on.as_deref(),
        ) {
            set_error.set(Some(e));
            return;
        }
        let Some(token) = ctx.token() else { return };
        spawn_local(async move {
            let saved = match id {
                Some(id) => http::put::<_, OrgNode>(&token, &paths::org(id), &entry).await,
                None => http::post_json::<_, OrgNode>(Some(&token), paths::ORGS, &entry).await,
            };
            match saved {
                Ok(_) => {
                    open.set(None);
                    reload();
                }
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
        });
    };
    view! {
        <form class="org-editor" on:submit=submit novalidate>
            <label for="org-parent">"上级组织"</label>
            <select id="org-parent" on:change=move |ev| if let Ok(p) = event_target_value(&ev).parse() { parent_id.set(p) }>
                {parents.into_iter().map(|(pid, pname, _)| view! {
                    <option value=pid.to_string() selected=move || parent_id.get() == pid>{pname}</option>
                }).collect_view()}
            </select>
            <label for="org-name">"名称"</label>
            <input id="org-name" type="text" maxlength="60" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
            <label for="org-form">"形式"</label>
            <select id="org-form" on:change=move |ev| if let Some(f) = OrgForm::parse(&event_target_value(&ev)) { form.set(f) }>
                {OrgForm::CREATABLE.into_iter().map(|f| view! {
                    <option value=f.as_str() selected=move || form.get() == f>{f.label()}</option>
                }).collect_view()}
            </select>
            <label for="org-start">"成立日期（临时党支部必填）"</label>
            <input id="org-start" type="date" prop:value=starts_on on:input=move |ev| starts_on.set(event_target_value(&ev))/>
            <label for="org-end">"撤销日期"</label>
            <input id="org-end" type="date" prop:value=ends_on on:input=move |ev| ends_on.set(event_target_value(&ev))/>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="primary">"保存"</button>
            <button type="button" class="secondary" on:click=move |_| open.set(None)>"取消"</button>
        </form>
    }
}

/// A 党委's admins: each with an invitation (or password reset) and, for a district admin, 停用; and a
/// form to name one.
#[component]
fn Admins(
    org: i64,
    admins: Vec<OrgAdmin>,
    edits: bool,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = RwSignal::new(String::new());
    let phone = RwSignal::new(String::new());
    let (error, set_error) = signal(None::<String>);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(token) = ctx.token() else { return };
        let body = NewOrgAdmin {
            name: name.get_untracked(),
            phone: phone.get_untracked().trim().to_owned(),
        };
        spawn_local(async move {
            match http::post_json::<_, OrgAdmin>(Some(&token), &paths::org_admins(org), &body).await
            {
                Ok(_) => reload(),
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
        });
    };
    let withdraw = move |user: i64| {
        let Some(token) = ctx.token() else { return };
        spawn_local(async move {
            match http::delete(&token, &paths::org_admin(org, user)).await {
                Ok(()) => reload(),
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
        });
    };
    view! {
        <div class="org-admins" data-testid="org-admins">
            <p class="muted">"管理员"</p>
            <ul>
                {admins.into_iter().map(|a| {
                    let user = a.id;
                    view! {
                        <li>
                            {format!("{} {}", a.name, a.phone)}" "
                            <span class=if a.joined { "tag" } else { "tag warn" }>{if a.joined { "已加入" } else { "未加入" }}</span>
                            {edits.then(|| view! {
                                <InviteButton user_id=user joined=a.joined/>
                                <button type="button" class="link" on:click=move |_| withdraw(user)>"停用"</button>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            {edits.then(|| view! {
                <form class="org-admin-add" on:submit=add novalidate>
                    <label for=format!("admin-name-{org}")>"新增管理员姓名"</label>
                    <input id=format!("admin-name-{org}") type="text" maxlength="30" prop:value=name on:input=move |ev| name.set(event_target_value(&ev))/>
                    <label for=format!("admin-phone-{org}")>"手机号（单独的工作账号）"</label>
                    <input id=format!("admin-phone-{org}") type="tel" inputmode="numeric" maxlength="11" prop:value=phone on:input=move |ev| phone.set(event_target_value(&ev))/>
                    <button type="submit" class="secondary">"设为管理员"</button>
                </form>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
}
