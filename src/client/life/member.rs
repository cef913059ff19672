//! A member's side of one activity: their status with its receipt, the lead's decisions, and what they
//! can do now — sign in, ask for leave before the start, ask for a make-up within the window after the end,
//! or record 补学. Every request is saved on the phone first.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use leptos::task::spawn_local;

use crate::api::{ActivityView, Change, Request, SignIn};
use crate::client::components::Select;
use crate::client::geo::one_fix;
use crate::client::store;
use crate::client::sync::Ctx;
use crate::life::{ActivityState, Fence, LeaveCategory, RequestKind};
use crate::model::{AttendanceStatus, LocalTime, in_sign_in_window, is_valid_code, normalize_code};
use crate::outbox::{RowMark, SignInView, my_row, my_status_label, sign_in_view};

#[component]
pub fn MemberView(activity: ActivityView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let id = activity.id.clone();
    let user_id = move || ctx.user_id().unwrap_or_default();
    let sign_in_state = {
        let id = id.clone();
        move || {
            ctx.cache
                .with(|c| ctx.entries.with(|e| sign_in_view(&id, user_id(), c, e)))
        }
    };
    let mine = {
        let id = id.clone();
        move || {
            ctx.cache
                .with(|c| ctx.entries.with(|e| my_row(&id, user_id(), c, e)))
        }
    };
    let detail = {
        let sign_in_state = sign_in_state.clone();
        move || match sign_in_state() {
            SignInView::Waiting => Some("当前记录已保存到本机，联网后将自动上传".to_owned()),
            SignInView::Delivered { receipt: Some(r) } => Some(format!(
                "服务器已收到（回执 {}，{}），待书记确认",
                r.server_seq,
                LocalTime::from_millis(r.received_at).table()
            )),
            SignInView::Delivered { receipt: None } => Some("服务器已收到，待书记确认".to_owned()),
            SignInView::Confirmed => Some("书记已确认您的签到".to_owned()),
            _ => None,
        }
    };
    // What the member may do is judged by the phone's clock corrected by its last known offset, as the
    // server will judge it.
    let (starts, ends) = (activity.starts_at, activity.ends_at);
    let open = activity.state == ActivityState::Open;
    let window = ctx.cache.with_untracked(|c| c.settings.makeup_window_ms);
    let status = {
        let mine = mine.clone();
        move || mine().row.status
    };
    // The server kept a sign-in its code did not prove: the member may type the code again (unless they
    // used up their attempts, or their phone's clock was set back).
    let flagged = {
        let mine = mine.clone();
        move || mine().row.may_retry_code()
    };
    let can_sign_in = {
        let (s, flagged) = (sign_in_state.clone(), flagged.clone());
        move || {
            open && (s().can_sign_in() || flagged())
                && in_sign_in_window(ctx.server_now(), starts, ends)
        }
    };
    use AttendanceStatus::*;
    let can = {
        let status = status.clone();
        move |kind: RequestKind| {
            let now = ctx.server_now();
            open && match kind {
                RequestKind::Leave => now < starts && matches!(status(), Pending | LeavePending),
                RequestKind::Makeup => {
                    now >= ends && now <= ends + window && matches!(status(), Pending | Absent)
                }
                RequestKind::Study => {
                    now >= ends && matches!(status(), Pending | Absent | Leave | MakeupRejected)
                }
            }
        }
    };
    let request_line = {
        let mine = mine.clone();
        move || {
            let mine = mine();
            let row = mine.row;
            let mut lines = Vec::new();
            if let Some(reason) = row.reason.filter(|_| {
                matches!(
                    row.status,
                    Leave
                        | LeavePending
                        | MakeupPending
                        | MadeUp
                        | MakeupRejected
                        | Absent
                        | Exempt
                )
            }) {
                lines.push(format!(
                    "{}{reason}",
                    row.category
                        .map(|c| format!("{}：", c.label()))
                        .unwrap_or_default()
                ));
            }
            if let Some(note) = row.lead_note {
                lines.push(format!("书记意见：{note}"));
            }
            if let Some(study) = row.study {
                lines.push(format!("已登记补学：{study}"));
            }
            match mine.mark {
                RowMark::Waiting => lines.push("申请已保存到本机，联网后将自动上传".to_owned()),
                RowMark::Refused(reason) => lines.push(format!("申请未通过：{reason}")),
                RowMark::None => {}
            }
            lines
        }
    };
    // A delivered sign-in no code proved is not shown as plain 已送达: it waits for the lead. Said as
    // 签到码不符 only when a code was typed wrong (a location sign-in, say, has no code to be wrong).
    let unproven = {
        let (mine, state) = (mine.clone(), sign_in_state.clone());
        move || {
            let row = mine().row;
            let delivered = matches!(state(), SignInView::Delivered { .. });
            (delivered && row.status == SignedIn && row.code_unverified).then(|| {
                if row.code_was_wrong() {
                    "（签到码不符，待书记核实）"
                } else {
                    "（待书记核实）"
                }
            })
        }
    };
    let shown_status = {
        let id = activity.id.clone();
        move || {
            let label = ctx
                .cache
                .with(|c| ctx.entries.with(|e| my_status_label(&id, user_id(), c, e)));
            match unproven() {
                Some(why) => format!("{label}{why}"),
                None => label,
            }
        }
    };
    let (sign_id, leave_id, makeup_id, study_id) = (id.clone(), id.clone(), id.clone(), id);
    let fence = activity.fence;
    view! {
        {activity.cancel_reason.clone().filter(|_| activity.state == ActivityState::Cancelled).map(|r| view! {
            <p class="banner warn" role="status">{format!("活动已取消：{r}")}</p>
        })}
        {(activity.state == ActivityState::Closed).then(|| view! {
            <p class="hint">"会议记录已归档。"</p>
        })}
        <section class="card">
            <p class="my-status">"我的状态："<strong data-testid="my-status">{shown_status}</strong></p>
            {move || detail().map(|d| view! { <p class="hint">{d}</p> })}
            <Show when=flagged.clone()>
                <p class="hint warn" data-testid="code-flag">{
                    let mine = mine.clone();
                    move || if mine().row.code_was_wrong() {
                        "签到码与签到时间不符，书记将核实。您可以重新输入书记出示的签到码。"
                    } else {
                        "签到尚未经签到码核实，书记将核实。您也可以输入书记出示的签到码。"
                    }
                }</p>
            </Show>
            {move || request_line().into_iter().map(|l| view! { <p class="hint" data-testid="my-request">{l}</p> }).collect_view()}
            <Show when={let c = can_sign_in.clone(); move || !c() && open && sign_in_state().can_sign_in() && ctx.server_now() < ends}>
                <p class="hint">"签到时间：活动开始前1小时至结束后30分钟"</p>
            </Show>
            <Show when=can_sign_in.clone()>
                <SignInForm activity_id=sign_id.clone()/>
                {fence.map(|f| view! { <LocationSignIn activity_id=sign_id.clone() fence=f/> })}
            </Show>
        </section>
        <Show when={let can = can.clone(); move || can(RequestKind::Leave)}>
            <RequestForm activity_id=leave_id.clone() kind=RequestKind::Leave/>
        </Show>
        <Show when={let can = can.clone(); move || can(RequestKind::Makeup)}>
            <RequestForm activity_id=makeup_id.clone() kind=RequestKind::Makeup/>
        </Show>
        <Show when={let can = can.clone(); move || can(RequestKind::Study)}>
            <RequestForm activity_id=study_id.clone() kind=RequestKind::Study/>
        </Show>
    }
}

