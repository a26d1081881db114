//! The secret check of `cargo xtask ci`: the test suite runs with `TEST_LOG_FILE` set, so every test subscriber
//! appends every log line, at every level, to one file; this module then looks in each line for each secret of
//! `crates/app/src/test_secrets.rs`, and checks that the test binaries that exercise the token did write there.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

/// Where the secrets are declared, from the workspace root.
pub const SECRETS_FILE: &str = "crates/app/src/test_secrets.rs";

/// Test binaries whose lines must be in the file: the bot end to end (the token in every IDENTIFY, RESUME and REST
/// call), its trace-level log test, the HTTP API (sent the API credential), and the built `plan-server` run as a
/// process (what its children print). Without their lines the check would prove nothing.
pub const REQUIRED_BINARIES: [&str; 4] = ["bot", "logs", "api", "process"];

/// The line each test binary writes first (`app::telemetry::test_log_file`).
const STARTED: &str = "test log capture started: ";

/// The secrets declared in `text` (the secrets file): `pub const NAME: &str = "VALUE";`, one per line.
pub fn read_secrets(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("pub const ")?;
            let (name, rest) = rest.split_once(": &str = \"")?;
            let value = rest.strip_suffix("\";")?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// What the scan of the captured lines found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Lines read.
    pub lines: u64,
    /// Test binaries that started writing.
    pub binaries: BTreeSet<String>,
    /// Each line holding a secret: its number (from 1), the secret's name, and the line (cut to 300 characters).
    pub leaks: Vec<(u64, String, String)>,
}

/// Reads the captured lines from `reader`, looking for every secret.
///
/// # Errors
/// When reading fails.
pub fn scan(reader: impl std::io::BufRead, secrets: &[(String, String)]) -> Result<Scan> {
    let mut scan = Scan::default();
    for line in reader.split(b'\n') {
        let line = line.context("reading the captured test log")?;
        let line = String::from_utf8_lossy(&line);
        scan.lines += 1;
        if let Some(binary) = line.strip_prefix(STARTED) {
            scan.binaries.insert(binary.trim().to_owned());
        }
        for (name, value) in secrets {
            if line.contains(value.as_str()) {
                scan.leaks.push((scan.lines, name.clone(), line.chars().take(300).collect()));
            }
        }
    }
    Ok(scan)
}

/// Checks the file `log` written by the test run at `root`; returns the line to print when it passes.
///
/// # Errors
/// When a secret is in a line, when a required test binary wrote nothing, or when a file cannot be read.
pub fn check(root: &Path, log: &Path) -> Result<String> {
    let secrets_path = root.join(SECRETS_FILE);
    let text = fs::read_to_string(&secrets_path).with_context(|| format!("reading {}", secrets_path.display()))?;
    let secrets = read_secrets(&text);
    if secrets.is_empty() {
        bail!("{} declares no secret; keep them as `pub const NAME: &str = \"value\";`", secrets_path.display());
    }
    let file = File::open(log).with_context(|| format!("the test run wrote no log file at {}", log.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let scan = scan(BufReader::new(file), &secrets)?;
    if let Some((line, name, text)) = scan.leaks.first() {
        bail!(
            "{} captured log line(s) of the test run hold a secret; the first, {}:{line}, holds {name}: {text}",
            scan.leaks.len(),
            log.display()
        );
    }
    let missing: Vec<&str> = REQUIRED_BINARIES.into_iter().filter(|b| !scan.binaries.contains(*b)).collect();
    if !missing.is_empty() {
        bail!(
            "test binaries {} wrote nothing to {}; their subscribers must add the TEST_LOG_FILE capture",
            missing.join(", "),
            log.display()
        );
    }
    let names: Vec<&str> = secrets.iter().map(|(name, _)| name.as_str()).collect();
    Ok(format!(
        "secrets: none of {} ({}) in the {} log lines ({:.1} MB) written by test binaries {}",
        secrets.len(),
        names.join(", "),
        scan.lines,
        size as f64 / 1_048_576.0,
        scan.binaries.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Vec<(String, String)> {
        vec![("BOT".into(), "tok-abc-123".into()), ("API".into(), "cred-xyz".into())]
    }

    #[test]
    fn the_secrets_file_declares_every_test_secret() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let secrets = read_secrets(&fs::read_to_string(root.join(SECRETS_FILE)).unwrap());
        let names: Vec<&str> = secrets.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["DISCORD_BOT_TOKEN", "EMULATOR_DEFAULT_TOKEN", "API_CREDENTIAL", "SETTINGS_TOKEN", "POSTGRES_PASSWORD"]
        );
        assert!(secrets.iter().all(|(_, v)| v.len() >= 12), "{secrets:?}");
    }

    #[test]
    fn a_line_with_a_secret_is_found_with_its_number() {
        let log = "test log capture started: bot\n\
                   INFO gateway: connected\n\
                   DEBUG http: Authorization: Bot tok-abc-123\n\
                   test log capture started: api\n\
                   INFO request served cookie=cred-xyz\n";
        let scan = scan(log.as_bytes(), &secrets()).unwrap();
        assert_eq!(scan.lines, 5);
        assert_eq!(scan.binaries, BTreeSet::from(["bot".to_owned(), "api".to_owned()]));
        let found: Vec<(u64, &str)> = scan.leaks.iter().map(|(n, name, _)| (*n, name.as_str())).collect();
        assert_eq!(found, [(3, "BOT"), (5, "API")]);
    }

    #[test]
    fn the_check_fails_on_a_leak_or_a_silent_binary_and_passes_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let secrets_file = dir.path().join(SECRETS_FILE);
        fs::create_dir_all(secrets_file.parent().unwrap()).unwrap();
        fs::write(&secrets_file, "//! Secrets.\npub const BOT: &str = \"tok-abc-123\";\n").unwrap();
        let log = dir.path().join("suite.log");
        let started = "test log capture started: bot\ntest log capture started: logs\ntest log capture started: api\n\
                       test log capture started: process\n";

        fs::write(&log, format!("{started}TRACE sending IDENTIFY {{\"token\":\"tok-abc-123\"}}\n")).unwrap();
        let err = check(dir.path(), &log).unwrap_err().to_string();
        assert!(err.starts_with("1 captured log line(s) of the test run hold a secret"), "{err}");
        assert!(err.contains("suite.log:5, holds BOT"), "{err}");

        fs::write(&log, "test log capture started: bot\nINFO fine\n").unwrap();
        let err = check(dir.path(), &log).unwrap_err().to_string();
        assert!(err.starts_with("test binaries logs, api, process wrote nothing"), "{err}");

        fs::write(&log, format!("{started}INFO fine\n")).unwrap();
        let ok = check(dir.path(), &log).unwrap();
        assert!(ok.starts_with("secrets: none of 1 (BOT) in the 5 log lines"), "{ok}");
        let err = check(dir.path(), &dir.path().join("missing.log")).unwrap_err().to_string();
        assert!(err.starts_with("the test run wrote no log file"), "{err}");
    }
}
