//! The bot's own records, kept between runs so that a restarted bot resumes where it stopped: the gateway session,
//! where each channel's worker stands, and the channels it has handled messages in. [`BotRecords`] reads and writes
//! them with typed methods over any [`StatusStore`], in the text forms below (one status value each, so that every
//! storage adapter keeps them without a schema of their own).

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::{RepoError, StatusStore, StatusTicket};

/// Status key holding the stored session.
const SESSION_KEY: &str = "bot.session";

/// Status key holding the channels the bot has handled messages in, with their guilds, so that a restarted bot
/// knows where to catch up before any message arrives.
const KNOWN_CHANNELS_KEY: &str = "bot.channels";

/// Status key holding where a channel stands ([`ChannelProgress`]).
fn cursor_key(channel_id: u64) -> String {
    format!("bot.cursor.{channel_id}")
}

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

    /// Whether the event `sequence` of session `session_id` was handled already (a replay after a resume of the
    /// session it came in).
    pub fn has_handled(&self, session_id: &str, sequence: u64) -> bool {
        self.last_event.as_ref().is_some_and(|(session, last)| session == session_id && sequence <= *last)
    }
}

/// A channel known to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownChannel {
    /// Its guild (`None` for direct messages).
    pub guild: Option<u64>,
    /// The first message the bot saw there, noted before handling it: a catch-up of a channel where nothing was
    /// handled yet (the bot stopped first) starts from it.
    pub since: u64,
}

/// The channels known to the bot, as stored under `bot.channels`: `channel:guild:first message` triples
/// (`-` for no guild), comma-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownChannels(pub BTreeMap<u64, KnownChannel>);

impl KnownChannels {
    /// The stored form.
    pub fn encode(&self) -> String {
        let triples: Vec<String> = self
            .0
            .iter()
            .map(|(channel, known)| {
                let guild = known.guild.map_or_else(|| "-".to_owned(), |g| g.to_string());
                format!("{channel}:{guild}:{}", known.since)
            })
            .collect();
        triples.join(",")
    }

    /// Reads the stored form, skipping damaged entries.
    pub fn decode(value: &str) -> Self {
        let triples = value.split(',').filter_map(|triple| {
            let mut parts = triple.trim().split(':');
            let channel = parts.next()?.parse().ok().filter(|c| *c != 0)?;
            let guild = match parts.next()? {
                "-" => None,
                guild => Some(guild.parse().ok()?),
            };
            let since = parts.next()?.parse().ok()?;
            parts.next().is_none().then_some((channel, KnownChannel { guild, since }))
        });
        Self(triples.collect())
    }

    /// Notes `message` of `channel`: a channel seen for the first time is added, with this message as its first;
    /// a known one learns its guild if it had none. Whether anything changed.
    pub fn remember(&mut self, channel: u64, guild: Option<u64>, message: u64) -> bool {
        match self.0.get_mut(&channel) {
            Some(known) if known.guild == guild || guild.is_none() => false,
            Some(known) => {
                known.guild = guild;
                true
            }
            None => {
                self.0.insert(channel, KnownChannel { guild, since: message });
                true
            }
        }
    }
}

/// The bot's records, with typed methods, over any [`StatusStore`].
pub trait BotRecords {
    /// The gateway session the last run saved, with when it was saved.
    ///
    /// # Errors
    /// Storage failures.
    fn stored_session(&self) -> Result<Option<(StoredSession, Timestamp)>, RepoError>;

    /// Saves the gateway session.
    ///
    /// # Errors
    /// Storage failures.
    fn save_session(&self, session: &StoredSession, at: Timestamp) -> Result<(), RepoError>;

    /// Where a channel's worker stands (nothing known when it never recorded anything, or what it recorded is
    /// damaged).
    ///
    /// # Errors
    /// Storage failures.
    fn channel_progress(&self, channel_id: u64) -> Result<ChannelProgress, RepoError>;

    /// Saves where a channel's worker stands.
    ///
    /// # Errors
    /// Storage failures.
    fn save_channel_progress(
        &self,
        channel_id: u64,
        progress: &ChannelProgress,
        at: Timestamp,
    ) -> Result<(), RepoError>;

    /// Notes where a channel's worker stands, to be saved with the store's next commit (see
    /// [`StatusStore::defer_status`]); `None` when the store does not defer writes.
    fn defer_channel_progress(
        &self,
        channel_id: u64,
        progress: &ChannelProgress,
        at: Timestamp,
    ) -> Option<StatusTicket>;

    /// The channels the bot has handled messages in.
    ///
    /// # Errors
    /// Storage failures.
    fn known_channels(&self) -> Result<KnownChannels, RepoError>;

    /// Saves the channels the bot has handled messages in.
    ///
    /// # Errors
    /// Storage failures.
    fn save_known_channels(&self, channels: &KnownChannels, at: Timestamp) -> Result<(), RepoError>;
}

