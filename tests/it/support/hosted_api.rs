//! The hosted platforms' official API descriptions (`tests/fixtures/hosted/`), and checks of what
//! is sent to and answered by the simulator's hosted dialects against them, one pair per
//! description format:
//!
//! - JSON Hyper-Schema (Heroku): [`hyper_schema_request`], [`hyper_schema_answer`];
//! - Swagger 2 (Netlify): [`swagger2_request`], [`swagger2_answer`].
//!
//! A request check finds the operation (method and path template; the most literal template
//! wins), checks the path parameters against their declared schemas or types, refuses a query
//! parameter the operation does not declare (and checks the types and enums of those it does),
//! and validates a JSON body with `jsonschema` against the operation's schema, with every object
//! that lists its properties refusing others (Hyper-Schema's `strictProperties: true`, and the top
//! level of every body): a misspelt field cannot pass silently. A body that is not JSON passes
//! only when the operation consumes its media type, or its description says it may be sent so
//! (Netlify documents raw `application/zip` bodies in prose); a multipart form may name only the
//! declared `formData` fields.
//!
//! An answer check validates a JSON answer against the declared response schema, strictly: a
//! field the description does not name is an error, so a simulated dialect cannot invent one.
//! Swagger 2 answers must use a declared status (an error may fall back on `default`);
//! Heroku's description declares no statuses and no error schema, so a non-2xx answer is checked
//! for Heroku's documented error shape (`id`, `message`).
//!
//! `prefix` is what the simulator puts before the platform's own paths (`/heroku`, `/netlify`);
//! a Swagger description's `basePath` follows it.

use std::sync::OnceLock;

use ferry::sim::RecordedRequest;
use serde_json::{Map, Value, json};
use yaml_rust2::{Yaml, YamlLoader};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/hosted/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Heroku's Platform API description (JSON Hyper-Schema), loaded once per process.
pub(crate) fn heroku_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| serde_json::from_str(&fixture("heroku-schema.json")).unwrap())
}

/// Netlify's API description (Swagger 2, YAML), as JSON, loaded once per process.
pub(crate) fn netlify_swagger() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let docs = YamlLoader::load_from_str(&fixture("netlify-swagger.yml")).unwrap();
        yaml_to_json(&docs[0])
    })
}

fn yaml_to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(r) => r.parse::<f64>().map_or(Value::Null, |f| json!(f)),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => {
            let mut map = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    other => format!("{other:?}"),
                };
                map.insert(key, yaml_to_json(v));
            }
            Value::Object(map)
        }
        _ => Value::Null,
    }
}

