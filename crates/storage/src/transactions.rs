//! How the store runs its transactions: a read in one deferred transaction, and writes in groups (the writes that
//! threads of the process make at the same time go into one transaction and one commit, each but the first in a
//! savepoint of its own). `BEGIN`, `COMMIT` and the savepoints are prepared statements kept in each connection's
//! cache, not parsed again every time.
//!
//! A commit costs the same for one write as for several (the log's frames of the pages they share, the full-text
//! index's flush, the change count's page, the lock), so a burst of plans in several channels pays it once per group
//! instead of once per plan. A write alone pays nothing more: with no other write waiting it commits at once. Each
//! write still returns only after the commit that holds it, so a caller never reports as stored what a crash could
//! undo, and one write's failure (say, a second active plan for a coach and date) rolls back its savepoint alone (or,
//! for the first write of a group, the group, which holds nothing else yet).

use std::any::Any;
use std::collections::VecDeque;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use core_model::RepoError;
use rusqlite::Connection;

use crate::riders::Riders;

/// The most writes one group takes: under a steady stream of writes the first of a group waits for the others, so
/// this bounds that wait.
const MAX_GROUP: usize = 16;

/// How many failed groups are remembered for the writes of theirs still to be told (they wait for their group only).
const FAILURES_KEPT: usize = 64;

/// Runs one of the fixed statements through the connection's statement cache.
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Rolls back a transaction left open (after an error or a panic), so that the connection goes back to its pool
/// clean.
struct RollbackUnlessEnded<'c>(&'c Connection);