impl<T: StatusStore + ?Sized> BotRecords for T {
    fn stored_session(&self) -> Result<Option<(StoredSession, Timestamp)>, RepoError> {
        let record = self.status(SESSION_KEY)?;
        Ok(record.and_then(|r| StoredSession::decode(&r.value).map(|s| (s, r.updated_at))))
    }

    fn save_session(&self, session: &StoredSession, at: Timestamp) -> Result<(), RepoError> {
        self.put_status(SESSION_KEY, &session.encode(), at)
    }

    fn channel_progress(&self, channel_id: u64) -> Result<ChannelProgress, RepoError> {
        Ok(self.status(&cursor_key(channel_id))?.map(|r| ChannelProgress::decode(&r.value)).unwrap_or_default())
    }

    fn save_channel_progress(
        &self,
        channel_id: u64,
        progress: &ChannelProgress,
        at: Timestamp,
    ) -> Result<(), RepoError> {
        self.put_status(&cursor_key(channel_id), &progress.encode(), at)
    }

    fn defer_channel_progress(
        &self,
        channel_id: u64,
        progress: &ChannelProgress,
        at: Timestamp,
    ) -> Option<StatusTicket> {
        self.defer_status(&cursor_key(channel_id), &progress.encode(), at)
    }

    fn known_channels(&self) -> Result<KnownChannels, RepoError> {
        Ok(self.status(KNOWN_CHANNELS_KEY)?.map(|r| KnownChannels::decode(&r.value)).unwrap_or_default())
    }

    fn save_known_channels(&self, channels: &KnownChannels, at: Timestamp) -> Result<(), RepoError> {
        self.put_status(KNOWN_CHANNELS_KEY, &channels.encode(), at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;

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
    fn a_channels_progress_reads_back_and_knows_the_events_it_handled() {
        let progress = ChannelProgress { cursor: Some(900), last_event: Some(("s".into(), 7)) };
        assert_eq!(ChannelProgress::decode(&progress.encode()), progress);
        assert_eq!(ChannelProgress::decode("900"), ChannelProgress { cursor: Some(900), last_event: None });
        let no_cursor = ChannelProgress { cursor: None, last_event: Some(("s".into(), 3)) };
        assert_eq!(ChannelProgress::decode(&no_cursor.encode()), no_cursor);
        assert_eq!(ChannelProgress::decode("garbage"), ChannelProgress::default());
        assert!(progress.has_handled("s", 7));
        assert!(progress.has_handled("s", 2));
        assert!(!progress.has_handled("s", 8));
        assert!(!progress.has_handled("other", 2), "another session");
    }

    #[test]
    fn known_channels_read_back_and_remember_their_guilds_and_first_messages() {
        let mut known = KnownChannels::default();
        assert!(known.remember(200, Some(100), 5000));
        assert!(!known.remember(200, Some(100), 5001));
        assert!(!known.remember(200, None, 5002), "a message without its guild does not forget it");
        assert!(known.remember(7, None, 6000));
        assert!(known.remember(7, Some(8), 6001), "a guild learnt later");
        assert_eq!(known.encode(), "7:8:6000,200:100:5000");
        assert_eq!(KnownChannels::decode(&known.encode()), known);
        let one = KnownChannels([(9, KnownChannel { guild: None, since: 3 })].into_iter().collect());
        assert_eq!(KnownChannels::decode("x,0:1:2,5:y:1,9:-:3,4:4,6:6:6:6"), one);
        assert_eq!(KnownChannels::decode(""), KnownChannels::default());
    }

    #[test]
    fn records_are_kept_under_the_keys_earlier_versions_used() {
        let store = MemoryStore::new();
        let at = Timestamp::UNIX_EPOCH;
        let session = StoredSession {
            gateway: "discord".into(),
            session_id: "abc".into(),
            sequence: 9,
            resume_url: "wss://r".into(),
        };
        store.save_session(&session, at).unwrap();
        assert_eq!(store.status("bot.session").unwrap().unwrap().value, "v1 discord abc 9 wss://r");
        assert_eq!(store.stored_session().unwrap(), Some((session, at)));
        store.put_status("bot.cursor.20", "900 s 7", at).unwrap();
        assert_eq!(store.channel_progress(20).unwrap().cursor, Some(900), "a cursor an earlier version wrote");
        assert_eq!(store.channel_progress(21).unwrap(), ChannelProgress::default());
        let mut known = KnownChannels::default();
        known.remember(200, Some(100), 5000);
        store.save_known_channels(&known, at).unwrap();
        assert_eq!(store.status("bot.channels").unwrap().unwrap().value, "200:100:5000");
        assert_eq!(store.known_channels().unwrap(), known);
    }
}
