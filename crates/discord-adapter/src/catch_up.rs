//! Catch-up after a new gateway session: the channels to read back, and which of their messages, within the
//! configured look-back (at most so many messages per channel, none older than a maximum age). Events of a session
//! that could not be resumed are never replayed, so messages posted while the bot had no session are read through
//! REST instead, newest first, down to the last message the channel's worker handled.

use std::future::Future;
use std::time::Duration;

use twilight_model::channel::Message;

/// Most messages one `GET /channels/{id}/messages` returns.
pub const PAGE: u16 = 100;

/// Discord's epoch (2015-01-01) in Unix milliseconds: snowflakes count from it.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// How far back a catch-up reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookBack {
    /// At most this many messages per channel, the newest ones (0 turns catch-up off).
    pub messages: usize,
    /// None older than this.
    pub max_age: Duration,
}

/// The messages a catch-up found in a channel after its cursor.
#[derive(Debug, Default)]
pub struct Backlog {
    /// The messages to handle, oldest first.
    pub messages: Vec<Message>,
    /// Messages after the cursor that were left out because they are older than the look-back's age.
    pub too_old: usize,
    /// Whether messages after the cursor may have been left out because the look-back's count was reached.
    pub over_count: bool,
}

/// When a message was posted, in Unix milliseconds, from its id.
pub fn posted_at_ms(message_id: u64) -> u64 {
    (message_id >> 22).saturating_add(DISCORD_EPOCH_MS)
}

/// Reads a channel back, newest first, with `page(before)` (`None`: the newest page), down to `cursor` (the last
/// message handled), at most `look_back.messages` messages and none older than `look_back.max_age` before `now_ms`.
///
/// # Errors
/// The first error of `page`.
pub async fn read_back<F, Fut, E>(mut page: F, cursor: u64, look_back: LookBack, now_ms: u64) -> Result<Backlog, E>
where
    F: FnMut(Option<u64>) -> Fut,
    Fut: Future<Output = Result<Vec<Message>, E>>,
{
    let mut backlog = Backlog::default();
    if look_back.messages == 0 {
        return Ok(backlog);
    }
    let oldest_allowed = now_ms.saturating_sub(u64::try_from(look_back.max_age.as_millis()).unwrap_or(u64::MAX));
    let mut before = None;
    loop {
        let messages = page(before).await?;
        let Some(oldest) = messages.iter().map(|m| m.id.get()).min() else { break };
        let full = messages.len() >= usize::from(PAGE);
        let mut reached_end = false;
        for message in messages {
            let id = message.id.get();
            if id <= cursor {
                reached_end = true;
            } else if posted_at_ms(id) < oldest_allowed {
                backlog.too_old += 1;
                reached_end = true;
            } else {
                backlog.messages.push(message);
            }
        }
        if reached_end || !full {
            break;
        }
        if backlog.messages.len() >= look_back.messages {
            backlog.over_count = true;
            break;
        }
        before = Some(oldest);
    }
    backlog.messages.sort_by_key(|m| m.id.get());
    backlog.messages.dedup_by_key(|m| m.id.get());
    if backlog.messages.len() > look_back.messages {
        let extra = backlog.messages.len() - look_back.messages;
        backlog.messages.drain(..extra);
        backlog.over_count = true;
    }
    Ok(backlog)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A message posted `age` before `NOW`, with an id that says so (ids grow with time; `n` orders messages of
    /// the same millisecond).
    fn message(age: Duration, n: u64) -> Message {
        let at = NOW - u64::try_from(age.as_millis()).unwrap();
        let id = ((at - DISCORD_EPOCH_MS) << 22) | n;
        serde_json::from_value(serde_json::json!({
            "id": id.to_string(), "channel_id": "200", "content": format!("m{n}"), "timestamp": "2025-11-10T00:00:00+00:00",
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": false, "type": 0, "author": {"id": "1", "username": "ann", "discriminator": "0"},
        }))
        .unwrap()
    }

    const NOW: u64 = 1_762_732_800_000;
    const HOUR: Duration = Duration::from_secs(3600);

    /// A channel of `count` messages, one a minute, the newest a minute ago; pages as Discord serves them.
    fn channel(count: u64) -> Vec<Message> {
        (1..=count).map(|n| message(Duration::from_secs(60 * (count - n + 1)), n)).collect()
    }

    async fn read(channel: &[Message], cursor: u64, look_back: LookBack) -> (Backlog, usize) {
        let requests = RefCell::new(0);
        let page = |before: Option<u64>| {
            *requests.borrow_mut() += 1;
            let mut older: Vec<Message> =
                channel.iter().filter(|m| before.is_none_or(|b| m.id.get() < b)).cloned().collect();
            older.reverse();
            older.truncate(usize::from(PAGE));
            async move { Ok::<_, ()>(older) }
        };
        let backlog = read_back(page, cursor, look_back, NOW).await.unwrap();
        (backlog, requests.into_inner())
    }

    fn contents(backlog: &Backlog) -> Vec<String> {
        backlog.messages.iter().map(|m| m.content.clone()).collect()
    }

    #[tokio::test]
    async fn reads_down_to_the_cursor_oldest_first_across_pages() {
        let channel = channel(250);
        let cursor = channel[29].id.get();
        let look_back = LookBack { messages: 500, max_age: 72 * HOUR };
        let (backlog, requests) = read(&channel, cursor, look_back).await;
        let expected: Vec<String> = (31..=250).map(|n| format!("m{n}")).collect();
        assert_eq!(contents(&backlog), expected);
        assert_eq!((backlog.too_old, backlog.over_count, requests), (0, false, 3));
    }

    #[tokio::test]
    async fn keeps_the_newest_messages_up_to_the_count() {
        let channel = channel(250);
        let look_back = LookBack { messages: 120, max_age: 72 * HOUR };
        let (backlog, requests) = read(&channel, channel[0].id.get(), look_back).await;
        let expected: Vec<String> = (131..=250).map(|n| format!("m{n}")).collect();
        assert_eq!(contents(&backlog), expected);
        assert!(backlog.over_count);
        assert_eq!(requests, 2, "no page beyond the count is read");
    }

    #[tokio::test]
    async fn leaves_out_messages_older_than_the_age_and_reads_no_further() {
        let channel = channel(250);
        // 250 minutes of messages; the last 90 minutes are within the look-back.
        let look_back = LookBack { messages: 500, max_age: Duration::from_secs(90 * 60) };
        let (backlog, requests) = read(&channel, channel[0].id.get(), look_back).await;
        let expected: Vec<String> = (161..=250).map(|n| format!("m{n}")).collect();
        assert_eq!(contents(&backlog), expected);
        assert_eq!((backlog.too_old, backlog.over_count, requests), (10, false, 1));
    }

    #[tokio::test]
    async fn an_empty_look_back_reads_nothing_and_an_empty_channel_ends_it() {
        let channel = channel(5);
        let off = LookBack { messages: 0, max_age: HOUR };
        assert_eq!(read(&channel, 0, off).await.1, 0, "catch-up off: no request");
        let (backlog, requests) = read(&[], 0, LookBack { messages: 10, max_age: HOUR }).await;
        assert!(backlog.messages.is_empty());
        assert_eq!(requests, 1);
        let (backlog, _) = read(&channel, channel[4].id.get(), LookBack { messages: 10, max_age: HOUR }).await;
        assert!(backlog.messages.is_empty(), "nothing after the cursor");
    }

    #[test]
    fn a_message_id_says_when_it_was_posted() {
        assert_eq!(posted_at_ms(175_928_847_299_117_063), 1_462_015_105_796, "Discord's documented example");
    }
}
