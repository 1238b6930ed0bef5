//! GitHub's official REST API description (npm `@octokit/openapi`, `api.github.com.json`), used
//! to check every request ferry sends to the fake GitHub: the operation exists, its path and
//! query parameters have the declared types, and its JSON body matches the declared schema
//! (with `jsonschema`). Stricter than the description in one way: an unknown query parameter or
//! top-level body field is refused too, so a misspelt field cannot pass silently.
//!
//! The description is 13 MB; each test runs in its own process (nextest), so the operations the
//! fake serves, with the components they use, are extracted once into a cache under the target
//! directory (keyed by the description's size and time) and read from there afterwards.
//!
//! A missing description fails the test with the fix: run `npm ci`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

/// The operations the fake serves (paths as in the description).
pub(crate) const PATHS: &[&str] = &[
    "/repos/{owner}/{repo}/statuses/{sha}",
    "/repos/{owner}/{repo}/deployments",
    "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
    "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    "/repos/{owner}/{repo}/pulls/{pull_number}",
    "/user",
    "/repos/{owner}/{repo}",
];

fn description_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("node_modules/@octokit/openapi/generated/api.github.com.json")
}

/// The subset of the description the fake needs, loaded once per process.
pub(crate) fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(load)
}

fn load() -> Value {
    let path = description_path();
    let meta = std::fs::metadata(&path).unwrap_or_else(|e| {
        panic!(
            "GitHub's OpenAPI description is missing ({}: {e}).\n\
             The GitHub tests validate every request against it: run `npm ci` at the \
             repository root (package.json pins @octokit/openapi).",
            path.display()
        )
    });
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "github-openapi-subset-{}-{mtime}-v2.json",
        meta.len()
    ));
    if let Ok(text) = std::fs::read_to_string(&cache)
        && let Ok(v) = serde_json::from_str::<Value>(&text)
    {
        return v;
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let full: Value = serde_json::from_str(&text).unwrap();
    let subset = extract(&full);
    let tmp = cache.with_extension(format!("tmp{}", std::process::id()));
    std::fs::create_dir_all(cache.parent().unwrap()).unwrap();
    std::fs::write(&tmp, serde_json::to_vec(&subset).unwrap()).unwrap();
    std::fs::rename(&tmp, &cache).unwrap();
    subset
}

/// The paths of [`PATHS`] and every component they reference, transitively.
fn extract(full: &Value) -> Value {
    let mut paths = Map::new();
    for p in PATHS {
        let item = full["paths"].get(*p).unwrap_or_else(|| {
            panic!("{p} is not in GitHub's description: the fake serves an unknown operation")
        });
        paths.insert((*p).to_owned(), item.clone());
    }
    let mut components = json!({});
    let mut todo: Vec<String> = Vec::new();
    collect_refs(&Value::Object(paths.clone()), &mut todo);
    let mut seen = std::collections::BTreeSet::new();
    while let Some(r) = todo.pop() {
        if !seen.insert(r.clone()) {
            continue;
        }
        let pointer = r.trim_start_matches('#');
        let target = full.pointer(pointer).cloned().unwrap_or(Value::Null);
        collect_refs(&target, &mut todo);
        let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        if parts.len() == 3 && parts[0] == "components" {
            components[parts[1]][parts[2]] = target;
        }
    }
    json!({ "openapi": full["openapi"], "paths": paths, "components": components })
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "$ref"
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_owned());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn resolve(v: &Value) -> &Value {
    let mut v = v;
    for _ in 0..20 {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                v = spec()
                    .pointer(r.trim_start_matches('#'))
                    .unwrap_or(&Value::Null);
            }
            None => break,
        }
    }
    v
}

/// The operation matching `method` and `path` (API path, without the base's own prefix): its
/// description path, and the path parameters by name.
pub(crate) fn operation(method: &str, path: &str) -> Option<(String, Vec<(String, String)>)> {
    type Match = (usize, String, Vec<(String, String)>);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<Match> = None;
    for (template, item) in spec()["paths"].as_object()? {
        if item.get(method.to_ascii_lowercase()).is_none() {
            continue;
        }
        let tsegs: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if tsegs.len() != segs.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut literal = 0;
        let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                params.push((t[1..t.len() - 1].to_owned(), (*s).to_owned()));
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if ok && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
            best = Some((literal, template.clone(), params));
        }
    }
    best.map(|(_, t, p)| (t, p))
}

