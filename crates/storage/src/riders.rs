//! Riders: small writes that need no transaction of their own (where a channel's worker of the bot stands, say).
//! Each is noted in memory and written in the transaction of the next group of writes that commits (see
//! [`crate::transactions`]), whatever that group holds; its ticket tells the caller once it is committed. Under a
//! stream of writes a rider costs one statement and no commit of its own; with nothing else being written, its caller
//! writes the value itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::Connection;

/// A rider's statement, run in the transaction of the group that takes it (again, should that group fail).
pub(crate) type RiderWrite = Box<dyn Fn(&Connection) -> rusqlite::Result<()> + Send>;

/// The riders not written yet, and how far they are committed.
#[derive(Default)]
pub(crate) struct Riders {
    pending: Mutex<Pending>,
    /// Every rider up to this ticket is committed, or was replaced by a later value of its key.
    committed: AtomicU64,
}

impl std::fmt::Debug for Riders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Riders").field("committed", &self.committed.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Pending {
    last_ticket: u64,
    /// The rider of each key not written yet, with its ticket.
    by_key: HashMap<String, (u64, RiderWrite)>,
    /// The ticket of each key's latest value (a rider's, or the one given when the key was written on its own): a
    /// failed group gives back only riders that nothing replaced since.
    latest: HashMap<String, u64>,
}

impl Pending {
    fn next_ticket(&mut self, key: &str) -> u64 {
        self.last_ticket += 1;
        match self.latest.get_mut(key) {
            Some(latest) => *latest = self.last_ticket,
            None => {
                self.latest.insert(key.to_owned(), self.last_ticket);
            }
        }
        self.last_ticket
    }
}

/// The riders a group took, until its commit says what became of them.
pub(crate) struct Taken {
    riders: Vec<(String, u64, RiderWrite)>,
    /// Every ticket up to this one was given before the group took its riders.
    up_to: u64,
}

fn lock(pending: &Mutex<Pending>) -> MutexGuard<'_, Pending> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Riders {
    /// Notes `write`, the latest value of `key` (it replaces the key's rider not written yet); returns its ticket.
    pub(crate) fn add(&self, key: &str, write: RiderWrite) -> u64 {
        let mut pending = lock(&self.pending);
        let ticket = pending.next_ticket(key);
        pending.by_key.insert(key.to_owned(), (ticket, write));
        ticket
    }

    /// Drops the rider of `key` not written yet, if any: the key is being written on its own, with a later value.
    pub(crate) fn replace(&self, key: &str) {
        let mut pending = lock(&self.pending);
        pending.next_ticket(key);
        pending.by_key.remove(key);
    }

    /// Whether the rider of `ticket` is committed (or was replaced by a later value of its key).
    pub(crate) fn is_committed(&self, ticket: u64) -> bool {
        self.committed.load(Ordering::Acquire) >= ticket
    }

    /// Takes every rider not written yet, for the group about to commit.
    pub(crate) fn take(&self) -> Taken {
        let mut pending = lock(&self.pending);
        let riders = pending.by_key.drain().map(|(key, (ticket, write))| (key, ticket, write)).collect();
        Taken { riders, up_to: pending.last_ticket }
    }

    /// The group that took `taken` committed them.
    pub(crate) fn committed(&self, taken: Taken) {
        self.committed.fetch_max(taken.up_to, Ordering::AcqRel);
    }

    /// The group that took `taken` could not commit them: they go with the next group, unless replaced meanwhile.
    pub(crate) fn give_back(&self, taken: Taken) {
        let mut pending = lock(&self.pending);
        for (key, ticket, write) in taken.riders {
            if pending.latest.get(&key) == Some(&ticket) {
                pending.by_key.insert(key, (ticket, write));
            }
        }
    }
}

impl Taken {
    /// Runs the riders' statements in the group's transaction.
    pub(crate) fn write(&self, conn: &Connection) -> rusqlite::Result<()> {
        self.riders.iter().try_for_each(|(_, _, write)| write(conn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noting(counter: &std::sync::Arc<AtomicU64>) -> RiderWrite {
        let counter = std::sync::Arc::clone(counter);
        Box::new(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            Ok(())
        })
    }

    #[test]
    fn a_rider_is_committed_with_the_group_that_took_it_and_a_later_one_replaces_it() {
        let riders = Riders::default();
        let runs = std::sync::Arc::new(AtomicU64::new(0));
        let first = riders.add("a", noting(&runs));
        let second = riders.add("a", noting(&runs));
        let other = riders.add("b", noting(&runs));
        assert!(!riders.is_committed(first));
        let taken = riders.take();
        taken.write(&Connection::open_in_memory().unwrap()).unwrap();
        assert_eq!(runs.load(Ordering::Relaxed), 2, "one statement per key: the later value of `a`, and `b`");
        let late = riders.add("c", noting(&runs));
        riders.committed(taken);
        assert!(riders.is_committed(first) && riders.is_committed(second) && riders.is_committed(other));
        assert!(!riders.is_committed(late), "noted after the group took its riders");
    }

    #[test]
    fn a_failed_group_gives_its_riders_back_unless_their_key_was_written_since() {
        let riders = Riders::default();
        let runs = std::sync::Arc::new(AtomicU64::new(0));
        let kept = riders.add("a", noting(&runs));
        let dropped = riders.add("b", noting(&runs));
        let taken = riders.take();
        riders.replace("b");
        riders.give_back(taken);
        assert!(!riders.is_committed(kept) && !riders.is_committed(dropped));
        let again = riders.take();
        again.write(&Connection::open_in_memory().unwrap()).unwrap();
        assert_eq!(runs.load(Ordering::Relaxed), 1, "only `a` goes again: `b` was written on its own since");
        riders.committed(again);
        assert!(riders.is_committed(kept));
    }
}
