//! 学习记录: a person's year against their requirement (`应完成90学时，已完成62.5学时，尚需27.5学时`), their
//! records with where each stands, and the form to log, correct or withdraw one — all offline, through the
//! outbox. Credit shows only once a record is recognised; nothing here counts time spent in the app.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::api::{Change, StudyView, WithdrawStudy};
use crate::client::components::{Select, YearSwitch};
use crate::client::router;
use crate::client::sync::Ctx;
use crate::model::Role;
use crate::outbox::{self, RowMark, StudyDraft, StudyItem};
use crate::study::{Audience, Day, Programme, Progress, StudyStatus, check_editable};

/// The signed-in person's own records with this phone's changes laid over, as a memo (a pull that changes
/// nothing of theirs renders nothing again).
fn use_my_study() -> Memo<Vec<StudyItem>> {
    let ctx = expect_context::<Ctx>();
    Memo::new(move |_| {
        let Some((id, name, audience)) = ctx.session.with(|s| {
            s.as_ref()
                .map(|s| (s.user.id, s.user.name.clone(), s.user.audience))
        }) else {
            return Vec::new();
        };
        ctx.cache.with(|c| {
            ctx.entries
                .with(|e| outbox::my_study(id, &name, audience, c, e))
        })
    })
}

fn audience(ctx: Ctx) -> Audience {
    ctx.session
        .with(|s| s.as_ref().map(|s| s.user.audience))
        .unwrap_or_default()
}

/// How many records wait for this reviewer.
fn review_hint(ctx: Ctx) -> String {
    let me = ctx.user_id().unwrap_or_default();
    let n = ctx
        .cache
        .with(|c| ctx.entries.with(|e| outbox::review_queue(me, c, e).len()));
    match n {
        0 => "没有待认定的学习记录".to_owned(),
        n => format!("有{n}条学习记录待认定"),
    }
}

/// A record's status as its author sees it, with this phone's part in it (待上传, 未通过).
pub fn status_label(item: &StudyItem) -> String {
    let status = item.view.status.label();
    match &item.mark {
        RowMark::None => status.to_owned(),
        RowMark::Waiting => format!("{status}（待上传）"),
        RowMark::Refused(reason) => format!("{status}（未通过：{reason}）"),
    }
}

/// `2026-03-02 至 2026-03-06 · 37.5学时（5天）`
pub fn when_and_hours(v: &StudyView) -> String {
    let dates = if v.starts_on == v.ends_on {
        v.starts_on.clone()
    } else {
        format!("{} 至 {}", v.starts_on, v.ends_on)
    };
    let days = v.days.map(|d| format!("（{d}天）")).unwrap_or_default();
    format!("{dates} · 申报{}学时{days}", v.hours)
}

/// One requirement's progress: the sentence, a bar, and what counted by kind.
#[component]
pub fn ProgressLine(progress: Progress) -> impl IntoView {
    let by_kind = progress
        .by_kind
        .iter()
        .map(|k| format!("{}{}学时", k.kind.label(), k.hours))
        .collect::<Vec<_>>()
        .join("，");
    view! {
        <div class="progress-line">
            <h2>{format!("{}（{}）", progress.name, progress.period_label())}</h2>
            <progress max="1000" value=progress.permille() aria-label=progress.name.clone()></progress>
            <p data-testid="study-sentence" class={if progress.met() { "met" } else { "" }}>{progress.sentence()}</p>
            {(!by_kind.is_empty()).then(|| view! { <p class="hint">{format!("已认定：{by_kind}")}</p> })}
        </div>
    }
}

