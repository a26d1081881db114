//! The storage contract suite, on file databases and on the in-memory constructor.

use std::cell::Cell;

use storage::SqliteStore;

use crate::helpers::{TestDir, open};

#[test]
fn sqlite_store_passes_the_contract_suite() {
    let dir = TestDir::new();
    let case = Cell::new(0);
    core_model::contract::run_all(|| {
        case.set(case.get() + 1);
        open(&dir.file(&format!("case{}.db", case.get())))
    });
    core_model::contract::run_chart_image_cases(|| {
        case.set(case.get() + 1);
        open(&dir.file(&format!("case{}.db", case.get())))
    });
    core_model::contract::run_search_cases(|| {
        case.set(case.get() + 1);
        open(&dir.file(&format!("case{}.db", case.get())))
    });
    core_model::contract::run_access_cases(|| {
        case.set(case.get() + 1);
        open(&dir.file(&format!("case{}.db", case.get())))
    });
    core_model::contract::run_webhook_cases(|| {
        case.set(case.get() + 1);
        open(&dir.file(&format!("case{}.db", case.get())))
    });
}

#[test]
fn in_memory_store_passes_the_contract_suite() {
    core_model::contract::run_all(|| SqliteStore::open_in_memory().unwrap());
    core_model::contract::run_chart_image_cases(|| SqliteStore::open_in_memory().unwrap());
    core_model::contract::run_search_cases(|| SqliteStore::open_in_memory().unwrap());
    core_model::contract::run_access_cases(|| SqliteStore::open_in_memory().unwrap());
    core_model::contract::run_webhook_cases(|| SqliteStore::open_in_memory().unwrap());
}
