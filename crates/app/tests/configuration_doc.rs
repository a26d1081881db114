//! docs/configuration.md documents every setting of config/base.yaml (which holds exactly the built-in defaults),
//! with its environment variable.

use std::path::Path;

/// `(dotted name, environment variable)` of every setting in base.yaml, read from its keys and `[ENV]` comments. A
/// key without a value at the second level opens a group of settings (`api.rate_limit`), whose keys are indented
/// once more.
fn settings_of_base_yaml(text: &str) -> Vec<(String, String)> {
    let mut settings = Vec::new();
    let mut section: Option<String> = None;
    let mut group: Option<String> = None;
    let mut comment = String::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        if let Some(name) = line.strip_suffix(':').filter(|l| !l.starts_with([' ', '#'])) {
            section = Some(name.to_owned());
            group = None;
            comment.clear();
        } else if let Some(text) = trimmed.strip_prefix("# ").filter(|_| indent > 0) {
            comment.push_str(text);
            comment.push(' ');
        } else if let (Some(section), Some((key, value))) = (&section, trimmed.split_once(':'))
            && indent > 0
            && !key.starts_with(['-', '#'])
        {
            if indent == 2 {
                group = None;
            }
            if indent == 2 && value.trim().is_empty() && key != "coaches" {
                group = Some(key.to_owned());
                comment.clear();
                continue;
            }
            if indent > 4 {
                continue;
            }
            let env = comment
                .rsplit_once('[')
                .and_then(|(_, rest)| rest.split([']', ',']).next())
                .map(str::trim)
                .unwrap_or_default()
                .to_owned();
            let name = match (&group, indent) {
                (Some(group), 4) => format!("{section}.{group}.{key}"),
                _ => format!("{section}.{key}"),
            };
            settings.push((name, env));
            comment.clear();
        }
    }
    settings
}

#[test]
fn every_setting_is_documented_with_its_environment_variable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let base = std::fs::read_to_string(root.join("config/base.yaml")).unwrap();
    let doc = std::fs::read_to_string(root.join("docs/configuration.md")).unwrap();
    let settings = settings_of_base_yaml(&base);
    assert!(settings.len() >= 25, "base.yaml was read: {settings:?}");
    for (name, env) in settings {
        assert!(!env.is_empty(), "{name} has no [ENV] comment in base.yaml");
        let row = doc
            .lines()
            .find(|line| line.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("docs/configuration.md has no row for `{name}`"));
        assert!(row.contains(&format!("`{env}`")), "the row of `{name}` names `{env}`: {row}");
    }
}
