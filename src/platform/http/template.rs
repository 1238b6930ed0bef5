//! Templates for paths, headers and bodies, on minijinja (Jinja2 syntax).
//!
//! Stage: platform (also read by `plan` for `ferry check`). Must not send a request, print or
//! read the process environment: it only fills text from [`Vars`].
//!
//! A template is text with `{{ name }}` holes filled from [`Vars`], a flat map with dotted keys
//! (`vars.app`, `build.id`) that becomes a nested context. Names are strict: an unknown one is an
//! error, never "". In a URL a value is percent-encoded (a branch name like `feat/x` stays one path
//! segment) unless written `{{ name | raw }}`, which inserts it verbatim (a whole URL captured from
//! a response). An unterminated `{{`, an unknown filter or any syntax error is an error too.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior};
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

impl Target {
    /// The template name minijinja sees; it picks the escaping.
    fn name(self) -> &'static str {
        match self {
            Target::Url => "url",
            Target::Text => "text",
        }
    }
}

/// The escaping of [`Target::Url`] as minijinja's custom auto-escape.
const URL_ESCAPE: AutoEscape = AutoEscape::Custom(Cow::Borrowed("url"));

/// Filters ferry adds to minijinja's built-in ones.
const OWN_FILTERS: [&str; 1] = ["raw"];

/// minijinja's built-in filters (the `builtins` feature), for "did you mean".
const BUILTIN_FILTERS: [&str; 40] = [
    "safe",
    "escape",
    "e",
    "lower",
    "upper",
    "title",
    "capitalize",
    "replace",
    "length",
    "count",
    "dictsort",
    "items",
    "reverse",
    "trim",
    "join",
    "split",
    "lines",
    "default",
    "d",
    "round",
    "abs",
    "int",
    "float",
    "attr",
    "first",
    "last",
    "min",
    "max",
    "sort",
    "list",
    "string",
    "bool",
    "batch",
    "slice",
    "indent",
    "select",
    "reject",
    "map",
    "unique",
    "chain",
];

/// What is wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateError {
    /// The template names a value that does not exist here.
    Missing {
        /// The name as written (`vars.app`).
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// The template cannot be read: a syntax error, an unknown filter, a filter misused.
    Invalid {
        /// The template's text.
        template: String,
        /// What minijinja says, with a "did you mean" for a filter.
        problem: String,
    },
}

impl TemplateError {
    /// The settings error for a template of `section` (`[build.status]`) that could not be
    /// filled at run time.
    pub(crate) fn in_section(&self, section: &str) -> crate::error::Error {
        crate::error::Error::ConfigFile {
            path: format!("ferry.toml {section}"),
            message: self.message(),
        }
    }

    /// The message and fix for a template used at run time (`ferry.toml [<section>]`).
    pub(crate) fn message(&self) -> String {
        match self {
            TemplateError::Missing { name, known } => format!(
                "the template names `{name}`, which has no value here{}\n  fix: use one of: {} (or give it with --var NAME=VALUE / FERRY_VAR_<NAME>)",
                crate::suggest::did_you_mean(name, known.iter().map(String::as_str)),
                known.join(", ")
            ),
            TemplateError::Invalid { template, problem } => format!(
                "the template {} cannot be used: {problem}\n  fix: {INVALID_FIX}",
                crate::error::quote(template)
            ),
        }
    }
}

/// The fix for a template that cannot be read.
pub(crate) const INVALID_FIX: &str = "write values as {{ name }} (closed with }}), filters as {{ name | raw }}; the README's Templates section lists the syntax";

/// The environment, built once: every request renders its templates, and the builtins' table
/// is not worth building for each.
fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: std::sync::LazyLock<Environment<'static>> =
        std::sync::LazyLock::new(build_environment);
    &ENVIRONMENT
}

