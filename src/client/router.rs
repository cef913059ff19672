//! Moving between pages without loading the app again: the address as a signal, changed by the app's own
//! links (one listener on the document), by [`Location::go`] and [`Location::replace`], and by the
//! browser's back and forward.
//!
//! Which page a path is comes from `crate::route` (plain functions with native tests); the table of pages
//! is `client::PAGES`. A page reads its address's `:id` with [`id`] and its query with [`query`].

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{Element, MouseEvent};

use crate::route;

/// Where the app is: the path (`/activity/0190…`) and the query string (`?c=123456`).
#[derive(Clone, Copy)]
pub struct Location {
    pub path: RwSignal<String>,
    pub search: RwSignal<String>,
}

/// The `:id` of the page being shown (empty when its address has none).
#[derive(Clone, Copy)]
pub struct PageId(pub Memo<String>);

impl Location {
    /// Reads the browser's address, follows back/forward and clicks on the app's own links from now on,
    /// and puts itself in context.
    pub fn start() -> Self {
        let here = Self {
            path: RwSignal::new(String::new()),
            search: RwSignal::new(String::new()),
        };
        here.read_address();
        let on_pop = Closure::<dyn Fn()>::new(move || here.read_address());
        let on_click = Closure::<dyn Fn(MouseEvent)>::new(move |e: MouseEvent| here.follow(e));
        let _ =
            window().add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
        let _ =
            document().add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref());
        // Both live as long as the page.
        on_pop.forget();
        on_click.forget();
        provide_context(here);
        here
    }

    fn read_address(self) {
        let address = window().location();
        let path = address.pathname().unwrap_or_default();
        let search = address.search().unwrap_or_default();
        // Set only what changed: a page rebuilds when its path does, not when the query does.
        if self.path.with_untracked(|p| *p != path) {
            self.path.set(path);
        }
        if self.search.with_untracked(|s| *s != search) {
            self.search.set(search);
        }
    }

    /// A tap on a link to one of the app's pages shows it in place. Left to the browser: a link another
    /// handler took, one opened in a new tab or window (modifier keys, `target`), a download, another site.
    /// (A handler on the link itself may run after this one: an element that must not navigate is a
    /// button, not a link.)
    fn follow(self, e: MouseEvent) {
        if e.default_prevented()
            || e.button() != 0
            || e.meta_key()
            || e.ctrl_key()
            || e.shift_key()
            || e.alt_key()
        {
            return;
        }
        let Some(link) = e
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|t| t.closest("a[href]").ok().flatten())
        else {
            return;
        };
        if link.has_attribute("download")
            || link.get_attribute("target").is_some_and(|t| t != "_self")
        {
            return;
        }
        let href = link.get_attribute("href").unwrap_or_default();
        if route::is_app_link(&href) {
            e.prevent_default();
            self.move_to(&href, false);
        }
    }

    /// Shows the page at `href` (`/activity/0190…`), as a tap on a link to it would.
    pub fn go(self, href: &str) {
        self.move_to(href, false);
    }

    /// Shows the page at `href` in place of this one in the history, so going back skips this one (a
    /// sign-in link must not sign in again).
    pub fn replace(self, href: &str) {
        self.move_to(href, true);
    }

    fn move_to(self, href: &str, replace: bool) {
        let Ok(history) = window().history() else {
            let _ = window().location().set_href(href);
            return;
        };
        let here = self.path.get_untracked() + &self.search.get_untracked();
        // The same address again (a tap on the current tab) adds no step to go back through.
        let moved = if replace || href == here {
            history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href))
        } else {
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href))
        };
        if moved.is_err() {
            let _ = window().location().set_href(href);
            return;
        }
        self.read_address();
        if !replace {
            window().scroll_to_with_x_and_y(0.0, 0.0);
        }
    }
}

/// The app's address, to read or to move (taken when a component is made, for its handlers to use).
pub fn use_location() -> Location {
    expect_context::<Location>()
}

/// The `:id` of the page's address, tracked: a page that reads it in a memo follows a change of id.
pub fn id() -> Memo<String> {
    expect_context::<PageId>().0
}

/// The value of `name` in the address's query (`c` of `?c=123456`), as the page opened.
pub fn query(name: &str) -> Option<String> {
    use_location()
        .search
        .with_untracked(|search| route::query_value(search, name))
}

/// A link of the bottom navigation, marked as the current page (`aria-current`) on its own pages.
#[component]
pub fn Tab(href: &'static str, children: Children) -> impl IntoView {
    let location = use_location();
    let current = move || {
        location
            .path
            .with(|path| route::is_current(href, path))
            .then_some("page")
    };
    view! { <a href=href aria-current=current>{children()}</a> }
}