/// Every object schema that lists its properties refuses others, unless it says what others
/// may be. With `only_declared_strict`, only those marked `strictProperties: true` (Hyper-Schema).
fn strict(v: &mut Value, only_declared_strict: bool) {
    match v {
        Value::Object(map) => {
            let marked = map.get("strictProperties") == Some(&Value::Bool(true));
            if map.contains_key("properties")
                && !map.contains_key("additionalProperties")
                && (marked || !only_declared_strict)
            {
                map.insert("additionalProperties".into(), json!(false));
            }
            for child in map.values_mut() {
                strict(child, only_declared_strict);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| strict(i, only_declared_strict)),
        _ => {}
    }
}

/// `value` against `schema`, whose `$ref`s point into `root`'s `definitions`.
fn validate(root: &Value, schema: &Value, value: &Value, strict_all: bool) -> Result<(), String> {
    let mut definitions = root["definitions"].clone();
    strict(&mut definitions, !strict_all);
    let mut schema = schema.clone();
    strict(&mut schema, !strict_all);
    let whole = json!({ "definitions": definitions, "allOf": [schema] });
    let validator = jsonschema::draft4::options()
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        // Draft 4 has no `uuid` format, but Heroku's ids use it: without this an app name that
        // breaks its pattern would still pass as an "id".
        .with_format("uuid", is_uuid)
        .build(&whole)
        .map_err(|e| format!("the description's schema does not compile: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Whether `s` is a UUID in its hyphenated text form (RFC 9562, any version).
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The path (after `prefix` and `base`) and query of a request path.
fn split<'p>(path: &'p str, prefix: &str, base: &str) -> Result<(&'p str, &'p str), String> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let rest = path
        .strip_prefix(prefix)
        .and_then(|p| p.strip_prefix(base))
        .ok_or_else(|| format!("{path} is not under {prefix}{base}"))?;
    Ok((rest, query))
}

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// A parameter segment of a template, if `seg` is one: its name (Swagger) or the decoded
/// reference to its schema (Hyper-Schema's `{(%23%2Fdefinitions%2F…)}`).
fn parameter(seg: &str) -> Option<String> {
    let inner = seg.strip_prefix('{')?.strip_suffix('}')?;
    let inner = inner
        .strip_prefix('(')
        .and_then(|i| i.strip_suffix(')'))
        .unwrap_or(inner);
    Some(
        percent_encoding::percent_decode_str(inner)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// Path parameters: (template parameter, value).
type PathParams = Vec<(String, String)>;

/// A Swagger operation, its path template, its parameters (resolved) and the path parameters.
type SwaggerOperation<'s> = (&'s Value, &'s str, Vec<&'s Value>, PathParams);

/// The template among `templates` that `path` matches, preferring literal segments, with the
/// path parameters (template parameter, value).
fn best_match<'t>(
    templates: impl Iterator<Item = &'t str>,
    path: &str,
) -> Option<(&'t str, PathParams)> {
    let segs = segments(path);
    let mut best: Option<(usize, &str, PathParams)> = None;
    for template in templates {
        let t: Vec<&str> = template.trim_matches('/').split('/').collect();
        if t.len() != segs.len() {
            continue;
        }
        let mut literal = 0;
        let mut params = Vec::new();
        let fits = t.iter().zip(&segs).all(|(a, b)| {
            if let Some(p) = parameter(a) {
                params.push((p, b.clone()));
                true
            } else {
                literal += 1;
                a == b
            }
        });
        if fits && best.as_ref().is_none_or(|(n, ..)| literal > *n) {
            best = Some((literal, template, params));
        }
    }
    best.map(|(_, t, p)| (t, p))
}

// ---- JSON Hyper-Schema (Heroku) ----------------------------------------------------------

/// Every link of the description: (method, href, link).
fn links(schema: &Value) -> Vec<(&str, &str, &Value)> {
    let mut out = Vec::new();
    for def in schema["definitions"]
        .as_object()
        .into_iter()
        .flat_map(Map::values)
    {
        for link in def["links"].as_array().into_iter().flatten() {
            if let (Some(m), Some(h)) = (link["method"].as_str(), link["href"].as_str()) {
                out.push((m, h, link));
            }
        }
    }
    out
}

/// The link for `method` `path`, with its path parameters checked.
fn hyper_link<'s>(schema: &'s Value, method: &str, path: &str) -> Result<&'s Value, String> {
    let all = links(schema);
    let hrefs = all
        .iter()
        .filter(|(m, ..)| m.eq_ignore_ascii_case(method))
        .map(|(_, h, _)| *h);
    let (href, params) = best_match(hrefs, path)
        .ok_or_else(|| format!("no {method} link of the description matches {path}"))?;
    let link = all
        .iter()
        .find(|(m, h, _)| m.eq_ignore_ascii_case(method) && *h == href)
        .map(|(.., l)| *l)
        .ok_or("unreachable")?;
    for (reference, value) in params {
        let schema_ref = json!({ "$ref": reference });
        // A path segment is text; an identity may also be an integer (a release's `version`).
        let as_number = value.parse::<i64>().ok().map(|n| json!(n));
        validate(schema, &schema_ref, &json!(value), false)
            .or_else(|e| match &as_number {
                Some(n) => validate(schema, &schema_ref, n, false),
                None => Err(e),
            })
            .map_err(|e| format!("{method} {href}: path parameter {value:?}: {e}"))?;
    }
    Ok(link)
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|t| {
        let t = t.split(';').next().unwrap_or_default().trim();
        t == "application/json" || t.ends_with("+json")
    })
}

