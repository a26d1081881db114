//! Build script of the three executables: in a release build linked by LLD (Rust's default linker on x86-64 Linux
//! since 1.90), hands the linker `bins/symbol-order.txt`, the functions the executables run, so that they sit
//! together in the code instead of spread over all of it. An idle plan-server then maps a few MiB of its code
//! instead of most of it (Linux maps code 64 KiB at a time around each first touch), and the hot paths share fewer
//! pages. The list is written by `cargo xtask symbol-order`; names it holds that a build lacks are skipped.
//!
//! Any other build is left as it is: debug builds, other targets, a linker chosen in the configuration or in
//! `RUSTFLAGS` (which may not know the option), compilers before 1.90, and `COACH_PLANS_SYMBOL_ORDER=off`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=../symbol-order.txt");
    println!("cargo::rerun-if-env-changed=COACH_PLANS_SYMBOL_ORDER");
    if std::env::var("PROFILE").as_deref() != Ok("release")
        || std::env::var("COACH_PLANS_SYMBOL_ORDER").as_deref() == Ok("off")
        || !linked_by_lld()
    {
        return;
    }
    let Some(list) = std::env::var_os("CARGO_MANIFEST_DIR").map(|dir| PathBuf::from(dir).join("../symbol-order.txt"))
    else {
        return;
    };
    let Ok(list) = list.canonicalize() else { return };
    // `-Wl,` splits its argument at commas.
    let Some(list) = list.to_str().filter(|path| !path.contains(',')) else { return };
    println!("cargo::rustc-link-arg-bins=-Wl,--symbol-ordering-file={list}");
    println!("cargo::rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// Whether rustc links this build with its own LLD: x86-64 Linux (GNU), rustc 1.90 or later, and no linker or
/// linker flavour chosen by the configuration or the flags.
fn linked_by_lld() -> bool {
    if std::env::var("TARGET").as_deref() != Ok("x86_64-unknown-linux-gnu")
        || std::env::var_os("RUSTC_LINKER").is_some()
    {
        return false;
    }
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if ["linker", "fuse-ld", "link-self-contained"].iter().any(|word| flags.contains(word)) {
        return false;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).arg("-vV").output() else { return false };
    let version = String::from_utf8_lossy(&output.stdout);
    let release = version.lines().find_map(|line| line.strip_prefix("release: ")).unwrap_or_default();
    let mut parts = release.split(['.', '-']).map(|part| part.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
