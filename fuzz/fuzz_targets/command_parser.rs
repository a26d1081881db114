//! Fuzz target: the command grammar never panics on any message, keeps plan text as written (a substring of the
//! message), and answers a malformed command with a short error, whatever the message holds.

#![no_main]

use discord_adapter::command::{Command, parse};
use discord_adapter::format;
use libfuzzer_sys::fuzz_target;

/// Prefixes a deployment may configure; the first input byte picks one.
const PREFIXES: [&str; 4] = ["!", "?", "cp!", "📈"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(content) = std::str::from_utf8(rest) else { return };
    let prefix = PREFIXES[usize::from(pick) % PREFIXES.len()];
    match parse(content, prefix) {
        Ok(Some(Command::Plan { text, coach, .. } | Command::Edit { text, coach, .. })) => {
            assert!(content.contains(&text), "plan text {text:?} is not in the message {content:?}");
            assert!(content.contains(&coach), "coach {coach:?} is not in the message {content:?}");
            assert!(!coach.is_empty() && !coach.contains(char::is_whitespace), "coach {coach:?}");
        }
        Ok(_) => {}
        Err(error) => {
            let reply = format::parse_error(&error);
            assert!(reply.chars().count() < 200, "a long error reply: {reply:?}");
        }
    }
});
