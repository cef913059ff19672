//! `/study/rules`: the district admin sets the study requirements — 学时 per audience and period, the
//! day→学时 factor and per-kind yearly caps. Online only (it changes everyone's progress); phones receive the
//! rules with their next pull.

use leptos::prelude::*;

use crate::api::paths;
use crate::client::http;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;
use crate::study::{Cap, Hours, StudyKind, StudyRules};

#[component]
pub fn RulesPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let rules = ctx.cache.with_untracked(|c| c.study_rules.clone());
    let hours: Vec<RwSignal<String>> = rules
        .requirements
        .iter()
        .map(|r| RwSignal::new(r.hours.to_string()))
        .collect();
    let day_hours = RwSignal::new(rules.day_hours.to_string());
    let caps: Vec<(StudyKind, RwSignal<String>)> = StudyKind::ALL
        .into_iter()
        .map(|k| {
            let cap = rules.caps.iter().find(|c| c.kind == k);
            (
                k,
                RwSignal::new(cap.map(|c| c.hours.to_string()).unwrap_or_default()),
            )
        })
        .collect();
    let loader = Loader::new("当前无网络，设置需要联网后保存");
    let save = {
        let (rules, hours, caps) = (rules.clone(), hours.clone(), caps.clone());
        move |_| {
            let read = |s: &RwSignal<String>, what: &str| {
                Hours::parse(&s.get_untracked()).ok_or(format!("{what}请填写数字，最小单位0.5"))
            };
            let edited = (|| -> Result<StudyRules, String> {
                let mut next = rules.clone();
                for (r, h) in next.requirements.iter_mut().zip(&hours) {
                    r.hours = read(h, &r.name)?;
                }
                next.day_hours = read(&day_hours, "每天折算学时")?;
                next.caps = caps
                    .iter()
                    .filter(|(_, s)| !s.get_untracked().trim().is_empty())
                    .map(|(k, s)| {
                        Ok(Cap {
                            kind: *k,
                            hours: read(s, k.label())?,
                        })
                    })
                    .collect::<Result<_, String>>()?;
                next.check()?;
                Ok(next)
            })();
            let next = match edited {
                Ok(next) => next,
                Err(e) => return loader.say(&e),
            };
            let put = move |token: String| async move {
                http::put::<_, StudyRules>(&token, paths::STUDY_RULES, &next).await
            };
            loader.run("正在保存…", put, move |saved| {
                ctx.cache.update(|c| c.study_rules = saved);
                ctx.save_cache();
                Some("已保存，成员的手机同步后按新要求计算".to_owned())
            });
        }
    };
    view! {
        <section class="card">
            <h1>"学时要求设置"</h1>
            <div class="table-scroll">
                <table class="rules">
                    <thead><tr><th>"对象"</th><th>"要求"</th><th>"周期"</th><th>"学时"</th></tr></thead>
                    <tbody>
                        {rules.requirements.iter().zip(hours).map(|(r, h)| {
                            let kinds = if r.kinds.is_empty() {
                                "各类学习".to_owned()
                            } else {
                                r.kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join("、")
                            };
                            view! {
                                <tr>
                                    <td>{r.audience.label()}</td>
                                    <td class="text">{format!("{}（{kinds}）", r.name)}</td>
                                    <td>{if r.years == 1 { "每年".to_owned() } else { format!("每{}年", r.years) }}</td>
                                    <td><input type="text" inputmode="decimal" aria-label=format!("{}{}学时", r.audience.label(), r.name)
                                        prop:value=h on:input=move |ev| h.set(event_target_value(&ev))/></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <label for="day-hours">"每天折算学时"</label>
            <input id="day-hours" type="text" inputmode="decimal" prop:value=day_hours
                on:input=move |ev| day_hours.set(event_target_value(&ev))/>
            <h2>"每年计入上限（留空为不设上限）"</h2>
            {caps.into_iter().map(|(k, s)| view! {
                <label>{k.label()}<input type="text" inputmode="decimal" prop:value=s
                    on:input=move |ev| s.set(event_target_value(&ev))/></label>
            }).collect_view()}
            <p class="hint">{format!("五年周期自{}年起计算。", rules.window_start)}</p>
            <button type="button" class="primary" on:click=save>"保存"</button>
            <Status of=loader/>
        </section>
    }
}
