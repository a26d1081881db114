//! The gateway session kept across restarts: what is stored (session id, resume URL, sequence), and how far the
//! bot's handling of a session's events has got, so that the stored sequence never passes an event still being
//! handled. A restarted bot resumes from there, and Discord replays everything after it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The name of the gateway a configuration connects to, as [`StoredSession::gateway`] records it.
pub fn gateway_name(gateway_url: Option<&str>) -> String {
    gateway_url.map_or_else(|| "discord".to_owned(), |url| url.trim_end_matches('/').to_owned())
}

/// One session's events: the last one received, and those handed to channel workers and not yet handled.
#[derive(Debug)]
pub struct SessionProgress {
    session_id: Arc<str>,
    state: Mutex<Progress>,
}

#[derive(Debug, Default)]
struct Progress {
    /// Sequence of the last event received.
    received: u64,
    /// Events being handled, by sequence, with how many jobs each still has in flight.
    pending: BTreeMap<u64, usize>,
}

impl SessionProgress {
    /// A session, seen first at event `sequence`.
    pub fn new(session_id: &str, sequence: u64) -> Arc<Self> {
        let state = Progress { received: sequence, pending: BTreeMap::new() };
        Arc::new(Self { session_id: session_id.into(), state: Mutex::new(state) })
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session's id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Records that event `sequence` was received.
    pub fn received(&self, sequence: u64) {
        let mut state = self.lock();
        state.received = state.received.max(sequence);
    }

    /// Marks event `sequence` as being handled until the returned mark (and every clone of it) is dropped.
    pub fn handling(self: &Arc<Self>, sequence: u64) -> EventMark {
        *self.lock().pending.entry(sequence).or_insert(0) += 1;
        EventMark { progress: Arc::clone(self), sequence }
    }

    /// The sequence through which every received event was handled: just before the oldest event still being
    /// handled, or the last one received when none is. 0 when not even the first event is handled.
    pub fn handled_through(&self) -> u64 {
        let state = self.lock();
        match state.pending.keys().next() {
            Some(oldest) => oldest.saturating_sub(1),
            None => state.received,
        }
    }
}

/// An event of a session being handled; dropping the last clone marks it handled.
#[derive(Debug)]
pub struct EventMark {
    progress: Arc<SessionProgress>,
    sequence: u64,
}

impl EventMark {
    /// The session's id.
    pub fn session_id(&self) -> &str {
        self.progress.session_id()
    }

    /// The event's sequence.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
}

impl Clone for EventMark {
    fn clone(&self) -> Self {
        self.progress.handling(self.sequence)
    }
}

impl Drop for EventMark {
    fn drop(&mut self) {
        let mut state = self.progress.lock();
        if let Some(count) = state.pending.get_mut(&self.sequence) {
            *count -= 1;
            if *count == 0 {
                state.pending.remove(&self.sequence);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handled_sequence_stops_before_the_oldest_event_still_being_handled() {
        let progress = SessionProgress::new("s", 1);
        assert_eq!(progress.handled_through(), 1);
        progress.received(2);
        let two = progress.handling(2);
        progress.received(3);
        let three = progress.handling(3);
        let three_again = three.clone();
        progress.received(4);
        assert_eq!(progress.handled_through(), 1, "event 2 is still being handled");
        drop(three);
        drop(three_again);
        assert_eq!(progress.handled_through(), 1, "events are handled out of order across channels");
        drop(two);
        assert_eq!(progress.handled_through(), 4, "everything received is handled");
        let ready = SessionProgress::new("t", 1);
        let catching_up = ready.handling(1);
        assert_eq!(ready.handled_through(), 0, "nothing of the session is handled while READY's catch-up runs");
        drop(catching_up);
        assert_eq!(ready.handled_through(), 1);
    }
}
