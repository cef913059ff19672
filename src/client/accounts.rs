//! Accounts, online only (each page its own chunk): 导入名册 for district admins (check first, then write),
//! 成员与邀请 for leads and admins (who has joined; a one-time code to join or to set a new password), and
//! 加入红雁, where a member with a code sets their password.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use wasm_bindgen_futures::JsFuture;

use super::components::say;
use super::http;
use super::load::{Loader, Status};
use super::rights::PrivacyNotice;
use super::sync::Ctx;
use crate::api::{
    ImportReport, ImportRow, Invitation, JoinCheck, JoinPreview, JoinRequest, LIST_PAGE,
    LoginResponse, MemberPage, MemberRow, NewInvitation, RowOutcome, paths,
};
use crate::model::{LocalTime, Role};

const OFFLINE: &str = "当前无网络，此操作需要联网，请稍后再试";

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

/// `/members`: who the lead (their branch) or admin looks after, who has joined, and invitations. A page
/// at a time (a district is 100,000 people); the search asks the server, so it reaches everyone.
#[component]
pub fn MembersPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let members = RwSignal::new(None::<Vec<MemberRow>>);
    let next = RwSignal::new(None::<i64>);
    let loader = Loader::new(OFFLINE);
    let (filter, set_filter) = signal(String::new());
    // Fetches a page (`from`) or a search (`q`); only the latest question's answer arrives (see `Loader`).
    let load = move |from: Option<i64>, q: String| {
        let encoded = String::from(js_sys::encode_uri_component(&q));
        loader.get(paths::members(from, &encoded), move |page: MemberPage| {
            members.update(|m| match (m, from) {
                (Some(list), Some(_)) => list.extend(page.rows),
                (m, _) => *m = Some(page.rows),
            });
            next.set(page.next);
        });
    };
    load(None, String::new());
    let search = move |ev| {
        let text = event_target_value(&ev);
        set_filter.set(text.clone());
        members.set(None);
        next.set(None);
        load(None, text.trim().to_owned());
    };
    let more = move |_| load(next.get_untracked(), String::new());
    let admin = ctx.role().is_some_and(Role::administers);
    view! {
        <section class="card">
            <h1>"成员与邀请"</h1>
            <p class="hint">{if admin {
                "导入的成员需要一次性邀请码才能设置密码并登录；忘记密码的成员可以用新的重置码重新设置。邀请码7天内有效，只能使用一次，请当面或电话告诉本人，不要发到群里。"
            } else {
                "导入的成员需要一次性邀请码才能设置密码并登录。邀请码7天内有效，只能使用一次，请当面或电话告诉本人，不要发到群里。已加入的成员忘记密码，请联系党委或区委组织部管理员重置。"
            }}</p>
            {admin.then(|| view! { <a href="/roster" class="row-link"><span>"导入名册"</span><span class="muted">" ›"</span></a> })}
            <label for="member-filter">"按姓名或手机号查找"</label>
            <input id="member-filter" type="search" prop:value=filter on:input=search/>
            <Status of=loader/>
            <ul class="members">
                {move || members.get().into_iter().flatten().map(|m| view! { <MemberItem member=m admin/> }).collect_view()}
            </ul>
            {move || (members.with(|m| m.as_ref().is_some_and(Vec::is_empty)) && !loader.busy()).then(|| {
                let within = match ctx.role() {
                    Some(Role::Admin) => "全区",
                    Some(Role::Committee) => "本党委范围内",
                    _ => "本支部",
                };
                let q = filter.get();
                let text = if q.trim().is_empty() {
                    format!("{within}还没有成员。")
                } else {
                    format!("{within}没有找到“{}”。请检查姓名或手机号。", q.trim())
                };
                view! { <p class="hint" role="status" data-testid="members-none">{text}</p> }
            })}
            {move || next.get().is_some().then(|| view! {
                <button type="button" class="secondary" disabled=move || loader.busy() on:click=more>"显示更多成员"</button>
            })}
            {move || (!filter.get().trim().is_empty() && members.with(|m| m.as_ref().is_some_and(|m| m.len() >= LIST_PAGE)))
                .then(|| view! { <p class="hint">{format!("只显示前{LIST_PAGE}个结果，请输入更完整的姓名或手机号。")}</p> })}
        </section>
    }
}

