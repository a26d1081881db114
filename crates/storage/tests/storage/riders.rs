//! Values written with the next commit (`defer_status`): the bot's progress in a channel rides with the next plan's
//! write instead of a transaction of its own; the contract's cases, on two stores over one file.

use crate::helpers::{TestDir, open};

#[test]
fn sqlite_store_passes_the_deferred_status_cases() {
    let dir = TestDir::new();
    let case = std::cell::Cell::new(0);
    core_model::contract::run_deferred_status_cases(|| {
        case.set(case.get() + 1);
        let file = dir.file(&format!("riders{}.db", case.get()));
        (open(&file), open(&file))
    });
}
