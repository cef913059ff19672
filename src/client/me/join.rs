//! `/join?code=…`: 加入红雁, where a member with an invitation code sets their password. Online only; its
//! own chunk.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::info::PrivacyNotice;
use crate::api::{JoinCheck, JoinPreview, JoinRequest, LoginResponse, paths};
use crate::client::components::say;
use crate::client::http;
use crate::client::load::OFFLINE;
use crate::client::router;
use crate::client::sync::Ctx;

/// `/join?code=…`: a member with an invitation sets their password (and agrees to the privacy notice),
/// and is signed in.
#[component]
pub fn JoinPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = router::use_location();
    let (code, set_code) = signal(router::query("code").unwrap_or_default());
    let preview = RwSignal::new(None::<JoinPreview>);
    let (password, set_password) = signal(String::new());
    let (again, set_again) = signal(String::new());
    let (agreed, set_agreed) = signal(false);
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let check = move || {
        let body = JoinCheck {
            code: code.get_untracked(),
        };
        if body.code.trim().is_empty() {
            return;
        }
        set_error.set(None);
        spawn_local(async move {
            match http::post_json::<_, JoinPreview>(None, paths::JOIN_CHECK, &body).await {
                Ok(p) => preview.set(Some(p)),
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
        });
    };
    check();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let pw = password.get_untracked();
        // The same rules the server applies (it also refuses the most common passwords).
        let problem = crate::model::password_problem(&pw, "").or_else(|| {
            if pw != again.get_untracked() {
                Some("两次输入的密码不一致".to_owned())
            } else if !agreed.get_untracked() {
                Some("请先阅读并同意《个人信息保护说明》".to_owned())
            } else {
                None
            }
        });
        if let Some(p) = problem {
            set_error.set(Some(p));
            return;
        }
        let body = JoinRequest {
            code: code.get_untracked(),
            password: pw,
            privacy_consent: true,
            device_id: crate::client::store::device_id(),
        };
        set_busy.set(true);
        spawn_local(async move {
            match http::post_json::<_, LoginResponse>(None, paths::JOIN, &body).await {
                Ok(resp) => {
                    ctx.signed_in(resp);
                    location.go("/");
                }
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
            set_busy.set(false);
        });
    };
    view! {
        <section class="card login">
            <h1>"加入红雁"</h1>
            <p class="hint">"请输入书记或组织部给您的邀请码，设置自己的密码。"</p>
            <label for="join-code">"邀请码"</label>
            <input id="join-code" type="text" autocomplete="one-time-code" autocapitalize="characters" maxlength="12"
                prop:value=code on:input=move |ev| set_code.set(event_target_value(&ev))/>
            <Show when=move || preview.with(Option::is_none)>
                <button type="button" class="secondary" on:click=move |_| check()>"查看邀请"</button>
            </Show>
            {move || preview.get().map(|p| view! {
                <p data-testid="join-preview"><strong>{format!("{}同志", p.name)}</strong>{format!("（{}），{}", p.phone, p.org_name)}</p>
            })}
            <Show when=move || preview.with(Option::is_some)>
                <form on:submit=submit novalidate>
                    <label for="join-password">"设置密码（至少8位）"</label>
                    <input id="join-password" type="password" autocomplete="new-password"
                        prop:value=password on:input=move |ev| set_password.set(event_target_value(&ev))/>
                    <label for="join-again">"再输入一次"</label>
                    <input id="join-again" type="password" autocomplete="new-password"
                        prop:value=again on:input=move |ev| set_again.set(event_target_value(&ev))/>
                    <PrivacyNotice/>
                    <label class="check">
                        <input type="checkbox" prop:checked=agreed on:change=move |ev| set_agreed.set(event_target_checked(&ev))/>
                        "我已阅读并同意《个人信息保护说明》"
                    </label>
                    <button type="submit" class="primary" disabled=busy>"设置密码并登录"</button>
                </form>
            </Show>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <p class="hint"><a href="/">"已有密码？去登录"</a></p>
        </section>
    }
}
