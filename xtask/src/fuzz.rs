//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs the cargo-fuzz targets under `fuzz/` for a while each and
//! reports how many inputs each ran. CI does not run this (it needs cargo-fuzz and a libFuzzer build of its own);
//! it runs the bounded property tests instead.

use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

/// The fuzz targets, as named in `fuzz/Cargo.toml`.
pub const TARGETS: [&str; 3] = ["command_parser", "chart_links", "split_message"];

/// Seconds each target runs when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;

/// What `cargo xtask fuzz` was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub struct FuzzArgs {
    /// How long each target runs.
    pub seconds: u64,
    /// Which targets run, in order.
    pub targets: Vec<String>,
}

/// Reads `[--seconds N] [TARGET...]`.
///
/// # Errors
/// An unknown flag or target, or a number of seconds that is not a whole number above 0.
pub fn parse_args(args: &[String]) -> Result<FuzzArgs> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .with_context(|| format!("--seconds must be a whole number above 0, not `{value}`"))?;
            }
            target if TARGETS.contains(&target) => targets.push(target.to_owned()),
            other => bail!("unknown fuzz argument `{other}`; the targets are {}", TARGETS.join(", ")),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    Ok(FuzzArgs { seconds, targets })
}

/// What libFuzzer reported at the end of a run.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Inputs executed.
    pub runs: Option<u64>,
    /// Inputs in the corpus at the end.
    pub corpus: Option<u64>,
}

/// Reads libFuzzer's final lines: `Done 123 runs in 60 second(s)` and `stat::number_of_executed_units: 123`, and the
/// corpus size from its last status line (`#123 ... corp: 45/1234b ...`).
pub fn read_stats(output: &str) -> RunStats {
    let mut stats = RunStats::default();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("Done ") {
            stats.runs = rest.split_whitespace().next().and_then(|n| n.parse().ok()).or(stats.runs);
        } else if let Some(rest) = line.strip_prefix("stat::number_of_executed_units:") {
            stats.runs = rest.trim().parse().ok().or(stats.runs);
        } else if let Some(at) = line.find("corp: ") {
            let count = line[at + 6..].split('/').next().and_then(|n| n.parse().ok());
            stats.corpus = count.or(stats.corpus);
        }
    }
    stats
}

/// Runs each target for `args.seconds`, with its corpus in `fuzz/corpus/TARGET` (kept between runs) and the seeds
/// of `fuzz/seeds/TARGET`; libFuzzer's output goes to `target/fuzz-logs/TARGET.log`.
///
/// # Errors
/// When cargo-fuzz is missing, a target does not build, or a target finds a crash (the input is saved under
/// `fuzz/artifacts/TARGET/`; `cargo fuzz run -s none TARGET FILE` replays it).
pub fn run(root: &Path, args: &FuzzArgs) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let installed =
        Command::new(&cargo).args(["fuzz", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !installed.is_ok_and(|s| s.success()) {
        bail!("cargo-fuzz is not installed; run `cargo install --locked cargo-fuzz` (about half a minute)");
    }
    let logs = root.join("target").join("fuzz-logs");
    fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut summary = String::new();
    let mut failed = Vec::new();
    for target in &args.targets {
        let corpus = root.join("fuzz").join("corpus").join(target);
        fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
        let seeds = root.join("fuzz").join("seeds").join(target);
        let mut command = Command::new(&cargo);
        // `-s none`: no sanitizer, so a stable toolchain can build it; panics and assertions still stop the run.
        command.args(["fuzz", "run", "-s", "none", target]).arg(&corpus);
        if seeds.is_dir() {
            command.arg(&seeds);
        }
        command
            .args(["--", &format!("-max_total_time={}", args.seconds), "-print_final_stats=1"])
            .current_dir(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        println!("$ cargo fuzz run -s none {target} -- -max_total_time={}", args.seconds);
        let output = run_logged(&mut command, &logs.join(format!("{target}.log")))?;
        let stats = read_stats(&output.text);
        let show = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let _ = writeln!(
            summary,
            "{target:<16} {:>4} s {:>12} runs   corpus {:>6}   {}",
            args.seconds,
            show(stats.runs),
            show(stats.corpus),
            if output.success { "ok" } else { "FAILED" }
        );
        if !output.success {
            failed.push(target.clone());
        }
    }
    print!("\nfuzz summary\n{summary}");
    if !failed.is_empty() {
        bail!(
            "fuzz target(s) {} failed; the crashing input is under fuzz/artifacts/ and the output in target/fuzz-logs/",
            failed.join(", ")
        );
    }
    Ok(())
}

struct Output {
    success: bool,
    text: String,
}

/// Runs `command`, writing its standard output and error to `log` and echoing the lines worth seeing (libFuzzer's
/// periodic status lines are only logged).
fn run_logged(command: &mut Command, log: &Path) -> Result<Output> {
    let mut child = command.spawn().context("starting cargo fuzz")?;
    let stdout = child.stdout.take().context("no standard output")?;
    let echo = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
        }
    });
    let mut text = String::new();
    let stderr = child.stderr.take().context("no standard error")?;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let progress = line.starts_with('#')
            && line.split_whitespace().nth(1).is_some_and(|word| matches!(word, "pulse" | "NEW" | "REDUCE"));
        if !progress {
            eprintln!("{line}");
        }
        text.push_str(&line);
        text.push('\n');
    }
    let _ = echo.join();
    let status = child.wait().context("waiting for cargo fuzz")?;
    fs::write(log, &text).with_context(|| format!("writing {}", log.display()))?;
    Ok(Output { success: status.success(), text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn arguments_name_seconds_and_targets() {
        let all = parse_args(&[]).unwrap();
        assert_eq!((all.seconds, all.targets.len()), (DEFAULT_SECONDS, 3));
        let some = parse_args(&strings(&["--seconds", "600", "split_message"])).unwrap();
        assert_eq!(some, FuzzArgs { seconds: 600, targets: vec!["split_message".into()] });
        let err = parse_args(&strings(&["--seconds", "0"])).unwrap_err().to_string();
        assert_eq!(err, "--seconds must be a whole number above 0, not `0`");
        let err = parse_args(&strings(&["parser"])).unwrap_err().to_string();
        assert!(err.contains("the targets are command_parser, chart_links, split_message"), "{err}");
    }

    #[test]
    fn the_final_statistics_are_read_from_libfuzzers_output() {
        let output = "\
INFO: Seed: 1234
#2\tINITED cov: 10 ft: 10 corp: 1/1b exec/s: 0 rss: 30Mb
#1048576\tpulse  cov: 900 ft: 2000 corp: 312/9876b lim: 4096 exec/s: 17476 rss: 80Mb
#1234567\tNEW    cov: 901 ft: 2001 corp: 313/9900b lim: 4096 exec/s: 17000 rss: 80Mb
Done 1234999 runs in 61 second(s)
stat::number_of_executed_units: 1235000
stat::peak_rss_mb:              80
";
        assert_eq!(read_stats(output), RunStats { runs: Some(1_235_000), corpus: Some(313) });
        assert_eq!(read_stats("nothing useful"), RunStats::default());
    }

    #[test]
    fn every_target_has_a_fuzz_target_file_and_a_manifest_entry() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("fuzz");
        let manifest = fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
        for target in TARGETS {
            assert!(fuzz.join("fuzz_targets").join(format!("{target}.rs")).is_file(), "{target}");
            assert!(manifest.contains(&format!("name = \"{target}\"")), "{target}");
        }
    }
}
