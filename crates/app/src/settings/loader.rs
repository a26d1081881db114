//! Loading settings: the layers, their order, and the checks that turn raw values into [`Settings`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use config::{Config, ConfigError, FileFormat, Format, Map, Source, Value, ValueKind};

use super::env::EnvLayer;
use super::keys::{self, KEYS, SECTIONS};
use super::problem::{Problem, SettingsError};
use super::{Environment, Settings, validate};

/// Environment variable choosing the environment file: `local` (default) or `production`.
const APP_ENVIRONMENT: &str = "APP_ENVIRONMENT";
/// Environment variable naming the directory of `base.yaml` and the environment files (default `config`).
const APP_CONFIG_DIR: &str = "APP_CONFIG_DIR";
/// Origin of command-line overrides, as shown in messages.
const COMMAND_LINE: &str = "the command line";

/// Loads [`Settings`] from their layers, lowest to highest:
///
/// 1. built-in defaults;
/// 2. `base.yaml` in the configuration directory (`config/` of the working directory unless [`Self::config_dir`] or
///    `APP_CONFIG_DIR` says otherwise), when present;
/// 3. `{APP_ENVIRONMENT}.yaml` beside it (`local.yaml` unless `APP_ENVIRONMENT=production`), when present;
/// 4. the file given to [`Self::config_file`] (`--config FILE`), which must exist;
/// 5. environment variables, from the map given to [`Self::env`] (empty values count as unset);
/// 6. overrides from command-line flags ([`Self::set_override`]).
///
/// ```
/// let settings = app::SettingsLoader::new()
///     .env([("API_PORT", "9000"), ("LOG_FORMAT", "json")])
///     .config_dir("/nonexistent")
///     .set_override("api.host", "0.0.0.0")
///     .load()
///     .expect("valid settings");
/// assert_eq!(settings.api.address(), "0.0.0.0:9000");
/// ```
#[derive(Clone, Default)]
pub struct SettingsLoader {
    env: HashMap<String, String>,
    config_dir: Option<PathBuf>,
    config_file: Option<PathBuf>,
    overrides: Vec<(String, String)>,
}

