//! Checkpoints of the write-ahead log, run by a thread of the store instead of by the write that happens to fill it.
//!
//! SQLite copies the log back into the database file (a checkpoint) when a commit leaves the log longer than
//! `wal_autocheckpoint` pages, inside that commit. A plan writes about 25 pages of log, so with the default of 1,000
//! pages one plan in about forty paid for copying the pages of the forty before it, and the pages every write touches
//! (the last pages of the indexes, the full-text index, the change count) were copied once per forty plans. Here a thread runs a passive checkpoint
//! [`DELAY`] after the first commit since its last one: the pages of a burst are copied once, and no commit does the
//! copying (writes wait, at most, for the last few pages of it: see [`checkpoint`]).
//!
//! The automatic checkpoint stays on as a backstop at [`BACKSTOP_PAGES`], for when this thread falls behind and for
//! writes made by other processes that do not checkpoint. Durability is unchanged: in WAL mode with
//! `synchronous=NORMAL` a commit survives a crash of the process at once and a power loss from the next checkpoint,
//! which now comes within [`DELAY`] of a write instead of after the next thousand pages of writes.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use r2d2::Pool;
use rusqlite::Connection;

/// How long after the first commit since the last checkpoint the next one runs: writes within it share one copy.
pub(crate) const DELAY: Duration = Duration::from_millis(100);

/// The log's length, in pages, at which a commit checkpoints by itself (SQLite's `wal_autocheckpoint`; its default
/// is 1,000). About 80 MiB of log with 4 KiB pages.
pub(crate) const BACKSTOP_PAGES: u32 = 20_000;

#[derive(Debug, Default)]
struct State {
    /// A commit was made since the last checkpoint began.
    dirty: bool,
    /// The store is closing: checkpoint what is left and stop.
    stopping: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The checkpoint thread of a store; stops (after a last checkpoint) when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread, which takes a connection from `pool` for each checkpoint. `None` (and a warning: the
    /// commits then checkpoint by themselves, as SQLite does by default) when the thread cannot be started.
    pub(crate) fn start<M>(pool: Pool<M>) -> Option<Self>
    where
        M: r2d2::ManageConnection<Connection = Connection>,
    {
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        match std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || run(&theirs, &pool)) {
            Ok(thread) => Some(Self { shared, thread: Some(thread) }),
            Err(error) => {
                tracing::warn!(error = %error, "cannot start the checkpoint thread; writes will checkpoint the log themselves");
                None
            }
        }
    }

    /// Notes a commit: a checkpoint follows within [`DELAY`].
    pub(crate) fn wrote(&self) {
        let mut state = self.shared.lock();
        if !state.dirty {
            state.dirty = true;
            self.shared.wake.notify_one();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.lock().stopping = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run<M>(shared: &Shared, pool: &Pool<M>)
where
    M: r2d2::ManageConnection<Connection = Connection>,
{
    loop {
        let state = shared.lock();
        let state = shared.wake.wait_while(state, |s| !s.dirty && !s.stopping).unwrap_or_else(PoisonError::into_inner);
        if !state.dirty {
            return;
        }
        // Let the writes of a burst gather (a closing store does not wait).
        let (mut state, _) =
            shared.wake.wait_timeout_while(state, DELAY, |s| !s.stopping).unwrap_or_else(PoisonError::into_inner);
        state.dirty = false;
        let stopping = state.stopping;
        drop(state);
        checkpoint(pool);
        if stopping {
            return;
        }
    }
}

/// A passive checkpoint, which copies what the log holds without waiting for anyone; when writes came in meanwhile,
/// a full one for the rest, which holds new writes back for as long as it takes to copy those few pages. Only a log
/// copied to its end starts again from its beginning at the next write: under steady writes a passive checkpoint
/// alone never gets there, and the log would grow until the backstop made every commit checkpoint again. A failure
/// (a read-only file, a pool with no free connection, a lock held beyond the busy timeout) is left to the next
/// checkpoint or to the backstop.
fn checkpoint<M>(pool: &Pool<M>)
where
    M: r2d2::ManageConnection<Connection = Connection>,
{
    let outcome = pool.get().map_err(|e| e.to_string()).and_then(|conn| {
        let run = |sql: &str| {
            conn.query_row(sql, [], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)))
                .map_err(|e| e.to_string())
        };
        match run("PRAGMA wal_checkpoint(PASSIVE)")? {
            (0, log, copied) if copied < log => run("PRAGMA wal_checkpoint(FULL)"),
            done => Ok(done),
        }
    });
    match outcome {
        Ok((busy, log, copied)) => tracing::trace!(busy, log, copied, "write-ahead log checkpointed"),
        Err(error) => tracing::debug!(error = %error, "cannot checkpoint the write-ahead log now"),
    }
}
