//! The Python tools the tests run against the product (`xtask/python/requirements.txt`: independent implementations
//! of the standards the product speaks), in a virtual environment at `target/python-venv`. `cargo xtask python`
//! creates it or brings it up to date; `cargo xtask ci` does so before the tests, which fail (never skip) without it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// The pinned packages, from the workspace root.
pub const REQUIREMENTS: &str = "xtask/python/requirements.txt";

/// The virtual environment, from the workspace root (where the tests look for it).
pub const VENV: &str = "target/python-venv";

/// The file in the environment that records the requirements it was made from.
const STAMP: &str = "requirements.installed";

/// Makes sure the environment at [`VENV`] holds exactly [`REQUIREMENTS`]; returns its path.
///
/// # Errors
/// When Python (`python3`, or `$PYTHON`) cannot make a virtual environment or pip cannot install a package.
pub fn ensure(root: &Path) -> Result<PathBuf> {
    let venv = root.join(VENV);
    let requirements_path = root.join(REQUIREMENTS);
    let requirements =
        fs::read_to_string(&requirements_path).with_context(|| format!("reading {}", requirements_path.display()))?;
    let stamp = venv.join(STAMP);
    let python = venv.join("bin").join("python");
    if python.exists() && fs::read_to_string(&stamp).is_ok_and(|installed| installed == requirements) {
        println!("python: {} is up to date", venv.display());
        return Ok(venv);
    }
    let interpreter = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    println!("python: creating {} with {interpreter}", venv.display());
    run(Command::new(&interpreter).args(["-m", "venv", "--clear"]).arg(&venv))
        .with_context(|| format!("creating a virtual environment with {interpreter} (install Python 3.10 or newer)"))?;
    println!("python: installing {REQUIREMENTS}");
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--requirement"])
        .arg(&requirements_path))
    .context("installing the test tools with pip")?;
    fs::write(&stamp, requirements).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(venv)
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