/// Why `req` is not a request the Hyper-Schema `schema` allows, if it is not. `prefix` is removed
/// from the recorded path first.
pub(crate) fn hyper_schema_request(
    schema: &Value,
    req: &RecordedRequest,
    prefix: &str,
) -> Result<(), String> {
    let (path, query) = split(&req.path, prefix, "")?;
    let link = hyper_link(schema, &req.method, path)?;
    let href = link["href"].as_str().unwrap_or_default();
    let method = &req.method;
    if !query.is_empty() {
        return Err(format!(
            "{method} {href} declares no query parameter ({query})"
        ));
    }
    match link.get("schema") {
        Some(body_schema) => {
            if !is_json(req.header("content-type")) {
                return Err(format!("{method} {href}: the body is not JSON"));
            }
            let body: Value = serde_json::from_str(&req.body)
                .map_err(|e| format!("{method} {href}: the body is not JSON: {e}"))?;
            let mut top = body_schema.clone();
            if top.get("properties").is_some() {
                top["additionalProperties"] = json!(false);
            }
            validate(schema, &top, &body, false)
                .map_err(|e| format!("{method} {href}: body {body}: {e}"))
        }
        None if !req.body.trim().is_empty() => Err(format!("{method} {href} takes no body")),
        None => Ok(()),
    }
}

/// Why `body`, answered with `status` to `method` `path` (as requested, with `prefix`), is not
/// what the Hyper-Schema `schema` declares, if it is not.
pub(crate) fn hyper_schema_answer(
    schema: &Value,
    prefix: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
) -> Result<(), String> {
    let (path, _) = split(path, prefix, "")?;
    if !(200..300).contains(&status) {
        let shaped = body["id"].is_string() && body["message"].is_string();
        return if shaped {
            Ok(())
        } else {
            Err(format!(
                "{method} {path}: error {status} {body} lacks id/message"
            ))
        };
    }
    let link = hyper_link(schema, method, path)?;
    let target = link.get("targetSchema").unwrap_or(&Value::Null);
    validate(schema, target, body, true)
        .map_err(|e| format!("{method} {path} answered {body}: {e}"))
}

// ---- Swagger 2 (Netlify) -------------------------------------------------------------------

fn resolve<'s>(spec: &'s Value, v: &'s Value) -> &'s Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => spec
            .pointer(r.trim_start_matches('#'))
            .unwrap_or(&Value::Null),
        None => v,
    }
}

/// The operation for `method` `path` (relative to the base path), its template, and its
/// parameters (path-level and operation-level, resolved).
fn swagger_operation<'s>(
    spec: &'s Value,
    method: &str,
    path: &str,
) -> Result<SwaggerOperation<'s>, String> {
    let method = method.to_ascii_lowercase();
    let paths = spec["paths"]
        .as_object()
        .ok_or("the description has no paths")?;
    let templates = paths
        .iter()
        .filter(|(_, item)| item.get(&method).is_some())
        .map(|(t, _)| t.as_str());
    let (template, values) = best_match(templates, path)
        .ok_or_else(|| format!("no {method} operation of the description matches {path}"))?;
    let item = &paths[template];
    let op = &item[&method];
    let params = item["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(op["parameters"].as_array().into_iter().flatten())
        .map(|p| resolve(spec, p))
        .collect();
    Ok((op, template, params, values))
}

