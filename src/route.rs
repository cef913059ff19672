//! The app's addresses, read without a browser: which page pattern a path is, the query's values, and
//! which tab of the bottom navigation is the current one.
//!
//! The client's router (`client::router`) is these plain functions around one signal. They were
//! leptos_router's; the phone's first load carried its nested route matching, a copy of it per route, and
//! its `url` types — about a sixth of the main module — for a table of 29 flat paths.

/// Whether `path` is the page `pattern` (`/activity/:id/code`), and if so the value of its `:id` segment
/// (empty when the pattern has none). Segments match whole; one trailing slash is ignored.
pub fn match_path(pattern: &str, path: &str) -> Option<String> {
    let mut id = String::new();
    let mut path = segments(path);
    for want in segments(pattern) {
        let got = path.next()?;
        if want.starts_with(':') {
            if got.is_empty() {
                return None;
            }
            id = decode(got, false);
        } else if want != got {
            return None;
        }
    }
    path.next().is_none().then_some(id)
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    path.split('/').filter(move |_| !path.is_empty())
}

/// The value of `name` in a query string (`?code=ab12&c=1`, with or without its `?`), decoded.
pub fn query_value(search: &str, name: &str) -> Option<String> {
    search
        .strip_prefix('?')
        .unwrap_or(search)
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(key, _)| decode(key, true) == name)
        .map(|(_, value)| decode(value, true))
}

/// Percent-decoding; a malformed escape is kept as written. `+` is a space in a query (as forms encode
/// it), itself in a path.
fn decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' if plus_is_space => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a tab linking to `href` is the current one at `path`: the home tab only at `/`, any other tab
/// on its own pages too (学习记录 on `/study/new`).
pub fn is_current(href: &str, path: &str) -> bool {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    path == href
        || (href != "/"
            && path
                .strip_prefix(href)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// Whether a link's `href` is one of the app's own pages, so following it changes the page in place
/// instead of loading the app again: a path on this origin (`/me`), not another site, a `blob:` download
/// or a file the server sends (`/api/…`, `/sw.js`, `/icons/…`). Browsers read a backslash as a slash and
/// drop tabs and line breaks, so `/\evil.example` would be another site: any of those is left to the
/// browser.
pub fn is_app_link(href: &str) -> bool {
    let path = href.split(['?', '#']).next().unwrap_or("");
    href.starts_with('/')
        && !href.starts_with("//")
        && !href.contains(|c: char| c == '\\' || c.is_ascii_control())
        && path != "/api"
        && !path.starts_with("/api/")
        && !path.rsplit('/').next().unwrap_or("").contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_matches_its_pattern_whole_and_names_its_id() {
        assert_eq!(match_path("/", "/"), Some(String::new()));
        assert_eq!(match_path("/", ""), Some(String::new()));
        assert_eq!(match_path("/me", "/me"), Some(String::new()));
        assert_eq!(match_path("/me", "/me/"), Some(String::new()));
        assert_eq!(match_path("/me", "/me/sync"), None);
        assert_eq!(match_path("/me/sync", "/me"), None);
        assert_eq!(match_path("/", "/me"), None);
        assert_eq!(
            match_path("/activity/:id", "/activity/0190-ab"),
            Some("0190-ab".into())
        );
        assert_eq!(match_path("/activity/:id", "/activity/0190-ab/code"), None);
        assert_eq!(
            match_path("/activity/:id/code", "/activity/0190-ab/code"),
            Some("0190-ab".into())
        );
        assert_eq!(match_path("/activity/:id", "/activity/"), None);
        assert_eq!(match_path("/activity/:id", "/activity//"), None);
        assert_eq!(match_path("/study/new", "/study/new"), Some(String::new()));
        assert_eq!(
            match_path("/members/:id", "/members/%E5%BC%A0"),
            Some("张".into())
        );
        assert_eq!(
            match_path("/members/:id", "/members/+5"),
            Some("+5".into()),
            "a path's + is itself"
        );
    }

    #[test]
    fn a_query_value_is_found_by_name_and_decoded() {
        assert_eq!(
            query_value("?code=ab12&c=123456", "c"),
            Some("123456".into())
        );
        assert_eq!(query_value("code=ab12", "code"), Some("ab12".into()));
        assert_eq!(query_value("?c", "c"), Some(String::new()));
        assert_eq!(query_value("?cc=1", "c"), None);
        assert_eq!(query_value("", "c"), None);
        assert_eq!(
            query_value("?q=%E7%BA%A2+%E9%9B%81", "q"),
            Some("红 雁".into())
        );
        assert_eq!(query_value("?q=100%", "q"), Some("100%".into()));
        assert_eq!(query_value("?q=%zz%4", "q"), Some("%zz%4".into()));
        assert_eq!(query_value("?q=%FF", "q"), Some("\u{FFFD}".into()));
    }

    #[test]
    fn the_home_tab_is_current_only_at_home_and_the_others_on_their_own_pages() {
        assert!(is_current("/", "/"));
        assert!(!is_current("/", "/study"));
        assert!(is_current("/study", "/study"));
        assert!(is_current("/study", "/study/new"));
        assert!(is_current("/study", "/study/"));
        assert!(!is_current("/study", "/studyx"));
        assert!(is_current("/me", "/me/sync"));
        assert!(!is_current("/me", "/members"));
    }

    #[test]
    fn only_the_apps_own_pages_are_followed_in_place() {
        assert!(is_app_link("/me"));
        assert!(is_app_link("/activity/1?c=2"));
        assert!(!is_app_link("//evil.example/me"));
        assert!(!is_app_link("https://example.com/"));
        assert!(!is_app_link("blob:https://hongyan/1"));
        assert!(!is_app_link("/api/v1/activities/1/record.xlsx"));
        assert!(!is_app_link("/api"));
        assert!(!is_app_link("/sw.js"));
        assert!(!is_app_link("/icons/icon-192.png"));
        assert!(!is_app_link("/\\evil.example/"));
        assert!(!is_app_link("/\t/evil.example/"));
        assert!(!is_app_link("/\n/evil.example/"));
        assert!(
            is_app_link("/join?code=a.b"),
            "a dot in the query is no file"
        );
        assert!(!is_app_link(""));
    }
}
