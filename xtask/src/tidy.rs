//! `cargo xtask tidy`: the architecture rules that the compiler does not check.
//!
//! 1. The crate graph: every workspace crate has a rule saying which workspace crates it may depend on (normal
//!    dependencies) and which outside crates it must not use. A crate without a rule is an error, so a new crate's
//!    place in the architecture is decided when it is added.
//! 2. Every Rust source file starts with a `//!` line that says what it is for (the fuzz targets' too).
//! 3. SQL only through parameters: no SQL text built at run time (`format!`, concatenation) is passed to the
//!    `execute`, `query*` or `prepare*` methods of rusqlite or postgres in the `src/` of any crate that depends on
//!    them ([`sql`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

mod sql;

/// Where a crate sits: the workspace crates it may depend on, and outside crates it must not.
struct Rule {
    krate: &'static str,
    may_use: &'static [&'static str],
    must_not_use: &'static [&'static str],
}

/// Outside crates that do I/O or pick a runtime: never in the domain crate.
const IO_CRATES: &[&str] = &[
    "tokio",
    "rusqlite",
    "r2d2",
    "r2d2_sqlite",
    "actix-web",
    "actix-cors",
    "twilight-gateway",
    "twilight-http",
    "twilight-model",
    "reqwest",
    "hyper",
    "config",
    "tracing-subscriber",
];

/// Storage and transport crates: the service works over ports only.
const ADAPTER_CRATES: &[&str] =
    &["rusqlite", "r2d2", "r2d2_sqlite", "actix-web", "actix-cors", "twilight-gateway", "twilight-http", "reqwest"];

const RULES: &[Rule] = &[
    Rule { krate: "core-model", may_use: &[], must_not_use: IO_CRATES },
    Rule { krate: "storage", may_use: &["core-model"], must_not_use: &["tokio", "actix-web", "twilight-gateway"] },
    Rule {
        krate: "storage-postgres",
        may_use: &["core-model"],
        must_not_use: &["rusqlite", "actix-web", "twilight-gateway"],
    },
    Rule { krate: "service", may_use: &["core-model"], must_not_use: ADAPTER_CRATES },
    Rule { krate: "discord-adapter", may_use: &["core-model", "service"], must_not_use: &["rusqlite", "actix-web"] },
    Rule { krate: "http-api", may_use: &["core-model", "service"], must_not_use: &["rusqlite", "twilight-gateway"] },
    Rule { krate: "mcp-server", may_use: &["core-model", "service"], must_not_use: &["rusqlite", "twilight-gateway"] },
    Rule { krate: "dashboard", may_use: &["core-model", "service"], must_not_use: &["rusqlite", "twilight-gateway"] },
    Rule {
        krate: "webhooks",
        may_use: &["core-model"],
        must_not_use: &["rusqlite", "actix-web", "twilight-gateway", "reqwest"],
    },
    Rule {
        krate: "plan-client",
        may_use: &["core-model"],
        must_not_use: &["rusqlite", "actix-web", "twilight-gateway"],
    },
    Rule { krate: "discord-emulator", may_use: &[], must_not_use: &[] },
    Rule { krate: "test-support", may_use: &[], must_not_use: &[] },
    Rule {
        krate: "app",
        may_use: &[
            "core-model",
            "storage",
            "storage-postgres",
            "service",
            "discord-adapter",
            "http-api",
            "mcp-server",
            "dashboard",
            "webhooks",
        ],
        must_not_use: &[],
    },
    Rule {
        krate: "plan-bot",
        may_use: &["app", "core-model", "storage", "service", "discord-adapter", "discord-emulator"],
        must_not_use: &[],
    },
    Rule { krate: "plan-api", may_use: &["app", "core-model", "storage", "service", "http-api"], must_not_use: &[] },
    Rule {
        krate: "plan-server",
        may_use: &[
            "app",
            "core-model",
            "storage",
            "storage-postgres",
            "service",
            "discord-adapter",
            "http-api",
            "mcp-server",
            "discord-emulator",
        ],
        must_not_use: &[],
    },
    Rule { krate: "example-agent", may_use: &["plan-client"], must_not_use: &[] },
    Rule { krate: "xtask", may_use: &[], must_not_use: &[] },
    Rule {
        krate: "bench",
        may_use: &["core-model", "storage", "storage-postgres", "discord-emulator"],
        must_not_use: &[],
    },
];

