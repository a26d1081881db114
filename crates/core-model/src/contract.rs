//! The contract suite of the storage ports: every implementation of [`PlanRepository`] and [`StatusStore`] must pass it.
//!
//! Call [`run_all`] from a test of the implementation's crate with a function that makes an empty store.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::sync::Arc;
use std::thread;

use jiff::Timestamp;

use crate::{
    Author, ChartImage, ChartImageStore, ChartKind, CoachId, HistoryAction, HistoryQuery, ImageDigest, Inserted,
    MentionQuery, NewChart, NewPlan, Plan, PlanChange, PlanId, PlanRepository, PlanSearch, PlanSource, PlanText,
    RepoError, SearchCursor, SearchQuery, StatusStore, TextQuery, Ticker, TradingDate, UserId,
};

mod access;

pub use access::{run_access_cases, run_webhook_cases};

/// A named contract case.
type Case<S> = (&'static str, fn(Arc<S>));

/// A named contract case on two stores over one database.
type PairCase<S> = (&'static str, fn(S, S));

/// Runs every contract case, each on a fresh store from `make`.
pub fn run_all<S, F>(make: F)
where
    S: PlanRepository + StatusStore,
    F: Fn() -> S,
{
    let cases: [Case<S>; 18] = [
        ("insert_round_trips_every_field", insert_round_trips_every_field),
        ("second_active_plan_is_a_duplicate", second_active_plan_is_a_duplicate),
        ("deleted_plan_can_be_posted_again", deleted_plan_can_be_posted_again),
        ("edit_records_text_before_and_after", edit_records_text_before_and_after),
        ("charts_are_replaced_in_order", charts_are_replaced_in_order),
        ("state_rules_of_delete_and_restore", state_rules_of_delete_and_restore),
        ("version_conflict_and_unknown_id", version_conflict_and_unknown_id),
        ("lists_by_date_and_author", lists_by_date_and_author),
        ("history_is_newest_first_and_filtered", history_is_newest_first_and_filtered),
        ("source_message_finds_newest_plan", source_message_finds_newest_plan),
        ("a_message_posts_one_plan_however_often_delivered", a_message_posts_one_plan_however_often_delivered),
        ("repost_replaces_text_charts_and_source", repost_replaces_text_charts_and_source),
        ("stats_count_everything", stats_count_everything),
        ("status_values_are_overwritten", status_values_are_overwritten),
        ("concurrent_edits_lose_nothing", concurrent_edits_lose_nothing),
        ("concurrent_posts_store_exactly_one", concurrent_posts_store_exactly_one),
        ("plans_posted_at_once_are_each_stored_whole", plans_posted_at_once_are_each_stored_whole),
        ("the_change_count_moves_with_every_change", the_change_count_moves_with_every_change),
    ];
    for (name, case) in cases {
        eprintln!("contract case: {name}");
        case(Arc::new(make()));
    }
}

/// Runs the contract cases of [`PlanSearch`], each on a fresh store from `make` (which extracts tickers with the
/// default rules).
pub fn run_search_cases<S, F>(make: F)
where
    S: PlanRepository + PlanSearch,
    F: Fn() -> S,
{
    let cases: [Case<S>; 6] = [
        ("tickers_are_written_with_the_text", tickers_are_written_with_the_text),
        ("search_filters_and_orders_newest_date_then_roster", search_filters_and_orders_newest_date_then_roster),
        ("words_match_terms_phrases_and_prefixes", words_match_terms_phrases_and_prefixes),
        ("pages_follow_one_another_without_gaps_or_repeats", pages_follow_one_another_without_gaps_or_repeats),
        ("search_finds_exactly_what_the_query_admits", search_finds_exactly_what_the_query_admits),
        ("ticker_mentions_count_active_plans_of_the_range", ticker_mentions_count_active_plans_of_the_range),
    ];
    for (name, case) in cases {
        eprintln!("contract case: {name}");
        case(Arc::new(make()));
    }
}

/// Runs the contract cases of [`ChartImageStore`], each on a fresh store from `make`.
pub fn run_chart_image_cases<S, F>(make: F)
where
    S: ChartImageStore,
    F: Fn() -> S,
{
    let cases: [Case<S>; 2] = [
        ("images_round_trip_by_source_key_and_digest", images_round_trip_by_source_key_and_digest),
        ("one_file_attached_twice_is_kept_once", one_file_attached_twice_is_kept_once),
    ];
    for (name, case) in cases {
        eprintln!("contract case: {name}");
        case(Arc::new(make()));
    }
}

fn images_round_trip_by_source_key_and_digest<S: ChartImageStore>(store: Arc<S>) {
    let png = ChartImage::new("image/png", (0..=255u8).cycle().take(70_000).collect());
    let key = "https://cdn.discordapp.com/attachments/1/2/spy.png";
    assert!(store.chart_images(&[key]).unwrap().is_empty(), "nothing before it is put");
    store.put_chart_image(key, &png, at(0)).unwrap();
    let found = store.chart_images(&[key, "https://cdn.discordapp.com/attachments/1/3/none.png"]).unwrap();
    assert_eq!(found, vec![(key.to_owned(), png.info())]);
    assert_eq!(store.image(&png.digest).unwrap(), Some(png.clone()), "the bytes come back exactly");
    assert_eq!(store.image(&ImageDigest::of(b"other")).unwrap(), None);
    // The same link archived again (a replayed message) changes nothing; a new file for it replaces the link.
    store.put_chart_image(key, &png, at(1)).unwrap();
    let newer = ChartImage::new("image/jpeg", vec![9; 10]);
    store.put_chart_image(key, &newer, at(2)).unwrap();
    assert_eq!(store.chart_images(&[key]).unwrap(), vec![(key.to_owned(), newer.info())]);
    assert_eq!(store.image(&png.digest).unwrap(), Some(png), "an image stays readable by its digest");
}

fn one_file_attached_twice_is_kept_once<S: ChartImageStore>(store: Arc<S>) {
    let gif = ChartImage::new("image/gif", b"GIF89a...".to_vec());
    let (first, second) = ("http://127.0.0.1:1/attachments/1/5/a.gif", "http://127.0.0.1:1/attachments/1/6/a.gif");
    store.put_chart_image(first, &gif, at(0)).unwrap();
    store.put_chart_image(second, &gif, at(1)).unwrap();
    let found = store.chart_images(&[first, second]).unwrap();
    assert_eq!(found.len(), 2);
    assert!(found.iter().all(|(_, image)| image == &gif.info()));
    assert_eq!(store.image(&gif.digest).unwrap(), Some(gif));
}

/// Runs the contract cases of [`StatusStore::defer_status`] for a store that defers writes (returns tickets), each on
/// a fresh database from `make`, which opens two stores over it (as two processes would).
pub fn run_deferred_status_cases<S, F>(make: F)
where
    S: PlanRepository + StatusStore,
    F: Fn() -> (S, S),
{
    let cases: [PairCase<S>; 2] = [
        (
            "a_deferred_value_is_committed_with_the_next_write_and_a_value_put_since_wins",
            a_deferred_value_is_committed_with_the_next_write_and_a_value_put_since_wins,
        ),
        ("a_failed_write_does_not_lose_a_deferred_value", a_failed_write_does_not_lose_a_deferred_value),
    ];
    for (name, case) in cases {
        eprintln!("contract case: {name}");
        let (store, other) = make();
        case(store, other);
    }
}

fn a_deferred_value_is_committed_with_the_next_write_and_a_value_put_since_wins<S>(store: S, other: S)
where
    S: PlanRepository + StatusStore,
{
    let first = store.defer_status("bot.cursor.200", "1", at(0)).expect("the store defers writes");
    assert!(!store.status_written(first), "nothing was committed yet");
    assert_eq!(other.status("bot.cursor.200").unwrap(), None);
    other.put_status("api.state", "up", at(0)).unwrap();
    store.status("bot.cursor.200").unwrap();
    assert!(!store.status_written(first), "another store's writes do not take it, nor do reads");
    assert_eq!(other.status("bot.cursor.200").unwrap(), None);

    store.insert(new_plan("d", "2025-11-09", "Long above 950", author(1, "Ann")), at(1)).unwrap();
    assert!(store.status_written(first), "it rode with the plan's commit");
    assert_eq!(other.status("bot.cursor.200").unwrap().unwrap().value, "1", "another store reads it");

    // A later deferred value replaces one not written yet; a value put on its own replaces both.
    let second = store.defer_status("bot.cursor.200", "2", at(2)).unwrap();
    let third = store.defer_status("bot.cursor.200", "3", at(3)).unwrap();
    store.put_status("bot.cursor.200", "4", at(4)).unwrap();
    store.insert(new_plan("s", "2025-11-09", "Swing AAPL", author(1, "Ann")), at(5)).unwrap();
    assert!(store.status_written(second) && store.status_written(third));
    assert_eq!(other.status("bot.cursor.200").unwrap().unwrap().value, "4", "the value put last stays");
}

fn a_failed_write_does_not_lose_a_deferred_value<S>(store: S, other: S)
where
    S: PlanRepository + StatusStore,
{
    store.insert(new_plan("d", "2025-11-09", "Long above 950", author(1, "Ann")), at(0)).unwrap();
    let ticket = store.defer_status("bot.cursor.200", "7", at(1)).unwrap();
    // A second active plan for the coach and date is refused; the value is committed all the same, with that
    // write's transaction (which keeps nothing of the write) or the next.
    store.insert(new_plan("d", "2025-11-09", "again", author(1, "Ann")), at(2)).unwrap_err();
    store.put_status("bot.state", "connected", at(3)).unwrap();
    assert!(store.status_written(ticket));
    assert_eq!(other.status("bot.cursor.200").unwrap().unwrap().value, "7");
}

/// A timestamp `n` seconds after a fixed instant, with microseconds (the precision storage must keep).
pub fn at(n: i64) -> Timestamp {
    Timestamp::from_microsecond(1_762_700_000_123_456 + n * 1_000_000).unwrap()
}

fn coach(id: &str) -> CoachId {
    CoachId::new(id).unwrap()
}

fn date(d: &str) -> TradingDate {
    TradingDate::parse(d).unwrap()
}

fn author(id: u64, name: &str) -> Author {
    Author { user_id: Some(UserId(id)), display_name: name.to_owned() }
}

fn chart(url: &str, kind: ChartKind) -> NewChart {
    let filename = (kind == ChartKind::Attachment).then(|| url.rsplit('/').next().unwrap().to_owned());
    NewChart { url: url.to_owned(), filename, content_type: Some("image/png".into()), kind }
}

fn new_plan(c: &str, d: &str, text: &str, who: Author) -> NewPlan {
    NewPlan {
        coach: coach(c),
        date: date(d),
        text: PlanText::new(text).unwrap(),
        author: who,
        source: PlanSource {
            guild_id: Some(10),
            channel_id: Some(20),
            channel_name: Some("plans".into()),
            message_id: Some(1000),
        },
        charts: vec![],
    }
}

fn edit(text: &str) -> PlanChange {
    PlanChange::Edit { text: PlanText::new(text).unwrap(), charts: None }
}

fn insert_round_trips_every_field<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let mut new = new_plan("d", "2025-11-09", "Long NVDA above 950\nStop 940", author(1, "Ann"));
    new.charts =
        vec![chart("https://cdn.test/b.png", ChartKind::Attachment), chart("https://i.test/a.jpg", ChartKind::Link)];
    let stored = store.insert(new, at(0)).unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(stored.text, "Long NVDA above 950\nStop 940");
    assert_eq!(stored.created_at, at(0));
    assert_eq!(stored.updated_at, at(0));
    assert_eq!(stored.deleted_at, None);
    let read = store.get(stored.id).unwrap().unwrap();
    assert_eq!(read, stored, "what is read back equals what insert returned");
    assert_eq!(read.author, author(1, "Ann"));
    assert_eq!(read.source.message_id, Some(1000));
    assert_eq!(read.source.channel_name.as_deref(), Some("plans"));
    let urls: Vec<_> = read.charts.iter().map(|c| (c.position, c.url.as_str(), c.kind)).collect();
    assert_eq!(
        urls,
        [(0, "https://cdn.test/b.png", ChartKind::Attachment), (1, "https://i.test/a.jpg", ChartKind::Link)]
    );
    assert_eq!(read.charts[0].filename.as_deref(), Some("b.png"));
    assert_eq!(read.tickers, [ticker("NVDA")], "the tickers of the text are stored with it");
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap(), Some(stored.clone()));
    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 10 }).unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].action, HistoryAction::Created);
    assert_eq!(history[0].version, 1);
    assert_eq!(history[0].text_after.as_deref(), Some(stored.text.as_str()));
    assert_eq!(history[0].plan_id, stored.id);
    assert_eq!(store.get(PlanId(stored.id.0 + 100)).unwrap(), None);
}

