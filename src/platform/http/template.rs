//! `{{ name }}` templates for paths, headers and bodies.
//!
//! Deliberately tiny: a template is text with `{{ name }}` holes filled from [`Vars`]. In a URL a
//! value is percent-encoded (a branch name like `feat/x` stays one path segment) unless written
//! `{{ name | raw }}`, which inserts it verbatim (for a whole URL captured from a response).

use std::collections::BTreeMap;

use percent_encoding::utf8_percent_encode;

use crate::net::PATH_SEGMENT;

/// Template variables: context, settings, captured values and earlier phases' outputs.
pub(crate) type Vars = BTreeMap<String, String>;

/// Where a template is used, which decides how values are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A path or URL: values are percent-encoded unless `| raw`.
    Url,
    /// A header or JSON string: values go in verbatim (JSON escaping happens on serialisation).
    Text,
}

/// A template that names a variable that has no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MissingVar {
    pub name: String,
    pub known: Vec<String>,
}

/// Fills `template` from `vars`.
pub(crate) fn render(template: &str, vars: &Vars, target: Target) -> Result<String, MissingVar> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = after[..end].trim();
        let (name, raw) = match inner.split_once('|') {
            Some((n, f)) if f.trim() == "raw" => (n.trim(), true),
            _ => (inner, false),
        };
        let value = vars.get(name).ok_or_else(|| MissingVar {
            name: name.to_string(),
            known: vars.keys().cloned().collect(),
        })?;
        if target == Target::Url && !raw {
            out.extend(utf8_percent_encode(value, PATH_SEGMENT));
        } else {
            out.push_str(value);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The variable names a template uses.
pub(crate) fn names(template: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        let name = inner.split('|').next().unwrap_or(inner).trim();
        names.push(name.to_string());
        rest = &after[end + 2..];
    }
    names
}

/// Renders every string inside a JSON value.
pub(crate) fn render_json(
    value: &serde_json::Value,
    vars: &Vars,
) -> Result<serde_json::Value, MissingVar> {
    Ok(match value {
        serde_json::Value::String(s) => serde_json::Value::String(render(s, vars, Target::Text)?),
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .map(|v| render_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, vars)?)))
                .collect::<Result<_, MissingVar>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [
            ("ref_name", "feat/x y"),
            ("url", "http://h/queue/1/"),
            ("id", "b-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn url_values_are_encoded_unless_raw() {
        let got = render("/b/{{ref_name}}/{{ id }}", &vars(), Target::Url).unwrap();
        assert_eq!(got, "/b/feat%2Fx%20y/b-1");
        let got = render("{{ url | raw }}api/json", &vars(), Target::Url).unwrap();
        assert_eq!(got, "http://h/queue/1/api/json");
    }

    #[test]
    fn text_values_are_verbatim() {
        assert_eq!(
            render("{{ref_name}}", &vars(), Target::Text).unwrap(),
            "feat/x y"
        );
    }

    #[test]
    fn a_missing_name_is_reported_with_the_known_ones() {
        let err = render("{{ nope }}", &vars(), Target::Text).unwrap_err();
        assert_eq!(err.name, "nope");
        assert!(err.known.contains(&"id".to_string()));
    }

    #[test]
    fn json_strings_are_templated_and_other_values_kept() {
        let v = serde_json::json!({"a": "{{id}}", "n": 3, "l": ["{{ref_name}}"]});
        let got = render_json(&v, &vars()).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"a": "b-1", "n": 3, "l": ["feat/x y"]})
        );
    }

    #[test]
    fn names_lists_every_hole() {
        assert_eq!(names("{{a}}/{{ b | raw }}"), vec!["a", "b"]);
    }
}
