//! docs/configuration.md documents every setting of config/base.yaml (which holds exactly the built-in defaults),
//! with its environment variable.

use std::path::Path;

/// `(dotted name, environment variable)` of every setting in base.yaml, read from its keys and `[ENV]` comments.
fn settings_of_base_yaml(text: &str) -> Vec<(String, String)> {
    let mut settings = Vec::new();
    let mut section = None;
    let mut comment = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_suffix(':').filter(|l| !l.starts_with([' ', '#'])) {
            section = Some(name.to_owned());
            comment.clear();
        } else if let Some(text) = line.strip_prefix("  # ") {
            comment.push_str(text);
            comment.push(' ');
        } else if let (Some(section), Some((key, _))) =
            (&section, line.strip_prefix("  ").and_then(|l| l.split_once(':')))
            && !key.starts_with([' ', '-', '#'])
        {
            let env = comment
                .rsplit_once('[')
                .and_then(|(_, rest)| rest.split([']', ',']).next())
                .map(str::trim)
                .unwrap_or_default()
                .to_owned();
            settings.push((format!("{section}.{key}"), env));
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
