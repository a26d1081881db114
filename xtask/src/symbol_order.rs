//! `cargo xtask symbol-order`: writes `bins/symbol-order.txt`, the functions the release executables run, hottest
//! first, which the executables' build script hands to the linker so that they sit together in the code.
//!
//! Linux maps an executable's code into a process 64 KiB at a time around each page fault, so a start that runs a
//! few thousand functions spread over 25 MB of code maps most of it. Laid out together, the same functions map a
//! few MiB. The list comes from running the three release executables under valgrind's callgrind (which sees every
//! function run, not a sample) through the benchmark suites, scaled down: plan-server's start, idle and reads in
//! mock mode (the `footprint` suite), plan-bot storing a burst of plans (`ingest`), plan-api answering the API's
//! routes (`api`).
//!
//! Symbol names carry hashes of the compiler version and the dependency graph, so the list is regenerated after a
//! toolchain or `Cargo.lock` change; a stale or partial list only places fewer functions (the linker skips names
//! it does not find), it never breaks a build.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The executables profiled and laid out.
const EXECUTABLES: &[&str] = &["plan-server", "plan-bot", "plan-api"];

/// The suites run under callgrind, with options that keep each to a few minutes at valgrind's speed.
const RUNS: &[&[&str]] = &[
    &["footprint", "--starts", "1", "--load-for", "2"],
    &["ingest", "--burst", "300", "--rate", "100", "--paced-for", "1", "--channels", "1,8"],
    &["api", "--connections", "1,16", "--warmup", "0.5", "--duration", "1", "--rounds", "1"],
];

/// Builds the release executables, runs the suites with each executable under callgrind, and writes the list.
///
/// # Errors
/// When valgrind is missing, a build or suite fails, or callgrind wrote nothing for an executable.
pub fn generate(workspace: &Path, target_dir: &Path) -> Result<()> {
    let valgrind = which("valgrind").context("valgrind is needed: install it (Debian: `apt-get install valgrind`)")?;
    let release = crate::build_bench_binaries()?;
    let work = target_dir.join("symbol-order");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    let wrapped = work.join("bin");
    std::fs::create_dir_all(&wrapped)?;
    let executables = EXECUTABLES
        .iter()
        .map(|name| {
            let real = std::fs::canonicalize(release.join(name)).with_context(|| format!("{name} was not built"))?;
            Ok((*name, real))
        })
        .collect::<Result<Vec<_>>>()?;
    for (name, real) in &executables {
        let script = format!(
            "#!/bin/sh\nexec '{}' --tool=callgrind --callgrind-out-file='{}/callgrind.{name}.%p' --compress-strings=no \
             --compress-pos=no --demangle=no --dump-instr=no --log-file='{}/valgrind.{name}.%p.log' '{}' \"$@\"\n",
            valgrind.display(),
            work.display(),
            work.display(),
            real.display()
        );
        let path = wrapped.join(name);
        std::fs::write(&path, script)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    // The api suite starts its ceiling server from the same directory; it runs as it is.
    std::os::unix::fs::symlink(release.join("bench"), wrapped.join("bench"))?;
    for run in RUNS {
        let mut command = Command::new(release.join("bench"));
        command.arg(run[0]).arg("--bin-dir").arg(&wrapped).args(&run[1..]).current_dir(workspace);
        println!("$ {command:?}");
        let status = command.status().with_context(|| format!("running the {} suite", run[0]))?;
        if !status.success() {
            bail!("the {} suite failed under callgrind ({status}); valgrind's logs are in {}", run[0], work.display());
        }
    }
    let mut cost: HashMap<String, u64> = HashMap::new();
    for (name, real) in &executables {
        let prefix = format!("callgrind.{name}.");
        let mut profiles = 0;
        for entry in std::fs::read_dir(&work)? {
            let path = entry?.path();
            if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&prefix)) {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                for (function, ir) in functions_run(&text, &real.to_string_lossy()) {
                    *cost.entry(function).or_default() += ir;
                }
                profiles += 1;
            }
        }
        if profiles == 0 {
            bail!("callgrind wrote no profile of {name}; see valgrind's logs in {}", work.display());
        }
    }
    let mut functions: Vec<(String, u64)> = cost.into_iter().collect();
    functions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())?;
    let mut list = format!(
        "# The functions the release executables run, hottest first: the linker places them together (see\n\
         # bins/link-order.rs). Written by `cargo xtask symbol-order` with {rustc}; {} functions.\n",
        functions.len()
    );
    for (function, _) in &functions {
        let _ = writeln!(list, "{function}");
    }
    let out = workspace.join("bins/symbol-order.txt");
    std::fs::write(&out, list)?;
    println!("symbol-order: {} functions written to {}", functions.len(), out.display());
    Ok(())
}

/// The functions of `object` that ran in a callgrind profile (`--compress-strings=no`, `--compress-pos=no`), with
/// the instructions each ran itself.
fn functions_run(profile: &str, object: &str) -> HashMap<String, u64> {
    let mut functions: HashMap<String, u64> = HashMap::new();
    let mut current_object = "";
    let mut current: Option<&str> = None;
    // The cost line after `calls=` is the call's inclusive cost, not the caller's own.
    let mut after_call = false;
    for line in profile.lines() {
        if let Some(path) = line.strip_prefix("ob=") {
            current_object = path;
        } else if let Some(function) = line.strip_prefix("fn=") {
            // Callgrind marks recursion levels as `name'2`; the symbol is the name.
            let function = function.split_once('\'').map_or(function, |(name, _)| name);
            current = (current_object == object && is_symbol(function)).then_some(function);
            if let Some(function) = current {
                functions.entry(function.to_owned()).or_default();
            }
        } else if line.starts_with("calls=") {
            after_call = true;
        } else if line.starts_with(|c: char| c.is_ascii_digit()) {
            if std::mem::take(&mut after_call) {
                continue;
            }
            if let (Some(function), Some(ir)) =
                (current, line.split_whitespace().nth(1).and_then(|ir| ir.parse::<u64>().ok()))
            {
                *functions.entry(function.to_owned()).or_default() += ir;
            }
        }
    }
    functions
}

/// Whether callgrind's name is a symbol the linker knows (not an address or `(below main)`).
fn is_symbol(name: &str) -> bool {
    !name.is_empty() && !name.starts_with("0x") && !name.starts_with('(')
}

/// The full path of `program` on `PATH`.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::functions_run;

    #[test]
    fn a_profile_gives_the_functions_of_the_executable_with_their_own_cost() {
        let profile = "\
ob=/bin/plan-server
fl=src/main.rs
fn=_ZN4main17h0123456789abcdefE
10 500
cob=/lib/libc.so.6
cfn=memcpy
calls=2 0
11 9000
12 20
ob=/lib/libc.so.6
fn=memcpy
0 9000
ob=/bin/plan-server
fn=sqlite3VdbeExec'2
5 7
fn=0x00000000008d9420
1 1
";
        let functions = functions_run(profile, "/bin/plan-server");
        assert_eq!(functions.len(), 2, "{functions:?}");
        assert_eq!(functions["_ZN4main17h0123456789abcdefE"], 520, "the call's inclusive 9000 is memcpy's");
        assert_eq!(functions["sqlite3VdbeExec"], 7);
    }
}
