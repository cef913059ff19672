//! `/settings`: the district admin sets what every phone and server uses — how long each 签到码 is
//! shown, the 补签 window, how far back an activity may be recorded, the quiet list, the warning about
//! unsent records. Online only: the page reads the server's settings first (not this phone's copy, which
//! may be older), and every server applies a change at once, phones with their next pull.

use leptos::prelude::*;

use crate::api::{Settings, paths};
use crate::client::http;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let held: RwSignal<Option<Settings>> = RwSignal::new(None);
    let typed: Vec<RwSignal<String>> = Settings::FIELDS
        .iter()
        .map(|_| RwSignal::new(String::new()))
        .collect();
    let loader = Loader::new("当前无网络，设置需要联网后查看和保存");
    {
        let typed = typed.clone();
        loader.get(paths::SETTINGS.to_owned(), move |s: Settings| {
            for (field, value) in Settings::FIELDS.iter().zip(&typed) {
                value.set(field.show(&s));
            }
            held.set(Some(s));
        });
    }
    let save = {
        let typed = typed.clone();
        move |_| {
            let Some(mut next) = held.get_untracked() else {
                return;
            };
            for (field, value) in Settings::FIELDS.iter().zip(&typed) {
                match field.parse(&value.get_untracked()) {
                    Ok(ms) => (field.set)(&mut next, ms),
                    Err(e) => return loader.say(&e),
                }
            }
            let put = move |token: String| async move {
                http::put::<_, Settings>(&token, paths::SETTINGS, &next).await
            };
            loader.run("正在保存…", put, move |saved| {
                held.set(Some(saved));
                ctx.cache.update(|c| c.settings = saved);
                ctx.save_cache();
                Some("已保存：服务器立即按新设置执行，成员的手机下次同步后生效".to_owned())
            });
        }
    };
    view! {
        <section class="card">
            <h1>"签到与同步设置"</h1>
            <p class="hint">"全区统一，所有服务器立即执行；成员的手机下次同步后生效。"</p>
            {Settings::FIELDS.iter().zip(typed).enumerate().map(|(i, (field, value))| {
                let id = format!("setting-{i}");
                view! {
                    <label for=id.clone()>{format!("{}（{}，{}–{}）", field.label, field.unit, field.min, field.max)}</label>
                    <input id=id type="text" inputmode="numeric" prop:value=value
                        prop:disabled=move || held.with(Option::is_none)
                        on:input=move |ev| value.set(event_target_value(&ev))/>
                }
            }).collect_view()}
            <button type="button" class="primary" on:click=save
                prop:disabled=move || held.with(Option::is_none)>"保存"</button>
            <Status of=loader/>
        </section>
    }
}
