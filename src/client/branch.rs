//! 支部管理: the lead's quiet list — members of their branch without any participation (at home or at a
//! host branch) for the configured time. Only their own lead sees names; it is a reminder to get in touch.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::http::{self, ApiError};
use super::sync::Ctx;
use crate::api::{Participation, paths};
use crate::model::LocalTime;

#[component]
pub fn BranchPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // Fetched once when the page opens (online only): spawn_local and a signal, which the app already
    // carries, rather than an async resource.
    let (list, set_list) = signal(None::<Result<Participation, ApiError>>);
    if let Some(token) = ctx.token() {
        spawn_local(async move {
            set_list.set(Some(
                http::get::<Participation>(&token, paths::PARTICIPATION).await,
            ));
        });
    }
    view! {
        <section class="card">
            <h1>"支部管理"</h1>
            <h2>"近期未参加组织生活的党员"</h2>
            {move || match list.get() {
                None => view! { <p class="hint">"正在获取…"</p> }.into_any(),
                Some(r) => match r {
                    Err(ApiError::Offline) => view! { <p class="hint">"当前无网络，联网后可查看。"</p> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                    Ok(p) if p.members.is_empty() => view! {
                        <p class="hint" data-testid="quiet-list">{format!("{}以来，本支部党员都参加过组织生活。", LocalTime::from_millis(p.since).prose())}</p>
                    }.into_any(),
                    Ok(p) => view! {
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
                    }.into_any(),
                },
            }}
        </section>
    }
}
