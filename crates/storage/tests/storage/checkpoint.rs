//! The write-ahead log is copied into the database file soon after writes, by the store's own thread, while the
//! store stays open (SQLite alone would copy it only once the log held a thousand pages, or at close).

use std::time::{Duration, Instant};

use core_model::PlanRepository;
use core_model::contract::at;

use crate::helpers::{TestDir, author, new_plan, open, raw};

#[test]
fn writes_reach_the_database_file_itself_while_the_store_stays_open() {
    let dir = TestDir::new();
    let store = open(&dir.db());
    let plan = store.insert(new_plan("d", "2025-11-09", "Long above 950", author(1, "Ann")), at(0)).unwrap();
    // A copy of the database file without its log (what a file-level backup that forgets the `-wal` file gets)
    // holds the plan once the log was checkpointed. Nothing but the store's thread checkpoints here.
    let copy = dir.file("copy.db");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        std::fs::copy(dir.db(), &copy).unwrap();
        let found: i64 = raw(&copy)
            .query_row("SELECT COUNT(*) FROM plans WHERE id = ?1", [plan.id.0], |row| row.get(0))
            .unwrap_or(0);
        if found == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "the plan never reached the database file while the store was open");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan, "the store reads on");
}