fn second_active_plan_is_a_duplicate<S: PlanRepository + StatusStore>(store: Arc<S>) {
    store.insert(new_plan("d", "2025-11-09", "first", author(1, "Ann")), at(0)).unwrap();
    let err = store.insert(new_plan("d", "2025-11-09", "second", author(2, "Bob")), at(1)).unwrap_err();
    assert!(matches!(err, RepoError::Duplicate { .. }), "{err:?}");
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap().text, "first");
    store.insert(new_plan("i", "2025-11-09", "other coach", author(2, "Bob")), at(2)).unwrap();
    store.insert(new_plan("d", "2025-11-10", "other date", author(2, "Bob")), at(3)).unwrap();
    let history =
        store.history(&HistoryQuery { coach: coach("d"), date: Some(date("2025-11-09")), limit: 10 }).unwrap();
    assert_eq!(history.len(), 1, "a refused insert records nothing");
}

fn deleted_plan_can_be_posted_again<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let first = store.insert(new_plan("d", "2025-11-09", "first", author(1, "Ann")), at(0)).unwrap();
    let deleted = store.change(first.id, PlanChange::Delete, &author(1, "Ann"), at(1), None).unwrap();
    assert_eq!(deleted.deleted_at, Some(at(1)));
    assert_eq!(deleted.version, 2);
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap(), None);
    let second = store.insert(new_plan("d", "2025-11-09", "second", author(2, "Bob")), at(2)).unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap().id, second.id);
    assert_eq!(store.find_latest_deleted(&coach("d"), date("2025-11-09")).unwrap().unwrap().id, first.id);
    store.change(second.id, PlanChange::Delete, &author(2, "Bob"), at(3), None).unwrap();
    assert_eq!(
        store.find_latest_deleted(&coach("d"), date("2025-11-09")).unwrap().unwrap().id,
        second.id,
        "the most recently deleted plan comes first"
    );
}

