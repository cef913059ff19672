//! `/roster`: 导入名册 for district admins — the department's spreadsheet, checked as soon as it is chosen
//! and written only when no row has a problem. Online only; its own chunk.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use super::members::InviteButton;
use crate::api::{ImportReport, ImportRow, RowOutcome, paths};
use crate::client::http;
use crate::client::load::{Loader, OFFLINE, Status};

/// `/roster`: the department's spreadsheet is checked as soon as it is chosen; it is written only when no
/// row has a problem, after the admin confirms.
#[component]
pub fn RosterPage() -> impl IntoView {
    let file = RwSignal::new(None::<Vec<u8>>);
    let report = RwSignal::new(None::<ImportReport>);
    let loader = Loader::new(OFFLINE);
    let send = move |dry_run: bool| {
        let Some(bytes) = file.get_untracked() else {
            return;
        };
        let busy = if dry_run {
            "正在检查…"
        } else {
            "正在导入…"
        };
        let path = format!("{}?dry_run={dry_run}", paths::ROSTER_IMPORT);
        let post = move |token: String| async move { http::post_file(&token, &path, bytes).await };
        loader.run(busy, post, move |r| {
            report.set(Some(r));
            None
        });
    };
    let pick = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(chosen) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        report.set(None);
        spawn_local(async move {
            match JsFuture::from(chosen.array_buffer()).await {
                Ok(buffer) => {
                    file.set(Some(js_sys::Uint8Array::new(&buffer).to_vec()));
                    send(true);
                }
                Err(_) => loader.say("无法读取该文件，请重新选择"),
            }
        });
    };
    view! {
        <section class="card">
            <h1>"导入名册"</h1>
            <p class="hint">"上传组织部现有的名册（Excel .xlsx 或 CSV，GBK 编码也可以）。需要“姓名”“手机号”“支部”三列，可选“类别”（正式党员/预备党员）、“职务”、“标签”（流动党员、挂职干部、干部）、“学时对象”。以手机号识别成员：再次导入同一份名册不会重复添加。身份证号等其他列不会读取或保存。"</p>
            <label for="roster-file">"选择名册文件"</label>
            <input id="roster-file" type="file" accept=".xlsx,.csv,text/csv" on:change=pick/>
            <Status of=loader/>
        </section>
        {move || report.get().map(|r| view! { <Report report=r send/> })}
    }
}

#[component]
fn Report(
    report: ImportReport,
    send: impl Fn(bool) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let summary = format!(
        "共{}行：新增{}人，更新{}人，无变化{}人，有问题{}行",
        report.total, report.created, report.updated, report.unchanged, report.problems
    );
    let verdict = match (
        report.applied,
        report.problems,
        report.created + report.updated,
    ) {
        (true, _, _) => {
            "已导入。新成员需要邀请码才能登录，可在下方或“成员与邀请”中发出。".to_owned()
        }
        (false, 0, 0) => "名册与系统中的成员完全一致，无需导入。".to_owned(),
        (false, 0, _) => "检查通过，确认后写入。".to_owned(),
        (false, n, _) => {
            format!("有{n}行需要修改：请在表格中改正后重新选择文件。在此之前不会写入任何内容。")
        }
    };
    let ready = !report.applied && report.problems == 0 && report.created + report.updated > 0;
    let confirm = format!(
        "确认导入（新增{}人，更新{}人）",
        report.created, report.updated
    );
    let ignored = (!report.ignored_columns.is_empty())
        .then(|| format!("未读取的列：{}", report.ignored_columns.join("、")));
    let applied = report.applied;
    view! {
        <section class="card" data-testid="roster-report">
            <h2>{if applied { "导入结果" } else { "检查结果" }}</h2>
            <p><strong>{summary}</strong></p>
            <p class="hint">{verdict}</p>
            {ignored.map(|i| view! { <p class="hint">{i}</p> })}
            {ready.then(|| view! {
                <button type="button" class="primary" on:click=move |_| send(false)>{confirm}</button>
            })}
            <div class="table-scroll">
                <table class="overview">
                    <thead><tr><th>"行"</th><th>"姓名"</th><th>"手机号"</th><th>"支部"</th><th>"结果"</th></tr></thead>
                    <tbody>
                        {report.rows.into_iter().map(|row| view! { <ReportRow row applied/> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn ReportRow(row: ImportRow, applied: bool) -> impl IntoView {
    let class = if row.outcome == RowOutcome::Problem {
        "error"
    } else {
        ""
    };
    let invite = row
        .user_id
        .filter(|_| applied && row.outcome == RowOutcome::New)
        .map(|user_id| view! { <InviteButton user_id joined=false/> });
    view! {
        <tr>
            <td>{row.line}</td>
            <td>{row.name}</td>
            <td>{row.phone}</td>
            <td>{row.branch}</td>
            <td>
                <span class=class>{row.outcome.label()}</span>
                {(!row.detail.is_empty()).then(|| view! { <br/><span class="muted">{row.detail}</span> })}
                {invite}
            </td>
        </tr>
    }
}
