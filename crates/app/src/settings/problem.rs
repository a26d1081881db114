//! Configuration problems: one [`Problem`] per bad setting, gathered into one [`SettingsError`].

use std::fmt;

/// One bad setting: which, where it is set, what is wrong and how to fix it.
///
/// Displayed as `- <setting> (<source>): <problem>; <fix>`, e.g.
/// `- api.port (API_PORT): `abc` is not a port number from 0 to 65535; use e.g. 8080 (0 picks a free port)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting's name, e.g. `api.port`, or what else is wrong, e.g. `config file`.
    pub setting: String,
    /// Where to set it: its environment variable (e.g. `API_PORT`), or the file or flag at fault.
    pub source: String,
    /// What is wrong.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl Problem {
    pub(crate) fn new(
        setting: impl Into<String>,
        source: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self { setting: setting.into(), source: source.into(), problem: problem.into(), fix: fix.into() }
    }

    /// Replaces every occurrence of `secret` in the problem's text (defence in depth: no message is built from the token).
    pub(crate) fn redact(&mut self, secret: &str) {
        for text in [&mut self.setting, &mut self.source, &mut self.problem, &mut self.fix] {
            if text.contains(secret) {
                *text = text.replace(secret, "[REDACTED]");
            }
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "- {} ({}): {}", self.setting, self.source, self.problem)?;
        if self.fix.is_empty() { Ok(()) } else { write!(f, "; {}", self.fix) }
    }
}

/// The configuration is unusable: every problem found, each on its own line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    problems: Vec<Problem>,
}

impl SettingsError {
    /// `Ok` when there is no problem, else an error with all of them.
    pub(crate) fn from_problems(problems: Vec<Problem>) -> Result<(), Self> {
        if problems.is_empty() { Ok(()) } else { Err(Self { problems }) }
    }

    /// An error with these problems (for checks made outside the loader, e.g. a command's own arguments).
    pub fn new(problems: Vec<Problem>) -> Self {
        Self { problems }
    }

    pub(crate) fn single(problem: Problem) -> Self {
        Self { problems: vec![problem] }
    }

    /// Every problem, in the order of the settings.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.len() {
            1 => f.write_str("the configuration has a problem:")?,
            n => write!(f, "the configuration has {n} problems:")?,
        }
        for problem in &self.problems {
            write!(f, "\n{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SettingsError {}