fn edit_records_text_before_and_after<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let mut new = new_plan("s", "2025-11-09", "v1", author(1, "Ann"));
    new.charts = vec![chart("https://cdn.test/a.png", ChartKind::Attachment)];
    let plan = store.insert(new, at(0)).unwrap();
    let admin = author(9, "Admin");
    let edited = store.change(plan.id, edit("v2"), &admin, at(5), None).unwrap();
    assert_eq!(edited.text, "v2");
    assert_eq!(edited.version, 2);
    assert_eq!(edited.updated_at, at(5));
    assert_eq!(edited.created_at, at(0));
    assert_eq!(edited.author, author(1, "Ann"), "editing never changes the author");
    assert_eq!(edited.charts, plan.charts, "charts are kept when the edit does not name any");
    assert_eq!(store.get(plan.id).unwrap().unwrap(), edited);
    let history = store.history(&HistoryQuery { coach: coach("s"), date: None, limit: 10 }).unwrap();
    assert_eq!(history.len(), 2);
    let entry = &history[0];
    assert_eq!(entry.action, HistoryAction::Edited);
    assert_eq!(entry.version, 2);
    assert_eq!(entry.text_before.as_deref(), Some("v1"));
    assert_eq!(entry.text_after.as_deref(), Some("v2"));
    assert_eq!(entry.actor, admin);
    assert_eq!(entry.at, at(5));
}

fn the_change_count_moves_with_every_change<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let mut last = store.change_count().unwrap();
    let mut moved = |what: &str| {
        let now = store.change_count().unwrap();
        assert!(now > last, "{what} moves the change count ({last} then {now})");
        last = now;
    };
    let plan = store.insert(new_plan("d", "2025-11-09", "v1", author(1, "Ann")), at(0)).unwrap();
    moved("a new plan");
    store.change(plan.id, edit("v2"), &author(1, "Ann"), at(1), None).unwrap();
    moved("an edit");
    store.change(plan.id, PlanChange::Delete, &author(1, "Ann"), at(2), None).unwrap();
    moved("a deletion");
    store.change(plan.id, PlanChange::Restore, &author(1, "Ann"), at(3), None).unwrap();
    moved("a restoration");
    let before = store.change_count().unwrap();
    store.list_active_by_date(date("2025-11-09")).unwrap();
    store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 10 }).unwrap();
    store.put_status("bot", "connected", at(4)).unwrap();
    assert_eq!(store.change_count().unwrap(), before, "reads and status records leave it");
}

fn charts_are_replaced_in_order<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let mut new = new_plan("n", "2025-11-09", "news", author(1, "Ann"));
    new.charts = vec![chart("https://cdn.test/a.png", ChartKind::Attachment)];
    let plan = store.insert(new, at(0)).unwrap();
    let replaced = store
        .change(
            plan.id,
            PlanChange::ReplaceCharts(vec![
                chart("https://i.test/z.png", ChartKind::Link),
                chart("https://i.test/y.png", ChartKind::Link),
            ]),
            &author(1, "Ann"),
            at(1),
            None,
        )
        .unwrap();
    let urls: Vec<_> = replaced.charts.iter().map(|c| (c.position, c.url.clone(), c.added_at)).collect();
    assert_eq!(urls, [(0, "https://i.test/z.png".into(), at(1)), (1, "https://i.test/y.png".into(), at(1))]);
    assert_eq!(store.get(plan.id).unwrap().unwrap().charts, replaced.charts);
    let emptied = store
        .change(
            plan.id,
            PlanChange::Edit { text: PlanText::new("no charts").unwrap(), charts: Some(vec![]) },
            &author(1, "Ann"),
            at(2),
            None,
        )
        .unwrap();
    assert!(emptied.charts.is_empty());
    assert!(store.get(plan.id).unwrap().unwrap().charts.is_empty());
    let history = store.history(&HistoryQuery { coach: coach("n"), date: None, limit: 10 }).unwrap();
    let actions: Vec<_> = history.iter().map(|e| e.action).collect();
    assert_eq!(actions, [HistoryAction::Edited, HistoryAction::ChartsChanged, HistoryAction::Created]);
    assert_eq!(history[1].text_before, history[1].text_after, "a chart change keeps the text");
}

fn state_rules_of_delete_and_restore<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let plan = store.insert(new_plan("d", "2025-11-09", "v1", ann.clone()), at(0)).unwrap();
    assert!(matches!(store.change(plan.id, PlanChange::Restore, &ann, at(1), None), Err(RepoError::NotDeleted(_))));
    store.change(plan.id, PlanChange::Delete, &ann, at(2), None).unwrap();
    assert!(matches!(store.change(plan.id, PlanChange::Delete, &ann, at(3), None), Err(RepoError::Deleted(_))));
    assert!(matches!(store.change(plan.id, edit("x"), &ann, at(3), None), Err(RepoError::Deleted(_))));
    assert!(matches!(
        store.change(plan.id, PlanChange::ReplaceCharts(vec![]), &ann, at(3), None),
        Err(RepoError::Deleted(_))
    ));
    let other = store.insert(new_plan("d", "2025-11-09", "other", author(2, "Bob")), at(4)).unwrap();
    let err = store.change(plan.id, PlanChange::Restore, &ann, at(5), None).unwrap_err();
    assert!(matches!(err, RepoError::Duplicate { .. }), "{err:?}");
    assert_eq!(store.get(plan.id).unwrap().unwrap().version, 2, "a refused restore changes nothing");
    store.change(other.id, PlanChange::Delete, &author(2, "Bob"), at(6), None).unwrap();
    let restored = store.change(plan.id, PlanChange::Restore, &ann, at(7), None).unwrap();
    assert_eq!(restored.deleted_at, None);
    assert_eq!(restored.version, 3);
    assert_eq!(restored.text, "v1");
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap().id, plan.id);
    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 100 }).unwrap();
    let of_plan: Vec<_> = history.iter().filter(|e| e.plan_id == plan.id).map(|e| (e.action, e.version)).collect();
    assert_eq!(of_plan, [(HistoryAction::Restored, 3), (HistoryAction::Deleted, 2), (HistoryAction::Created, 1)]);
    let deleted_entry = history.iter().find(|e| e.plan_id == plan.id && e.action == HistoryAction::Deleted).unwrap();
    assert_eq!((deleted_entry.text_before.as_deref(), deleted_entry.text_after.as_deref()), (Some("v1"), None));
}

