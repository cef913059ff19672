//! 登录: phone number and password. Logging in as someone else never touches the previous person's records.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::components::OfflineNote;
use super::http::{self, ApiError};
use super::router;
use super::sync::Ctx;
use crate::model::is_valid_phone;

#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let location = router::use_location();
    let (phone, set_phone) = signal(String::new());
    let (password, set_password) = signal(String::new());
    // Asked for once the server says the account has two-step login.
    let (otp, set_otp) = signal(None::<String>);
    let (error, set_error) = signal(None::<String>);
    let (busy, set_busy) = signal(false);
    let previous = ctx
        .session
        .get_untracked()
        .filter(|s| s.expired)
        .map(|s| s.user);
    if let Some(user) = &previous {
        set_phone.set(user.phone.clone());
    }

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let phone = phone.get_untracked().trim().to_owned();
        let password = password.get_untracked();
        if !is_valid_phone(&phone) {
            set_error.set(Some("请输入11位手机号".to_owned()));
            return;
        }
        if password.is_empty() {
            set_error.set(Some("请输入密码".to_owned()));
            return;
        }
        set_busy.set(true);
        set_error.set(None);
        let code = otp.get_untracked().unwrap_or_default();
        spawn_local(async move {
            match http::login(&phone, &password, &code).await {
                Ok(resp) => {
                    ctx.signed_in(resp);
                    // The page that was asked for opens now (a 签到 link scanned while signed out signs
                    // in); the login page itself gives way to 首页.
                    if location.path.get_untracked() == "/login" {
                        location.replace("/");
                    }
                }
                Err(ApiError::SecondFactor(m)) => {
                    if otp.try_get_untracked() == Some(None) {
                        set_otp.set(Some(String::new()));
                    }
                    set_error.set(Some(m));
                }
                Err(ApiError::Offline) => set_error.set(Some(
                    "当前无网络，登录需要联网。已保存在手机上的记录不会丢失。".to_owned(),
                )),
                Err(e) => set_error.set(Some(e.message())),
            }
            set_busy.set(false);
        });
    };

    view! {
        // The same words the shell shows while the app loads, in the same place.
        <p class="intro">"流动党员组织生活签到与学习记录。没有信号也能签到，记录先保存在手机上，有网络时自动上传。"</p>
        <section class="card login">
            <h1>"登录红雁"</h1>
            {previous.map(|u| view! {
                <p class="hint">{format!("{}同志，登录已过期，请重新登录。未上传的记录仍在手机上，登录后会自动上传。", u.name)}</p>
            })}
            <form on:submit=submit novalidate>
                <label for="login-phone">"手机号"</label>
                <input id="login-phone" type="tel" inputmode="numeric" autocomplete="username" maxlength="11"
                    prop:value=phone on:input=move |ev| set_phone.set(event_target_value(&ev))/>
                <label for="login-password">"密码"</label>
                <input id="login-password" type="password" autocomplete="current-password"
                    prop:value=password on:input=move |ev| set_password.set(event_target_value(&ev))/>
                {move || otp.get().is_some().then(|| view! {
                    <label for="login-otp">"动态验证码"</label>
                    <input id="login-otp" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7"
                        prop:value=move || otp.get().unwrap_or_default()
                        on:input=move |ev| set_otp.set(Some(event_target_value(&ev)))/>
                })}
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary" disabled=busy>
                    {move || if busy.get() { "正在登录…" } else { "登录" }}
                </button>
            </form>
            <p class="hint"><a href="/join">"有邀请码？设置密码加入"</a>"（忘记密码请找党委或区委组织部管理员重置）"</p>
            <OfflineNote/>
        </section>
    }
}
