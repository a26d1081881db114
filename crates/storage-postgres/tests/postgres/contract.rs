//! The storage contract suite, each case on a database of its own.

use test_support::TestDatabase;

use crate::helpers::{database, open};

#[test]
fn postgres_store_passes_the_contract_suite() {
    let Some(first) = database() else { return };
    let databases: std::cell::RefCell<Vec<TestDatabase>> = std::cell::RefCell::new(Vec::new());
    let fresh = || {
        let db = first.sibling(&format!("c{}", databases.borrow().len()));
        let store = open(&db);
        databases.borrow_mut().push(db);
        store
    };
    core_model::contract::run_all(fresh);
    core_model::contract::run_chart_image_cases(fresh);
    core_model::contract::run_search_cases(fresh);
    core_model::contract::run_access_cases(fresh);
    core_model::contract::run_webhook_cases(fresh);
}