#[component]
fn SignInForm(activity_id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (code, set_code) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let typed = normalize_code(&code.get_untracked());
        if !is_valid_code(&typed) {
            set_error.set(Some("请输入书记出示的6位数字签到码".to_owned()));
            return;
        }
        let change = Change::SignIn(SignIn {
            activity_id: activity_id.clone(),
            code: typed,
            ..Default::default()
        });
        match ctx.record(change) {
            Ok(()) => {
                set_code.set(String::new());
                set_error.set(None);
            }
            Err(e) => set_error.set(Some(e)),
        }
    };
    view! {
        <form on:submit=submit class="sign-in">
            <label for="sign-in-code">"签到码"</label>
            <input id="sign-in-code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="12"
                prop:value=code on:input=move |ev| set_code.set(event_target_value(&ev))/>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="primary">"签到"</button>
            <p class="hint">"也可以用手机相机或微信扫一扫书记出示的二维码。"</p>
        </form>
    }
}

/// 位置签到: one fix, compared with the fence on the phone; only the outcome is sent. Offered only with the
/// member's separate consent (我的 → 位置签到).
#[component]
fn LocationSignIn(activity_id: String, fence: Fence) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let consent = ctx.user_id().is_some_and(store::location_consent);
    let (message, set_message) = signal(None::<String>);
    let sign = move |_| {
        let activity_id = activity_id.clone();
        set_message.set(Some("正在获取位置…".to_owned()));
        spawn_local(async move {
            let outcome = match one_fix().await {
                Ok((lat, lng, accuracy)) => {
                    let check = fence.check(lat, lng, accuracy);
                    let change = Change::SignIn(SignIn {
                        activity_id,
                        code: String::new(),
                        location: Some(check),
                    });
                    ctx.record(change).map(|()| check.label())
                }
                Err(e) => Err(e),
            };
            set_message.set(Some(outcome.unwrap_or_else(|e| e)));
        });
    };
    view! {
        {if consent {
            view! { <button type="button" class="secondary" on:click=sign>"位置签到"</button> }.into_any()
        } else {
            view! { <p class="hint">"本活动可用位置签到，需要您在「我的」中单独同意后使用。"</p> }.into_any()
        }}
        {move || message.get().map(|m| view! { <p class="hint" role="status">{m}</p> })}
    }
}

