//! Stage: platform (planning side). What a backend says it will send for a phase, in order, and
//! what it waits for: the data of the readable plan (`ferry check`, `--dry-run`). Built from
//! the description only; it must not send a request, print, or import `report`.

use serde::Serialize;

use super::backend::Vars;
use super::http::template::{Target, render};

/// One request a phase will send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedRequest {
    /// Where in the phase it comes: `before`, `trigger`, `observe`, `find`, `resolve`,
    /// `status`, `logs`, `cancel`, `fetch`.
    pub step: String,
    /// The HTTP method.
    pub method: String,
    /// The URL, with what is known now filled in and what is known only at run time left as
    /// its template (`…/builds/{{ id }}`). Never a credential (the plan's redactor applies).
    pub url: String,
}

/// What a phase will send and what it waits for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Described {
    /// The requests, in the order they are sent.
    pub requests: Vec<PlannedRequest>,
    /// What ends the wait: the success / failure / running sets, or the platform's rule.
    pub waits_for: String,
}

impl Described {
    /// Adds a request.
    pub(crate) fn push(&mut self, step: &str, method: &str, url: String) {
        self.requests.push(PlannedRequest {
            step: step.to_string(),
            method: method.to_ascii_uppercase(),
            url,
        });
    }
}

/// `template` with every `{{ … }}` whose value is known filled in (as in a URL) and every other
/// left as written.
pub(crate) fn partial(template: &str, vars: &Vars) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find("}}") else {
            out.push_str(after);
            return out;
        };
        let hole = &after[..end + 2];
        match render(hole, vars, Target::Url) {
            Ok(value) => out.push_str(&value),
            Err(_) => out.push_str(hole),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `path` (a template) joined to `base` as the client would join it, partially rendered.
pub(crate) fn url(base: &url::Url, path: &str, vars: &Vars) -> String {
    let shown = partial(path, vars);
    // A whole URL, or one known only at run time (`{{ put_url | raw }}`): shown as it is.
    if shown.starts_with("http://")
        || shown.starts_with("https://")
        || (shown.starts_with("{{") && shown.contains("}}"))
    {
        return shown;
    }
    let base = base.as_str().trim_end_matches('/');
    if shown.starts_with('/') {
        format!("{base}{shown}")
    } else {
        format!("{base}/{shown}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_known_is_filled_in_and_the_rest_stays_a_template() {
        let vars = Vars::from([("vars.app".to_string(), "shop/x".to_string())]);
        assert_eq!(
            partial("/apps/{{ vars.app }}/builds/{{ id }}", &vars),
            "/apps/shop%2Fx/builds/{{ id }}"
        );
        let base = url::Url::parse("https://p.example.com/api/").unwrap();
        assert_eq!(
            url(&base, "/v1/{{ id }}", &vars),
            "https://p.example.com/api/v1/{{ id }}"
        );
        assert_eq!(
            url(&base, "{{ put_url | raw }}", &vars),
            "{{ put_url | raw }}"
        );
        assert_eq!(
            url(&base, "{{ nope", &vars),
            "https://p.example.com/api/{{ nope"
        );
    }
}