/// A workspace crate as its manifest declares it.
struct Manifest {
    name: String,
    dir: PathBuf,
    /// Normal dependencies (including target-specific ones), by the crate name they resolve to.
    dependencies: BTreeSet<String>,
}

/// Runs every tidy check on the workspace at `root`, reporting all problems at once.
///
/// # Errors
/// When a check fails (the message lists every problem) or a manifest cannot be read.
pub fn check(root: &Path) -> Result<()> {
    let manifests = read_workspace(root)?;
    let mut problems = check_crate_graph(&manifests);
    for manifest in &manifests {
        problems.extend(check_module_docs(&manifest.dir)?);
        let runs_sql = manifest.dependencies.iter().any(|dep| SQL_CRATES.contains(&dep.as_str()));
        if runs_sql && !SQL_RULE_EXEMPT.contains(&manifest.name.as_str()) {
            problems.extend(check_sql(&manifest.dir.join("src"))?);
        }
    }
    let fuzz = root.join("fuzz").join("fuzz_targets");
    if fuzz.is_dir() {
        problems.extend(check_module_docs(&fuzz)?);
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut report = format!("tidy found {} problem(s):\n", problems.len());
    for problem in &problems {
        let _ = writeln!(report, "- {problem}");
    }
    bail!(report)
}

fn read_workspace(root: &Path) -> Result<Vec<Manifest>> {
    let text = fs::read_to_string(root.join("Cargo.toml")).context("reading the workspace Cargo.toml")?;
    let doc: toml::Table = toml::from_str(&text).context("parsing the workspace Cargo.toml")?;
    let members = doc
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .context("the workspace Cargo.toml has no [workspace] members list")?;
    members
        .iter()
        .map(|member| {
            let member = member.as_str().context("a workspace member is not a string")?;
            read_manifest(&root.join(member))
        })
        .collect()
}

fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join("Cargo.toml");
    let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let name = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .with_context(|| format!("{} has no package name", path.display()))?
        .to_owned();
    let mut dependencies = BTreeSet::new();
    let mut tables: Vec<&toml::Table> = doc.get("dependencies").and_then(|d| d.as_table()).into_iter().collect();
    if let Some(targets) = doc.get("target").and_then(|t| t.as_table()) {
        tables.extend(targets.values().filter_map(|t| t.get("dependencies")).filter_map(|d| d.as_table()));
    }
    for table in tables {
        for (key, spec) in table {
            // `foo = { package = "bar" }` depends on bar.
            let real = spec.get("package").and_then(|p| p.as_str()).unwrap_or(key);
            dependencies.insert(real.to_owned());
        }
    }
    Ok(Manifest { name, dir: dir.to_owned(), dependencies })
}

fn check_crate_graph(manifests: &[Manifest]) -> Vec<String> {
    let internal: BTreeSet<&str> = manifests.iter().map(|m| m.name.as_str()).collect();
    let mut problems = Vec::new();
    for manifest in manifests {
        let Some(rule) = RULES.iter().find(|r| r.krate == manifest.name) else {
            problems.push(format!(
                "crate `{}` has no rule in xtask/src/tidy.rs; add one saying which workspace crates it may use",
                manifest.name
            ));
            continue;
        };
        for dep in &manifest.dependencies {
            if internal.contains(dep.as_str()) && !rule.may_use.contains(&dep.as_str()) {
                problems.push(format!(
                    "crate `{}` depends on `{dep}`, which points the wrong way (it may use: {})",
                    manifest.name,
                    if rule.may_use.is_empty() { "no workspace crate".to_owned() } else { rule.may_use.join(", ") }
                ));
            }
            if rule.must_not_use.contains(&dep.as_str()) {
                problems.push(format!(
                    "crate `{}` depends on `{dep}`, which it must not use; move that code to an adapter crate",
                    manifest.name
                ));
            }
        }
    }
    problems
}

fn check_module_docs(dir: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for path in rust_files(dir)? {
        let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        if !first.starts_with("//!") {
            problems.push(format!("{} does not start with a `//!` line saying what the module is for", path.display()));
        }
    }
    Ok(problems)
}

