//! The gateway session kept across restarts: what is stored (session id, resume URL, sequence), and how far the
//! bot's handling of a session's events has got, so that the stored sequence never passes an event still being
//! handled. A restarted bot resumes from there, and Discord replays everything after it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Status key holding the stored session.
pub const SESSION_KEY: &str = "bot.session";

/// Format tag of the stored value, so that a later format can tell old values apart.
const FORMAT: &str = "v1";

/// A gateway session as stored between runs: enough to resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The gateway it belongs to: the configured gateway URL, or `discord` for Discord itself. A session is resumed
    /// only against the gateway that started it.
    pub gateway: String,
    /// Discord's session id (from READY).
    pub session_id: String,
    /// The sequence of the last event handled in full (every event up to it was handled).
    pub sequence: u64,
    /// The URL to resume at (READY's `resume_gateway_url`).
    pub resume_url: String,
}

impl StoredSession {
    /// The stored form: `v1 <gateway> <session id> <sequence> <resume URL>`.
    pub fn encode(&self) -> String {
        format!("{FORMAT} {} {} {} {}", self.gateway, self.session_id, self.sequence, self.resume_url)
    }

    /// Reads the stored form; `None` for anything else (another format, a damaged value).
    pub fn decode(value: &str) -> Option<Self> {
        let mut words = value.split(' ');
        if words.next()? != FORMAT {
            return None;
        }
        let gateway = words.next().filter(|w| !w.is_empty())?.to_owned();
        let session_id = words.next().filter(|w| !w.is_empty())?.to_owned();
        let sequence = words.next()?.parse().ok()?;
        let resume_url = words.next().filter(|w| !w.is_empty())?.to_owned();
        if words.next().is_some() {
            return None;
        }
        Some(Self { gateway, session_id, sequence, resume_url })
    }

    /// Whether a value can be stored in this form: every part is one word.
    pub fn is_storable(&self) -> bool {
        [&self.gateway, &self.session_id, &self.resume_url]
            .iter()
            .all(|p| !p.is_empty() && !p.contains(char::is_whitespace))
    }
}

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

/// Where a channel's worker stands, as stored under `bot.cursor.<channel id>`: the last message it handled (message
/// ids grow with time), and the last gateway event it handled, by session and sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelProgress {
    /// The id of the last message handled.
    pub cursor: Option<u64>,
    /// The session and sequence of the last gateway event handled.
    pub last_event: Option<(String, u64)>,
}

impl ChannelProgress {
    /// The stored form: `<message id or -> [<session id> <sequence>]`. A bare message id (the first format) reads too.
    pub fn encode(&self) -> String {
        let cursor = self.cursor.map_or_else(|| "-".to_owned(), |id| id.to_string());
        match &self.last_event {
            Some((session, sequence)) => format!("{cursor} {session} {sequence}"),
            None => cursor,
        }
    }

    /// Reads the stored form; a damaged value reads as nothing known.
    pub fn decode(value: &str) -> Self {
        let mut words = value.split_whitespace();
        let cursor = words.next().and_then(|w| w.parse().ok());
        let last_event = match (words.next(), words.next().and_then(|w| w.parse().ok())) {
            (Some(session), Some(sequence)) => Some((session.to_owned(), sequence)),
            _ => None,
        };
        Self { cursor, last_event }
    }

    /// Whether the event `mark` was handled already (a replay after a resume of the session it came in).
    pub fn has_handled(&self, mark: &EventMark) -> bool {
        self.last_event
            .as_ref()
            .is_some_and(|(session, sequence)| session == mark.session_id() && mark.sequence() <= *sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_session_reads_back_and_anything_else_reads_as_none() {
        let session = StoredSession {
            gateway: "ws://127.0.0.1:9001".into(),
            session_id: "0123abcd".into(),
            sequence: 42,
            resume_url: "wss://gateway-us-east1-b.discord.gg".into(),
        };
        assert!(session.is_storable());
        assert_eq!(StoredSession::decode(&session.encode()), Some(session.clone()));
        for bad in ["", "v1", "v2 a b 1 c", "v1 a b x c", "v1 a b 1", "v1 a b 1 c d", "v1  b 1 c"] {
            assert_eq!(StoredSession::decode(bad), None, "{bad:?}");
        }
        let spaced = StoredSession { session_id: "a b".into(), ..session };
        assert!(!spaced.is_storable());
    }

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

    #[test]
    fn a_channels_progress_reads_back_and_knows_the_events_it_handled() {
        let progress = ChannelProgress { cursor: Some(900), last_event: Some(("s".into(), 7)) };
        assert_eq!(ChannelProgress::decode(&progress.encode()), progress);
        assert_eq!(ChannelProgress::decode("900"), ChannelProgress { cursor: Some(900), last_event: None });
        let no_cursor = ChannelProgress { cursor: None, last_event: Some(("s".into(), 3)) };
        assert_eq!(ChannelProgress::decode(&no_cursor.encode()), no_cursor);
        assert_eq!(ChannelProgress::decode("garbage"), ChannelProgress::default());

        let session = SessionProgress::new("s", 1);
        assert!(progress.has_handled(&session.handling(7)));
        assert!(progress.has_handled(&session.handling(2)));
        assert!(!progress.has_handled(&session.handling(8)));
        assert!(!progress.has_handled(&SessionProgress::new("other", 1).handling(2)), "another session");
    }
}