#[component]
fn MemberItem(member: MemberRow, admin: bool) -> impl IntoView {
    let mut about = vec![member.role.label().to_owned()];
    about.extend(
        [member.post, member.tags]
            .into_iter()
            .filter(|s| !s.is_empty()),
    );
    if admin {
        about.insert(0, member.org_name);
    }
    let (id, joined, disabled) = (member.id, member.joined, member.disabled);
    // A new password for someone who has had one, or anything about a fellow lead, is for the admins
    // above the branch (a lead who could reset a member's password could log in as them).
    let reset = joined || member.joined_before;
    let may_invite = !disabled && (admin || (!reset && member.role != Role::Lead));
    let (state, class) = match (disabled, joined, reset) {
        (true, _, _) => ("已停用", "tag warn"),
        (false, true, _) => ("已加入", "tag"),
        (false, false, true) => ("待重置密码", "tag warn"),
        (false, false, false) => ("未加入", "tag warn"),
    };
    view! {
        <li class="member" data-testid="member">
            <p>
                <strong>{member.name}</strong>" "{member.phone}" "
                <span class=class>{state}</span>
            </p>
            <p class="muted">{about.join(" · ")}</p>
            {(!member.role.administers()).then(|| view! {
                <a href=format!("/members/{id}") class="row-link"><span>"成员资料"</span><span class="muted">"职务、标签、外出登记、免参加 ›"</span></a>
                {may_invite.then(|| view! { <InviteButton user_id=id joined=reset/> })}
            })}
        </li>
    }
}

/// Issues a one-time code (or, for someone who has joined, a password reset) and shows it to read out.
#[component]
pub fn InviteButton(user_id: i64, joined: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let invitation = RwSignal::new(None::<Invitation>);
    let (error, set_error) = signal(None::<String>);
    let issue = move |_| {
        let Some(token) = ctx.token() else { return };
        spawn_local(async move {
            let body = NewInvitation { user_id };
            match http::post_json::<_, Invitation>(Some(&token), paths::INVITATIONS, &body).await {
                Ok(i) => invitation.set(Some(i)),
                Err(e) => set_error.set(Some(say(e, OFFLINE))),
            }
        });
    };
    let origin = window().location().origin().unwrap_or_default();
    view! {
        {move || match invitation.get() {
            None => view! {
                <button type="button" class="secondary" on:click=issue>{if joined { "重置密码" } else { "发邀请" }}</button>
            }.into_any(),
            Some(i) => view! {
                <div class="invitation" data-testid="invitation">
                    <p>{format!("{}的{}：", i.name, if i.reset { "重置码" } else { "邀请码" })}</p>
                    <p class="code" data-testid="invitation-code">{i.code.clone()}</p>
                    <p class="hint">"或打开链接："<span data-testid="invitation-link">{format!("{origin}{}", i.link)}</span></p>
                    <p class="hint">{format!("{} 前有效，只能使用一次。", LocalTime::from_millis(i.expires_at).table())}</p>
                </div>
            }.into_any(),
        }}
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}

/// `/join?code=…`: a member with an invitation sets their password (and agrees to the privacy notice),
/// and is signed in.
#[component]
pub fn JoinPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let navigate = use_navigate();
    let query = use_query_map();
    let (code, set_code) = signal(query.read_untracked().get("code").unwrap_or_default());
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
            device_id: super::store::device_id(),
        };
        set_busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match http::post_json::<_, LoginResponse>(None, paths::JOIN, &body).await {
                Ok(resp) => {
                    ctx.signed_in(resp);
                    navigate("/", Default::default());
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
                <form on:submit=submit.clone() novalidate>
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
                            let _ = super::store::save_session(s);
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
                <super::code::Qr text=s.uri.clone() label="两步验证二维码"/>
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
