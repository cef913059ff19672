//! 支部管理: the lead's quiet list — members of their branch without any participation (at home or at a
//! host branch) for the configured time. Only their own lead sees names; it is a reminder to get in touch.

use leptos::prelude::*;

use crate::api::{Participation, paths};
use crate::client::load::{Loader, Status};
use crate::model::LocalTime;

#[component]
pub fn BranchPage() -> impl IntoView {
    let list = RwSignal::new(None::<Participation>);
    let loader = Loader::new("当前无网络，联网后可查看。");
    loader.get(paths::PARTICIPATION.to_owned(), move |p| list.set(Some(p)));
    view! {
        <section class="card">
            <h1>"支部管理"</h1>
            <h2>"近期未参加组织生活的党员"</h2>
            <Status of=loader/>
            {move || list.get().map(|p| if p.members.is_empty() {
                    view! {
                        <p class="hint" data-testid="quiet-list">{format!("{}以来，本支部党员都参加过组织生活。", LocalTime::from_millis(p.since).prose())}</p>
                    }.into_any()
                } else {
                    view! {
                        <p class="hint">{format!("以下党员自{}以来没有参加任何组织生活（含在外支部参加），请主动联系了解情况。", LocalTime::from_millis(p.since).prose())}</p>
                        <ul class="roster" data-testid="quiet-list">
                            {p.members.into_iter().map(|m| view! {
                                <li class="roster-row">
                                    <span class="name">{m.name}</span>
                                    <span class="muted">{match (m.last_at, m.last_org) {
                                        (Some(t), Some(org)) => format!("最近一次：{}，{org}", LocalTime::from_millis(t).table()),
                                        _ => "尚无参加记录".to_owned(),
                                    }}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
            })}
        </section>
    }
}
