//! OpenAPI 3 descriptions of hosted platforms (Render's, DigitalOcean App Platform's), to check
//! the requests sent to the simulator's dialects and the answers those dialects give, the way
//! `fake_github/openapi.rs` checks GitHub's: the operation exists; path and query parameters have
//! the declared types (a repeated parameter is an array, `form`/`explode` as OpenAPI 3 defaults
//! to); a required parameter is there; a JSON body matches the declared schema (`jsonschema`,
//! formats checked); a bearer credential is sent where the description asks for one. Stricter
//! than the description in two ways: an unknown query parameter is refused, and so is a field an
//! object schema does not list (request bodies and answers alike), so that neither a misspelt
//! request field nor an invented answer field passes silently. (That also settles Render's
//! `serviceDetails: oneOf`, whose alternatives overlap unless unlisted fields are refused.)
//!
//! A description may be split over files (DigitalOcean's `apps.yaml` refers to `resources/…`
//! and `shared/…`): [`Description::load`] reads JSON or YAML and bundles every file a `$ref`
//! reaches into one document, so a `$ref` is always a pointer into it.
//!
//! Paths given to the checks are the paths a client sends to the platform's server
//! (`/v1/services/…` for Render, whose server URL ends in `/v1`; `/v2/apps/…` for DigitalOcean);
//! [`Description::check_recorded`] takes a request the simulator recorded and the prefix its
//! dialect is mounted under (`/render`, `/digitalocean`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ferry::sim::RecordedRequest;
use serde_json::{Map, Value, json};

/// A loaded description, with the path of its server URL (`/v1` for `https://api.render.com/v1`).
pub(crate) struct Description {
    doc: Value,
    base: String,
    name: String,
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hosted")
        .join(rel)
}

/// Render's description (`tests/fixtures/hosted/render-openapi.json`), loaded once per process.
pub(crate) fn render() -> &'static Description {
    static DESCRIPTION: OnceLock<Description> = OnceLock::new();
    DESCRIPTION.get_or_init(|| Description::load(&fixture("render-openapi.json")))
}

/// DigitalOcean App Platform's (`tests/fixtures/hosted/digitalocean/apps.yaml` and its files).
pub(crate) fn digitalocean() -> &'static Description {
    static DESCRIPTION: OnceLock<Description> = OnceLock::new();
    DESCRIPTION.get_or_init(|| Description::load(&fixture("digitalocean/apps.yaml")))
}

impl Description {
    /// Reads a description (JSON, or YAML for `.yaml`/`.yml`) and every file its `$ref`s reach.
    pub(crate) fn load(path: &Path) -> Description {
        let root_dir = path.parent().unwrap().to_path_buf();
        let root_name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut files: BTreeMap<String, Value> = BTreeMap::new();
        let mut todo = vec![root_name.clone()];
        while let Some(key) = todo.pop() {
            if files.contains_key(&key) {
                continue;
            }
            let mut doc = read_file(&root_dir.join(&key));
            let is_root = key == root_name;
            rewrite_refs(&mut doc, &key, is_root, &mut todo);
            files.insert(key, doc);
        }
        let mut doc = files.remove(&root_name).unwrap();
        if !files.is_empty() {
            doc["x-bundle"] = Value::Object(files.into_iter().collect());
        }
        let base = doc["servers"][0]["url"]
            .as_str()
            .and_then(|u| url::Url::parse(u).ok())
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Description {
            doc,
            base,
            name: root_name,
        }
    }

    /// The path of the server URL, without a trailing slash (`/v1`, or empty).
    pub(crate) fn base_path(&self) -> &str {
        &self.base
    }