fn version_conflict_and_unknown_id<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let plan = store.insert(new_plan("d", "2025-11-09", "v1", ann.clone()), at(0)).unwrap();
    let err = store.change(plan.id, edit("v2"), &ann, at(1), Some(5)).unwrap_err();
    assert!(matches!(err, RepoError::VersionConflict { expected: 5, current: 1, .. }), "{err:?}");
    assert_eq!(store.get(plan.id).unwrap().unwrap().text, "v1");
    store.change(plan.id, edit("v2"), &ann, at(1), Some(1)).unwrap();
    let missing = PlanId(plan.id.0 + 1000);
    assert!(
        matches!(store.change(missing, edit("x"), &ann, at(2), None), Err(RepoError::NotFound(id)) if id == missing)
    );
}

fn lists_by_date_and_author<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let bob = author(2, "Bob");
    store.insert(new_plan("s", "2025-11-09", "ann s", ann.clone()), at(0)).unwrap();
    store.insert(new_plan("d", "2025-11-09", "bob d", bob.clone()), at(1)).unwrap();
    let gone = store.insert(new_plan("i", "2025-11-09", "ann i", ann.clone()), at(2)).unwrap();
    store.insert(new_plan("d", "2025-11-10", "ann d next", ann.clone()), at(3)).unwrap();
    store.change(gone.id, PlanChange::Delete, &ann, at(4), None).unwrap();
    let day: Vec<_> = store.list_active_by_date(date("2025-11-09")).unwrap().into_iter().map(|p| p.text).collect();
    assert_eq!(day, ["bob d", "ann s"], "active plans of the date, by coach id");
    let anns: Vec<_> = store.list_active_by_author(UserId(1), None).unwrap().into_iter().map(|p| p.text).collect();
    assert_eq!(anns, ["ann d next", "ann s"], "newest date first, deleted plans left out");
    let anns_day: Vec<_> =
        store.list_active_by_author(UserId(1), Some(date("2025-11-09"))).unwrap().into_iter().map(|p| p.text).collect();
    assert_eq!(anns_day, ["ann s"]);
    assert!(store.list_active_by_author(UserId(3), None).unwrap().is_empty());
    assert!(store.list_active_by_date(date("2024-01-01")).unwrap().is_empty());
}

fn history_is_newest_first_and_filtered<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let first = store.insert(new_plan("d", "2025-11-09", "a1", ann.clone()), at(0)).unwrap();
    store.change(first.id, edit("a2"), &ann, at(1), None).unwrap();
    store.change(first.id, PlanChange::Delete, &ann, at(2), None).unwrap();
    let second = store.insert(new_plan("d", "2025-11-09", "b1", ann.clone()), at(3)).unwrap();
    store.insert(new_plan("d", "2025-11-10", "c1", ann.clone()), at(4)).unwrap();
    store.insert(new_plan("i", "2025-11-09", "other coach", ann.clone()), at(5)).unwrap();
    // Two changes in the same instant keep their order through the id.
    store.change(second.id, edit("b2"), &ann, at(6), None).unwrap();
    store.change(second.id, edit("b3"), &ann, at(6), None).unwrap();
    let day = store.history(&HistoryQuery { coach: coach("d"), date: Some(date("2025-11-09")), limit: 100 }).unwrap();
    let texts: Vec<_> = day.iter().map(|e| e.text_after.clone().unwrap_or_else(|| "-".into())).collect();
    assert_eq!(texts, ["b3", "b2", "b1", "-", "a2", "a1"], "both plans of the date, newest first");
    assert!(day.iter().all(|e| e.coach == coach("d") && e.date == date("2025-11-09")));
    let all = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 100 }).unwrap();
    assert_eq!(all.len(), 7, "every date of the coach when no date is given");
    let limited = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 2 }).unwrap();
    assert_eq!(limited.iter().map(|e| e.text_after.clone().unwrap()).collect::<Vec<_>>(), ["b3", "b2"]);
    assert!(store.history(&HistoryQuery { coach: coach("s"), date: None, limit: 10 }).unwrap().is_empty());
}

fn source_message_finds_newest_plan<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let mut new = new_plan("d", "2025-11-09", "first", ann.clone());
    new.source.message_id = Some(77);
    let first = store.insert(new.clone(), at(0)).unwrap();
    assert_eq!(store.find_by_source_message(77).unwrap().unwrap().id, first.id);
    store.change(first.id, PlanChange::Delete, &ann, at(1), None).unwrap();
    new.text = PlanText::new("second").unwrap();
    let second = store.insert(new, at(2)).unwrap();
    assert_eq!(store.find_by_source_message(77).unwrap().unwrap().id, second.id);
    assert_eq!(store.find_by_source_message(78).unwrap(), None);
    assert_eq!(store.find_by_posting_message(77).unwrap().unwrap().id, second.id, "the newest plan it posted");
    assert_eq!(store.find_by_posting_message(78).unwrap(), None);
}

fn repost(text: &str, charts: Vec<NewChart>, message_id: u64) -> PlanChange {
    let source = PlanSource {
        guild_id: Some(11),
        channel_id: Some(21),
        channel_name: Some("desk".into()),
        message_id: Some(message_id),
    };
    PlanChange::Repost { text: PlanText::new(text).unwrap(), charts, source }
}

fn a_message_posts_one_plan_however_often_delivered<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let mut new = new_plan("d", "2025-11-09", "first", ann.clone());
    new.source.message_id = Some(77);
    let Inserted::New(plan) = store.insert_unless_posted(77, new.clone(), at(0)).unwrap() else {
        panic!("a message never seen posts its plan");
    };
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan);
    assert_eq!(
        store.insert_unless_posted(77, new.clone(), at(1)).unwrap(),
        Inserted::Earlier(plan.clone()),
        "delivered again, it posts nothing"
    );

    let reposted = store.change(plan.id, repost("again", vec![], 78), &ann, at(2), None).unwrap();
    assert_eq!(
        store.insert_unless_posted(77, new.clone(), at(3)).unwrap(),
        Inserted::Earlier(reposted.clone()),
        "the plan it posted, as it is now, even after a later message re-posted it"
    );
    store.change(plan.id, PlanChange::Delete, &ann, at(4), None).unwrap();
    let Inserted::Earlier(deleted) = store.insert_unless_posted(78, new.clone(), at(5)).unwrap() else {
        panic!("a message that re-posted a plan since deleted posts nothing either");
    };
    assert_eq!((deleted.id, deleted.deleted_at), (plan.id, Some(at(4))));

    new.source.message_id = Some(79);
    let Inserted::New(second) = store.insert_unless_posted(79, new.clone(), at(6)).unwrap() else {
        panic!("another message posts a plan where only a deleted one is");
    };
    assert_ne!(second.id, plan.id);
    let mut other = new_plan("d", "2025-11-09", "third", ann);
    other.source.message_id = Some(80);
    let err = store.insert_unless_posted(80, other, at(7)).unwrap_err();
    assert!(matches!(err, RepoError::Duplicate { .. }), "the one-active-plan rule holds: {err:?}");
    assert_eq!(store.find_by_posting_message(80).unwrap(), None, "a refused post names no message");
    let stats = store.stats().unwrap();
    assert_eq!((stats.active_plans, stats.deleted_plans), (1, 1), "two plans in all");
}

