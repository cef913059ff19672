//! The reviewers' desk: `/review`, the queue of records 待认定 in their scope (recognise with the 学时
//! credited, return with a comment, or recognise a whole training at once — offline, through the outbox),
//! and `/study/overview`, who has met their requirement for a year and who is behind, as a table with bars
//! and an Excel download. Rows are in organisation and name order: a list to follow up, never a ranking.

use std::collections::BTreeSet;

use leptos::prelude::*;

use super::ledger::when_and_hours;
use crate::api::{Change, Evidence, ReviewStudy, StudyOverview, StudyView, paths};
use crate::client::components::YearSwitch;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;
use crate::outbox::{self, RowMark, StudyItem};
use crate::study::{Day, Hours};

fn record_review(
    ctx: Ctx,
    v: &StudyView,
    credited: Option<Hours>,
    comment: String,
) -> Result<(), String> {
    ctx.record(Change::ReviewStudy(ReviewStudy {
        study_id: v.id.clone(),
        version: v.version,
        credited,
        comment,
    }))
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let queue = Memo::new(move |_| {
        let me = ctx.user_id().unwrap_or_default();
        ctx.cache
            .with(|c| ctx.entries.with(|e| outbox::review_queue(me, c, e)))
    });
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let (message, set_message) = signal(None::<String>);
    let batch = move |_| {
        let chosen = selected.get_untracked();
        let mut done = 0;
        for item in queue.get_untracked() {
            if chosen.contains(&item.view.id) && item.mark == RowMark::None {
                match record_review(ctx, &item.view, Some(item.view.hours), String::new()) {
                    Ok(()) => done += 1,
                    Err(e) => {
                        set_message.set(Some(e));
                        return;
                    }
                }
            }
        }
        selected.set(BTreeSet::new());
        set_message.set(Some(format!("已认定{done}条（按申报学时）")));
    };
    view! {
        <section class="card">
            <h1>"学时认定"</h1>
            <p class="hint">"认定以证明材料和实际参加情况为准；认定学时可少于申报学时，不予认定请退回并说明原因。"</p>
            <div class="batch">
                <button type="button" class="primary" disabled=move || selected.with(BTreeSet::is_empty) on:click=batch>
                    {move || format!("认定所选（{}条，按申报学时）", selected.with(BTreeSet::len))}
                </button>
                {move || message.get().map(|m| view! { <p class="hint" role="status">{m}</p> })}
            </div>
            {move || queue.with(Vec::is_empty).then(|| view! { <p class="empty">"没有待认定的学习记录。"</p> })}
            <ul class="review-list" data-testid="review-queue">
                <For each=move || queue.get() key=|i| (i.view.id.clone(), i.view.version, i.view.status) let:item>
                    <ReviewRow item selected/>
                </For>
            </ul>
        </section>
    }
}

#[component]
fn ReviewRow(item: StudyItem, selected: RwSignal<BTreeSet<String>>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let v = item.view.clone();
    let credited = RwSignal::new(v.hours.to_string());
    let comment = RwSignal::new(String::new());
    let (error, set_error) = signal(None::<String>);
    let photo = RwSignal::new(None::<String>);
    let decided = item.mark != RowMark::None;
    let outcome = match &item.mark {
        RowMark::Waiting => Some(format!("{}（待上传）", v.status.label())),
        RowMark::Refused(r) => Some(format!("未通过：{r}")),
        RowMark::None => None,
    };
    let id = v.id.clone();
    let toggle = {
        let id = id.clone();
        move |ev| {
            let on = event_target_checked(&ev);
            selected.update(|s| {
                if on {
                    s.insert(id.clone());
                } else {
                    s.remove(&id);
                }
            });
        }
    };
    let recognise = {
        let v = v.clone();
        move |_| match Hours::parse(&credited.get_untracked()) {
            Some(h) => {
                if let Err(e) = record_review(ctx, &v, Some(h), comment.get_untracked()) {
                    set_error.set(Some(e));
                }
            }
            None => set_error.set(Some("认定学时请填写数字，最小单位0.5".to_owned())),
        }
    };
    let give_back = {
        let v = v.clone();
        move |_| {
            let text = comment.get_untracked();
            if text.trim().is_empty() {
                set_error.set(Some(
                    "退回时请填写意见，告诉本人需要补充或更正什么".to_owned(),
                ));
                return;
            }
            if let Err(e) = record_review(ctx, &v, None, text) {
                set_error.set(Some(e));
            }
        }
    };
    let evidence = Loader::new("当前无网络，联网后可查看证明材料");
    let show_photo = {
        let path = paths::evidence(&id);
        move |_| evidence.get(path.clone(), move |e: Evidence| photo.set(Some(e.data_url)))
    };
    let label = format!("{}：{}", v.user_name, v.title);
    view! {
        <li class="review-row" data-testid="review-row">
            <label class="check">
                <input type="checkbox" disabled=decided aria-label=format!("选择 {label}") on:change=toggle
                    prop:checked=move || selected.with(|s| s.contains(&id))/>
                <strong>{v.user_name.clone()}</strong>
                <span class="muted">{format!("{} · {}", v.org_name, v.audience.label())}</span>
            </label>
            <p><strong>{v.title.clone()}</strong>{format!("（{}）", v.kind.label())}</p>
            <p class="muted">{when_and_hours(&v)}</p>
            {(!v.organiser.is_empty()).then(|| view! { <p class="muted">{format!("主办单位：{}", v.organiser)}</p> })}
            {v.programme.map(|p| view! { <p class="muted">{format!("项目：{}", p.label())}</p> })}
            {(!v.notes.is_empty()).then(|| view! { <p class="muted">{format!("备注：{}", v.notes)}</p> })}
            {v.has_evidence.then(|| view! {
                <button type="button" class="link" on:click=show_photo>"查看证明材料"</button>
            })}
            {move || photo.get().map(|url| view! { <img class="evidence" src=url alt="证明材料"/> })}
            <Status of=evidence/>
            {match outcome {
                Some(o) => view! { <p class="status" role="status">{o}</p> }.into_any(),
                None => view! {
                    <div class="decide">
                        <label>"认定学时"<input type="text" inputmode="decimal" prop:value=credited
                            on:input=move |ev| credited.set(event_target_value(&ev))/></label>
                        <label>"意见"<input type="text" maxlength="200" prop:value=comment
                            on:input=move |ev| comment.set(event_target_value(&ev))/></label>
                        <button type="button" class="primary" on:click=recognise>"认定"</button>
                        <button type="button" class="secondary" on:click=give_back>"退回"</button>
                        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    </div>
                }.into_any(),
            }}
        </li>
    }
}