/// Problems with a request, by GitHub's description (empty when it is valid).
pub(crate) fn check(
    method: &str,
    path: &str,
    query: &[(String, String)],
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<String> {
    let Some((template, path_params)) = operation(method, path) else {
        return vec![format!(
            "{method} {path}: no such operation among those the fake serves ({PATHS:?})"
        )];
    };
    let op = &spec()["paths"][&template][method.to_ascii_lowercase()];
    let id = op["operationId"].as_str().unwrap_or("?").to_owned();
    let mut problems = Vec::new();
    let declared: Vec<&Value> = op["parameters"]
        .as_array()
        .map(|ps| ps.iter().map(resolve).collect())
        .unwrap_or_default();
    for (name, value) in &path_params {
        match declared
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name.as_str())
        {
            Some(p) => check_param(&id, name, value, &p["schema"], &mut problems),
            None => problems.push(format!("{id}: path parameter {name} is not declared")),
        }
    }
    for (name, value) in query {
        match declared
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name.as_str())
        {
            Some(p) => check_param(&id, name, value, &p["schema"], &mut problems),
            None => problems.push(format!("{id}: unknown query parameter {name}")),
        }
    }
    for p in &declared {
        if p["in"] == "query" && p["required"] == true {
            let name = p["name"].as_str().unwrap_or_default();
            if !query.iter().any(|(n, _)| n == name) {
                problems.push(format!("{id}: required query parameter {name} is missing"));
            }
        }
    }
    let request_body = resolve(&op["requestBody"]);
    if request_body.is_null() {
        if !body.is_empty() {
            problems.push(format!("{id}: takes no body, got {} bytes", body.len()));
        }
        return problems;
    }
    if body.is_empty() {
        if request_body["required"] == true {
            problems.push(format!("{id}: the body is required"));
        }
        return problems;
    }
    if !content_type.is_some_and(|c| c.starts_with("application/json")) {
        problems.push(format!(
            "{id}: content-type {content_type:?} is not application/json"
        ));
    }
    let instance: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("{id}: the body is not JSON: {e}"));
            return problems;
        }
    };
    let schema = resolve(&request_body["content"]["application/json"]["schema"]);
    let mut schema = to_json_schema(schema, 0);
    if schema["type"] == "object" && schema.get("additionalProperties").is_none() {
        schema["additionalProperties"] = json!(false);
    }
    let validator = jsonschema::draft7::new(&schema)
        .unwrap_or_else(|e| panic!("{id}: the description's schema does not compile: {e}"));
    for error in validator.iter_errors(&instance) {
        problems.push(format!("{id}: body {}: {error}", error.instance_path()));
    }
    problems
}

fn check_param(id: &str, name: &str, value: &str, schema: &Value, problems: &mut Vec<String>) {
    let schema = resolve(schema);
    let typed = match schema["type"].as_str() {
        Some("integer") => {
            if let Ok(n) = value.parse::<i64>() {
                json!(n)
            } else {
                problems.push(format!(
                    "{id}: parameter {name}={value:?} is not an integer"
                ));
                return;
            }
        }
        Some("boolean") => match value {
            "true" => json!(true),
            "false" => json!(false),
            _ => {
                problems.push(format!("{id}: parameter {name}={value:?} is not a boolean"));
                return;
            }
        },
        _ => json!(value),
    };
    let schema = to_json_schema(schema, 0);
    if let Ok(v) = jsonschema::draft7::new(&schema) {
        for error in v.iter_errors(&typed) {
            problems.push(format!("{id}: parameter {name}: {error}"));
        }
    }
}

/// An OpenAPI 3.0 schema as JSON Schema: `$ref` inlined, `nullable` as a `null` alternative.
fn to_json_schema(v: &Value, depth: usize) -> Value {
    assert!(depth < 40, "schema too deep (a cycle?)");
    let v = resolve(v);
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, val) in m {
        match k.as_str() {
            "nullable" | "example" | "examples" | "discriminator" | "readOnly" | "writeOnly"
            | "xml" | "externalDocs" | "deprecated" | "description" | "title" => {}
            "properties" => {
                let props: Map<String, Value> = val
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(k, v)| (k.clone(), to_json_schema(v, depth + 1)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "not" => {
                out.insert(k.clone(), to_json_schema(val, depth + 1));
            }
            "additionalProperties" if val.is_object() => {
                out.insert(k.clone(), to_json_schema(val, depth + 1));
            }
            "oneOf" | "anyOf" | "allOf" => {
                let list: Vec<Value> = val
                    .as_array()
                    .map(|a| a.iter().map(|s| to_json_schema(s, depth + 1)).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(list));
            }
            _ => {
                out.insert(k.clone(), val.clone());
            }
        }
    }
    let schema = Value::Object(out);
    if m.get("nullable") == Some(&Value::Bool(true)) {
        json!({ "anyOf": [schema, { "type": "null" }] })
    } else {
        schema
    }
}

/// The description's example answer of `method path` for `status` (a JSON value to start a
/// faithful answer from), or `Value::Null` when it has none.
pub(crate) fn example(method: &str, template: &str, status: u16) -> Value {
    let op = &spec()["paths"][template][method.to_ascii_lowercase()];
    let response = resolve(&op["responses"][status.to_string()]);
    let content = &response["content"]["application/json"];
    if let Some(examples) = content["examples"].as_object()
        && let Some((_, first)) = examples.iter().next()
    {
        return resolve(first)["value"].clone();
    }
    content["example"].clone()
}

/// Problems with an answer the fake gives, by the description's response schema: the fake must
/// not invent shapes ferry then agrees with.
pub(crate) fn check_response(
    method: &str,
    template: &str,
    status: u16,
    body: &Value,
) -> Vec<String> {
    let op = &spec()["paths"][template][method.to_ascii_lowercase()];
    let response = resolve(&op["responses"][status.to_string()]);
    let schema = &response["content"]["application/json"]["schema"];
    if schema.is_null() {
        return Vec::new();
    }
    let schema = to_json_schema(schema, 0);
    let Ok(validator) = jsonschema::draft7::new(&schema) else {
        return vec![format!(
            "{method} {template}: response schema does not compile"
        )];
    };
    validator
        .iter_errors(body)
        .take(5)
        .map(|e| {
            format!(
                "fake answer to {method} {template} ({status}) {}: {e}",
                e.instance_path()
            )
        })
        .collect()
}