impl SettingsLoader {
    /// A loader with an empty environment and the default configuration directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// A loader reading the process environment (variables that are not valid UTF-8 are left out).
    pub fn from_process_env() -> Self {
        Self::new().env(std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))))
    }

    /// Uses these environment variables (replacing any given before).
    pub fn env<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self
    }

    /// Reads `base.yaml` and the environment files from `dir` instead of `config` (or `APP_CONFIG_DIR`).
    pub fn config_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(dir.into());
        self
    }

    /// Adds an explicit configuration file (`--config FILE`) above the environment file; `None` adds none.
    pub fn config_file(mut self, file: impl Into<Option<PathBuf>>) -> Self {
        self.config_file = file.into();
        self
    }

    /// Sets `key` (a dotted setting name such as `api.port`) above every other layer, as a command-line flag does.
    pub fn set_override(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.push((key.into(), value.into()));
        self
    }

    /// [`Self::set_override`] when `value` is `Some` (a flag that was given); nothing otherwise.
    pub fn set_override_opt(self, key: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.set_override(key, value),
            None => self,
        }
    }

    /// The configuration files that [`Self::load`] reads, lowest layer first: those present of `base.yaml` and the
    /// environment file, then the explicit file (whether present or not).
    pub fn files(&self) -> Vec<PathBuf> {
        let (files, _) = self.file_plan();
        files.into_iter().filter(|(path, required)| *required || path.is_file()).map(|(path, _)| path).collect()
    }

    /// Loads, checks and returns the settings.
    ///
    /// # Errors
    /// [`SettingsError`] listing every problem found: unreadable or malformed files, a missing `--config` file,
    /// values of the wrong type, unknown settings, and every value [`Settings::validate`] refuses.
    /// No message contains the Discord token.
    pub fn load(&self) -> Result<Settings, SettingsError> {
        let mut problems = Vec::new();
        let (files, environment_problem) = self.file_plan();
        problems.extend(environment_problem);

        let mut builder = Config::builder();
        for (path, required) in files {
            match FileLayer::read(&path, required) {
                Ok(Some(layer)) => builder = builder.add_source(layer),
                Ok(None) => {}
                Err(problem) => problems.push(problem),
            }
        }
        let env_layer = EnvLayer::new(&self.env);
        builder = builder.add_source(env_layer.clone());
        for (key, value) in &self.overrides {
            if keys::find(key).is_none() {
                problems.push(Problem::new(
                    key.as_str(),
                    COMMAND_LINE,
                    "unknown setting",
                    format!("use one of {}", KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")),
                ));
                continue;
            }
            let value = Value::new(Some(&COMMAND_LINE.to_owned()), ValueKind::String(value.clone()));
            builder = match builder.set_override(key.as_str(), value) {
                Ok(builder) => builder,
                Err(error) => return Err(internal(error, problems)),
            };
        }
        let root = match builder.build().and_then(|config| config.collect()) {
            Ok(root) => root,
            Err(error) => return Err(internal(error, problems)),
        };

        let mut canonical: Map<String, Value> = Map::new();
        for key in KEYS {
            let (section, field) = key.path();
            let Some(raw) = lookup(&root, section, field) else { continue };
            match key.normalize(raw) {
                Ok(Some(value)) => insert(&mut canonical, section, field, value),
                Ok(None) => {}
                Err(mut bad) => problems.append(&mut bad),
            }
        }
        problems.extend(unknown_settings(&root));

        let canonical = Value::new(None, ValueKind::Table(canonical));
        let settings: Settings = match canonical.try_deserialize() {
            Ok(settings) => settings,
            Err(error) => return Err(internal(error, problems)),
        };
        let reported: BTreeSet<String> = problems.iter().map(|p| p.setting.clone()).collect();
        problems.extend(validate::problems(&settings).into_iter().filter(|p| !reported.contains(&p.setting)));

        problems.sort_by_key(|p| rank(&p.setting));

        let mut secrets: Vec<String> = env_layer.token().map(str::to_owned).into_iter().collect();
        if let Some(token) = lookup(&root, "discord", "token").and_then(|v| v.clone().into_string().ok()) {
            secrets.push(token);
        }
        for problem in &mut problems {
            for secret in secrets.iter().map(|s| s.trim()).filter(|s| s.len() >= 8) {
                problem.redact(secret);
            }
        }
        SettingsError::from_problems(problems).map(|()| settings)
    }

    /// The files to layer, each with whether it must exist, and a problem with `APP_ENVIRONMENT` if any.
    fn file_plan(&self) -> (Vec<(PathBuf, bool)>, Option<Problem>) {
        let var = |name: &str| self.env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let (environment, problem) = match var(APP_ENVIRONMENT).map(str::parse::<Environment>) {
            None => (Environment::Local, None),
            Some(Ok(environment)) => (environment, None),
            Some(Err(wrong)) => (
                Environment::Local,
                Some(Problem::new(
                    "environment",
                    APP_ENVIRONMENT,
                    wrong,
                    "use local or production, or leave it unset for local",
                )),
            ),
        };
        let dir = self
            .config_dir
            .clone()
            .or_else(|| var(APP_CONFIG_DIR).map(PathBuf::from))
            .unwrap_or_else(|| "config".into());
        let mut files = vec![(dir.join("base.yaml"), false), (dir.join(format!("{environment}.yaml")), false)];
        files.extend(self.config_file.clone().map(|file| (file, true)));
        (files, problem)
    }
}

impl fmt::Debug for SettingsLoader {
    /// Shows environment variable names only: their values may hold the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut env: Vec<&String> = self.env.keys().collect();
        env.sort();
        f.debug_struct("SettingsLoader")
            .field("env", &env)
            .field("config_dir", &self.config_dir)
            .field("config_file", &self.config_file)
            .field("overrides", &self.overrides)
            .finish()
    }
}

/// One YAML configuration file, parsed.
#[derive(Clone)]
struct FileLayer {
    values: Map<String, Value>,
}

impl FileLayer {
    /// Reads and parses `path`. A missing file is `None` unless `required`.
    fn read(path: &Path, required: bool) -> Result<Option<Self>, Problem> {
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(Problem::new(
                    "config file",
                    shown,
                    "the file does not exist",
                    "check the path given to --config, or leave --config out",
                ));
            }
            Err(error) => {
                return Err(Problem::new(
                    "config file",
                    shown,
                    format!("the file cannot be read: {error}"),
                    "make it a readable YAML file",
                ));
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        match Format::parse(&FileFormat::Yaml, Some(&shown), text) {
            Ok(values) => Ok(Some(Self { values })),
            Err(error) => Err(Problem::new(
                "config file",
                shown,
                format!("the file is not valid YAML: {error}"),
                "fix its syntax; it must be a mapping of sections as in config/base.yaml",
            )),
        }
    }
}

impl fmt::Debug for FileLayer {
    /// Shows the sections only: values may hold the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sections: Vec<&String> = self.values.keys().collect();
        sections.sort();
        f.debug_struct("FileLayer").field("sections", &sections).finish()
    }
}

