//! `/district`: 组织生活统计 — for an organisation and a period, each branch against the calendar, attendance,
//! sign-ins to confirm, quiet members, and 学时 by audience; drill down the tree; Excel. Online only; its own
//! chunk. Rows keep the tree's order: a table to follow up, never a ranking.

use leptos::prelude::*;

use crate::api::{AudienceCount, BranchRow, DistrictView, paths};
use crate::client::components::YearSwitch;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;
use crate::district::{CALENDAR, GROUP_RULE, NO_GROUPS, current, percent};
use crate::model::Role;

#[component]
pub fn DistrictPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (this_year, this_quarter) = current(ctx.server_now());
    let org = RwSignal::new(None::<i64>);
    let year = RwSignal::new(this_year);
    let quarter = RwSignal::new(Some(this_quarter));
    let data = RwSignal::new(None::<DistrictView>);
    let loader = Loader::new("当前无网络，统计需要联网查看。");
    Effect::new(move |_| {
        let path = paths::district(org.get(), year.get(), quarter.get(), "json");
        loader.get(path, move |v| data.set(Some(v)));
    });
    let excel = move |_| {
        let Some(v) = data.get_untracked() else {
            return;
        };
        let path = paths::district(Some(v.org_id), v.year, v.quarter, "xlsx");
        loader.download(
            path,
            format!("组织生活统计-{}-{}.xlsx", v.org_name, v.period),
            None,
        );
    };
    let admin = ctx.role().is_some_and(Role::administers);
    view! {
        <section class="card">
            <h1>"组织生活统计"</h1>
            <YearSwitch year/>
            <label for="district-quarter">"期间"</label>
            <select id="district-quarter" on:change=move |ev| quarter.set(event_target_value(&ev).parse().ok())>
                <option value="" selected=move || quarter.get().is_none()>"全年"</option>
                {(1..=4u32).map(|q| view! {
                    <option value=q.to_string() selected=move || quarter.get() == Some(q)>{format!("第{q}季度")}</option>
                }).collect_view()}
            </select>
            <div class="export">
                <button type="button" class="secondary" on:click=excel>"导出 Excel"</button>
                <a href="/study/overview" class="row-link"><span>"学时完成情况（按人）"</span><span class="muted">" ›"</span></a>
            </div>
            <Status of=loader/>
        </section>
        {move || data.get().map(|v| view! { <View view=v org admin/> })}
    }
}

#[component]
fn View(view: DistrictView, org: RwSignal<Option<i64>>, admin: bool) -> impl IntoView {
    let expected: u32 = view.branches.iter().map(|b| b.expected).sum();
    let present: u32 = view.branches.iter().map(|b| b.present).sum();
    let held: u32 = view.branches.iter().map(|b| b.held).sum();
    let unconfirmed: u32 = view.branches.iter().map(|b| b.unconfirmed).sum();
    let quiet: u32 = view.branches.iter().map(|b| b.quiet).sum();
    let behind = view
        .branches
        .iter()
        .filter(|b| b.rules.iter().any(|r| !r.met()))
        .count();
    let quiet_days = view.quiet_after_days;
    let drill = move |id: i64| move |_| org.set(Some(id));
    view! {
        <section class="card" data-testid="district-summary">
            <h2>{format!("{} · {}", view.org_name, view.period)}</h2>
            {view.parent.map(|p| view! {
                <button type="button" class="link" on:click=drill(p.id)>{format!("‹ 上级：{}", p.name)}</button>
            })}
            <p>{format!("{}个支部，举办活动{held}次；{behind}个支部有未按期开展的组织生活。", view.branches.len())}</p>
            <p>{format!("出席率 {}（实到{present}人次 / 应到{expected}人次）", percent(present, expected))}</p>
            <progress max=expected.max(1) value=present aria-label="出席率"></progress>
            <p>{format!("待书记确认的签到 {unconfirmed} 条；{quiet_days}天以上未参加组织生活 {quiet} 人")}</p>
            <h3>"学时完成（全年）"</h3>
            <Audiences counts=view.study/>
            {(!view.children.is_empty() && admin).then(|| view! {
                <h3>"下级组织"</h3>
                <ul class="children">
                    {view.children.into_iter().map(|c| view! {
                        <li><button type="button" class="link" on:click=drill(c.id)>{c.name}" ›"</button></li>
                    }).collect_view()}
                </ul>
            })}
        </section>
        <section class="card">
            <p class="hint">"按组织顺序列出，不作比较。“1/2”为已开展/应开展的次数；本月、本季度尚未结束的不计为未开展。"</p>
            <div class="table-scroll">
                <table class="overview" data-testid="district-table">
                    <thead>
                        <tr>
                            <th>"党组织"</th>
                            <th>"活动"</th>
                            {CALENDAR.iter().chain([&GROUP_RULE]).map(|(kind, cadence)| view! {
                                <th>{kind.label()}<br/><span class="muted">{cadence.label()}</span></th>
                            }).collect_view()}
                            <th>"出席率"</th>
                            <th>"待确认"</th>
                            <th>{format!("{quiet_days}天未参加")}</th>
                            <th>"学时达标"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {view.branches.into_iter().map(|b| view! { <Branch row=b org admin/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn Branch(row: BranchRow, org: RwSignal<Option<i64>>, admin: bool) -> impl IntoView {
    let id = row.org_id;
    let name = if admin {
        view! { <button type="button" class="link" on:click=move |_| org.set(Some(id))>{row.org_name}</button> }.into_any()
    } else {
        view! { <span>{row.org_name}</span> }.into_any()
    };
    let names = (!row.quiet_names.is_empty()).then(|| row.quiet_names.join("、"));
    let no_groups = row.rules.len() == CALENDAR.len();
    view! {
        <tr>
            <td>{name}<br/><span class="muted">{format!("{}人", row.members)}</span></td>
            <td>{row.held}</td>
            {row.rules.into_iter().map(|r| {
                let missing = (!r.met()).then(|| format!("缺{}", r.missing.join("、")));
                view! {
                    <td class=if r.met() { "" } else { "behind" }>
                        {r.cell()}
                        {missing.map(|m| view! { <br/><span class="muted">{m}</span> })}
                    </td>
                }
            }).collect_view()}
            {no_groups.then(|| view! { <td class="muted">{NO_GROUPS}</td> })}
            <td>
                {percent(row.present, row.expected)}
                <progress max=row.expected.max(1) value=row.present aria-label="出席率"></progress>
            </td>
            <td>{row.unconfirmed}</td>
            <td>{row.quiet}{names.map(|n| view! { <br/><span class="muted">{n}</span> })}</td>
            <td><Audiences counts=row.study/></td>
        </tr>
    }
}

/// `党员：3/5` with a bar, per audience.
#[component]
fn Audiences(counts: Vec<AudienceCount>) -> impl IntoView {
    if counts.is_empty() {
        return view! { <p class="muted">"无"</p> }.into_any();
    }
    counts
        .into_iter()
        .map(|c| {
            view! {
                <div class="audience">
                    <span>{format!("{}：{}/{}", c.audience.label(), c.met, c.people)}</span>
                    <progress max=c.people value=c.met aria-label=c.audience.label()></progress>
                </div>
            }
        })
        .collect_view()
        .into_any()
}