    /// `v` with every `$ref` followed (siblings of a `$ref` are ignored, as in OpenAPI 3.0).
    pub(crate) fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        let mut v = v;
        for _ in 0..32 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    // A pointer in a URI fragment is percent-encoded (`~1disks~1%7BdiskId%7D`).
                    let pointer = percent_encoding::percent_decode_str(r.trim_start_matches('#'))
                        .decode_utf8_lossy();
                    v = self
                        .doc
                        .pointer(&pointer)
                        .unwrap_or_else(|| panic!("{}: dangling $ref {r}", self.name));
                }
                None => break,
            }
        }
        v
    }

    /// The operation `method path` (the path as sent to the server, without the query): its
    /// template (as in the description, e.g. `/services/{serviceId}/deploys`) and its path
    /// parameters. The template with the most literal segments wins (`/v2/apps/regions` over
    /// `/v2/apps/{id}`).
    pub(crate) fn operation(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(String, Vec<(String, String)>)> {
        type Match = (usize, String, Vec<(String, String)>);
        let path = path.strip_prefix(&self.base)?;
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = method.to_ascii_lowercase();
        let mut best: Option<Match> = None;
        for (template, item) in self.doc["paths"].as_object()? {
            if self.resolve(item).get(&method).is_none() {
                continue;
            }
            let tsegs: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut params = Vec::new();
            let mut literal = 0;
            let fits = tsegs.iter().zip(&segs).all(|(t, s)| {
                if t.starts_with('{') && t.ends_with('}') {
                    let value = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
                    params.push((t[1..t.len() - 1].to_owned(), value.into_owned()));
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
                best = Some((literal, template.clone(), params));
            }
        }
        best.map(|(_, t, p)| (t, p))
    }

    fn op(&self, method: &str, template: &str) -> &Value {
        let item = self.resolve(&self.doc["paths"][template]);
        self.resolve(&item[method.to_ascii_lowercase()])
    }

    /// The parameters of an operation: its path item's, overridden by its own (by name and place).
    fn parameters(&self, method: &str, template: &str) -> Vec<&Value> {
        let item = self.resolve(&self.doc["paths"][template]);
        let mut out: Vec<&Value> = Vec::new();
        let lists = [
            &item["parameters"],
            &self.op(method, template)["parameters"],
        ];
        for list in lists {
            for p in list.as_array().into_iter().flatten() {
                let p = self.resolve(p);
                out.retain(|q| !(q["name"] == p["name"] && q["in"] == p["in"]));
                out.push(p);
            }
        }
        out
    }

    /// Problems with a request as a client sends it to the server (empty when it is valid):
    /// `path_and_query` as sent (`/v1/logs?ownerId=…`), its headers, its body.
    pub(crate) fn check_request(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Vec<String> {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let Some((template, path_params)) = self.operation(method, path) else {
            return vec![format!(
                "{method} {path}: no such operation in {}",
                self.name
            )];
        };
        let op = self.op(method, &template);
        let id = format!(
            "{} ({method} {template})",
            op["operationId"].as_str().unwrap_or("?")
        );
        let mut problems = Vec::new();
        let declared = self.parameters(method, &template);
        for (name, value) in &path_params {
            match declared
                .iter()
                .find(|p| p["in"] == "path" && p["name"] == name.as_str())
            {
                Some(p) => self.check_param(
                    &id,
                    name,
                    std::slice::from_ref(value),
                    &p["schema"],
                    &mut problems,
                ),
                None => problems.push(format!("{id}: path parameter {name} is not declared")),
            }
        }
        let mut given: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            given
                .entry(k.into_owned())
                .or_default()
                .push(v.into_owned());
        }
        for (name, values) in &given {
            match declared
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name.as_str())
            {
                Some(p) => self.check_param(&id, name, values, &p["schema"], &mut problems),
                None => problems.push(format!("{id}: unknown query parameter {name}")),
            }
        }
        for p in &declared {
            let name = p["name"].as_str().unwrap_or_default();
            if p["in"] == "query" && p["required"] == true && !given.contains_key(name) {
                problems.push(format!("{id}: required query parameter {name} is missing"));
            }
        }
        self.check_security(&id, op, headers, &mut problems);
        let content_type = header(headers, "content-type");
        self.check_body(&id, op, content_type, body, &mut problems);
        problems
    }

    /// A request the simulator recorded, for a dialect mounted under `mount` (`/render`).
    pub(crate) fn check_recorded(&self, mount: &str, req: &RecordedRequest) -> Vec<String> {
        let Some(path) = req.path.strip_prefix(mount) else {
            return vec![format!("{} is not under {mount}", req.path)];
        };
        self.check_request(&req.method, path, &req.headers, req.body.as_bytes())
    }

    fn check_security(
        &self,
        id: &str,
        op: &Value,
        headers: &[(String, String)],
        problems: &mut Vec<String>,
    ) {
        let required = op.get("security").unwrap_or(&self.doc["security"]);
        let schemes = &self.doc["components"]["securitySchemes"];
        let bearer = required
            .as_array()
            .into_iter()
            .flatten()
            .any(|alternative| {
                alternative
                    .as_object()
                    .into_iter()
                    .flatten()
                    .any(|(name, _)| {
                        let s = self.resolve(&schemes[name]);
                        s["type"] == "http"
                            && s["scheme"]
                                .as_str()
                                .is_some_and(|x| x.eq_ignore_ascii_case("bearer"))
                    })
            });
        let sent = header(headers, "authorization")
            .is_some_and(|a| a.len() > 7 && a[..7].eq_ignore_ascii_case("bearer "));
        if bearer && !sent {
            problems.push(format!(
                "{id}: the description asks for a bearer credential; none was sent"
            ));
        }
    }

    fn check_body(
        &self,
        id: &str,
        op: &Value,
        content_type: Option<&str>,
        body: &[u8],
        problems: &mut Vec<String>,
    ) {
        let request_body = self.resolve(&op["requestBody"]);
        if request_body.is_null() {
            if !body.is_empty() {
                problems.push(format!("{id}: takes no body, got {} bytes", body.len()));
            }
            return;
        }
        if body.is_empty() {
            if request_body["required"] == true {
                problems.push(format!("{id}: the body is required"));
            }
            return;
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
                return;
            }
        };
        let schema = &request_body["content"]["application/json"]["schema"];
        for error in self.validate(schema, &instance) {
            problems.push(format!("{id}: body {error}"));
        }
    }

    fn check_param(
        &self,
        id: &str,
        name: &str,
        values: &[String],
        schema: &Value,
        problems: &mut Vec<String>,
    ) {
        let schema = self.resolve(schema);
        let scalar = |schema: &Value, value: &str| -> Result<Value, String> {
            let schema = self.resolve(schema);
            match schema["type"].as_str() {
                Some("integer") => value
                    .parse::<i64>()
                    .map(|n| json!(n))
                    .map_err(|_| "not an integer".to_owned()),
                Some("number") => value
                    .parse::<f64>()
                    .map(|n| json!(n))
                    .map_err(|_| "not a number".to_owned()),
                Some("boolean") => match value {
                    "true" => Ok(json!(true)),
                    "false" => Ok(json!(false)),
                    _ => Err("not a boolean".to_owned()),
                },
                _ => Ok(json!(value)),
            }
        };
        let typed = if schema["type"] == "array" {
            let items: Result<Vec<Value>, String> =
                values.iter().map(|v| scalar(&schema["items"], v)).collect();
            items.map(Value::Array)
        } else if values.len() == 1 {
            scalar(schema, &values[0])
        } else {
            Err(format!("given {} times", values.len()))
        };
        match typed {
            Ok(instance) => {
                for error in self.validate(schema, &instance) {
                    problems.push(format!("{id}: parameter {name}: {error}"));
                }
            }
            Err(why) => problems.push(format!("{id}: parameter {name}={values:?}: {why}")),
        }
    }

    /// Problems with an answer to `method path` (as sent to the server) with `status`: the status
    /// is declared (or a `default` is), a declared JSON body matches its schema, and an answer
    /// declared without content has no body.
    pub(crate) fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Vec<String> {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let Some((template, _)) = self.operation(method, path) else {
            return vec![format!(
                "{method} {path}: no such operation in {}",
                self.name
            )];
        };
        let op = self.op(method, &template);
        let responses = &op["responses"];
        let range = format!("{}XX", status / 100);
        let Some(response) = [status.to_string(), range, "default".into()]
            .iter()
            .find_map(|k| responses.get(k))
        else {
            return vec![format!(
                "{method} {template}: status {status} is not declared"
            )];
        };
        let response = self.resolve(response);
        let json = &response["content"]["application/json"];
        if response["content"].is_null() {
            return if body.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "{method} {template} ({status}): declared without content, got {} bytes",
                    body.len()
                )]
            };
        }
        if json.is_null() {
            return Vec::new();
        }
        if !content_type.is_some_and(|c| c.starts_with("application/json")) {
            return vec![format!(
                "{method} {template} ({status}): content-type {content_type:?} is not application/json"
            )];
        }
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return vec![format!("{method} {template} ({status}): not JSON: {e}")],
        };
        self.validate(&json["schema"], &instance)
            .into_iter()
            .take(8)
            .map(|e| format!("answer to {method} {template} ({status}) {e}"))
            .collect()
    }

    /// Errors of `instance` against an OpenAPI schema of this description (strict objects).
    pub(crate) fn validate(&self, schema: &Value, instance: &Value) -> Vec<String> {
        let schema = self.to_json_schema(schema, 0);
        let validator = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{}: a schema does not compile: {e}", self.name));
        validator
            .iter_errors(instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }

    /// An OpenAPI 3.0 schema as JSON Schema draft 4: `$ref`s inlined, `nullable` as a `null`
    /// alternative, OpenAPI-only keywords dropped, `allOf` of objects merged into one object, and
    /// every object that lists its properties closed to others.
    fn to_json_schema(&self, v: &Value, depth: usize) -> Value {
        if depth > 40 {
            return json!({});
        }
        let v = self.resolve(v);
        let Value::Object(m) = v else {
            return v.clone();
        };
        if let Some(merged) = self.merge_all_of(m, depth) {
            return merged;
        }
        let mut out = Map::new();
        for (k, val) in m {
            let converted = match k.as_str() {
                "nullable" | "example" | "examples" | "discriminator" | "readOnly"
                | "writeOnly" | "xml" | "externalDocs" | "deprecated" | "description" | "title" => {
                    continue;
                }
                k if k.starts_with("x-") => continue,
                "properties" => Value::Object(
                    val.as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), self.to_json_schema(v, depth + 1)))
                        .collect(),
                ),
                "items" | "not" => self.to_json_schema(val, depth + 1),
                "additionalProperties" if val.is_object() => self.to_json_schema(val, depth + 1),
                "oneOf" | "anyOf" | "allOf" => Value::Array(
                    val.as_array()
                        .into_iter()
                        .flatten()
                        .map(|s| self.to_json_schema(s, depth + 1))
                        .collect(),
                ),
                _ => val.clone(),
            };
            out.insert(k.clone(), converted);
        }
        if out.contains_key("properties") && !out.contains_key("additionalProperties") {
            out.insert("additionalProperties".into(), json!(false));
        }
        let schema = Value::Object(out);
        if m.get("nullable") == Some(&Value::Bool(true)) {
            json!({ "anyOf": [schema, { "type": "null" }] })
        } else {
            schema
        }
    }

    /// An `allOf` whose members describe parts of one object, as that object: properties and
    /// `required` united (closed to others unless a member allows them); what else a member says
    /// (`oneOf`, bounds…) kept alongside. `None` when a member is not about an object's fields.
    fn merge_all_of(&self, m: &Map<String, Value>, depth: usize) -> Option<Value> {
        let members = m.get("allOf")?.as_array()?;
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        let mut open = false;
        let mut rest: Vec<Value> = Vec::new();
        // The siblings of `allOf` are one more member.
        let own: Map<String, Value> = m
            .iter()
            .filter(|(k, _)| *k != "allOf")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut all: Vec<Value> = members.iter().map(|s| self.resolve(s).clone()).collect();
        all.push(Value::Object(own));
        for member in &all {
            let member = match member.get("allOf") {
                // A nested allOf: merge it first.
                Some(_) => self.merge_all_of(member.as_object()?, depth + 1)?,
                None => member.clone(),
            };
            let Value::Object(member) = member else {
                return None;
            };
            if member.get("type").is_some_and(|t| t != "object") {
                return None;
            }
            let mut leftover = Map::new();
            for (k, v) in &member {
                match k.as_str() {
                    "properties" => {
                        for (name, schema) in v.as_object()? {
                            properties.insert(name.clone(), self.to_json_schema(schema, depth + 1));
                        }
                    }
                    "required" => required.extend(v.as_array()?.iter().cloned()),
                    "additionalProperties" => open = open || v != &Value::Bool(false),
                    "type" | "nullable" | "example" | "examples" | "description" | "title"
                    | "readOnly" | "writeOnly" | "deprecated" | "externalDocs"
                    | "discriminator" => {}
                    k if k.starts_with("x-") => {}
                    _ => {
                        leftover.insert(k.clone(), v.clone());
                    }
                }
            }
            if !leftover.is_empty() {
                // Checked as written, without closing objects it does not describe.
                let mut loose = self.to_json_schema(&Value::Object(leftover), depth + 1);
                if let Some(o) = loose.as_object_mut() {
                    o.remove("additionalProperties");
                }
                rest.push(loose);
            }
        }
        let mut out = json!({ "type": "object", "properties": properties });
        if !required.is_empty() {
            out["required"] = Value::Array(required);
        }
        if !open {
            out["additionalProperties"] = json!(false);
        }
        if !rest.is_empty() {
            out["allOf"] = Value::Array(rest);
        }
        Some(out)
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A JSON or YAML file as JSON.
fn read_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    if ext == "json" {
        return serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    docs.first().map_or(Value::Null, yaml_to_json)
}

fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Real(s) => s.parse::<f64>().map_or_else(|_| json!(s), |f| json!(f)),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => panic!("unsupported YAML key {other:?}"),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Yaml::Null => Value::Null,
        Yaml::Alias(_) | Yaml::BadValue => panic!("unsupported YAML value {y:?}"),
    }
}

/// A JSON Pointer token for `text`.
fn escape(text: &str) -> String {
    text.replace('~', "~0").replace('/', "~1")
}

/// Rewrites the `$ref`s of the file `key` (a path relative to the root description's folder) to
/// pointers into the bundle, queueing the files they name.
fn rewrite_refs(v: &mut Value, key: &str, is_root: bool, todo: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                let (file, fragment) = r.split_once('#').unwrap_or((r.as_str(), ""));
                let (file, fragment) = (file.to_owned(), fragment.to_owned());
                *r = if file.is_empty() && is_root {
                    format!("#{fragment}")
                } else if file.is_empty() {
                    format!("#/x-bundle/{}{fragment}", escape(key))
                } else {
                    let dir = Path::new(key).parent().unwrap_or(Path::new(""));
                    let target = normalize(&dir.join(&file));
                    let pointer = format!("#/x-bundle/{}{fragment}", escape(&target));
                    todo.push(target);
                    pointer
                };
            }
            for child in m.values_mut() {
                rewrite_refs(child, key, is_root, todo);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| rewrite_refs(i, key, is_root, todo)),
        _ => {}
    }
}

/// `a/b/../c.yml` → `a/c.yml`, with `/` separators.
fn normalize(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                parts.pop();
            }
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}
