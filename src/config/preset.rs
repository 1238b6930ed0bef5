//! Presets: complete `http` descriptions of hosted platforms shipped in the binary, so that their
//! users write only their ids and a token.
//!
//! `[platform] preset = "<name>"` puts the preset's `ferry.toml` (the file under
//! `examples/platforms/<name>.toml`, embedded) under the user's file: key by key, the user's
//! values win, tables merge, arrays and values replace. The merged table is then read like any
//! `ferry.toml`, so every check applies to it.

use toml::{Table, Value};

use crate::error::{Error, Result, quote};

/// The presets ferry ships: name → description.
pub(crate) const PRESETS: &[(&str, &str)] = &[
    (
        "digitalocean",
        include_str!("../../examples/platforms/digitalocean.toml"),
    ),
    (
        "heroku",
        include_str!("../../examples/platforms/heroku.toml"),
    ),
    (
        "netlify",
        include_str!("../../examples/platforms/netlify.toml"),
    ),
    (
        "render",
        include_str!("../../examples/platforms/render.toml"),
    ),
];

/// `table` with its preset (if `[platform] preset` names one) merged under it, `preset` removed.
/// `None` when the file names no preset.
pub(crate) fn apply(table: &Table, path: &str) -> Result<Option<Table>> {
    apply_from(table, path, PRESETS)
}

pub(super) fn apply_from(
    table: &Table,
    path: &str,
    presets: &[(&str, &str)],
) -> Result<Option<Table>> {
    let Some(name) = table
        .get("platform")
        .and_then(Value::as_table)
        .and_then(|p| p.get("preset"))
    else {
        return Ok(None);
    };
    let Some(name) = name.as_str() else {
        return Err(unknown(path, &name.to_string(), presets));
    };
    let Some((_, text)) = presets.iter().find(|(n, _)| *n == name) else {
        return Err(unknown(path, name, presets));
    };
    let base: Table = text.parse().map_err(|e| Error::Internal {
        what: format!("the {name} preset does not parse: {e}"),
    })?;
    let mut merged = base;
    merge(&mut merged, table);
    if let Some(Value::Table(platform)) = merged.get_mut("platform") {
        platform.remove("preset");
    }
    Ok(Some(merged))
}

/// Puts `over` on top of `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut Table, over: &Table) {
    for (key, value) in over {
        match (base.get_mut(key), value) {
            (Some(Value::Table(b)), Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(key.clone(), value.clone());
            }
        }
    }
}

fn unknown(path: &str, name: &str, presets: &[(&str, &str)]) -> Error {
    let names: Vec<&str> = presets.iter().map(|(n, _)| *n).collect();
    let fix = if names.is_empty() {
        "remove `preset`: this ferry ships no presets".to_string()
    } else {
        format!(
            "use one of: {} (or describe the platform yourself in [platform] and the phases)",
            names.join(", ")
        )
    };
    Error::ConfigFile {
        path: format!("{path} [platform]"),
        message: format!("preset = {} names no preset\n  fix: {fix}", quote(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: &str = r#"
[platform]
name = "Shop PaaS"
url = "https://api.shop.example"
headers = { Accept = "application/vnd.shop+json" }

[vars]
region = "eu"

[deploy.trigger]
path = "/apps/{{ vars.app }}/deploys"
id = "/id"
"#;

    fn table(text: &str) -> Table {
        text.parse().unwrap()
    }

    #[test]
    fn the_user_s_keys_win_and_tables_merge() {
        let user = table(
            "[platform]\npreset = \"shop\"\nheaders = { X-Team = \"a\" }\n[vars]\napp = \"web\"\n[deploy.trigger]\nid = \"/deploy/id\"\n",
        );
        let merged = apply_from(&user, "ferry.toml", &[("shop", SHOP)])
            .unwrap()
            .unwrap();
        let platform = merged["platform"].as_table().unwrap();
        assert!(!platform.contains_key("preset"));
        assert_eq!(platform["url"].as_str(), Some("https://api.shop.example"));
        let headers = platform["headers"].as_table().unwrap();
        assert_eq!(headers.len(), 2, "{headers:?}");
        assert_eq!(merged["vars"]["region"].as_str(), Some("eu"));
        assert_eq!(merged["vars"]["app"].as_str(), Some("web"));
        let trigger = merged["deploy"]["trigger"].as_table().unwrap();
        assert_eq!(trigger["id"].as_str(), Some("/deploy/id"));
        assert_eq!(
            trigger["path"].as_str(),
            Some("/apps/{{ vars.app }}/deploys")
        );
    }

    #[test]
    fn no_preset_is_no_change_and_an_unknown_one_is_named() {
        assert!(
            apply_from(
                &table("[platform]\nurl = \"https://x\"\n"),
                "f",
                &[("shop", SHOP)]
            )
            .unwrap()
            .is_none()
        );
        let err = apply_from(
            &table("[platform]\npreset = \"shp\"\n"),
            "f",
            &[("shop", SHOP)],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("\"shp\" names no preset"), "{err}");
        assert!(err.contains("use one of: shop"), "{err}");
    }
}
