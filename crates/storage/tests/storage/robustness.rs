//! A database that is locked by another writer, or that this process may not write: bounded waits, errors that say
//! which, and reads that go on.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use core_model::contract::at;
use core_model::{PlanChange, PlanRepository, RepoError, StatusStore};
use storage::{SqliteStore, StoreOptions};

use crate::helpers::{TestDir, author, coach, date, edit, new_plan, open, raw};

fn open_with_busy_timeout(path: &Path, busy_timeout: Duration) -> SqliteStore {
    SqliteStore::open(path, StoreOptions { busy_timeout, ..StoreOptions::default() }).unwrap()
}

#[test]
fn a_write_locked_out_beyond_the_busy_timeout_is_busy_and_reads_go_on() {
    let dir = TestDir::new();
    let store = open_with_busy_timeout(&dir.db(), Duration::from_millis(200));
    let plan = store.insert(new_plan("d", "2025-11-09", "v1", author(1, "Ann")), at(0)).unwrap();
    // Another process holds the write lock and does not let go.
    let other = raw(&dir.db());
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let writes = [
        store.insert(new_plan("s", "2025-11-09", "swing", author(1, "Ann")), at(1)).map(drop),
        store.change(plan.id, edit("v2"), &author(1, "Ann"), at(1), None).map(drop),
        store.change(plan.id, PlanChange::Delete, &author(1, "Ann"), at(1), None).map(drop),
        store.put_status("bot.state", "connected", at(1)),
    ];
    for write in writes {
        let err = write.unwrap_err();
        assert!(matches!(err, RepoError::Busy(_)), "{err:?}");
        let cause = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("locked"), "the SQLite error is kept as the source: {cause}");
    }
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan, "reads go on beside the other writer");
    assert_eq!(store.stats().unwrap().active_plans, 1);
    store.ping().unwrap();

    other.execute_batch("ROLLBACK").unwrap();
    store.change(plan.id, edit("v2"), &author(1, "Ann"), at(2), None).unwrap();
}

#[test]
fn opening_an_up_to_date_database_does_not_wait_for_another_writer() {
    let dir = TestDir::new();
    drop(open(&dir.db()));
    let other = raw(&dir.db());
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    // The bot may be in the middle of a write when the API starts: the API opens at once.
    let store = open_with_busy_timeout(&dir.db(), Duration::from_millis(100));
    assert_eq!(store.applied_at_open(), [] as [u32; 0]);
    assert_eq!(store.stats().unwrap().active_plans, 0);
    other.execute_batch("COMMIT").unwrap();
}

#[test]
fn a_write_waits_for_a_lock_released_within_the_busy_timeout() {
    let dir = TestDir::new();
    let store = open_with_busy_timeout(&dir.db(), Duration::from_secs(60));
    let other = raw(&dir.db());
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (sender, results) = mpsc::channel();
    let writer = store.clone();
    std::thread::spawn(move || {
        let result = writer.insert(new_plan("d", "2025-11-09", "patient", author(1, "Ann")), at(0));
        sender.send(result).unwrap();
    });
    assert!(
        matches!(results.recv_timeout(Duration::from_millis(300)), Err(mpsc::RecvTimeoutError::Timeout)),
        "the write waits while the lock is held"
    );
    other.execute_batch("COMMIT").unwrap();
    let stored = results.recv_timeout(Duration::from_secs(60)).expect("the write finishes once the lock is free");
    assert_eq!(stored.unwrap().text, "patient");
    assert!(store.find_active(&coach("d"), date("2025-11-09")).unwrap().is_some());
}

/// Makes a file read-only for this process until dropped: permissions 0444, and for a user whom permissions do not
/// bind (root), the immutable attribute (`chattr +i`). Fails the test when neither makes the file read-only.
struct ReadOnlyFile {
    path: PathBuf,
    immutable: bool,
}

