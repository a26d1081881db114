//! Riders: small values written with the next write transaction of the store that commits (where a channel's
//! worker of the bot stands, say), instead of in a transaction and a commit of their own. Under a stream of writes a
//! rider costs one statement for all of them; with nothing else being written, its caller writes the value itself.
//!
//! The store runs several write transactions at once: the first to commit after a value is noted takes it; a
//! transaction that fails gives back what it took, unless a later value of the key came meanwhile. A rider is written
//! only over an older value of its key (`updated_at`), so a transaction that takes a value and commits after a later
//! one never puts the key back.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;

use crate::store::Tx;

/// The riders not written yet and the tickets not known to be written.
#[derive(Default)]
pub(crate) struct Riders {
    state: Mutex<State>,
}

impl std::fmt::Debug for Riders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Riders")
            .field("pending", &state.pending.len())
            .field("unwritten", &state.unwritten.len())
            .finish()
    }
}

#[derive(Default)]
struct State {
    /// The last ticket given.
    last_ticket: u64,
    /// The rider of each key not taken yet.
    pending: HashMap<String, Rider>,
    /// Each key's latest ticket, a rider's or the one given when the key was written on its own.
    latest: HashMap<String, u64>,
    /// Riders' tickets neither committed nor replaced by a later value, with their keys.
    unwritten: HashMap<u64, String>,
}

/// A value to write with the next commit.
#[derive(Debug, Clone)]
pub(crate) struct Rider {
    pub(crate) ticket: u64,
    pub(crate) value: String,
    pub(crate) at: Timestamp,
}

/// The riders a transaction took, until its commit says what became of them.
#[derive(Debug)]
pub(crate) struct Taken {
    pub(crate) riders: Vec<(String, Rider)>,
}

impl State {
    /// A new ticket for `key`'s latest value; the key's earlier riders, taken or not, are replaced by it.
    fn next_ticket(&mut self, key: &str) -> u64 {
        self.last_ticket += 1;
        self.latest.insert(key.to_owned(), self.last_ticket);
        self.unwritten.retain(|_, k| k != key);
        self.pending.remove(key);
        self.last_ticket
    }
}

impl Riders {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Notes `value`, the latest of `key` (it replaces the key's rider not written yet); returns its ticket.
    pub(crate) fn add(&self, key: &str, value: String, at: Timestamp) -> u64 {
        let mut state = self.lock();
        let ticket = state.next_ticket(key);
        state.pending.insert(key.to_owned(), Rider { ticket, value, at });
        state.unwritten.insert(ticket, key.to_owned());
        ticket
    }

    /// The key is being written on its own, with a later value: its riders are replaced.
    pub(crate) fn replace(&self, key: &str) {
        self.lock().next_ticket(key);
    }

    /// Whether the rider of `ticket` is committed (or was replaced by a later value of its key).
    pub(crate) fn is_written(&self, ticket: u64) -> bool {
        let state = self.lock();
        ticket <= state.last_ticket && !state.unwritten.contains_key(&ticket)
    }

    /// Takes every rider not taken yet, for a transaction about to commit; `None` when there is none.
    pub(crate) fn take(&self) -> Option<Taken> {
        let mut state = self.lock();
        if state.pending.is_empty() {
            return None;
        }
        Some(Taken { riders: state.pending.drain().collect() })
    }

    /// Says what became of the riders a write took (if it took any): committed, or not (then each goes with the next
    /// commit, unless replaced meanwhile).
    pub(crate) fn settle(&self, taken: Option<Taken>, committed: bool) {
        let Some(taken) = taken else { return };
        let mut state = self.lock();
        for (key, rider) in taken.riders {
            if committed {
                state.unwritten.remove(&rider.ticket);
            } else if state.latest.get(&key) == Some(&rider.ticket) {
                state.pending.insert(key, rider);
            }
        }
    }
}

/// The `INSERT` of riders from three arrays (keys, values and times, at the parameters numbered `$keys`, `$values`
/// and `$times`), each only over an older value of its key: the statement of [`write`], and a data-modifying `WITH`
/// of the new plans' statement.
macro_rules! upsert_riders {
    ($keys:literal, $values:literal, $times:literal) => {
        concat!(
            "INSERT INTO runtime_status (key, value, updated_at) SELECT * FROM unnest($",
            $keys,
            "::text[], $",
            $values,
            "::text[], $",
            $times,
            "::timestamptz[]) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
             WHERE runtime_status.updated_at <= excluded.updated_at"
        )
    };
}
pub(crate) use upsert_riders;

/// The riders' keys, values and times, as the arrays of [`upsert_riders!`].
pub(crate) fn columns(riders: &[(String, Rider)]) -> (Vec<&str>, Vec<&str>, Vec<Timestamp>) {
    let keys = riders.iter().map(|(key, _)| key.as_str()).collect();
    let values = riders.iter().map(|(_, rider)| rider.value.as_str()).collect();
    let times = riders.iter().map(|(_, rider)| rider.at).collect();
    (keys, values, times)
}

/// Writes `riders` in the transaction `tx`, in one statement, each only over an older value of its key.
pub(crate) fn write(tx: &mut Tx<'_>, riders: &[(String, Rider)]) -> Result<(), postgres::Error> {
    let (keys, values, times) = columns(riders);
    tx.execute(upsert_riders!(1, 2, 3), &[&keys, &values, &times])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Riders;
    use jiff::Timestamp;

    #[test]
    fn a_ticket_is_written_once_committed_or_replaced_and_a_failed_commit_gives_back_only_the_latest() {
        let riders = Riders::default();
        let first = riders.add("a", "1".into(), Timestamp::UNIX_EPOCH);
        assert!(!riders.is_written(first));
        let taken = riders.take().unwrap();
        assert!(riders.take().is_none(), "taken once");
        assert!(!riders.is_written(first), "taken is not written");
        riders.settle(Some(taken), true);
        assert!(riders.is_written(first));

        let second = riders.add("a", "2".into(), Timestamp::UNIX_EPOCH);
        let other = riders.add("b", "x".into(), Timestamp::UNIX_EPOCH);
        let taken = riders.take().unwrap();
        let third = riders.add("a", "3".into(), Timestamp::UNIX_EPOCH);
        assert!(riders.is_written(second), "replaced by a later value while its transaction ran");
        riders.settle(Some(taken), false);
        let again = riders.take().unwrap();
        let mut keys: Vec<(String, String)> = again.riders.iter().map(|(k, r)| (k.clone(), r.value.clone())).collect();
        keys.sort();
        assert_eq!(keys, [("a".to_owned(), "3".to_owned()), ("b".to_owned(), "x".to_owned())]);
        assert!(!riders.is_written(other) && !riders.is_written(third));
        riders.settle(Some(again), true);
        assert!(riders.is_written(other) && riders.is_written(third));

        let fourth = riders.add("a", "4".into(), Timestamp::UNIX_EPOCH);
        riders.replace("a");
        assert!(riders.is_written(fourth), "the key written on its own");
        assert!(riders.take().is_none());
        assert!(!riders.is_written(fourth + 5), "a ticket not given yet");
    }
}