impl Drop for RollbackUnlessEnded<'_> {
    fn drop(&mut self) {
        if !self.0.is_autocommit() {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// Runs `f` in one read transaction, so that it sees one state of the database.
pub(crate) fn read<T>(conn: &Connection, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let _guard = RollbackUnlessEnded(conn);
    run(conn, "BEGIN")?;
    let value = f(conn)?;
    run(conn, "COMMIT")?;
    Ok(value)
}

/// The group being written: its connection, inside `BEGIN IMMEDIATE`.
struct Group<C> {
    conn: C,
    number: u64,
    /// Writes in it that succeeded (and wait for its commit).
    members: usize,
    /// Why the group can only be rolled back, if so: SQLite rolled the whole transaction back after an error (a
    /// full disk, say), or a savepoint could not be ended.
    broken: Option<Arc<rusqlite::Error>>,
}

struct Turn<C> {
    open: Option<Group<C>>,
    numbered: u64,
}

/// How a group ended.
#[derive(Default)]
struct Ended {
    /// Every group up to this number has ended.
    up_to: u64,
    /// The last groups that were rolled back, with why.
    failures: VecDeque<(u64, Arc<rusqlite::Error>)>,
}

/// The store's writes, grouped.
pub(crate) struct GroupCommit<C> {
    /// Held while one write runs in the open group.
    turn: Mutex<Turn<C>>,
    /// Writes waiting for the turn: while there are some, a write leaves the group open for them.
    waiting: AtomicUsize,
    ended: Mutex<Ended>,
    ended_signal: Condvar,
    /// Small writes that go with the next commit (see [`crate::riders`]).
    riders: Riders,
    /// Runs in every group's transaction just before its commit; when it fails, the group is rolled back.
    before_commit: fn(&Connection) -> rusqlite::Result<()>,
}

impl<C> std::fmt::Debug for GroupCommit<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").field("waiting", &self.waiting.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What became of one write inside its savepoint.
enum Outcome<T> {
    Done(Result<T, RepoError>),
    Panicked(Box<dyn Any + Send>),
}

impl<C: Deref<Target = Connection>> GroupCommit<C> {
    /// Groups that commit as they are.
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::with_before_commit(|_| Ok(()))
    }

    /// Groups that run `before_commit` in their transaction just before committing it.
    pub(crate) fn with_before_commit(before_commit: fn(&Connection) -> rusqlite::Result<()>) -> Self {
        Self {
            turn: Mutex::new(Turn { open: None, numbered: 0 }),
            waiting: AtomicUsize::new(0),
            ended: Mutex::new(Ended::default()),
            ended_signal: Condvar::new(),
            riders: Riders::default(),
            before_commit,
        }
    }

    /// The writes that go with the next group's commit.
    pub(crate) fn riders(&self) -> &Riders {
        &self.riders
    }

    /// Runs `f` in the open group (opening one, with a connection from `connect`, when there is none) and returns
    /// its result once the group is committed. Nothing of `f` is kept unless all of it succeeds and the group
    /// commits.
    pub(crate) fn write<T>(
        &self,
        connect: impl FnOnce() -> Result<C, RepoError>,
        f: impl FnOnce(&Connection) -> Result<T, RepoError>,
    ) -> Result<T, RepoError> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let mut turn = lock(&self.turn);
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let mut group = match turn.open.take() {
            Some(group) => group,
            None => {
                let conn = connect()?;
                run(&conn, "BEGIN IMMEDIATE").map_err(crate::error::repo_error)?;
                turn.numbered += 1;
                Group { conn, number: turn.numbered, members: 0, broken: None }
            }
        };
        let outcome = in_savepoint(&mut group, f);
        let number = group.number;
        let commit_now =
            group.broken.is_some() || group.members >= MAX_GROUP || self.waiting.load(Ordering::SeqCst) == 0;
        if !commit_now {
            turn.open = Some(group);
            drop(turn);
            return match outcome {
                Outcome::Done(Ok(value)) => self.committed(number).map(|()| value),
                Outcome::Done(Err(error)) => Err(error),
                Outcome::Panicked(payload) => resume_unwind(payload),
            };
        }
        // The commit runs with the turn held: the next write waits here rather than in SQLite's busy handler.
        let ended = end(&group, &self.riders, self.before_commit);
        drop(turn);
        drop(group);
        self.publish(number, ended.as_ref().err());
        match outcome {
            Outcome::Done(Ok(value)) => ended.map(|()| value).map_err(|e| crate::error::shared_repo_error(&e)),
            Outcome::Done(Err(error)) => Err(error),
            Outcome::Panicked(payload) => resume_unwind(payload),
        }
    }

    /// Waits until group `number` has ended; its failure, if it was rolled back.
    fn committed(&self, number: u64) -> Result<(), RepoError> {
        let ended = lock(&self.ended);
        let ended = self.ended_signal.wait_while(ended, |e| e.up_to < number).unwrap_or_else(PoisonError::into_inner);
        match ended.failures.iter().find(|(n, _)| *n == number) {
            Some((_, error)) => Err(crate::error::shared_repo_error(error)),
            None => Ok(()),
        }
    }

    fn publish(&self, number: u64, failure: Option<&Arc<rusqlite::Error>>) {
        let mut ended = lock(&self.ended);
        ended.up_to = ended.up_to.max(number);
        if let Some(error) = failure {
            if ended.failures.len() == FAILURES_KEPT {
                ended.failures.pop_front();
            }
            ended.failures.push_back((number, Arc::clone(error)));
        }
        drop(ended);
        self.ended_signal.notify_all();
    }
}

/// Runs `f` in a savepoint of the group: kept when it succeeds, rolled back otherwise (a panic included, which the
/// caller resumes once the group is taken care of).
///
/// The group's first write takes no savepoint (a savepoint copies every page the write changes into SQLite's
/// statement journal, in case it is rolled back): nothing else is in the transaction yet, so when it fails the group
/// is rolled back whole and ends there.
fn in_savepoint<C: Deref<Target = Connection>, T>(
    group: &mut Group<C>,
    f: impl FnOnce(&Connection) -> Result<T, RepoError>,
) -> Outcome<T> {
    let conn = &*group.conn;
    let first = group.members == 0;
    if !first && let Err(error) = run(conn, "SAVEPOINT write") {
        let outcome = Outcome::Done(Err(crate::error::repo_error(clone_error(&error))));
        group.broken = Some(Arc::new(error));
        return outcome;
    }
    let outcome = match catch_unwind(AssertUnwindSafe(|| f(conn))) {
        Ok(result) => Outcome::Done(result),
        Err(payload) => Outcome::Panicked(payload),
    };
    if conn.is_autocommit() {
        // SQLite ended the transaction itself (it does after a full disk or an I/O error): the group's earlier
        // writes are gone with it.
        group.broken = Some(Arc::new(match &outcome {
            Outcome::Done(Err(error)) => sqlite_cause(error),
            _ => rolled_back("the transaction ended inside a write"),
        }));
        return match outcome {
            Outcome::Done(Ok(_)) => {
                Outcome::Done(Err(RepoError::Failure(Box::new(rolled_back("the transaction ended inside a write")))))
            }
            other => other,
        };
    }
    let kept = matches!(outcome, Outcome::Done(Ok(_)));
    if first {
        if kept {
            group.members += 1;
        } else {
            group.broken = Some(Arc::new(rolled_back("the group's first write failed")));
        }
        return outcome;
    }
    let closed = if kept {
        run(conn, "RELEASE write")
    } else {
        run(conn, "ROLLBACK TO write").and_then(|()| run(conn, "RELEASE write"))
    };
    match closed {
        Ok(()) => {
            group.members += usize::from(kept);
            outcome
        }
        Err(error) => {
            let outcome = match outcome {
                Outcome::Done(Ok(_)) => Outcome::Done(Err(crate::error::repo_error(clone_error(&error)))),
                other => other,
            };
            group.broken = Some(Arc::new(error));
            outcome
        }
    }
}