/// 学时完成情况: the scope's summary per audience, and its people a page at a time (whole organisations; a
/// district is 100,000 people), narrowed to one organisation below by choosing it.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let year = RwSignal::new(Day::of_millis(ctx.server_now()).year());
    let org = RwSignal::new(None::<(i64, String)>);
    let data = RwSignal::new(None::<StudyOverview>);
    let loader = Loader::new("当前无网络，联网后可查看。");
    // Page `from` of the year and organisation shown: the first replaces the table, the next ones extend
    // it (only the latest question's answer arrives: see `Loader`).
    let load = move |from: Option<i64>| {
        let org = org.get_untracked().map(|(id, _)| id);
        let path = paths::study_overview_page(year.get_untracked(), org, from);
        loader.get_page(path, from.is_some(), move |page: StudyOverview| {
            data.update(|shown| match shown {
                Some(shown) if from.is_some() => {
                    shown.rows.extend(page.rows);
                    shown.next = page.next;
                }
                shown => *shown = Some(page),
            })
        });
    };
    Effect::new(move |_| {
        year.track();
        org.track();
        data.set(None);
        load(None);
    });
    let excel = move |_| {
        let y = year.get_untracked();
        loader.download(
            paths::study_overview(y, "xlsx"),
            format!("学时完成情况-{y}年.xlsx"),
            None,
        );
    };
    view! {
        <section class="card">
            <h1>"学时完成情况"</h1>
            <YearSwitch year/>
            <button type="button" class="secondary" on:click=excel>"导出 Excel"</button>
            <Status of=loader/>
            {move || data.get().map(|o| {
                    let children = o.children.clone();
                    let next = o.next;
                    let rows = o.rows;
                    view! {
                        {org.get().map(|(_, name)| view! {
                            <p>{name}" "<button type="button" class="link" on:click=move |_| org.set(None)>"‹ 返回全部"</button></p>
                        })}
                        {(!children.is_empty()).then(|| {
                            let options = children.clone();
                            view! {
                                <label for="overview-org">"下级党组织"</label>
                                <select id="overview-org" on:change=move |ev| {
                                    let id: Option<i64> = event_target_value(&ev).parse().ok();
                                    org.set(id.and_then(|id| children.iter().find(|c| c.id == id)).map(|c| (c.id, c.name.clone())));
                                }>
                                    <option value="">"全部"</option>
                                    {options.into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()}
                                </select>
                            }
                        })}
                        <div class="summary" data-testid="overview-summary">
                            {o.summary.into_iter().map(|c| view! {
                                <div class="summary-line">
                                    <span>{format!("{}：{}人，已达到{}人，未达到{}人", c.audience.label(), c.people, c.met, c.people - c.met)}</span>
                                    <progress max=c.people value=c.met aria-label=c.audience.label()></progress>
                                </div>
                            }).collect_view()}
                        </div>
                        <div class="table-scroll">
                            <table class="overview" data-testid="overview-table">
                                <thead><tr><th>"党组织"</th><th>"姓名"</th><th>"要求"</th><th>"完成情况"</th><th>"待认定"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|r| view! {
                                        <tr>
                                            <td>{r.org_name.clone()}</td>
                                            <td>{r.name.clone()}<br/><span class="muted">{r.audience.label()}</span></td>
                                            <td class="text">{r.progress.iter().map(|p| view! { <div>{format!("{}（{}）", p.name, p.period_label())}</div> }).collect_view()}</td>
                                            <td>{r.progress.iter().map(|p| view! {
                                                <div>
                                                    <progress max="1000" value=p.permille() aria-label=p.name.clone()></progress>
                                                    <span class={if p.met() { "met" } else { "behind" }}>{format!("{}/{}，{}", p.done, p.required, if p.met() { "已达到".to_owned() } else { format!("尚需{}", p.remaining()) })}</span>
                                                </div>
                                            }).collect_view()}</td>
                                            <td>{(r.pending > 0).then(|| r.pending.to_string())}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {next.map(|from| view! {
                            <button type="button" class="secondary" on:click=move |_| load(Some(from))>"显示更多"</button>
                        })}
                    }
            })}
        </section>
    }
}