#[component]
pub fn StudyPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let items = use_my_study();
    let year = RwSignal::new(Day::of_millis(ctx.server_now()).year());
    let progress = move || {
        let items = items.get();
        ctx.cache
            .with(|c| outbox::progress(&c.study_rules, audience(ctx), year.get(), &items))
    };
    view! {
        <section class="card" data-testid="study-progress">
            <h1>"学习记录"</h1>
            <YearSwitch year/>
            <p class="hint">{move || format!("学时要求：{}", audience(ctx).label())}</p>
            {move || progress().into_iter().map(|p| view! { <ProgressLine progress=p/> }).collect_view()}
            <p class="hint">"学时以组织认定为准：待认定的记录认定后计入；跨年的培训按天数分别计入各年。"</p>
            <a class="button primary" href="/study/new">"登记学习"</a>
        </section>
        {move || matches!(ctx.role(), Some(Role::Lead | Role::Admin)).then(|| view! {
            <section class="card">
                <h2>"学时认定"</h2>
                <p class="hint">{move || review_hint(ctx)}</p>
                <a class="button secondary" href="/review">"待认定记录"</a>
                <a class="button secondary" href="/study/overview">"完成情况"</a>
                {(ctx.role() == Some(Role::Admin)).then(|| view! {
                    <a class="button secondary" href="/study/rules">"学时要求设置"</a>
                })}
            </section>
        })}
        <section class="card">
            <h2>"我的记录"</h2>
            {move || {
                let items = items.get();
                if items.is_empty() {
                    return view! { <p class="empty">"还没有学习记录。参加培训、讲座或自学后，在这里登记，提交组织认定。"</p> }.into_any();
                }
                view! {
                    <ul class="study-list" data-testid="study-list">
                        {items.into_iter().map(|item| {
                            let v = item.view.clone();
                            view! {
                                <li class="study-row">
                                    <a href=format!("/study/{}", v.id)>{v.title.clone()}</a>
                                    <span class="muted">{format!("{} · {}", v.kind.label(), when_and_hours(&v))}</span>
                                    <span class="status">{status_label(&item)}
                                        {(v.status == StudyStatus::Recognised).then(|| format!("，认定{}学时", v.credited))}
                                        {v.has_evidence.then_some("，已附证明材料")}
                                    </span>
                                    {(v.status == StudyStatus::Returned && !v.comment.is_empty()).then(|| view! {
                                        <span class="hint">{format!("退回意见：{}", v.comment)}</span>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// `/study/new` and `/study/:id`: log a record, or open one — to correct, submit or withdraw it while it is
/// not recognised, or to read it once it is.
#[component]
pub fn StudyEditPage() -> impl IntoView {
    let id = Some(router::id().get_untracked()).filter(|id| !id.is_empty());
    // Read once: a pull while the person types must not reset the form.
    let existing = id.as_ref().and_then(|id| {
        use_my_study()
            .get_untracked()
            .into_iter()
            .find(|i| &i.view.id == id)
    });
    match (id, existing) {
        (None, _) => view! { <StudyForm item=None/> }.into_any(),
        (Some(_), Some(item)) if check_editable(item.view.status).is_ok() => {
            view! { <StudyForm item=Some(item)/> }.into_any()
        }
        (Some(_), Some(item)) => view! { <StudyDetail item/> }.into_any(),
        (Some(_), None) => view! {
            <p class="empty">"找不到这条学习记录。"<a href="/study">"返回学习记录"</a></p>
        }
        .into_any(),
    }
}

#[component]
fn StudyDetail(item: StudyItem) -> impl IntoView {
    let v = item.view;
    view! {
        <section class="card">
            <h1>{v.title.clone()}</h1>
            <p>{format!("{} · {}", v.kind.label(), when_and_hours(&v))}</p>
            {(!v.organiser.is_empty()).then(|| view! { <p>{format!("主办单位：{}", v.organiser)}</p> })}
            <p class="status">{format!("已认定{}学时（{}）", v.credited, v.reviewer)}</p>
            {(!v.comment.is_empty()).then(|| view! { <p class="hint">{format!("认定意见：{}", v.comment)}</p> })}
            <p class="hint">"已认定的记录不能再修改；如有错误，请联系认定人。"</p>
            <a href="/study">"返回学习记录"</a>
        </section>
    }
}

#[component]
fn StudyForm(item: Option<StudyItem>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = router::use_location();
    let today = Day::of_millis(ctx.server_now());
    let (study_id, start, had_evidence) = match &item {
        Some(i) => (
            i.view.id.clone(),
            StudyDraft::of(&i.view),
            i.view.has_evidence,
        ),
        None => (crate::client::new_id(), StudyDraft::new(today), false),
    };
    let today = today.iso();
    let kind = RwSignal::new(start.kind);
    let title = RwSignal::new(start.title);
    let organiser = RwSignal::new(start.organiser);
    let starts_on = RwSignal::new(start.starts_on);
    let ends_on = RwSignal::new(start.ends_on);
    let by_days = RwSignal::new(start.by_days);
    let amount = RwSignal::new(start.amount);
    let programme = RwSignal::new(start.programme);
    let notes = RwSignal::new(start.notes);
    let typed = move || StudyDraft {
        kind: kind.get(),
        title: title.get(),
        organiser: organiser.get(),
        starts_on: starts_on.get(),
        ends_on: ends_on.get(),
        amount: amount.get(),
        by_days: by_days.get(),
        programme: programme.get(),
        notes: notes.get(),
    };
    let (error, set_error) = signal(None::<String>);
    // The photo chosen now (kept on the phone until its record has arrived, then uploaded).
    let photo = RwSignal::new(None::<String>);
    let (photo_note, set_photo_note) = signal(None::<String>);
    let pick = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        set_photo_note.set(Some("正在处理照片…".to_owned()));
        leptos::task::spawn_local(async move {
            match crate::client::photo::shrink(file).await {
                Ok(url) => {
                    set_photo_note.set(Some(format!(
                        "已选照片（约{}KB），联网后随记录上传",
                        url.len() * 3 / 4 / 1024
                    )));
                    photo.set(Some(url));
                }
                Err(e) => set_photo_note.set(Some(e)),
            }
        });
    };
    let day_hours = move || ctx.cache.with(|c| c.study_rules.day_hours);
    let converted = move || typed().converted(day_hours());
    let withdraw_id = study_id.clone();
    let save = move |submit: bool| {
        let today = Day::of_millis(ctx.server_now());
        let draft = untrack(typed);
        let entry = match draft.to_entry(study_id.clone(), submit, untrack(day_hours), today) {
            Ok(entry) => entry,
            Err(e) => return set_error.set(Some(e)),
        };
        if let (Some(url), Some(user_id)) = (photo.get_untracked(), ctx.user_id())
            && crate::client::store::put_evidence(user_id, &entry.study_id, &url).is_err()
        {
            set_error.set(Some(
                "手机存储空间不足，照片未能保存；可以先提交记录，稍后再补照片".to_owned(),
            ));
            return;
        }
        match ctx.record(Change::SaveStudy(entry)) {
            Ok(()) => location.go("/study"),
            Err(e) => set_error.set(Some(e)),
        }
    };
    let draft = save.clone();
    let withdraw = {
        let study_id = withdraw_id;
        move |_| {
            let change = Change::WithdrawStudy(WithdrawStudy {
                study_id: study_id.clone(),
            });
            match ctx.record(change) {
                Ok(()) => location.go("/study"),
                Err(e) => set_error.set(Some(e)),
            }
        }
    };
    let can_withdraw = item.as_ref().is_some_and(|i| {
        matches!(
            i.view.status,
            StudyStatus::Pending | StudyStatus::Draft | StudyStatus::Returned
        )
    });
    let heading = if item.is_some() {
        "修改学习记录"
    } else {
        "登记学习"
    };
    let returned = item
        .as_ref()
        .filter(|i| i.view.status == StudyStatus::Returned && !i.view.comment.is_empty())
        .map(|i| i.view.comment.clone());
    view! {
        <section class="card">
            <h1>{heading}</h1>
            {returned.map(|c| view! { <p class="banner warn">{format!("退回意见：{c}")}</p> })}
            <form on:submit=move |ev: SubmitEvent| { ev.prevent_default(); save(true) }>
                <label for="study-kind">"类别"</label>
                <Select id="study-kind" value=kind/>
                <label for="study-title">"学习内容（名称）"</label>
                <input id="study-title" type="text" maxlength="100" required bind:value=title/>
                <label for="study-organiser">"主办单位"</label>
                <input id="study-organiser" type="text" maxlength="100" placeholder="如：中共上海市委党校" bind:value=organiser/>
                <div class="row">
                    <div>
                        <label for="study-from">"开始日期"</label>
                        <input id="study-from" type="date" max=today.clone() bind:value=starts_on/>
                    </div>
                    <div>
                        <label for="study-to">"结束日期"</label>
                        <input id="study-to" type="date" max=today bind:value=ends_on/>
                    </div>
                </div>
                <fieldset class="unit">
                    <legend>"申报"</legend>
                    <label><input type="radio" name="unit" prop:checked=move || !by_days.get() on:change=move |_| by_days.set(false)/>"按学时"</label>
                    <label><input type="radio" name="unit" prop:checked=by_days on:change=move |_| by_days.set(true)/>"按天数"</label>
                </fieldset>
                <label for="study-amount">{move || if by_days.get() { "天数" } else { "学时" }}</label>
                <input id="study-amount" type="text" inputmode="decimal" placeholder="如：7.5" bind:value=amount/>
                {move || converted().map(|c| view! { <p class="hint">{c}</p> })}
                <label for="study-programme">"项目"</label>
                <select id="study-programme" on:change=move |ev| programme.set(Programme::parse(&event_target_value(&ev)))>
                    <option value="" selected=move || programme.get().is_none()>"无"</option>
                    {Programme::ALL.into_iter().map(|p| view! {
                        <option value=p.as_str() selected=move || programme.get() == Some(p)>{p.label()}</option>
                    }).collect_view()}
                </select>
                <label for="study-notes">"备注"</label>
                <textarea id="study-notes" maxlength="500" bind:value=notes></textarea>
                <label for="study-photo">"证明材料照片（选填，如结业证书）"</label>
                <input id="study-photo" type="file" accept="image/*" on:change=pick/>
                {move || photo.get().map(|url| view! { <img class="evidence" src=url alt="证明材料预览"/> })}
                {move || photo_note.get().or_else(|| had_evidence.then(|| "已上传证明材料；重新选择将替换".to_owned()))
                    .map(|n| view! { <p class="hint" role="status">{n}</p> })}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary">"提交认定"</button>
                <button type="button" class="secondary" on:click=move |_| draft(false)>"保存草稿"</button>
                {can_withdraw.then(|| view! {
                    <button type="button" class="secondary danger" on:click=withdraw>"撤回"</button>
                })}
            </form>
            <p class="hint">"没有网络也能登记，联网后自动上传。"</p>
        </section>
    }
}