fn repost_replaces_text_charts_and_source<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let mut new = new_plan("d", "2025-11-09", "v1", ann.clone());
    new.charts = vec![chart("https://cdn.test/a.png", ChartKind::Attachment)];
    let plan = store.insert(new, at(0)).unwrap();
    let charts =
        vec![chart("https://i.test/z.png", ChartKind::Link), chart("https://cdn.test/y.png", ChartKind::Attachment)];
    let reposted = store.change(plan.id, repost("v2", charts, 2000), &ann, at(3), None).unwrap();
    let expected_source = PlanSource {
        guild_id: Some(11),
        channel_id: Some(21),
        channel_name: Some("desk".into()),
        message_id: Some(2000),
    };
    assert_eq!(reposted.source, expected_source, "the plan now comes from the new message");
    assert_eq!((reposted.text.as_str(), reposted.version), ("v2", 2));
    assert_eq!((reposted.created_at, reposted.updated_at), (at(0), at(3)));
    assert_eq!(reposted.author, ann);
    let charts: Vec<_> = reposted.charts.iter().map(|c| (c.position, c.url.as_str(), c.added_at)).collect();
    assert_eq!(charts, [(0, "https://i.test/z.png", at(3)), (1, "https://cdn.test/y.png", at(3))]);
    assert_eq!(store.get(plan.id).unwrap().unwrap(), reposted, "source, text and charts are all stored");

    assert_eq!(store.find_by_source_message(2000).unwrap().unwrap().id, plan.id, "edits of the new message follow it");
    assert_eq!(store.find_by_source_message(1000).unwrap(), None, "the first message no longer drives the plan");
    assert_eq!(store.find_by_posting_message(1000).unwrap().unwrap().id, plan.id, "but it is known to have posted it");
    assert_eq!(store.find_by_posting_message(2000).unwrap().unwrap(), reposted);
    assert_eq!(store.find_by_posting_message(3000).unwrap(), None);

    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 10 }).unwrap();
    let entries: Vec<_> = history
        .iter()
        .map(|e| (e.version, e.action, e.text_before.as_deref(), e.text_after.as_deref(), e.message_id, e.at))
        .collect();
    assert_eq!(
        entries,
        [
            (2, HistoryAction::Edited, Some("v1"), Some("v2"), Some(2000), at(3)),
            (1, HistoryAction::Created, None, Some("v1"), Some(1000), at(0)),
        ],
        "a re-post is one entry that names its message"
    );

    let bare = store.change(plan.id, repost("v3", vec![], 3000), &ann, at(4), None).unwrap();
    assert!(bare.charts.is_empty(), "a re-post without charts removes them");
    assert_eq!(store.get(plan.id).unwrap().unwrap(), bare);
    assert_eq!(store.find_by_source_message(2000).unwrap(), None);
    assert_eq!(store.find_by_posting_message(2000).unwrap().unwrap().id, plan.id);

    store.change(plan.id, PlanChange::Delete, &ann, at(5), None).unwrap();
    let err = store.change(plan.id, repost("v4", vec![], 4000), &ann, at(6), None).unwrap_err();
    assert!(matches!(err, RepoError::Deleted(_)), "{err:?}");
    assert_eq!(store.get(plan.id).unwrap().unwrap().version, 4, "a refused re-post changes nothing");
    assert_eq!(store.find_by_posting_message(4000).unwrap(), None);
}

fn stats_count_everything<S: PlanRepository + StatusStore>(store: Arc<S>) {
    assert_eq!(store.stats().unwrap(), crate::StoreStats::default());
    let ann = author(1, "Ann");
    let mut new = new_plan("d", "2025-11-09", "d", ann.clone());
    new.charts = vec![chart("https://i.test/1.png", ChartKind::Link), chart("https://i.test/2.png", ChartKind::Link)];
    store.insert(new, at(0)).unwrap();
    store.insert(new_plan("s", "2025-11-12", "s", ann.clone()), at(1)).unwrap();
    let gone = store.insert(new_plan("i", "2025-11-01", "i", ann.clone()), at(2)).unwrap();
    store.change(gone.id, PlanChange::Delete, &ann, at(3), None).unwrap();
    let stats = store.stats().unwrap();
    assert_eq!(stats.active_plans, 2);
    assert_eq!(stats.deleted_plans, 1);
    assert_eq!(stats.charts, 2);
    assert_eq!(stats.history_entries, 4);
    assert_eq!(stats.active_by_coach, [(coach("d"), 1), (coach("s"), 1)]);
    assert_eq!(stats.first_date, Some(date("2025-11-09")));
    assert_eq!(stats.last_date, Some(date("2025-11-12")));
    store.ping().unwrap();
}

fn status_values_are_overwritten<S: PlanRepository + StatusStore>(store: Arc<S>) {
    assert_eq!(store.status("bot.state").unwrap(), None);
    store.put_status("bot.state", "connected", at(0)).unwrap();
    store.put_status("bot.state", "disconnected", at(1)).unwrap();
    let record = store.status("bot.state").unwrap().unwrap();
    assert_eq!((record.value.as_str(), record.updated_at), ("disconnected", at(1)));
}

