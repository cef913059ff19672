//! `/settings`: the district admin sets what every phone and server uses — how long each 签到码 is
//! shown, the 补签 window, how far back an activity may be recorded, the quiet list, the warning about
//! unsent records. Online only: the page shows this phone's copy at once, but saves only after it has
//! read the server's settings (the copy may be older), and every server applies a change at once.

use leptos::prelude::*;

use crate::api::{Settings, paths};
use crate::client::http;
use crate::client::load::{Loader, Status};
use crate::client::sync::Ctx;

const SAVING: &str = "正在保存…";

#[component]
pub fn SettingsPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let copy = ctx.cache.with_untracked(|c| c.settings);
    // The server's settings, once read: until then nothing can be saved.
    let held: RwSignal<Option<Settings>> = RwSignal::new(None);
    let typed: Vec<RwSignal<String>> = Settings::FIELDS
        .iter()
        .map(|f| RwSignal::new(f.show(&copy)))
        .collect();
    let loader = Loader::new("当前无网络：显示的是本机保存的设置，联网后再打开此页修改");
    {
        let typed = typed.clone();
        loader.get(paths::SETTINGS.to_owned(), move |s: Settings| {
            for (field, value) in Settings::FIELDS.iter().zip(&typed) {
                value.set(field.show(&s));
            }
            held.set(Some(s));
        });
    }
    let locked = move || held.with(Option::is_none) || loader.note().as_deref() == Some(SAVING);
    let save = {
        let typed = typed.clone();
        move |_| {
            let Some(mut next) = held.get_untracked() else {
                return;
            };
            for (field, value) in Settings::FIELDS.iter().zip(&typed) {
                match field.parse(&value.get_untracked()) {
                    Ok(ms) => (field.set)(&mut next, ms),
                    Err(e) => return loader.warn(&e),
                }
            }
            let put = move |token: String| async move {
                http::put::<_, Settings>(&token, paths::SETTINGS, &next).await
            };
            loader.run(SAVING, put, move |saved| {
                held.set(Some(saved));
                ctx.cache.update(|c| c.settings = saved);
                ctx.save_cache();
                Some("已保存，全区立即按新设置执行；各人手机联网后自动更新".to_owned())
            });
        }
    };
    view! {
        <section class="card">
            <h1>"签到与提醒设置"</h1>
            <p class="hint">"全区各支部统一使用，保存后立即生效；各人手机联网后自动更新。"</p>
            {Settings::FIELDS.iter().zip(typed).enumerate().map(|(i, (field, value))| {
                let (id, note_id) = (format!("setting-{i}"), format!("setting-{i}-note"));
                let described = (!field.note.is_empty()).then(|| note_id.clone());
                view! {
                    <label for=id.clone()>{format!("{}（{}至{}{}）", field.label, field.min, field.max, field.unit)}</label>
                    <input id=id type="text" inputmode="numeric" prop:value=value
                        aria-describedby=described prop:disabled=locked
                        on:input=move |ev| value.set(event_target_value(&ev))/>
                    {(!field.note.is_empty()).then(|| view! { <p class="hint" id=note_id>{field.note}</p> })}
                }
            }).collect_view()}
            <button type="button" class="primary" on:click=save prop:disabled=locked>"保存"</button>
            <Status of=loader/>
        </section>
    }
}
