//! `/me/password` and `/me/two-factor`: changing one's password, and an authenticator app's codes for
//! admins. Online only; each its own chunk.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::paths;
use crate::client::components::say;
use crate::client::http;
use crate::client::load::OFFLINE;
use crate::client::sync::Ctx;

/// `/me/password`: change one's own password (online), knowing the current one. Every other phone that
/// is logged in to the account is logged out.
#[component]
pub fn PasswordPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let (message, set_message) = signal(None::<(bool, String)>);
    let (busy, set_busy) = signal(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let phone = ctx
            .session
            .with_untracked(|s| s.as_ref().map(|s| s.user.phone.clone()))
            .unwrap_or_default();
        let (pw, body) = (new.get_untracked(), current.get_untracked());
        let problem = crate::model::password_problem(&pw, &phone)
            .or_else(|| (pw != again.get_untracked()).then(|| "两次输入的新密码不一致".to_owned()));
        if let Some(p) = problem {
            set_message.set(Some((false, p)));
            return;
        }
        let Some(token) = ctx.token() else { return };
        let change = crate::api::PasswordChange {
            current: body,
            new: pw,
        };
        set_busy.set(true);
        spawn_local(async move {
            let done = http::put::<_, ()>(&token, paths::PASSWORD, &change).await;
            set_busy.set(false);
            set_message.set(Some(match done {
                Ok(()) => {
                    current.set(String::new());
                    new.set(String::new());
                    again.set(String::new());
                    (true, "密码已修改，其他手机上的登录已退出。".to_owned())
                }
                Err(e) => (false, say(e, OFFLINE)),
            }));
        });
    };
    view! {
        <section class="card">
            <h1>"修改密码"</h1>
            <form on:submit=submit>
                <label>"原密码"<input type="password" autocomplete="current-password" required bind:value=current/></label>
                <label>"新密码"<input type="password" autocomplete="new-password" minlength="8" required bind:value=new/></label>
                <label>"再次输入新密码"<input type="password" autocomplete="new-password" minlength="8" required bind:value=again/></label>
                <p class="hint">"至少8位；不要用手机号、生日、连续或重复的字符，也不要用常见密码。"</p>
                <button type="submit" class="primary" disabled=busy>"修改密码"</button>
            </form>
            {move || message.get().map(|(ok, m)| if ok {
                view! { <p class="ok" role="status">{m}</p> }.into_any()
            } else {
                view! { <p class="error" role="alert">{m}</p> }.into_any()
            })}
        </section>
    }
}

/// `7LMA A6HV …`: a key in groups of four, to read and type.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `/me/two-factor`: a committee or district admin adds an authenticator app's codes to their password
/// (online). The secret is shown once, as text and as a QR code; a code from the app turns it on.
#[component]
pub fn TwoFactorPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let on = move || {
        ctx.session
            .with(|s| s.as_ref().is_some_and(|s| s.user.two_factor))
    };
    let setup = RwSignal::new(None::<crate::api::TwoFactorSetup>);
    let code = RwSignal::new(String::new());
    let (message, set_message) = signal(None::<(bool, String)>);
    let start = move |_| {
        let Some(token) = ctx.token() else { return };
        spawn_local(async move {
            match http::post_json::<_, crate::api::TwoFactorSetup>(
                Some(&token),
                paths::TWO_FACTOR,
                &(),
            )
            .await
            {
                Ok(s) => setup.set(Some(s)),
                Err(e) => set_message.set(Some((false, say(e, OFFLINE)))),
            }
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(token) = ctx.token() else { return };
        let enabled = !on();
        let change = crate::api::TwoFactorChange {
            enabled,
            code: code.get_untracked(),
        };
        spawn_local(async move {
            match http::put::<_, ()>(&token, paths::TWO_FACTOR, &change).await {
                Ok(()) => {
                    ctx.session.update(|s| {
                        if let Some(s) = s {
                            s.user.two_factor = enabled;
                            let _ = crate::client::store::save_session(s);
                        }
                    });
                    setup.set(None);
                    code.set(String::new());
                    set_message.set(Some((
                        true,
                        if enabled {
                            "两步验证已开启：以后登录时还需输入身份验证器中的动态码。"
                        } else {
                            "两步验证已关闭。"
                        }
                        .to_owned(),
                    )));
                }
                Err(e) => set_message.set(Some((false, say(e, OFFLINE)))),
            }
        });
    };
    view! {
        <section class="card">
            <h1>"两步验证"</h1>
            <p class="hint">"管理员账号能看到整个党委或全区的信息。开启后，登录时除密码外还需输入手机身份验证器（如微信小程序“腾讯身份验证器”）中的6位动态码；即使密码泄露，他人也无法登录。"</p>
            <p data-testid="two-factor-state">{move || if on() { "已开启" } else { "未开启" }}</p>
            <Show when=move || !on() && setup.with(Option::is_none)>
                <button type="button" class="primary" on:click=start>"开启两步验证"</button>
            </Show>
            {move || setup.get().map(|s| view! {
                <p>"在身份验证器中扫描二维码，或手动输入密钥："</p>
                <crate::client::life::code::Qr text=s.uri.clone() label="两步验证二维码"/>
                <p class="secret" data-testid="two-factor-secret">{grouped(&s.secret)}</p>
            })}
            <Show when=move || on() || setup.with(Option::is_some)>
                <form on:submit=submit>
                    <label>"身份验证器中的6位动态码"
                        <input type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7" bind:value=code/>
                    </label>
                    <button type="submit" class="primary">{move || if on() { "关闭两步验证" } else { "确认开启" }}</button>
                </form>
            </Show>
            {move || message.get().map(|(ok, m)| if ok {
                view! { <p class="ok" role="status">{m}</p> }.into_any()
            } else {
                view! { <p class="error" role="alert">{m}</p> }.into_any()
            })}
        </section>
    }
}