/// An error of SQLite's with no more than its codes and message.
fn rolled_back(why: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR), Some(why.to_owned()))
}

/// A copy of a SQLite error (its codes and message) for the other writes of a group.
fn clone_error(error: &rusqlite::Error) -> rusqlite::Error {
    match error {
        rusqlite::Error::SqliteFailure(code, message) => rusqlite::Error::SqliteFailure(*code, message.clone()),
        other => rolled_back(&other.to_string()),
    }
}

/// The SQLite error inside a write's error, for the other writes of its group.
fn sqlite_cause(error: &RepoError) -> rusqlite::Error {
    match std::error::Error::source(error).and_then(|e| e.downcast_ref::<rusqlite::Error>()) {
        Some(sqlite) => clone_error(sqlite),
        None => rolled_back(&error.to_string()),
    }
}

/// Commits the group with the riders waiting, after `before_commit` (rolls it back when it is broken, or
/// `before_commit` or the commit fails). A rider that cannot be written does not fail the group's writes (unless
/// SQLite rolled the transaction back): the riders go with the next group instead.
fn end<C: Deref<Target = Connection>>(
    group: &Group<C>,
    riders: &Riders,
    before_commit: fn(&Connection) -> rusqlite::Result<()>,
) -> Result<(), Arc<rusqlite::Error>> {
    let conn = &*group.conn;
    let _guard = RollbackUnlessEnded(conn);
    if let Some(why) = &group.broken {
        return Err(Arc::clone(why));
    }
    before_commit(conn).map_err(Arc::new)?;
    let taken = riders.take();
    let ridden = match taken.write(conn) {
        Ok(()) => true,
        Err(error) if conn.is_autocommit() => {
            riders.give_back(taken);
            return Err(Arc::new(error));
        }
        Err(_) => false,
    };
    match run(conn, "COMMIT") {
        Ok(()) if ridden => {
            riders.committed(taken);
            Ok(())
        }
        Ok(()) => {
            riders.give_back(taken);
            Ok(())
        }
        Err(error) => {
            riders.give_back(taken);
            Err(Arc::new(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Barrier;

    use super::*;

    fn connect(path: &Path) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        conn
    }

    fn count(path: &Path, sql: &str) -> i64 {
        connect(path).query_row(sql, [], |row| row.get(0)).unwrap()
    }

    fn setup() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        connect(&path)
            .execute_batch(
                "CREATE TABLE parent (id INTEGER PRIMARY KEY);
                 CREATE TABLE child (id INTEGER PRIMARY KEY, thread INTEGER, n INTEGER,
                     parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .unwrap();
        (dir, path)
    }

    fn boxed(conn: Connection) -> Box<Connection> {
        Box::new(conn)
    }

    /// One statement as a write of its own group.
    fn execute(writes: &GroupCommit<Box<Connection>>, path: &Path, sql: &str) -> Result<usize, RepoError> {
        writes.write(|| Ok(boxed(connect(path))), |conn| conn.execute(sql, []).map_err(crate::error::repo_error))
    }

    #[test]
    fn the_writes_of_many_threads_are_all_kept_but_the_failed_ones_each_rolled_back_alone() {
        let (_dir, path) = setup();
        let writes = GroupCommit::<Box<Connection>>::new();
        let start = Barrier::new(8);
        std::thread::scope(|scope| {
            for thread in 0..8_i64 {
                let (writes, path, start) = (&writes, &path, &start);
                scope.spawn(move || {
                    start.wait();
                    for n in 0..60_i64 {
                        let result = writes.write(
                            || Ok(boxed(connect(path))),
                            |conn| {
                                conn.execute("INSERT INTO child (thread, n) VALUES (?1, ?2)", [thread, n])
                                    .map_err(crate::error::repo_error)?;
                                if n % 5 == 4 {
                                    return Err(RepoError::NotFound(core_model::PlanId(n)));
                                }
                                Ok(n)
                            },
                        );
                        match result {
                            Ok(value) => {
                                assert_eq!(value, n);
                                // Returned only once committed: another connection sees it.
                                let seen = count(
                                    path,
                                    &format!("SELECT COUNT(*) FROM child WHERE thread = {thread} AND n = {n}"),
                                );
                                assert_eq!(seen, 1, "a write returned before its commit");
                            }
                            Err(error) => {
                                assert_eq!(n % 5, 4, "only the failing writes fail: {error}");
                                assert!(matches!(error, RepoError::NotFound(_)), "{error:?}");
                            }
                        }
                    }
                });
            }
        });
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child"), 8 * 48);
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child WHERE n % 5 = 4"), 0, "failed writes left nothing");
    }

    #[test]
    fn a_write_that_panics_is_rolled_back_and_the_next_writes_go_on() {
        let (_dir, path) = setup();
        let writes = GroupCommit::<Box<Connection>>::new();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            writes.write(
                || Ok(boxed(connect(&path))),
                |conn| -> Result<(), RepoError> {
                    conn.execute("INSERT INTO child (thread, n) VALUES (1, 1)", []).unwrap();
                    panic!("a bug in a write");
                },
            )
        }));
        assert!(panicked.is_err(), "the panic reaches the caller");
        execute(&writes, &path, "INSERT INTO child (thread, n) VALUES (2, 2)").unwrap();
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child WHERE thread = 1"), 0);
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child WHERE thread = 2"), 1);
    }

    #[test]
    fn a_first_write_that_fails_keeps_nothing_and_the_next_write_commits() {
        let (_dir, path) = setup();
        let writes = GroupCommit::<Box<Connection>>::new();
        // Alone, each write is the first of its group: the one that fails after a change of its own has no
        // savepoint to roll back to, and the group goes back whole.
        let failed = writes.write(
            || Ok(boxed(connect(&path))),
            |conn| -> Result<(), RepoError> {
                conn.execute("INSERT INTO child (thread, n) VALUES (1, 1)", []).map_err(crate::error::repo_error)?;
                Err(RepoError::NotFound(core_model::PlanId(1)))
            },
        );
        assert!(matches!(failed, Err(RepoError::NotFound(_))), "{failed:?}");
        execute(&writes, &path, "INSERT INTO child (thread, n) VALUES (2, 2)").unwrap();
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child WHERE thread = 1"), 0, "the failed write left nothing");
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child WHERE thread = 2"), 1);
    }

    #[test]
    fn a_commit_that_fails_fails_its_writes_and_keeps_nothing_of_them() {
        let (_dir, path) = setup();
        let writes = GroupCommit::<Box<Connection>>::new();
        // A child of no parent passes its savepoint (the key is checked at commit) and fails the commit.
        let error = execute(&writes, &path, "INSERT INTO child (thread, n, parent) VALUES (1, 1, 99)").unwrap_err();
        assert!(matches!(error, RepoError::Failure(_)), "{error:?}");
        let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
        assert!(cause.contains("FOREIGN KEY"), "{cause}");
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child"), 0);
        execute(&writes, &path, "INSERT INTO child (thread, n) VALUES (2, 2)").unwrap();
        assert_eq!(count(&path, "SELECT COUNT(*) FROM child"), 1);
    }
}