/// Whether `value` fits a simple (non-body) parameter's `type` and `enum`.
fn fits(param: &Value, value: &str) -> bool {
    let typed = match param["type"].as_str() {
        Some("integer") => value.parse::<i64>().is_ok(),
        Some("number") => value.parse::<f64>().is_ok(),
        Some("boolean") => matches!(value, "true" | "false"),
        _ => true,
    };
    let listed = param["enum"]
        .as_array()
        .is_none_or(|e| e.iter().any(|v| v.as_str() == Some(value)));
    typed && listed
}

/// Why `req` is not a request the Swagger 2 `spec` allows, if it is not. `prefix` and then the
/// description's `basePath` are removed from the recorded path first.
pub(crate) fn swagger2_request(
    spec: &Value,
    req: &RecordedRequest,
    prefix: &str,
) -> Result<(), String> {
    let base = spec["basePath"].as_str().unwrap_or_default();
    let (path, query) = split(&req.path, prefix, base)?;
    let (op, template, params, values) = swagger_operation(spec, &req.method, path)?;
    let at = format!("{} {template}", req.method);
    for (name, value) in values {
        let p = params
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name.as_str())
            .ok_or_else(|| format!("{at}: path parameter {name} is not declared"))?;
        if !fits(p, &value) {
            return Err(format!(
                "{at}: path parameter {name}={value} is not a {}",
                p["type"]
            ));
        }
    }
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let p = params
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name.as_ref())
            .ok_or_else(|| format!("{at}: no query parameter {name}"))?;
        if !fits(p, &value) {
            return Err(format!("{at}: {name}={value} does not fit {}", p["type"]));
        }
    }
    swagger2_body(spec, op, &params, req, &at)
}

fn swagger2_body(
    spec: &Value,
    op: &Value,
    params: &[&Value],
    req: &RecordedRequest,
    at: &str,
) -> Result<(), String> {
    let kind = req.header("content-type").unwrap_or_default();
    let media = kind.split(';').next().unwrap_or_default().trim().to_owned();
    let body_param = params.iter().find(|p| p["in"] == "body");
    let form: Vec<&str> = params
        .iter()
        .filter(|p| p["in"] == "formData")
        .filter_map(|p| p["name"].as_str())
        .collect();
    if req.body.is_empty() {
        return match body_param {
            Some(p) if p["required"] == true => Err(format!("{at}: the body is required")),
            _ => Ok(()),
        };
    }
    if is_json(Some(&media)) {
        let param = body_param.ok_or_else(|| format!("{at} takes no JSON body"))?;
        let body: Value = serde_json::from_str(&req.body)
            .map_err(|e| format!("{at}: the body is not JSON: {e}"))?;
        return validate(spec, &param["schema"], &body, true)
            .map_err(|e| format!("{at}: body {body}: {e}"));
    }
    let consumes = op["consumes"].as_array().or(spec["consumes"].as_array());
    let declared = consumes.is_some_and(|c| c.iter().any(|t| t.as_str() == Some(media.as_str())));
    let mut texts = vec![&op["description"]];
    if let Some(p) = body_param {
        texts.push(&p["description"]);
        texts.push(&resolve(spec, &p["schema"])["description"]);
    }
    let described = texts
        .iter()
        .filter_map(|d| d.as_str())
        .any(|d| d.contains(&format!("'{media}'")) || d.contains(&format!("`{media}`")));
    if !(declared || described) {
        return Err(format!("{at} does not take a {media} body"));
    }
    if media == "multipart/form-data" {
        let fields = req.body.split("form-data; name=\"").skip(1);
        for name in fields.filter_map(|s| s.split('"').next()) {
            if !form.contains(&name) {
                return Err(format!("{at}: form field {name} is not declared"));
            }
        }
    }
    Ok(())
}