impl ReadOnlyFile {
    fn new(path: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        // A store that wrote the file closes its last connections on threads of its pool, moments after it is
        // dropped. Until it has, SQLite keeps the writable descriptors of its closed connections for reuse within the
        // process, and a store opened now could be handed one and write to a file made read-only meanwhile. The
        // write-ahead log goes with the last connection: wait for it.
        let log = PathBuf::from(format!("{}-wal", path.display()));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while log.exists() {
            assert!(std::time::Instant::now() < deadline, "the store that wrote {} kept it open", path.display());
            std::thread::sleep(Duration::from_millis(10));
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let mut file = Self { path: path.to_owned(), immutable: false };
        if file.is_writable() {
            let status = Command::new("chattr").arg("+i").arg(path).status();
            file.immutable = status.as_ref().is_ok_and(|s| s.success());
            assert!(
                file.immutable && !file.is_writable(),
                "cannot make {} read-only for this user (permissions do not bind it and `chattr +i` failed: {status:?})",
                path.display()
            );
        }
        file
    }

    fn is_writable(&self) -> bool {
        std::fs::OpenOptions::new().write(true).open(&self.path).is_ok()
    }
}

impl Drop for ReadOnlyFile {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o644));
    }
}

#[test]
fn a_read_only_database_file_opens_for_reading_and_every_write_is_unwritable() {
    let dir = TestDir::new();
    let plan = {
        let store = open(&dir.db());
        let mut new = new_plan("d", "2025-11-09", "kept", author(1, "Ann"));
        new.charts = vec![crate::helpers::link("https://i.test/a.png")];
        let plan = store.insert(new, at(0)).unwrap();
        store.put_status("bot.state", "connected", at(0)).unwrap();
        plan
    };
    let read_only = ReadOnlyFile::new(&dir.db());
    match storage::probe::probe(&dir.db()) {
        Ok(storage::probe::Probe::Exists { writable, .. }) => assert!(!writable, "doctor says it cannot be written"),
        other => panic!("{other:?}"),
    }

    let store = open(&dir.db());
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan, "reads work");
    assert_eq!(store.find_active(&coach("d"), date("2025-11-09")).unwrap().unwrap().id, plan.id);
    assert_eq!(store.status("bot.state").unwrap().unwrap().value, "connected");
    assert_eq!(store.stats().unwrap().active_plans, 1);
    store.ping().unwrap();
    let writes = [
        store.insert(new_plan("s", "2025-11-09", "swing", author(1, "Ann")), at(1)).map(drop),
        store.change(plan.id, edit("v2"), &author(1, "Ann"), at(1), None).map(drop),
        store.change(plan.id, PlanChange::Delete, &author(1, "Ann"), at(1), None).map(drop),
        store.put_status("bot.state", "disconnected", at(1)),
    ];
    for write in writes {
        let err = write.unwrap_err();
        assert!(matches!(err, RepoError::Unwritable(_)), "{err:?}");
        let cause = std::error::Error::source(&err).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("readonly"), "the SQLite error is kept as the source: {cause}");
    }
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan, "nothing changed");

    drop(store);
    drop(read_only);
    let store = open(&dir.db());
    store.change(plan.id, edit("v2"), &author(1, "Ann"), at(2), None).unwrap();
}

#[test]
fn a_store_opened_on_a_read_only_file_writes_again_once_the_file_is_writable_without_reopening() {
    let dir = TestDir::new();
    let plan = open(&dir.db()).insert(new_plan("d", "2025-11-09", "kept", author(1, "Ann")), at(0)).unwrap();
    let read_only = ReadOnlyFile::new(&dir.db());
    let store = open(&dir.db());
    let err = store.change(plan.id, edit("v2"), &author(1, "Ann"), at(1), None).unwrap_err();
    assert!(matches!(err, RepoError::Unwritable(_)), "{err:?}");
    assert_eq!(store.get(plan.id).unwrap().unwrap(), plan, "reads go on");

    // The operator fixes the file: the same store, with the read-only connections it pooled, writes again.
    drop(read_only);
    let changed = store.change(plan.id, edit("v2"), &author(1, "Ann"), at(2), None).unwrap();
    assert_eq!((changed.version, changed.text.as_str()), (2, "v2"));
    store.put_status("bot.state", "connected", at(2)).unwrap();
    for day in 10..14 {
        store.insert(new_plan("s", &format!("2025-11-{day}"), "swing", author(1, "Ann")), at(3)).unwrap();
    }
}