fn concurrent_edits_lose_nothing<S: PlanRepository + StatusStore>(store: Arc<S>) {
    const THREADS: u64 = 4;
    const EDITS: u64 = 25;
    let plan = store.insert(new_plan("d", "2025-11-09", "start", author(1, "Ann")), at(0)).unwrap();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                for e in 0..EDITS {
                    store.change(plan.id, edit(&format!("t{t} e{e}")), &author(t, "x"), at(1), None).unwrap();
                    // Each thread also posts plans of its own and reads while the others write.
                    let day = format!("2026-01-{:02}", e % 28 + 1);
                    let mine =
                        new_plan(["i", "s", "n", "x"][usize::try_from(t).unwrap()], &day, "mine", author(t, "x"));
                    store.insert(mine, at(2)).unwrap();
                    let read = store.get(plan.id).unwrap().unwrap();
                    assert!(read.text.starts_with('t') && read.version > 1);
                    store.list_active_by_date(date(&day)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let last: Plan = store.get(plan.id).unwrap().unwrap();
    assert_eq!(u64::from(last.version), 1 + THREADS * EDITS, "every edit counted once");
    let history = store.history(&HistoryQuery { coach: coach("d"), date: None, limit: 1000 }).unwrap();
    assert_eq!(history.len() as u64, 1 + THREADS * EDITS);
    let mut versions: Vec<u32> = history.iter().map(|e| e.version).collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=u32::try_from(1 + THREADS * EDITS).unwrap()).collect::<Vec<_>>(),
        "no version twice or skipped"
    );
    // Each entry's text before is the text after of the entry one version below: no edit was lost.
    let mut by_version = history.clone();
    by_version.sort_by_key(|e| e.version);
    for pair in by_version.windows(2) {
        assert_eq!(pair[1].text_before, pair[0].text_after, "version {}", pair[1].version);
    }
    assert_eq!(store.stats().unwrap().active_plans, 1 + THREADS * EDITS);
}

fn concurrent_posts_store_exactly_one<S: PlanRepository + StatusStore>(store: Arc<S>) {
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                store.insert(new_plan("d", "2025-11-09", &format!("from {t}"), author(t, "x")), at(0))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| matches!(e, RepoError::Duplicate { .. })));
    assert_eq!(store.stats().unwrap().history_entries, 1);
}

/// A ticker of letters only, one per thread and post.
fn letters(t: u64, p: u64) -> String {
    [t, p].iter().map(|&n| char::from(b'A' + u8::try_from(n).unwrap())).collect::<String>() + "X"
}

