//! The product's processes under test: started from the release binaries with a clean environment, their standard
//! output (the logs) drained to a file so that logging costs what it costs in production, their CPU time and memory
//! read from `/proc`, and the machine described.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// A process's resident memory, in KiB (`/proc/PID/status`).
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// Resident now (`VmRSS`).
    pub rss: u64,
    /// The most resident so far (`VmHWM`).
    pub peak: u64,
    /// The process's own memory: heap, stacks, other anonymous mappings (`RssAnon`).
    pub anon: u64,
    /// Pages of files: the executable's code and data, the libraries (`RssFile`).
    pub file: u64,
}

/// A running product process.
pub struct Product {
    name: String,
    child: Child,
    /// Lines written to its standard output so far.
    lines: Arc<AtomicU64>,
    /// Bytes written to its standard output so far.
    bytes: Arc<AtomicU64>,
    /// When it was spawned.
    pub spawned_at: Instant,
}

impl Product {
    /// Starts `binary` with exactly `env` (nothing of the caller's environment leaks in, `RUST_LOG` included), in
    /// `dir`, and waits up to `timeout` for a line of its standard output containing `ready_marker`; returns the
    /// process and that line. Everything it writes to standard output goes to `dir/{name}.log`.
    ///
    /// # Errors
    /// When it cannot be started, exits, or prints no such line in time.
    pub fn start(
        binary: &Path,
        args: &[&str],
        env: &[(&str, String)],
        dir: &Path,
        ready_marker: &str,
        timeout: Duration,
    ) -> Result<(Self, String)> {
        let name = binary.file_name().map_or_else(|| "product".to_owned(), |n| n.to_string_lossy().into_owned());
        let mut command = Command::new(binary);
        command.args(args).current_dir(dir).env_clear().stdin(Stdio::null()).stdout(Stdio::piped());
        command.stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let spawned_at = Instant::now();
        let mut child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no standard output")?;
        let lines = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        let log_path = dir.join(format!("{name}.log"));
        let mut log = std::io::BufWriter::new(std::fs::File::create(&log_path)?);
        let (counted_lines, counted_bytes, marker) = (Arc::clone(&lines), Arc::clone(&bytes), ready_marker.to_owned());
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let mut ready = Some(ready_tx);
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                counted_lines.fetch_add(1, Ordering::Relaxed);
                counted_bytes.fetch_add(line.len() as u64, Ordering::Relaxed);
                if ready.is_some() && line.contains(&marker) {
                    let _ = ready.take().map(|tx| tx.send(line.trim().to_owned()));
                }
                let _ = log.write_all(line.as_bytes());
                line.clear();
            }
            let _ = log.flush();
        });
        let mut product = Self { name, child, lines, bytes, spawned_at };
        match ready_rx.recv_timeout(timeout) {
            Ok(line) => Ok((product, line)),
            Err(_) => {
                let status = product.child.try_wait().ok().flatten();
                product.stop();
                bail!(
                    "{} did not print `{ready_marker}` within {timeout:?} (exit status: {status:?}); see {}",
                    product.name,
                    log_path.display()
                )
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lines and bytes it has written to standard output so far.
    pub fn output(&self) -> (u64, u64) {
        (self.lines.load(Ordering::Relaxed), self.bytes.load(Ordering::Relaxed))
    }

    /// CPU time (user + system, all threads) used so far.
    ///
    /// # Errors
    /// When `/proc` cannot be read.
    pub fn cpu_time(&self) -> Result<Duration> {
        cpu_time(self.pid())
    }

    /// Resident memory now, its peak so far and its parts, in KiB.
    ///
    /// # Errors
    /// When `/proc` cannot be read.
    pub fn memory(&self) -> Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(Memory { rss: field("VmRSS:"), peak: field("VmHWM:"), anon: field("RssAnon:"), file: field("RssFile:") })
    }

    /// Asks it to stop (SIGTERM), waits up to 10 s, then kills it.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Product {
    fn drop(&mut self) {
        self.stop();
    }
}

/// CPU time (user + system, all threads) of process `pid` so far.
///
/// # Errors
/// When `/proc/{pid}/stat` cannot be read or parsed.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).context("an unreadable /proc stat line")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the state field.
    let ticks: u64 =
        fields.get(11..13).context("a short /proc stat line")?.iter().filter_map(|f| f.parse::<u64>().ok()).sum();
    Ok(Duration::from_millis(ticks * 1000 / clock_ticks_per_second()))
}

/// `USER_HZ`: 100 on every Linux this runs on (the kernel's ABI fixes it for /proc).
fn clock_ticks_per_second() -> u64 {
    100
}

/// The release binaries' directory: `target/release` of the workspace (or of `CARGO_TARGET_DIR`).
pub fn binary(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if !path.is_file() {
        bail!("{} is missing: run the suite through `cargo xtask bench`, which builds it", path.display());
    }
    Ok(path)
}

/// The machine, for the report: CPU model and count, memory, load averages.
pub fn machine() -> String {
    let lscpu =
        Command::new("lscpu").output().map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    let field = |name: &str| {
        lscpu.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned()).unwrap_or_else(|| "?".to_owned())
    };
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned()))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or_else(|| "?".to_owned(), |kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0));
    format!(
        "{} CPU(s), {} ({} thread(s) per core), {} RAM, {}",
        field("CPU(s):"),
        field("Model name:"),
        field("Thread(s) per core:"),
        memory,
        load()
    )
}

/// The load averages now (`load 3.10 2.90 2.50`).
pub fn load() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let parts: Vec<&str> = text.split_whitespace().take(3).collect();
    format!("load average {}", parts.join(" "))
}