/// The environment: strict names, trailing newlines kept, URL escaping with `raw` to opt out.
fn build_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // The default delimiters always build; a body's final newline is the user's.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_auto_escape_callback(|name| {
        if name == Target::Url.name() {
            URL_ESCAPE
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(|out, state, value| {
        if value.is_undefined() {
            return Err(minijinja::Error::from(ErrorKind::UndefinedError));
        }
        if *state.auto_escape() == URL_ESCAPE && !value.is_safe() {
            let text = value.to_string();
            for piece in utf8_percent_encode(&text, PATH_SEGMENT) {
                out.write_str(piece)?;
            }
            return Ok(());
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("raw", raw);
    env
}

/// `{{ url | raw }}`: the value goes in as it is, even in a URL.
fn raw(value: &Value) -> Result<Value, minijinja::Error> {
    if value.is_undefined() {
        return Err(minijinja::Error::from(ErrorKind::UndefinedError));
    }
    Ok(Value::from_safe_string(value.to_string()))
}

/// The nested context for minijinja: `vars.app` → `{vars: {app}}`.
fn context(vars: &Vars) -> Value {
    #[derive(Default)]
    struct Node {
        value: Option<String>,
        children: BTreeMap<String, Node>,
    }
    fn into_value(node: Node) -> Value {
        if node.children.is_empty() {
            return Value::from(node.value.unwrap_or_default());
        }
        node.children
            .into_iter()
            .map(|(k, v)| (k, into_value(v)))
            .collect::<BTreeMap<String, Value>>()
            .into()
    }
    let mut root = Node::default();
    for (key, value) in vars {
        let mut at = &mut root;
        for part in key.split('.') {
            at = at.children.entry(part.to_string()).or_default();
        }
        at.value = Some(value.clone());
    }
    into_value(root)
}

/// Whether `vars` has `name` (a value, or a table of them).
fn has(vars: &Vars, name: &str) -> bool {
    vars.contains_key(name)
        || vars
            .range(format!("{name}.")..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&format!("{name}.")))
}

/// The message for an error minijinja gave while reading or rendering `template`.
fn invalid(template: &str, e: &minijinja::Error) -> TemplateError {
    let mut problem = match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    };
    if e.kind() == ErrorKind::UnknownFilter
        && let Some(name) = e.detail().and_then(|d| d.split_whitespace().nth(1))
    {
        problem.push_str(&filter_suggestion(name));
    }
    TemplateError::Invalid {
        template: template.to_string(),
        problem,
    }
}

/// "Did you mean" for a filter.
fn filter_suggestion(name: &str) -> String {
    crate::suggest::did_you_mean(
        name,
        OWN_FILTERS.iter().chain(BUILTIN_FILTERS.iter()).copied(),
    )
}

/// Fills `template` from `vars`.
pub(crate) fn render(template: &str, vars: &Vars, target: Target) -> Result<String, TemplateError> {
    if !template.contains("{{") && !template.contains("{%") && !template.contains("{#") {
        return Ok(template.to_string());
    }
    let env = environment();
    let compiled = env
        .template_from_named_str(target.name(), template)
        .map_err(|e| invalid(template, &e))?;
    compiled.render(context(vars)).map_err(|e| {
        if e.kind() == ErrorKind::UndefinedError {
            let mut names: Vec<String> = compiled.undeclared_variables(true).into_iter().collect();
            names.sort();
            if let Some(name) = names.into_iter().find(|n| !has(vars, n)) {
                return TemplateError::Missing {
                    name,
                    known: vars.keys().cloned().collect(),
                };
            }
        }
        invalid(template, &e)
    })
}

/// The variable names a template uses (sorted, once each); none when it cannot be read.
pub(crate) fn names(template: &str) -> Vec<String> {
    check(template).unwrap_or_default()
}

/// Reads `template` without values: its syntax and filters are checked, and the names it uses
/// returned (sorted, once each), for `ferry check` to compare with what will exist.
pub(crate) fn check(template: &str) -> Result<Vec<String>, TemplateError> {
    if !template.contains("{{") && !template.contains("{%") && !template.contains("{#") {
        return Ok(Vec::new());
    }
    let env = environment();
    let compiled = env
        .template_from_named_str(Target::Text.name(), template)
        .map_err(|e| invalid(template, &e))?;
    let names: BTreeSet<String> = compiled.undeclared_variables(true).into_iter().collect();
    // A render with every name given finds what only rendering finds: an unknown filter.
    let stand_in: Vars = names.iter().map(|n| (n.clone(), "x".to_string())).collect();
    if let Err(e) = compiled.render(context(&stand_in))
        && e.kind() == ErrorKind::UnknownFilter
    {
        return Err(invalid(template, &e));
    }
    Ok(names.into_iter().collect())
}

/// Renders every string inside a JSON value.
pub(crate) fn render_json(
    value: &serde_json::Value,
    vars: &Vars,
) -> Result<serde_json::Value, TemplateError> {
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
                .collect::<Result<_, TemplateError>>()?,
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
            ("vars.app", "shop"),
            ("build.artifact", "reg/app:1"),
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
        let got = render("/a/{{ build.artifact }}", &vars(), Target::Url).unwrap();
        assert_eq!(got, "/a/reg%2Fapp%3A1");
    }

    #[test]
    fn text_values_are_verbatim() {
        assert_eq!(
            render("{{ref_name}}", &vars(), Target::Text).unwrap(),
            "feat/x y"
        );
        assert_eq!(
            render("{{ url | raw }}", &vars(), Target::Text).unwrap(),
            "http://h/queue/1/"
        );
    }

    #[test]
    fn dotted_names_reach_the_nested_values() {
        let got = render("{{ vars.app }}:{{ build.artifact }}", &vars(), Target::Text).unwrap();
        assert_eq!(got, "shop:reg/app:1");
    }

    #[test]
    fn a_missing_name_is_reported_with_the_known_ones() {
        let err = render("{{ nope }}", &vars(), Target::Text).unwrap_err();
        let TemplateError::Missing { name, known } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(name, "nope");
        assert!(known.contains(&"id".to_string()));
        let err = render("/{{ vars.ap | raw }}", &vars(), Target::Url).unwrap_err();
        assert!(
            matches!(&err, TemplateError::Missing { name, .. } if name == "vars.ap"),
            "{err:?}"
        );
        assert!(
            err.message().contains("did you mean `vars.app`?"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn an_unterminated_hole_is_an_error_not_text() {
        let err = render("/b/{{ sha", &vars(), Target::Url).unwrap_err();
        assert!(
            matches!(&err, TemplateError::Invalid { problem, .. } if problem.contains("syntax error")),
            "{err:?}"
        );
        assert!(check("/b/{{ sha").is_err());
    }

    #[test]
    fn an_unknown_filter_is_named_with_the_likely_one() {
        let err = check("{{ id | rwa }}").unwrap_err();
        let TemplateError::Invalid { problem, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(problem.contains("rwa"), "{problem}");
        assert!(problem.contains("did you mean `raw`?"), "{problem}");
        assert!(render("{{ id | rwa }}", &vars(), Target::Text).is_err());
    }

    #[test]
    fn builtin_filters_work() {
        assert_eq!(
            render("{{ vars.app | upper }}", &vars(), Target::Text).unwrap(),
            "SHOP"
        );
    }

    #[test]
    fn a_trailing_newline_is_kept_and_plain_text_untouched() {
        assert_eq!(
            render("{{ id }}\n", &vars(), Target::Text).unwrap(),
            "b-1\n"
        );
        assert_eq!(
            render("/x/y%20\n", &vars(), Target::Url).unwrap(),
            "/x/y%20\n"
        );
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
        assert_eq!(
            names("{{a}}/{{ b | raw }}/{{ vars.app }}"),
            vec!["a", "b", "vars.app"]
        );
        assert!(names("plain").is_empty());
    }
}