/// Why `body`, answered with `status` to `method` `path` (as requested, with `prefix`), is not
/// what the Swagger 2 `spec` declares, if it is not.
pub(crate) fn swagger2_answer(
    spec: &Value,
    prefix: &str,
    method: &str,
    path: &str,
    status: u16,
    body: &Value,
) -> Result<(), String> {
    let base = spec["basePath"].as_str().unwrap_or_default();
    let (path, _) = split(path, prefix, base)?;
    let (op, template, ..) = swagger_operation(spec, method, path)?;
    let responses = &op["responses"];
    let declared = responses.get(status.to_string());
    let response = match declared {
        Some(r) => r,
        None if (200..300).contains(&status) => {
            return Err(format!(
                "{method} {template} answered {status}; the description declares {:?}",
                responses.as_object().map(|r| r.keys().collect::<Vec<_>>())
            ));
        }
        None => responses
            .get("default")
            .ok_or_else(|| format!("{method} {template}: {status} is not declared"))?,
    };
    let response = resolve(spec, response);
    match response.get("schema") {
        Some(schema) => validate(spec, schema, body, true)
            .map_err(|e| format!("{method} {template} answered {status} {body}: {e}")),
        None if body.is_null() => Ok(()),
        None => Err(format!(
            "{method} {template}: {status} has no body, got {body}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, kind: &str, body: &str) -> RecordedRequest {
        RecordedRequest {
            method: method.into(),
            path: path.into(),
            headers: vec![("content-type".into(), kind.into())],
            body: body.into(),
            route: None,
            at_ms: 0,
        }
    }

    const JSON: &str = "application/json";

    #[test]
    fn hyper_schema_requests_are_checked_against_their_link() {
        let s = heroku_schema();
        let ok = |r: &RecordedRequest| hyper_schema_request(s, r, "/heroku");
        let build = r#"{"source_blob":{"url":"https://x/s.tgz","version":"abc"}}"#;
        ok(&req("POST", "/heroku/apps/demo-app/builds", JSON, build)).unwrap();
        ok(&req("POST", "/heroku/sources", JSON, "")).unwrap();
        ok(&req(
            "DELETE",
            "/heroku/apps/demo-app/builds/01234567-89ab-4cde-8f01-23456789abcd",
            JSON,
            "",
        ))
        .unwrap();
        ok(&req("GET", "/heroku/apps/demo-app/releases/12", JSON, "")).unwrap();
        let typo = r#"{"source_blob":{"url":"https://x/s.tgz","verison":"abc"}}"#;
        assert!(ok(&req("POST", "/heroku/apps/demo-app/builds", JSON, typo)).is_err());
        let top = r#"{"source_blob":{"url":"u"},"sha":"abc"}"#;
        assert!(ok(&req("POST", "/heroku/apps/demo-app/builds", JSON, top)).is_err());
        let wrong = r#"{"source_blob":{"url":3}}"#;
        assert!(ok(&req("POST", "/heroku/apps/demo-app/builds", JSON, wrong)).is_err());
        assert!(
            ok(&req(
                "POST",
                "/heroku/apps/demo-app/builds",
                "text/plain",
                build
            ))
            .is_err()
        );
        assert!(ok(&req("POST", "/heroku/apps/Not_An_App/builds", JSON, build)).is_err());
        assert!(ok(&req("PUT", "/heroku/apps/demo-app/builds", JSON, build)).is_err());
        assert!(ok(&req("GET", "/heroku/apps/demo-app?x=1", JSON, "")).is_err());
        assert!(ok(&req("GET", "/heroku/apps/demo-app", JSON, "{}")).is_err());
    }

    #[test]
    fn hyper_schema_answers_are_checked_strictly() {
        let s = heroku_schema();
        let check =
            |body: Value| hyper_schema_answer(s, "/heroku", "POST", "/heroku/sources", 201, &body);
        check(json!({ "source_blob": { "get_url": "g", "put_url": "p" } })).unwrap();
        assert!(check(json!({ "source_blob": { "get_url": "g", "post_url": "p" } })).is_err());
        assert!(check(json!({ "source_blob": { "get_url": 1 } })).is_err());
        let error = json!({ "id": "not_found", "message": "Couldn't find that app." });
        hyper_schema_answer(s, "/heroku", "GET", "/heroku/apps/x", 404, &error).unwrap();
        assert!(
            hyper_schema_answer(s, "/heroku", "GET", "/heroku/apps/x", 404, &json!({})).is_err()
        );
    }

    #[test]
    fn swagger2_requests_are_checked_against_their_operation() {
        let s = netlify_swagger();
        let ok = |r: &RecordedRequest| swagger2_request(s, r, "/netlify");
        ok(&req(
            "POST",
            "/netlify/api/v1/sites/s/builds?branch=main&clear_cache=true",
            "application/zip",
            "PK..",
        ))
        .unwrap();
        ok(&req("POST", "/netlify/api/v1/sites/s/builds", "", "")).unwrap();
        ok(&req(
            "POST",
            "/netlify/api/v1/sites/s/deploys?title=x",
            "application/zip",
            "PK..",
        ))
        .unwrap();
        ok(&req(
            "POST",
            "/netlify/api/v1/sites/s/deploys",
            JSON,
            r#"{"files":{},"draft":false}"#,
        ))
        .unwrap();
        ok(&req("POST", "/netlify/api/v1/deploys/d/cancel", "", "")).unwrap();
        ok(&req(
            "GET",
            "/netlify/api/v1/sites/s/deploys?state=ready",
            "",
            "",
        ))
        .unwrap();
        let form = "--b\r\nContent-Disposition: form-data; name=\"zip\"; filename=\"s.zip\"\r\n\r\nPK\r\n--b--";
        ok(&req(
            "POST",
            "/netlify/api/v1/sites/s/builds",
            "multipart/form-data; boundary=b",
            form,
        ))
        .unwrap();
        let bad_form = form.replace("name=\"zip\"", "name=\"archive\"");
        assert!(
            ok(&req(
                "POST",
                "/netlify/api/v1/sites/s/builds",
                "multipart/form-data; boundary=b",
                &bad_form
            ))
            .is_err()
        );
        assert!(
            ok(&req(
                "POST",
                "/netlify/api/v1/sites/s/deploys",
                JSON,
                r#"{"file":{}}"#
            ))
            .is_err()
        );
        assert!(
            ok(&req(
                "POST",
                "/netlify/api/v1/sites/s/deploys",
                JSON,
                r#"{"draft":"no"}"#
            ))
            .is_err()
        );
        assert!(
            ok(&req(
                "POST",
                "/netlify/api/v1/sites/s/builds?clear_cache=yes",
                "",
                ""
            ))
            .is_err()
        );
        assert!(ok(&req("POST", "/netlify/api/v1/sites/s/builds?sha=1", "", "")).is_err());
        assert!(
            ok(&req(
                "GET",
                "/netlify/api/v1/sites/s/deploys?state=done",
                "",
                ""
            ))
            .is_err()
        );
        assert!(
            ok(&req(
                "POST",
                "/netlify/api/v1/sites/s/builds",
                "application/x-tar",
                "x"
            ))
            .is_err()
        );
        assert!(ok(&req("GET", "/netlify/api/v1/nowhere/at/all/really", "", "")).is_err());
        assert!(ok(&req("GET", "/api/v1/sites/s", "", "")).is_err());
    }

    #[test]
    fn swagger2_answers_are_checked_against_the_declared_status() {
        let s = netlify_swagger();
        let check = |status: u16, body: Value| {
            swagger2_answer(
                s,
                "/netlify",
                "POST",
                "/netlify/api/v1/deploys/d/cancel",
                status,
                &body,
            )
        };
        check(201, json!({ "id": "d", "state": "error" })).unwrap();
        assert!(check(200, json!({ "id": "d", "state": "error" })).is_err());
        assert!(check(201, json!({ "id": "d", "status": "error" })).is_err());
        assert!(check(201, json!({ "id": 5 })).is_err());
        check(404, json!({ "code": 404, "message": "Not Found" })).unwrap();
        assert!(check(404, json!({ "code": 404 })).is_err());
    }
}
