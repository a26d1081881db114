//! The environment-variable layer: the predecessor's flat names and the nested `COACH_PLANS__SECTION__KEY` form,
//! read from an explicit map (never from the process environment directly, so tests need not mutate it).

use std::collections::HashMap;
use std::fmt;

use config::{ConfigError, Map, Source, Value, ValueKind};

use super::keys::{self, NESTED_ENV_PREFIX, env_origin};

/// Settings read from environment variables, keyed by dotted setting name; each value's origin names its variable.
#[derive(Clone, Default)]
pub(crate) struct EnvLayer {
    values: Map<String, Value>,
}

impl EnvLayer {
    /// Reads the settings from `env`. Empty values count as unset; when a flat and a nested variable name the same
    /// setting, the nested one wins. Nested names that match no setting are kept, so that they are reported as unknown.
    pub(crate) fn new(env: &HashMap<String, String>) -> Self {
        let mut values = Map::new();
        let mut flat: Vec<(&String, &String)> =
            env.iter().filter(|(name, _)| keys::by_flat_env(name).is_some()).collect();
        flat.sort();
        for (name, value) in flat {
            if let Some(key) = keys::by_flat_env(name).filter(|_| !value.trim().is_empty()) {
                values.insert(key.name.to_owned(), string(name, value));
            }
        }
        let mut nested: Vec<(&String, &String)> = env
            .iter()
            .filter(|(name, value)| name.starts_with(NESTED_ENV_PREFIX) && !value.trim().is_empty())
            .collect();
        nested.sort();
        for (name, value) in nested {
            let key = name[NESTED_ENV_PREFIX.len()..].split("__").collect::<Vec<_>>().join(".").to_ascii_lowercase();
            values.insert(key, string(name, value));
        }
        Self { values }
    }

    /// The token's text, when the environment sets one (to scrub it from messages as a precaution).
    pub(crate) fn token(&self) -> Option<&str> {
        match &self.values.get("discord.token")?.kind {
            ValueKind::String(token) => Some(token),
            _ => None,
        }
    }
}

fn string(name: &str, value: &str) -> Value {
    Value::new(Some(&env_origin(name)), ValueKind::String(value.to_owned()))
}

impl fmt::Debug for EnvLayer {
    /// Lists the setting names only: values may hold the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.values.keys().collect();
        names.sort();
        f.debug_struct("EnvLayer").field("settings", &names).finish()
    }
}

impl Source for EnvLayer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, ConfigError> {
        Ok(self.values.clone())
    }
}
