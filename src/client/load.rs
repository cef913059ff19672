//! One way to read what only the server has (the online-only pages: 统计, 学时完成情况, 成员, 组织管理,
//! 操作日志, …) and to say how it went.
//!
//! A [`Loader`] fetches, hands the answer to the page, and keeps the page's one status line: 正在获取…,
//! what to do with no network, the server's refusal, or nothing once the answer is in. An answer to an
//! older request (the person clicked on, typed on, tapped twice) is dropped, and so is one that arrives
//! after the page was left. [`Status`] shows the line.
//!
//! The loader is not generic over the answer and the pages keep their data in their own signals: an
//! async resource per page would cost the bundle a copy of the same machinery per answer type.

use std::future::Future;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::de::DeserializeOwned;

use super::components::save_file;
use super::http::{self, ApiError};
use super::sync::Ctx;

/// What an online action says with no network, where the page has nothing more particular to say.
pub const OFFLINE: &str = "当前无网络，此操作需要联网，请稍后再试";

#[derive(Clone, Copy)]
pub struct Loader {
    ctx: Ctx,
    note: RwSignal<Option<Note>>,
    /// The number of the latest read asked for.
    asked: StoredValue<u32>,
    /// Whether the latest read is still on its way.
    busy: RwSignal<bool>,
    /// What to say with no network: what needs it, and what to do.
    offline: &'static str,
}

/// The status line: progress and "no network" as a hint; a refusal as an alert.
#[derive(Clone)]
struct Note {
    text: String,
    alarm: bool,
}

impl Loader {
    pub fn new(offline: &'static str) -> Self {
        Loader {
            ctx: expect_context(),
            note: RwSignal::new(None),
            asked: StoredValue::new(0),
            busy: RwSignal::new(false),
            offline,
        }
    }

    /// GETs `path` and hands the answer to `ready`, saying 正在获取… meanwhile. Only the latest read's
    /// answer is handed on, and only while the page is open.
    pub fn get<T: DeserializeOwned + 'static>(self, path: String, ready: impl FnOnce(T) + 'static) {
        self.get_page(path, false, ready);
    }

    /// [`Loader::get`] of a list's page: for a next page (`more`) the list stays as it is meanwhile,
    /// with nothing said.
    pub fn get_page<T: DeserializeOwned + 'static>(
        self,
        path: String,
        more: bool,
        ready: impl FnOnce(T) + 'static,
    ) {
        let Some(token) = self.ctx.token() else {
            return;
        };
        // (None: the page is gone, as when an action's answer asks for a reload after it was left.)
        let Some(mine) = self.asked.try_update_value(|n| {
            *n += 1;
            *n
        }) else {
            return;
        };
        self.busy.set(true);
        if !more {
            self.say("正在获取…");
        }
        spawn_local(async move {
            let answer = http::get::<T>(&token, &path).await;
            // (None: the page was left while the answer was on its way.)
            if self.asked.try_get_value() == Some(mine) {
                self.busy.set(false);
                self.settle(answer.map(ready).map(|()| None));
            }
        });
    }

    /// Runs an online action (a save, an export, a fetch whose answer is kept even if the page is left)
    /// with the session's token, saying `busy` meanwhile and then what `done` makes of the answer (None:
    /// nothing), or why it did not work.
    pub fn run<T, F>(
        self,
        busy: &str,
        action: impl FnOnce(String) -> F,
        done: impl FnOnce(T) -> Option<String> + 'static,
    ) where
        F: Future<Output = Result<T, ApiError>> + 'static,
    {
        let Some(token) = self.ctx.token() else {
            return;
        };
        self.say(busy);
        let answer = action(token);
        spawn_local(async move {
            let answer = answer.await;
            self.settle(answer.map(done));
        });
    }

    /// Fetches a file the server makes (a register, a table, my data) and saves it as `name`, saying
    /// 正在导出… meanwhile, then `done` (None: nothing; the browser shows the download) or why not.
    pub fn download(self, path: String, name: String, done: Option<&'static str>) {
        let Some(token) = self.ctx.token() else {
            return;
        };
        self.say("正在导出…");
        spawn_local(async move {
            let outcome = match http::get_file(&token, &path).await {
                Ok(bytes) => match save_file(&name, mime(&name), &bytes) {
                    Ok(()) => Ok(done.map(str::to_owned)),
                    Err(_) => Ok(Some("浏览器未能保存文件，请换用手机自带浏览器".to_owned())),
                },
                Err(ApiError::Offline) => {
                    Ok(Some("当前无网络，导出需要联网，请稍后再试".to_owned()))
                }
                Err(e) => Err(e),
            };
            self.settle(outcome);
        });
    }

    /// Puts `text` on the status line.
    pub fn say(self, text: &str) {
        self.note.set(Some(Note {
            text: text.to_owned(),
            alarm: false,
        }));
    }

    /// Puts `text` on the status line as an alert: what the person must correct.
    pub fn warn(self, text: &str) {
        self.note.set(Some(Note {
            text: text.to_owned(),
            alarm: true,
        }));
    }

    /// Whether the latest read is still on its way.
    pub fn busy(self) -> bool {
        self.busy.get()
    }

    /// What the status line says now.
    pub fn note(self) -> Option<String> {
        self.note.with(|n| n.as_ref().map(|n| n.text.clone()))
    }

    fn settle(self, outcome: Result<Option<String>, ApiError>) {
        let note = match outcome {
            Ok(text) => text.map(|text| Note { text, alarm: false }),
            Err(ApiError::Offline) => Some(Note {
                text: self.offline.to_owned(),
                alarm: false,
            }),
            Err(e) => Some(Note {
                text: e.message(),
                alarm: true,
            }),
        };
        // (The page may be gone: nothing to tell then.)
        let _ = self.note.try_set(note);
    }
}

fn mime(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        _ => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
}

/// The loader's status line.
#[component]
pub fn Status(of: Loader) -> impl IntoView {
    move || {
        of.note.get().map(|n| match n.alarm {
            false => view! { <p class="hint" role="status">{n.text}</p> }.into_any(),
            true => view! { <p class="error" role="alert">{n.text}</p> }.into_any(),
        })
    }
}