impl Source for FileLayer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.values.clone())
    }
}

/// A failure of the configuration machinery itself, after the problems found so far.
fn internal(error: ConfigError, mut problems: Vec<Problem>) -> SettingsError {
    problems.push(Problem::new(
        "configuration",
        "all layers",
        format!("the settings cannot be assembled: {error}"),
        "check the configuration files against config/base.yaml",
    ));
    match SettingsError::from_problems(problems) {
        Err(error) => error,
        Ok(()) => SettingsError::single(Problem::new("configuration", "all layers", "unknown failure", "report a bug")),
    }
}

/// Where a problem is listed: problems with the files and the environment first, then settings in catalogue order,
/// then unknown settings.
fn rank(setting: &str) -> usize {
    match KEYS.iter().position(|k| k.name == setting) {
        Some(index) => index + 1,
        None if setting == "environment" || setting == "config file" => 0,
        None => usize::MAX,
    }
}

/// The value at `section` then `field`, a dotted path within the section (`rate_limit.per_second`).
fn lookup<'a>(root: &'a Map<String, Value>, section: &str, field: &str) -> Option<&'a Value> {
    let mut value = root.get(section)?;
    for part in field.split('.') {
        match &value.kind {
            ValueKind::Table(table) => value = table.get(part)?,
            _ => return None,
        }
    }
    Some(value)
}

fn insert(root: &mut Map<String, Value>, section: &str, field: &str, value: Value) {
    let mut table = root;
    let mut parts: Vec<&str> = std::iter::once(section).chain(field.split('.')).collect();
    let Some(last) = parts.pop() else { return };
    for part in parts {
        let entry = table.entry(part.to_owned()).or_insert_with(|| Value::new(None, ValueKind::Table(Map::new())));
        match &mut entry.kind {
            ValueKind::Table(inner) => table = inner,
            _ => return,
        }
    }
    table.insert(last.to_owned(), value);
}

/// Problems for the settings under `prefix` (a section, or a group within one such as `api.rate_limit`) that do not
/// exist.
fn unknown_fields(prefix: &str, table: &Map<String, Value>, problems: &mut Vec<Problem>) {
    let mut fields: Vec<(&String, &Value)> = table.iter().collect();
    fields.sort_by_key(|(name, _)| *name);
    for (field, value) in fields {
        let name = format!("{prefix}.{field}");
        if keys::find(&name).is_some() {
            continue;
        }
        let group = format!("{name}.");
        if let ValueKind::Table(inner) = &value.kind
            && KEYS.iter().any(|k| k.name.starts_with(&group))
        {
            unknown_fields(&name, inner, problems);
            continue;
        }
        let mut known: Vec<&str> = Vec::new();
        for name in KEYS.iter().filter_map(|k| k.name.strip_prefix(prefix)?.strip_prefix('.')) {
            let first = name.split('.').next().unwrap_or(name);
            if !known.contains(&first) {
                known.push(first);
            }
        }
        problems.push(Problem::new(
            name,
            where_set(value),
            "unknown setting",
            format!("check the spelling; {prefix} has {}", known.join(", ")),
        ));
    }
}

/// Problems for sections and settings that do not exist (typos), in name order.
fn unknown_settings(root: &Map<String, Value>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut sections: Vec<(&String, &Value)> = root.iter().collect();
    sections.sort_by_key(|(name, _)| *name);
    for (section, value) in sections {
        if !SECTIONS.contains(&section.as_str()) {
            problems.push(Problem::new(
                section.as_str(),
                where_set(value),
                "unknown section",
                format!("check the spelling; the sections are {}", SECTIONS.join(", ")),
            ));
            continue;
        }
        match &value.kind {
            ValueKind::Table(table) => unknown_fields(section, table, &mut problems),
            ValueKind::Nil => {}
            _ => problems.push(Problem::new(
                section.as_str(),
                where_set(value),
                format!("{} is not a section", keys::shown(value)),
                format!("write {section} as a mapping of settings, as in config/base.yaml"),
            )),
        }
    }
    problems
}

/// Where a value was set, for the parenthesis of a problem: the environment variable's name, the file, or the command line.
fn where_set(value: &Value) -> String {
    fn origin(value: &Value) -> Option<String> {
        if let Some(origin) = value.origin() {
            return Some(origin.strip_prefix("environment variable ").unwrap_or(origin).to_owned());
        }
        match &value.kind {
            ValueKind::Table(table) => table.values().find_map(origin),
            ValueKind::Array(items) => items.iter().find_map(origin),
            _ => None,
        }
    }
    origin(value).unwrap_or_else(|| "unknown origin".to_owned())
}
