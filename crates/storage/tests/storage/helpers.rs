//! Shared setup: temporary database files, a raw connection beside the store, and plan builders.

use std::path::{Path, PathBuf};

use core_model::{
    Author, ChartKind, CoachId, NewChart, NewPlan, PlanChange, PlanSource, PlanText, TradingDate, UserId,
};
use storage::{SqliteStore, StoreOptions};
use tempfile::TempDir;

/// A directory that lives as long as the test, holding its database files.
pub struct TestDir {
    dir: TempDir,
}

impl TestDir {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    /// A file in the directory (not created).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The path of the main test database.
    pub fn db(&self) -> PathBuf {
        self.file("plans.db")
    }
}

pub fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, StoreOptions::default()).unwrap()
}

/// A plain connection to the same file, to look at (or tamper with) what the store wrote.
pub fn raw(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    conn
}

pub fn count(conn: &rusqlite::Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).unwrap()
}

pub fn coach(id: &str) -> CoachId {
    CoachId::new(id).unwrap()
}

pub fn date(d: &str) -> TradingDate {
    TradingDate::parse(d).unwrap()
}

pub fn author(id: u64, name: &str) -> Author {
    Author { user_id: Some(UserId(id)), display_name: name.to_owned() }
}

pub fn new_plan(c: &str, d: &str, text: &str, who: Author) -> NewPlan {
    NewPlan {
        coach: coach(c),
        date: date(d),
        text: PlanText::new(text).unwrap(),
        author: who,
        source: PlanSource {
            guild_id: Some(10),
            channel_id: Some(20),
            channel_name: Some("plans".into()),
            message_id: Some(30),
        },
        charts: vec![],
    }
}

pub fn link(url: &str) -> NewChart {
    NewChart { url: url.to_owned(), filename: None, content_type: None, kind: ChartKind::Link }
}

pub fn edit(text: &str) -> PlanChange {
    PlanChange::Edit { text: PlanText::new(text).unwrap(), charts: None }
}
