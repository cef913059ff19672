//! `/settings`: the district admin sets what every phone and server uses — how long each 签到码 is
//! shown, the 补签 window, how far back an activity may be recorded, the quiet list, the warning about
//! unsent records. Online only; every server applies them at once, phones with their next pull.

use leptos::prelude::*;

use crate::api::{Settings, paths};
use crate::client::http;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let held = ctx.cache.with_untracked(|c| c.settings);
    let typed: Vec<RwSignal<String>> = Settings::FIELDS
        .iter()
        .map(|f| RwSignal::new(f.show(&held)))
        .collect();
    let loader = Loader::new("当前无网络，设置需要联网后保存");
    let save = {
        let typed = typed.clone();
        move |_| {
            let mut next = held;
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
                    <input id=id type="text" inputmode="decimal" prop:value=value
                        on:input=move |ev| value.set(event_target_value(&ev))/>
                }
            }).collect_view()}
            <button type="button" class="primary" on:click=save>"保存"</button>
            <Status of=loader/>
        </section>
    }
}