/// 请假 (with a category), 补签 or 补学, each with its reason.
#[component]
fn RequestForm(activity_id: String, kind: RequestKind) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let category = RwSignal::new(LeaveCategory::Work);
    let (reason, set_reason) = signal(String::new());
    let (error, set_error) = signal(None::<String>);
    let (title, prompt, button) = match kind {
        RequestKind::Leave => ("请假", "请假事由", "提交请假"),
        RequestKind::Makeup => (
            "申请补签",
            "补签原因（如：工地无信号，未能及时签到）",
            "提交补签申请",
        ),
        RequestKind::Study => (
            "登记补学",
            "补学内容（如：自学会议材料并写体会）",
            "登记补学",
        ),
    };
    let field = format!("request-{}", kind.label());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = reason.get_untracked().trim().to_owned();
        if text.is_empty() {
            set_error.set(Some(format!("请填写{prompt}")));
            return;
        }
        let change = Change::Request(Request {
            activity_id: activity_id.clone(),
            kind,
            category: (kind == RequestKind::Leave).then(|| category.get_untracked()),
            reason: text,
        });
        match ctx.record(change) {
            Ok(()) => {
                set_reason.set(String::new());
                set_error.set(None);
            }
            Err(e) => set_error.set(Some(e)),
        }
    };
    view! {
        <section class="card">
            <h2>{title}</h2>
            <form on:submit=submit>
                {(kind == RequestKind::Leave).then(|| view! {
                    <label for="leave-category">"类别"</label>
                    <Select id="leave-category" value=category/>
                })}
                <label for=field.clone()>{prompt}</label>
                <input id=field type="text" maxlength="200" prop:value=reason
                    on:input=move |ev| set_reason.set(event_target_value(&ev))/>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <button type="submit" class="primary">{button}</button>
            </form>
        </section>
    }
}
