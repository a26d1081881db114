//! Shared setup: a database of the test's own, a plain client beside the store, and plan builders.

use core_model::{
    Author, ChartKind, CoachId, NewChart, NewPlan, PlanChange, PlanSource, PlanText, TradingDate, UserId,
};
use storage_postgres::{DatabaseUrl, PgOptions, PgStore};
use test_support::TestDatabase;

/// A database of the test's own, or `None` when the test run has no PostgreSQL server.
pub fn database() -> Option<TestDatabase> {
    test_support::postgres()
}

pub fn url(db: &TestDatabase) -> DatabaseUrl {
    DatabaseUrl::parse(db.url()).unwrap()
}

pub fn open(db: &TestDatabase) -> PgStore {
    PgStore::open(&url(db), PgOptions::default()).unwrap()
}

/// A plain client of the same database, to look at (or tamper with) what the store wrote.
pub fn raw(db: &TestDatabase) -> postgres::Client {
    postgres::Client::connect(db.url(), postgres::NoTls).unwrap()
}

pub fn count(client: &mut postgres::Client, table: &str) -> i64 {
    client.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).unwrap().get(0)
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
