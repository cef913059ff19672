//! `/audit`: the audit log for district admins — who did what, when — newest first, a page at a time.
//! Online only; loaded as its own chunk.

use leptos::prelude::*;

use crate::api::{AuditEntry, AuditPage, paths};
use crate::client::load::{Loader, Status};
use crate::model::LocalTime;

#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let next = RwSignal::new(None::<i64>);
    let loader = Loader::new("当前无网络，联网后可查看。");
    let load = move |before: Option<i64>| {
        let path = match before {
            Some(id) => format!("{}?before={id}", paths::AUDIT),
            None => paths::AUDIT.to_owned(),
        };
        loader.get_page(path, before.is_some(), move |page: AuditPage| {
            entries.update(|e| e.extend(page.entries));
            next.set(page.next);
        });
    };
    load(None);
    view! {
        <section class="card">
            <h1>"操作日志"</h1>
            <p class="hint">"书记和管理员的每一项操作：发布、确认、审批（含理由）、导入、学时认定、修改要求。"</p>
            <Status of=loader/>
            <div class="table-scroll">
                <table class="overview" data-testid="audit-log">
                    <thead><tr><th>"时间"</th><th>"操作人"</th><th>"操作"</th><th>"内容"</th></tr></thead>
                    <tbody>
                        {move || entries.get().into_iter().map(|e| view! {
                            <tr>
                                <td>{LocalTime::from_millis(e.at).table()}</td>
                                <td>{e.actor}<br/><span class="muted">{e.actor_role.label()}</span></td>
                                <td>{e.label}</td>
                                <td class="text">{e.subject}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {move || next.get().map(|id| view! {
                <button type="button" class="secondary" on:click=move |_| load(Some(id))>"更早的记录"</button>
            })}
        </section>
    }
}