/// Crates whose users run SQL: a crate depending on one of them has its sources checked by rule 3.
const SQL_CRATES: &[&str] = &["rusqlite", "r2d2_sqlite", "postgres"];

/// Crates rule 3 leaves alone: test-support creates and drops the tests' PostgreSQL databases, whose names are
/// identifiers (which cannot be bound), and runs only in tests.
const SQL_RULE_EXEMPT: &[&str] = &["test-support"];

/// Rule 3 over every Rust file under `dir`.
fn check_sql(dir: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for path in rust_files(dir)? {
        let text = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        for (line, message) in sql::check_source(&text) {
            problems.push(format!("{}:{line}: {message}", path.display()));
        }
    }
    Ok(problems)
}

/// Every `.rs` file under `dir` (none when it does not exist), skipping `target` and hidden directories.
fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        if !current.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&current).with_context(|| format!("listing {}", current.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
    }

    #[test]
    fn the_workspace_is_tidy() {
        if let Err(err) = check(&workspace_root()) {
            panic!("{err}");
        }
    }

    /// Writes a small workspace with the given crates (name, dependencies) and module text.
    fn scratch_workspace(crates: &[(&str, &[&str])], lib_text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let members: Vec<String> = crates.iter().map(|(name, _)| format!("\"crates/{name}\"")).collect();
        fs::write(dir.path().join("Cargo.toml"), format!("[workspace]\nmembers = [{}]\n", members.join(", "))).unwrap();
        for (name, deps) in crates {
            let crate_dir = dir.path().join("crates").join(name);
            fs::create_dir_all(crate_dir.join("src")).unwrap();
            let deps: String = deps.iter().map(|d| format!("{d} = {{ path = \"../{d}\" }}\n")).collect();
            fs::write(crate_dir.join("Cargo.toml"), format!("[package]\nname = \"{name}\"\n\n[dependencies]\n{deps}"))
                .unwrap();
            fs::write(crate_dir.join("src/lib.rs"), lib_text).unwrap();
        }
        dir
    }

    #[test]
    fn a_crate_pointing_the_wrong_way_fails() {
        let ws = scratch_workspace(
            &[("core-model", &["service"]), ("service", &["core-model", "storage"]), ("storage", &["core-model"])],
            "//! A crate.\n",
        );
        let err = check(ws.path()).unwrap_err().to_string();
        assert!(err.contains("crate `core-model` depends on `service`, which points the wrong way"), "{err}");
        assert!(err.contains("crate `service` depends on `storage`, which points the wrong way"), "{err}");
        assert!(err.contains("2 problem(s)"), "{err}");
    }

    #[test]
    fn io_crates_in_the_domain_and_unknown_crates_fail() {
        let ws = scratch_workspace(&[("core-model", &["tokio"]), ("mystery", &[])], "//! A crate.\n");
        let err = check(ws.path()).unwrap_err().to_string();
        assert!(err.contains("crate `core-model` depends on `tokio`, which it must not use"), "{err}");
        assert!(err.contains("crate `mystery` has no rule"), "{err}");
    }

    #[test]
    fn a_module_without_a_doc_line_fails() {
        let ws = scratch_workspace(&[("core-model", &[])], "pub fn f() {}\n");
        let err = check(ws.path()).unwrap_err().to_string();
        assert!(err.contains("lib.rs does not start with a `//!` line"), "{err}");
    }

    #[test]
    fn sql_built_with_format_fails() {
        let lib = "//! A store.\npub fn f(c: &rusqlite::Connection, coach: &str) {\n    \
                   c.execute(&format!(\"DELETE FROM plans WHERE coach = '{coach}'\"), []).unwrap();\n}\n";
        let ws = scratch_workspace(&[("storage", &["rusqlite"])], lib);
        let err = check(ws.path()).unwrap_err().to_string();
        assert!(err.contains("1 problem(s)"), "{err}");
        assert!(err.contains("storage/src/lib.rs:3: `.execute(&format!("), "{err}");
        assert!(err.contains("passes SQL built with `format!`"), "{err}");
    }

    #[test]
    fn a_well_formed_workspace_passes() {
        let ws = scratch_workspace(
            &[("core-model", &[]), ("storage", &["core-model"]), ("service", &["core-model"])],
            "\n//! Documented.\npub fn f() {}\n",
        );
        check(ws.path()).unwrap();
    }
}