/// Many plans posted at the same time (as the bot's channels post them in a burst, which a store may write together):
/// each is stored whole, with its own charts, tickers, history entry and message, under the id it was returned with;
/// one of them failing (a second plan for a coach and date) fails alone; and one message delivered several times at
/// once posts one plan.
fn plans_posted_at_once_are_each_stored_whole<S: PlanRepository + StatusStore>(store: Arc<S>) {
    const THREADS: u64 = 6;
    const POSTS: u64 = 12;
    let start = Arc::new(std::sync::Barrier::new(usize::try_from(THREADS).unwrap()));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (store, start) = (Arc::clone(&store), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let mut results = Vec::new();
                for p in 0..POSTS {
                    let message = 5_000 + t * 100 + p;
                    // Every thread posts for coach `d` on day 1: one of them wins it.
                    let day = if p == 0 { 1 } else { t * POSTS + p + 1 };
                    let day =
                        (date("2025-01-01").date() + jiff::Span::new().days(i64::try_from(day).unwrap())).to_string();
                    let mut new =
                        new_plan("d", &day, &format!("${} long from thread {t}", letters(t, p)), author(t, "x"));
                    new.source.message_id = Some(message);
                    new.charts = (0..p % 3)
                        .map(|c| chart(&format!("https://cdn.test/{t}-{p}-{c}.png"), ChartKind::Attachment))
                        .collect();
                    results.push((message, new.clone(), store.insert_unless_posted(message, new, at(0))));
                }
                results
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    let mut stored = 0;
    for (message, new, result) in results {
        match result {
            Ok(Inserted::New(plan)) => {
                stored += 1;
                assert_eq!(
                    store.get(plan.id).unwrap().as_ref(),
                    Some(&plan),
                    "message {message}: read back as returned"
                );
                assert_eq!(
                    (plan.text.as_str(), plan.date, plan.source.message_id),
                    (new.text.as_str(), new.date, Some(message))
                );
                let urls: Vec<&str> = plan.charts.iter().map(|c| c.url.as_str()).collect();
                let posted: Vec<&str> = new.charts.iter().map(|c| c.url.as_str()).collect();
                assert_eq!(urls, posted, "message {message}: its own charts, in order");
                assert_eq!(plan.tickers.len(), 1, "message {message}: its ticker");
                assert_eq!(store.find_by_posting_message(message).unwrap(), Some(plan.clone()));
                let history =
                    store.history(&HistoryQuery { coach: coach("d"), date: Some(plan.date), limit: 10 }).unwrap();
                assert_eq!(
                    history.iter().map(|e| (e.plan_id, e.message_id)).collect::<Vec<_>>(),
                    [(plan.id, Some(message))]
                );
            }
            Err(RepoError::Duplicate { coach: c, date: d }) => {
                assert_eq!((c, d), (coach("d"), date("2025-01-02")), "only the day every thread posted for fails");
                assert_eq!(store.find_by_posting_message(message).unwrap(), None, "message {message} posted nothing");
            }
            other => panic!("message {message}: {other:?}"),
        }
    }
    assert_eq!(stored, THREADS * (POSTS - 1) + 1, "every post but the losers of day 1");
    assert_eq!(store.stats().unwrap().history_entries, stored);

    // One message delivered by several threads at once posts one plan; the others find it, or are refused.
    let mut new = new_plan("i", "2025-06-02", "once", author(1, "Ann"));
    new.source.message_id = Some(9_999);
    let start = Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (store, start, new) = (Arc::clone(&store), Arc::clone(&start), new.clone());
            thread::spawn(move || {
                start.wait();
                store.insert_unless_posted(9_999, new, at(1))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let posted: Vec<&Plan> =
        results.iter().filter_map(|r| if let Ok(Inserted::New(plan)) = r { Some(plan) } else { None }).collect();
    assert_eq!(posted.len(), 1, "{results:?}");
    for result in &results {
        match result {
            Ok(Inserted::New(_)) | Err(RepoError::Duplicate { .. }) => {}
            Ok(Inserted::Earlier(earlier)) => assert_eq!(earlier, posted[0]),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(store.stats().unwrap().history_entries, stored + 1);
}

fn ticker(t: &str) -> Ticker {
    Ticker::parse(t).unwrap()
}

/// A query over every date of the cases, in the default roster's order, without filters.
fn query() -> SearchQuery {
    SearchQuery {
        tickers: Vec::new(),
        coaches: Vec::new(),
        author: None,
        from: date("2025-01-01"),
        to: date("2025-12-31"),
        words: None,
        limit: 200,
        after: None,
        coach_order: ["d", "i", "s", "n"].map(coach).to_vec(),
    }
}

fn found<S: PlanSearch>(store: &S, query: &SearchQuery) -> Vec<String> {
    store.search(query).unwrap().plans.iter().map(|p| format!("{} {}", p.date, p.coach)).collect()
}

fn tickers_are_written_with_the_text<S: PlanRepository + PlanSearch>(store: Arc<S>) {
    let ann = author(1, "Ann");
    let text = "Long $amd over 152; TSLA weak. PPI 8:30 ET, no FOMC today. I trim at EOD";
    let plan = store.insert(new_plan("d", "2025-11-10", text, ann.clone()), at(0)).unwrap();
    assert_eq!(plan.tickers, [ticker("AMD"), ticker("TSLA")], "in the order of their first mention");
    assert_eq!(store.get(plan.id).unwrap().unwrap().tickers, plan.tickers, "stored, not recomputed");
    let tsla = SearchQuery { tickers: vec![ticker("TSLA")], ..query() };
    assert_eq!(found(&*store, &tsla), ["2025-11-10 d"]);

    let edited = store.change(plan.id, edit("Long $amd over 152, nothing else"), &ann, at(1), None).unwrap();
    assert_eq!(edited.tickers, [ticker("AMD")]);
    assert!(found(&*store, &tsla).is_empty(), "an edit that removes a ticker removes the match");
    let amd = SearchQuery { tickers: vec![ticker("AMD")], ..query() };
    assert_eq!(found(&*store, &amd), ["2025-11-10 d"]);

    let charts = PlanChange::ReplaceCharts(vec![chart("https://cdn.test/NVDA.png", ChartKind::Attachment)]);
    let charted = store.change(plan.id, charts, &ann, at(2), None).unwrap();
    assert_eq!(charted.tickers, [ticker("AMD")], "chart links are not mentions; charts alone keep the tickers");

    store.change(plan.id, PlanChange::Delete, &ann, at(3), None).unwrap();
    assert!(found(&*store, &amd).is_empty(), "a deleted plan is never found");
    let restored = store.change(plan.id, PlanChange::Restore, &ann, at(4), None).unwrap();
    assert_eq!(restored.tickers, [ticker("AMD")]);
    assert_eq!(found(&*store, &amd), ["2025-11-10 d"], "restored, it is found again");

    let repost = PlanChange::Repost {
        text: PlanText::new("NVDA only now").unwrap(),
        charts: Vec::new(),
        source: PlanSource { message_id: Some(2000), ..PlanSource::default() },
    };
    assert_eq!(store.change(plan.id, repost, &ann, at(5), None).unwrap().tickers, [ticker("NVDA")]);
    assert!(found(&*store, &amd).is_empty());
}

fn search_filters_and_orders_newest_date_then_roster<S: PlanRepository + PlanSearch>(store: Arc<S>) {
    let (ann, bob) = (author(1, "Ann"), author(2, "Bob"));
    for (c, d, text, who) in [
        ("n", "2025-11-10", "CPI day: $SPY flat", &bob),
        ("s", "2025-11-10", "NVDA swing, QQQ hedge", &ann),
        ("d", "2025-11-10", "SPY long above 600", &ann),
        ("i", "2025-11-09", "QQQ fade", &bob),
        ("d", "2025-10-01", "SPY old plan", &ann),
        ("s", "2025-11-11", "deleted NVDA plan", &ann),
    ] {
        store.insert(new_plan(c, d, text, who.clone()), at(0)).unwrap();
    }
    let deleted = store.find_active(&coach("s"), date("2025-11-11")).unwrap().unwrap();
    store.change(deleted.id, PlanChange::Delete, &ann, at(1), None).unwrap();

    assert_eq!(
        found(&*store, &query()),
        ["2025-11-10 d", "2025-11-10 s", "2025-11-10 n", "2025-11-09 i", "2025-10-01 d"],
        "newest date first, then roster order (d, i, s, n), deleted plans never"
    );
    let spy = SearchQuery { tickers: vec![ticker("SPY")], ..query() };
    assert_eq!(found(&*store, &spy), ["2025-11-10 d", "2025-11-10 n", "2025-10-01 d"]);
    let any = SearchQuery { tickers: vec![ticker("NVDA"), ticker("QQQ")], ..query() };
    assert_eq!(found(&*store, &any), ["2025-11-10 s", "2025-11-09 i"], "any of the tickers");
    let coaches = SearchQuery { coaches: vec![coach("n"), coach("i")], ..query() };
    assert_eq!(found(&*store, &coaches), ["2025-11-10 n", "2025-11-09 i"]);
    let by_bob = SearchQuery { author: Some(UserId(2)), ..query() };
    assert_eq!(found(&*store, &by_bob), ["2025-11-10 n", "2025-11-09 i"]);
    let nobody = SearchQuery { author: Some(UserId(u64::MAX)), ..query() };
    assert!(found(&*store, &nobody).is_empty(), "an id no one has finds nothing, whatever its size");
    let range = SearchQuery { from: date("2025-11-09"), to: date("2025-11-09"), ..query() };
    assert_eq!(found(&*store, &range), ["2025-11-09 i"], "both ends included");
    let all_filters = SearchQuery {
        tickers: vec![ticker("SPY")],
        coaches: vec![coach("d")],
        author: Some(UserId(1)),
        from: date("2025-11-01"),
        words: Some(TextQuery::parse("long")),
        ..query()
    };
    assert_eq!(found(&*store, &all_filters), ["2025-11-10 d"], "every filter holds");
    let unlisted = SearchQuery { coach_order: ["s", "d"].map(coach).to_vec(), ..query() };
    assert_eq!(
        found(&*store, &unlisted)[..3],
        ["2025-11-10 s", "2025-11-10 d", "2025-11-10 n"],
        "coaches missing from the order come after the listed ones"
    );
}

fn words_match_terms_phrases_and_prefixes<S: PlanRepository + PlanSearch>(store: Arc<S>) {
    let ann = author(1, "Ann");
    store.insert(new_plan("d", "2025-11-10", "Watch the GAP FILL on semiconductors", ann.clone()), at(0)).unwrap();
    store.insert(new_plan("i", "2025-11-10", "gap, then fill the semis", ann.clone()), at(0)).unwrap();
    let plan = store.insert(new_plan("s", "2025-11-10", "L'ÉTÉ arrive: fade the open", ann.clone()), at(0)).unwrap();
    let words = |q: &str| found(&*store, &SearchQuery { words: Some(TextQuery::parse(q)), ..query() });
    assert_eq!(words("gap"), ["2025-11-10 d", "2025-11-10 i"], "case is ignored");
    assert_eq!(words("\"gap fill\""), ["2025-11-10 d"], "a phrase is words in a row");
    assert_eq!(words("semi*"), ["2025-11-10 d", "2025-11-10 i"], "a prefix");
    assert_eq!(words("gap semis"), ["2025-11-10 i"], "every term");
    assert_eq!(words("été"), ["2025-11-10 s"], "case is ignored in any script");
    assert!(words("!!!").is_empty(), "no word, no match");
    assert!(words("nothing").is_empty());
    store.change(plan.id, edit("fade the close"), &ann, at(1), None).unwrap();
    assert!(words("open").is_empty(), "the words follow the edit");
    assert_eq!(words("close"), ["2025-11-10 s"]);
    store.change(plan.id, PlanChange::Delete, &ann, at(2), None).unwrap();
    assert!(words("close").is_empty(), "a deleted plan is never found");
}

fn pages_follow_one_another_without_gaps_or_repeats<S: PlanRepository + PlanSearch>(store: Arc<S>) {
    let ann = author(1, "Ann");
    for day in 1..=9 {
        for c in ["n", "d", "s"] {
            store.insert(new_plan(c, &format!("2025-11-{day:02}"), "SPY", ann.clone()), at(day)).unwrap();
        }
    }
    let all = found(&*store, &query());
    assert_eq!(all.len(), 27);
    let mut paged = Vec::new();
    let mut after: Option<SearchCursor> = None;
    for _ in 0..10 {
        let page = store.search(&SearchQuery { limit: 4, after, ..query() }).unwrap();
        assert!(page.plans.len() <= 4);
        paged.extend(page.plans.iter().map(|p| format!("{} {}", p.date, p.coach)));
        after = page.next;
        if after.is_none() {
            break;
        }
        assert_eq!(page.plans.len(), 4, "only the last page is short");
    }
    assert_eq!(paged, all, "the pages, one after another, are the whole result");
    let exact = store.search(&SearchQuery { limit: 27, ..query() }).unwrap();
    assert_eq!((exact.plans.len(), exact.next), (27, None), "no next page when nothing is left");
    let through_a_cursor =
        SearchCursor::decode(&exact.plans[5..6].iter().map(|p| query().cursor_after(p).encode()).collect::<String>());
    let rest = store.search(&SearchQuery { after: Some(through_a_cursor.unwrap()), ..query() }).unwrap();
    assert_eq!(rest.plans.len(), 21, "a cursor read back from its text continues after its plan");
}

fn search_finds_exactly_what_the_query_admits<S: PlanRepository + PlanSearch>(store: Arc<S>) {
    // A year of plans from a fixed pseudo-random sequence, some edited or deleted; then many queries, each compared
    // with the query's own definition applied to every stored plan.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let words = ["gap", "fill", "fade", "open", "close", "semis", "breakout", "été", "vwap", "trim"];
    let symbols = ["SPY", "QQQ", "NVDA", "$amd", "TSLA", "BRK.B", "BTC-USD", "IWM"];
    let coaches = ["d", "i", "s", "n"];
    let mut ids = Vec::new();
    for day in 0..120 {
        let d = date("2025-01-01").date().checked_add(jiff::Span::new().days(day * 3)).unwrap();
        for c in coaches {
            if next(3) == 0 {
                continue;
            }
            let text: Vec<&str> = (0..6)
                .map(|_| if next(3) == 0 { symbols[next(8) as usize] } else { words[next(10) as usize] })
                .collect();
            let who = author(1 + next(3), "someone");
            let plan = store.insert(new_plan(c, &d.to_string(), &text.join(" "), who.clone()), at(day)).unwrap();
            match next(6) {
                0 => drop(store.change(plan.id, PlanChange::Delete, &who, at(day + 1), None).unwrap()),
                1 => drop(store.change(plan.id, edit("QQQ gap fill"), &who, at(day + 1), None).unwrap()),
                _ => {}
            }
            ids.push(plan.id);
        }
    }
    let plans: Vec<Plan> = ids.iter().map(|id| store.get(*id).unwrap().unwrap()).collect();
    for round in 0..60 {
        let mut q = query();
        if next(2) == 0 {
            q.tickers = (0..=next(2)).map(|_| ticker(symbols[next(8) as usize].trim_start_matches('$'))).collect();
        }
        if next(3) == 0 {
            q.coaches = (0..=next(2)).map(|_| coach(coaches[next(4) as usize])).collect();
        }
        if next(4) == 0 {
            q.author = Some(UserId(1 + next(3)));
        }
        if next(2) == 0 {
            let from = next(300) as i64;
            q.from =
                TradingDate::from_date(date("2025-01-01").date().checked_add(jiff::Span::new().days(from)).unwrap());
            q.to = TradingDate::from_date(q.from.date().checked_add(jiff::Span::new().days(next(120) as i64)).unwrap());
        }
        if next(2) == 0 {
            let term = words[next(10) as usize];
            q.words = Some(TextQuery::parse(&match next(3) {
                0 => format!("{}*", &term[..2]),
                1 => format!("\"{term} {}\"", words[next(10) as usize]),
                _ => term.to_owned(),
            }));
        }
        q.limit = 1 + next(40) as usize;
        let mut expected: Vec<&Plan> = plans.iter().filter(|p| q.admits(p)).collect();
        expected.sort_by_key(|p| q.sort_key(p));
        let mut got = Vec::new();
        let mut after = None;
        loop {
            let page = store.search(&SearchQuery { after, ..q.clone() }).unwrap();
            got.extend(page.plans.iter().map(|p| p.id));
            after = page.next;
            if after.is_none() {
                break;
            }
        }
        let expected: Vec<PlanId> = expected.iter().map(|p| p.id).collect();
        assert_eq!(got, expected, "round {round}: {q:?}");
    }
}

fn ticker_mentions_count_active_plans_of_the_range<S: PlanRepository + PlanSearch>(store: Arc<S>) {
    let ann = author(1, "Ann");
    for (c, d, text) in [
        ("d", "2025-11-10", "NVDA long, $amd weak"),
        ("s", "2025-11-08", "NVDA swing"),
        ("i", "2025-11-09", "AMD and NVDA"),
        ("n", "2025-11-10", "TSLA news"),
        ("d", "2025-10-01", "NVDA old"),
        ("i", "2025-11-10", "IWM deleted"),
    ] {
        store.insert(new_plan(c, d, text, ann.clone()), at(0)).unwrap();
    }
    let deleted = store.find_active(&coach("i"), date("2025-11-10")).unwrap().unwrap();
    store.change(deleted.id, PlanChange::Delete, &ann, at(1), None).unwrap();
    let mentions = |from: &str, to: &str, coaches: &[&str]| -> Vec<String> {
        let query =
            MentionQuery { from: date(from), to: date(to), coaches: coaches.iter().map(|c| coach(c)).collect() };
        store
            .ticker_mentions(&query)
            .unwrap()
            .iter()
            .map(|m| {
                let coaches: Vec<&str> = m.coaches.iter().map(CoachId::as_str).collect();
                format!("{} {} {} {}", m.ticker, m.plans, coaches.join(","), m.last_date)
            })
            .collect()
    };
    assert_eq!(
        mentions("2025-11-01", "2025-11-30", &[]),
        ["NVDA 3 d,i,s 2025-11-10", "AMD 2 d,i 2025-11-10", "TSLA 1 n 2025-11-10"],
        "most plans first, then by ticker; deleted plans and other months not counted"
    );
    assert_eq!(
        mentions("2025-11-01", "2025-11-30", &["i", "n"]),
        ["AMD 1 i 2025-11-09", "NVDA 1 i 2025-11-09", "TSLA 1 n 2025-11-10"]
    );
    assert_eq!(mentions("2025-10-01", "2025-10-01", &[]), ["NVDA 1 d 2025-10-01"]);
    assert!(mentions("2025-12-01", "2025-12-31", &[]).is_empty());
}
