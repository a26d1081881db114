//! The command grammar: `!plan <coach> [YYYY-MM-DD] <text>`, `!edit ...`, `!delete ...`, `!restore ...`,
//! `!plans [date]`, `!myplans [date]`, `!history <coach> [date]`, `!search <ticker or words> [days]`,
//! `!help [command]`.
//!
//! A date is recognised only when the whole word parses as a `YYYY-MM-DD` date; a word shaped like a date that is
//! not a real one (`2025-02-30`), a date written another way (`2025-11-1`, `2025/11/10`, `11/10/2025`, `20251110`,
//! `2025-11-10T09:30`) and the words `yesterday` and `tomorrow` where a date may stand are errors rather than plan
//! text, so a typo never posts a plan for the wrong day (today's, which agents read). Nothing is guessed from a
//! word's first characters: the whole word decides, without the punctuation a date is written with in a sentence
//! (`2025-11-10:`, `2025-11-10,`, `(2025-11-10)` are that date).

use core_model::TradingDate;

/// A parsed command. Coach names stay raw here: the service checks them against the roster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Post a plan.
    Plan {
        /// Coach as typed.
        coach: String,
        /// Date, when given.
        date: Option<TradingDate>,
        /// Plan text (may be empty when the message only has charts; the service then refuses it).
        text: String,
    },
    /// Replace a plan's text.
    Edit {
        /// Coach as typed.
        coach: String,
        /// Date, when given.
        date: Option<TradingDate>,
        /// New text.
        text: String,
    },
    /// Soft-delete a plan.
    Delete {
        /// Coach as typed.
        coach: String,
        /// Date, when given.
        date: Option<TradingDate>,
    },
    /// Restore a deleted plan.
    Restore {
        /// Coach as typed.
        coach: String,
        /// Date, when given.
        date: Option<TradingDate>,
    },
    /// Every coach's plan for a date.
    Plans {
        /// Date, when given.
        date: Option<TradingDate>,
    },
    /// The caller's plans.
    MyPlans {
        /// Date, when given.
        date: Option<TradingDate>,
    },
    /// A coach's change history.
    History {
        /// Coach as typed.
        coach: String,
        /// Date, when given.
        date: Option<TradingDate>,
    },
    /// Plans mentioning a ticker or containing words, over the last days.
    Search {
        /// A ticker or words, as typed.
        terms: String,
        /// How many days back, today included, when given (1 to [`MAX_SEARCH_DAYS`]).
        days: Option<u32>,
    },
    /// Usage, of every command or of one.
    Help {
        /// The command asked about.
        topic: Option<String>,
    },
}

impl Command {
    /// The command's name as typed after the prefix (`plan`, `edit`, ...), for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Plan { .. } => "plan",
            Self::Edit { .. } => "edit",
            Self::Delete { .. } => "delete",
            Self::Restore { .. } => "restore",
            Self::Plans { .. } => "plans",
            Self::MyPlans { .. } => "myplans",
            Self::History { .. } => "history",
            Self::Search { .. } => "search",
            Self::Help { .. } => "help",
        }
    }
}

/// The most days `!search` looks back.
pub const MAX_SEARCH_DAYS: u32 = 90;

/// The commands, by name, with their usage line and what they do (for `!help`).
pub const COMMANDS: [(&str, &str, &str); 9] = [
    (
        "plan",
        "plan <coach> [YYYY-MM-DD] <text>",
        "post today's (or that date's) plan; attach chart images or paste chart links",
    ),
    (
        "edit",
        "edit <coach> [YYYY-MM-DD] <text>",
        "replace the text of a plan (its author or an admin); its images stay unless you attach new ones, its chart \
         links follow the text",
    ),
    ("delete", "delete <coach> [YYYY-MM-DD]", "delete a plan (its author or an admin); it can be restored"),
    ("restore", "restore <coach> [YYYY-MM-DD]", "bring back your deleted plan (an admin: the newest deleted one)"),
    ("plans", "plans [YYYY-MM-DD]", "every coach's plan for the date"),
    ("myplans", "myplans [YYYY-MM-DD]", "your plans: of one date in full, or the newest 20 a line each"),
    ("history", "history <coach> [YYYY-MM-DD]", "the changes of a coach's plans, newest first"),
    (
        "search",
        "search <ticker or words> [days]",
        "plans of the last 30 days (or 1 to 90) mentioning a ticker ($NVDA) or containing the words, newest first",
    ),
    ("help", "help [command]", "this help, or one command's"),
];

/// Why a message is not a valid command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The command name is not one of [`COMMANDS`].
    #[error("`{prefix}{name}` is not a command; try `{prefix}help`")]
    UnknownCommand {
        /// The prefix.
        prefix: String,
        /// The name typed (at most 30 characters of it).
        name: String,
    },
    /// A coach is required.
    #[error("which coach? usage: `{prefix}{usage}`")]
    MissingCoach {
        /// The prefix.
        prefix: String,
        /// The command's usage line.
        usage: &'static str,
    },
    /// Text is required.
    #[error("the plan text is missing; usage: `{prefix}{usage}`")]
    MissingText {
        /// The prefix.
        prefix: String,
        /// The command's usage line.
        usage: &'static str,
    },
    /// A word shaped like a date is not a real date.
    #[error("`{given}` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09")]
    BadDate {
        /// The word.
        given: String,
    },
    /// A slash command's `date` option that is not a date.
    #[error("`{given}` is not a date; write YYYY-MM-DD (e.g. 2025-11-09), today or yesterday")]
    BadDateOption {
        /// The value (at most 30 characters of it).
        given: String,
    },
    /// A slash command's `date` option and the date its text starts with differ.
    #[error("the date option says {option} but the text starts with {text}; keep one of them")]
    TwoDates {
        /// The option's date.
        option: TradingDate,
        /// The text's date.
        text: TradingDate,
    },
    /// A word that reads as a date, written another way than `YYYY-MM-DD` (or `yesterday`, `tomorrow`).
    #[error(
        "`{given}` reads as a date, but dates are written YYYY-MM-DD here (e.g. 2025-11-09){}",
        if *before_text { "; to start a plan with it, put the plan's date before it" } else { "" }
    )]
    DateWrittenOtherwise {
        /// The word (at most 30 characters of it).
        given: String,
        /// Whether plan text may follow the date (then the word could have been meant as its start).
        before_text: bool,
    },
    /// `!search` without anything to look for.
    #[error("what should I look for? usage: `{prefix}{usage}`, e.g. `{prefix}search NVDA 7`")]
    MissingTerms {
        /// The prefix.
        prefix: String,
        /// The command's usage line.
        usage: &'static str,
    },
    /// A number of days out of range.
    #[error(
        "search 1 to {MAX_SEARCH_DAYS} days back, not {given}{}",
        quoted.as_ref().map(|q| format!("; to find the number in plans, quote the words: `{q}`")).unwrap_or_default()
    )]
    BadDays {
        /// The number typed (at most 30 characters of it).
        given: String,
        /// The search with its words quoted, when the number may have been meant as one of them.
        quoted: Option<String>,
    },
    /// Something other than a date where only a date may stand.
    #[error("unexpected `{given}`; usage: `{prefix}{usage}`")]
    Unexpected {
        /// The prefix.
        prefix: String,
        /// The word (at most 30 characters of it).
        given: String,
        /// The command's usage line.
        usage: &'static str,
    },
}

fn usage_of(name: &str) -> &'static str {
    COMMANDS.iter().find(|(n, _, _)| *n == name).map_or("help", |(_, usage, _)| usage)
}

/// Splits off the first word (up to any white space, newlines included) and the rest, left-trimmed.
fn first_word(input: &str) -> (&str, &str) {
    let input = input.trim_start();
    match input.find(char::is_whitespace) {
        Some(end) => (&input[..end], input[end..].trim_start()),
        None => (input, ""),
    }
}

/// An optional leading date: `Ok((Some(date), rest))` when the first word is a date, `Ok((None, input))` when it is
/// not date-shaped, an error when it is date-shaped but not a real date or [reads as a date](reads_as_a_date)
/// written another way. `before_text`: plan text may follow.
fn leading_date(input: &str, before_text: bool) -> Result<(Option<TradingDate>, &str), ParseError> {
    let (word, rest) = first_word(input);
    let core = date_core(word);
    if let Ok(date) = TradingDate::parse(core) {
        return Ok((Some(date), rest));
    }
    if TradingDate::is_date_shaped(core) {
        return Err(ParseError::BadDate { given: word.chars().take(30).collect() });
    }
    if reads_as_a_date(core) {
        return Err(ParseError::DateWrittenOtherwise { given: word.chars().take(30).collect(), before_text });
    }
    Ok((None, input.trim_start()))
}

/// A word without the punctuation a date is written with in a sentence: `2025-11-10:`, `2025-11-10,`, `2025-11-10.`,
/// `(2025-11-10)`.
fn date_core(word: &str) -> &str {
    word.trim_start_matches(['(', '[']).trim_end_matches([':', ',', '.', ';', ')', ']'])
}

/// The date a plan's text starts with, if any, and the text after it, unquoted: how `!plan` and `!edit` read what
/// follows the coach, and how the slash commands and the form read their text, so that the same words mean the same
/// plan however they are sent.
///
/// # Errors
/// When the text starts with a word that reads as a date but is not a `YYYY-MM-DD` one.
pub(crate) fn dated_text(input: &str) -> Result<(Option<TradingDate>, String), ParseError> {
    let (date, text) = leading_date(input, true)?;
    Ok((date, unquote(text).to_owned()))
}

/// Whether a whole word is a date written another way than `YYYY-MM-DD`: three numbers joined by `-`, `/` or `.`
/// with a four-digit year first (`2025-11-1`, `2025/11/10`) or last (`11/10/2025`, `10.11.25`), eight digits
/// starting with a year of this century or the last (`20251110`), a `YYYY-MM-DD` date with a time
/// (`2025-11-10T09:30`), or `yesterday` / `tomorrow`. The word comes without the punctuation of a sentence
/// ([`date_core`]).
fn reads_as_a_date(word: &str) -> bool {
    if word.eq_ignore_ascii_case("yesterday") || word.eq_ignore_ascii_case("tomorrow") {
        return true;
    }
    let digits = |part: &str, lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit())
    };
    if digits(word, 8..=8) && (word.starts_with("19") || word.starts_with("20")) {
        return true;
    }
    if word.len() > 10 && word.is_char_boundary(10) && TradingDate::is_date_shaped(&word[..10]) {
        return word[10..].starts_with(['T', 't']);
    }
    let parts: Vec<&str> = word.split(['-', '/', '.']).collect();
    match parts.as_slice() {
        [year, month, day] if digits(year, 4..=4) => digits(month, 1..=2) && digits(day, 1..=2),
        [first, second, year] => {
            digits(first, 1..=2) && digits(second, 1..=2) && digits(year, 2..=4) && year.len() != 3
        }
        _ => false,
    }
}

/// Removes the quotes around the whole text when it is one quoted string: `"Long NVDA"` becomes `Long NVDA` (and
/// `""` nothing), but `"Long" or "short"` stays as written (its first and last quotes belong to two different quoted
/// words).
fn unquote(text: &str) -> &str {
    let text = text.trim();
    for (open, close) in [('"', '"'), ('“', '”'), ('\'', '\'')] {
        if let Some(inner) = text.strip_prefix(open).and_then(|t| t.strip_suffix(close))
            && !inner.contains(open)
            && !inner.contains(close)
        {
            return inner.trim();
        }
    }
    text
}

/// The coach word and what follows it.
fn split_coach<'a>(rest: &'a str, prefix: &str, name: &str) -> Result<(String, &'a str), ParseError> {
    let (coach, rest) = first_word(rest);
    if coach.is_empty() {
        return Err(ParseError::MissingCoach { prefix: prefix.to_owned(), usage: usage_of(name) });
    }
    Ok((coach.to_owned(), rest))
}

/// An optional date and nothing else.
fn date_only(rest: &str, prefix: &str, name: &str) -> Result<Option<TradingDate>, ParseError> {
    let (date, rest) = leading_date(rest, false)?;
    if rest.trim().is_empty() {
        return Ok(date);
    }
    Err(ParseError::Unexpected {
        prefix: prefix.to_owned(),
        given: first_word(rest).0.chars().take(30).collect(),
        usage: usage_of(name),
    })
}

/// `!search <ticker or words> [days]`: a last word of digits after other words is the number of days.
fn search(rest: &str, prefix: &str) -> Result<Command, ParseError> {
    let terms = rest.trim();
    if terms.is_empty() {
        return Err(ParseError::MissingTerms { prefix: prefix.to_owned(), usage: usage_of("search") });
    }
    let (before, last) = terms.rsplit_once(char::is_whitespace).unwrap_or(("", terms));
    if before.trim().is_empty() || last.is_empty() || !last.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Command::Search { terms: terms.to_owned(), days: None });
    }
    let days = last.parse::<u32>().ok().filter(|d| (1..=MAX_SEARCH_DAYS).contains(d));
    let days = days.ok_or_else(|| ParseError::BadDays {
        given: last.chars().take(30).collect(),
        quoted: (!terms.contains('"'))
            .then(|| format!("{prefix}search \"{}\"", terms.chars().take(200).collect::<String>())),
    })?;
    Ok(Command::Search { terms: before.trim().to_owned(), days: Some(days) })
}

/// Parses a message. `Ok(None)` when it does not start with `prefix` (an ordinary message, ignored).
///
/// # Errors
/// [`ParseError`] when it starts with the prefix but is not a valid command; the message says how to write it.
pub fn parse(content: &str, prefix: &str) -> Result<Option<Command>, ParseError> {
    let Some(after_prefix) = content.trim_start().strip_prefix(prefix) else { return Ok(None) };
    // The name follows the prefix directly: "! plan" and a lone "!" are ordinary messages.
    if after_prefix.is_empty() || after_prefix.starts_with(char::is_whitespace) {
        return Ok(None);
    }
    let (name, rest) = first_word(after_prefix);
    let name = name.to_lowercase();
    let prefix_owned = || prefix.to_owned();
    let coach_then = |rest| split_coach(rest, prefix, &name);
    let only_date = |rest| date_only(rest, prefix, &name);
    let command = match name.as_str() {
        "plan" | "edit" => {
            let (coach, rest) = coach_then(rest)?;
            let (date, text) = dated_text(rest)?;
            if name == "plan" {
                Command::Plan { coach, date, text }
            } else {
                if text.is_empty() {
                    return Err(ParseError::MissingText { prefix: prefix_owned(), usage: usage_of(&name) });
                }
                Command::Edit { coach, date, text }
            }
        }
        "delete" | "restore" | "history" => {
            let (coach, rest) = coach_then(rest)?;
            let date = only_date(rest)?;
            match name.as_str() {
                "delete" => Command::Delete { coach, date },
                "restore" => Command::Restore { coach, date },
                _ => Command::History { coach, date },
            }
        }
        "plans" => Command::Plans { date: only_date(rest)? },
        "myplans" => Command::MyPlans { date: only_date(rest)? },
        "search" => search(rest, prefix)?,
        "help" => {
            let (topic, _) = first_word(rest);
            let topic = topic.strip_prefix(prefix).unwrap_or(topic).to_lowercase();
            Command::Help { topic: (!topic.is_empty()).then_some(topic) }
        }
        _ => {
            return Err(ParseError::UnknownCommand { prefix: prefix_owned(), name: name.chars().take(30).collect() });
        }
    };
    Ok(Some(command))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(d: &str) -> Option<TradingDate> {
        Some(TradingDate::parse(d).unwrap())
    }

    fn plan(coach: &str, d: Option<TradingDate>, text: &str) -> Command {
        Command::Plan { coach: coach.into(), date: d, text: text.into() }
    }

    #[track_caller]
    fn check(input: &str, expected: Result<Option<Command>, &str>) {
        let got = parse(input, "!").map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_owned), "input {input:?}");
    }

    #[test]
    fn plan_commands() {
        check("!plan d Long NVDA above 950", Ok(Some(plan("d", None, "Long NVDA above 950"))));
        check("!plan D Long", Ok(Some(plan("D", None, "Long"))));
        check("!plan d: Long", Ok(Some(plan("d:", None, "Long"))));
        check("!plan coach_d Long", Ok(Some(plan("coach_d", None, "Long"))));
        check("!plan d 2025-11-10 Long", Ok(Some(plan("d", date("2025-11-10"), "Long"))));
        check("  !PLAN   d   2025-11-10   Long  ", Ok(Some(plan("d", date("2025-11-10"), "Long"))));
        check("!plan d \"Long NVDA\"", Ok(Some(plan("d", None, "Long NVDA"))));
        check("!plan d “Long NVDA”", Ok(Some(plan("d", None, "Long NVDA"))));
        check("!plan d 'Long NVDA'", Ok(Some(plan("d", None, "Long NVDA"))));
        check("!plan d \"  Long NVDA \"", Ok(Some(plan("d", None, "Long NVDA"))));
        check("!plan d 2025-11-10 \"Long\"", Ok(Some(plan("d", date("2025-11-10"), "Long"))));
        check("!plan d \"\"", Ok(Some(plan("d", None, ""))));
        check("!plan d '  '", Ok(Some(plan("d", None, ""))));
        check("!edit d \"\"", Err("the plan text is missing; usage: `!edit <coach> [YYYY-MM-DD] <text>`"));
        check("!plan d \"Long\" or \"short\"", Ok(Some(plan("d", None, "\"Long\" or \"short\""))));
        check("!plan d “Long” or “short”", Ok(Some(plan("d", None, "“Long” or “short”"))));
        check("!plan d 'don't chase'", Ok(Some(plan("d", None, "'don't chase'"))));
        check("!plan d \"Long NVDA", Ok(Some(plan("d", None, "\"Long NVDA"))));
        check("!plan d Long \"NVDA\"", Ok(Some(plan("d", None, "Long \"NVDA\""))));
        check(
            "!edit d \"buy \"the\" dip\"",
            Ok(Some(Command::Edit { coach: "d".into(), date: None, text: "\"buy \"the\" dip\"".into() })),
        );
        check("!plan d\nline 1\nline 2", Ok(Some(plan("d", None, "line 1\nline 2"))));
        check("!plan d 2025-11-10\nline 1\n\n- line 3", Ok(Some(plan("d", date("2025-11-10"), "line 1\n\n- line 3"))));
        check("!plan d", Ok(Some(plan("d", None, ""))));
        check("!plan", Err("which coach? usage: `!plan <coach> [YYYY-MM-DD] <text>`"));
    }

    #[test]
    fn search_commands() {
        let search = |terms: &str, days: Option<u32>| Ok(Some(Command::Search { terms: terms.into(), days }));
        check("!search NVDA", search("NVDA", None));
        check("!search $nvda 7", search("$nvda", Some(7)));
        check("!search gap fill 90", search("gap fill", Some(90)));
        check("!search \"gap fill\" semi*", search("\"gap fill\" semi*", None));
        check("!search 2025", search("2025", None));
        check(
            "!search fed minutes 2025",
            Err("search 1 to 90 days back, not 2025; to find the number in plans, quote the words: \
                 `!search \"fed minutes 2025\"`"),
        );
        check(
            "!search NVDA 0",
            Err("search 1 to 90 days back, not 0; to find the number in plans, quote the words: `!search \"NVDA 0\"`"),
        );
        check("!search \"stop\" 944", Err("search 1 to 90 days back, not 944"));
        check(
            "!search",
            Err("what should I look for? usage: `!search <ticker or words> [days]`, e.g. `!search NVDA 7`"),
        );
    }

    #[test]
    fn dates_are_recognised_only_when_they_parse() {
        check("!plan d 2024 was a good year", Ok(Some(plan("d", None, "2024 was a good year"))));
        let written_otherwise = |word: &str| {
            format!(
                "`{word}` reads as a date, but dates are written YYYY-MM-DD here (e.g. 2025-11-09); to start a plan \
                 with it, put the plan's date before it"
            )
        };
        for word in [
            "20251110",
            "2025-11-1",
            "2025/11/10",
            "2025.11.10",
            "11/10/2025",
            "10.11.25",
            "2025-11-10T09:30",
            "tomorrow",
            "Yesterday:",
        ] {
            let refused = parse(&format!("!plan d {word} Long"), "!").unwrap_err().to_string();
            assert_eq!(refused, written_otherwise(word), "{word}");
        }
        let refused = parse("!plans 2025/11/10", "!").unwrap_err().to_string();
        assert_eq!(refused, "`2025/11/10` reads as a date, but dates are written YYYY-MM-DD here (e.g. 2025-11-09)");
        // Words that are not dates stay plan text: numbers, levels, prices, a year, `today`.
        for text in
            ["5850/5870/5900 levels", "950.5 then 955", "12345678 shares", "today Long", "2025 target", "3/4 size"]
        {
            check(&format!("!plan d {text}"), Ok(Some(plan("d", None, text))));
        }
        check("!plan d 2025-11-10 tomorrow we see", Ok(Some(plan("d", date("2025-11-10"), "tomorrow we see"))));
        // A date with the punctuation of a sentence is that date; a date-shaped word with it that is no date, an error.
        for word in ["2025-11-10:", "2025-11-10,", "2025-11-10.", "(2025-11-10)", "[2025-11-10]:"] {
            check(&format!("!plan d {word} Long"), Ok(Some(plan("d", date("2025-11-10"), "Long"))));
        }
        check("!delete d 2025-11-10,", Ok(Some(Command::Delete { coach: "d".into(), date: date("2025-11-10") })));
        check(
            "!plan d 2025-02-30: Long",
            Err("`2025-02-30:` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09"),
        );
        for word in ["tomorrow:", "(tomorrow)", "11/10/2025,"] {
            let refused = parse(&format!("!plan d {word} Long"), "!").unwrap_err().to_string();
            assert!(refused.starts_with(&format!("`{word}` reads as a date")), "{refused}");
        }
        check(
            "!edit d 20 handles at the open",
            Ok(Some(Command::Edit { coach: "d".into(), date: None, text: "20 handles at the open".into() })),
        );
        check(
            "!plan d 2025-02-30 Long",
            Err("`2025-02-30` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09"),
        );
        check("!plans 2025-13-01", Err("`2025-13-01` is not a real date; write it as YYYY-MM-DD, e.g. 2025-11-09"));
    }

    #[test]
    fn edit_delete_restore_history() {
        check(
            "!edit s 2025-11-10 new text",
            Ok(Some(Command::Edit { coach: "s".into(), date: date("2025-11-10"), text: "new text".into() })),
        );
        check("!edit s", Err("the plan text is missing; usage: `!edit <coach> [YYYY-MM-DD] <text>`"));
        check("!edit s 2025-11-10", Err("the plan text is missing; usage: `!edit <coach> [YYYY-MM-DD] <text>`"));
        check("!edit", Err("which coach? usage: `!edit <coach> [YYYY-MM-DD] <text>`"));
        check("!delete n", Ok(Some(Command::Delete { coach: "n".into(), date: None })));
        check("!delete n 2025-11-10", Ok(Some(Command::Delete { coach: "n".into(), date: date("2025-11-10") })));
        check(
            "!delete n tomorrow",
            Err("`tomorrow` reads as a date, but dates are written YYYY-MM-DD here (e.g. 2025-11-09)"),
        );
        check("!delete n soon", Err("unexpected `soon`; usage: `!delete <coach> [YYYY-MM-DD]`"));
        check("!delete", Err("which coach? usage: `!delete <coach> [YYYY-MM-DD]`"));
        check("!restore i", Ok(Some(Command::Restore { coach: "i".into(), date: None })));
        check("!history i 2025-11-10", Ok(Some(Command::History { coach: "i".into(), date: date("2025-11-10") })));
        check("!history", Err("which coach? usage: `!history <coach> [YYYY-MM-DD]`"));
    }

    #[test]
    fn listings_and_help() {
        check("!plans", Ok(Some(Command::Plans { date: None })));
        check("!plans 2025-11-10", Ok(Some(Command::Plans { date: date("2025-11-10") })));
        check("!plans d", Err("unexpected `d`; usage: `!plans [YYYY-MM-DD]`"));
        check("!myplans", Ok(Some(Command::MyPlans { date: None })));
        check("!MyPlans 2025-11-10", Ok(Some(Command::MyPlans { date: date("2025-11-10") })));
        check("!help", Ok(Some(Command::Help { topic: None })));
        check("!help !plan", Ok(Some(Command::Help { topic: Some("plan".into()) })));
        check("!help edit", Ok(Some(Command::Help { topic: Some("edit".into()) })));
    }

    #[test]
    fn other_messages() {
        check("good morning", Ok(None));
        check("! plan d x", Ok(None));
        check("!", Ok(None));
        check("", Ok(None));
        check("!planx d text", Err("`!planx` is not a command; try `!help`"));
        check("!post d text", Err("`!post` is not a command; try `!help`"));
        assert_eq!(parse("?plan d Long", "?").unwrap(), Some(plan("d", None, "Long")), "the prefix is configurable");
        assert_eq!(parse("!plan d Long", "?").unwrap(), None);
        assert_eq!(parse("cp!plans", "cp!").unwrap(), Some(Command::Plans { date: None }));
    }

    #[test]
    fn commands_name_themselves_as_typed() {
        let typed = [
            "!plan d x",
            "!edit d x",
            "!delete d",
            "!restore d",
            "!plans",
            "!MYPLANS",
            "!history d",
            "!search x",
            "!help",
        ];
        let names: Vec<&str> = typed.iter().map(|t| parse(t, "!").unwrap().unwrap().name()).collect();
        let listed: Vec<&str> = COMMANDS.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(names, listed);
    }

    /// Plan text in any script comes back exactly as written: right-to-left text, zero-width characters, emoji
    /// (with skin tones, ZWJ sequences, flags) and combining marks.
    #[test]
    fn plan_text_in_any_script_is_kept_as_written() {
        let texts = [
            "שלום: קנייה מעל 100\nיעד 110",
            "\u{202b}شراء فوق ١٠٠\u{202c} ثم 105",
            "\u{200f}RLM first, then text",
            "zero\u{200b}width\u{200c}non\u{200d}joiner\u{2060}word\u{feff}",
            "👨\u{200d}👩\u{200d}👧\u{200d}👦 👍🏽 🏳\u{fe0f}\u{200d}🌈 🇺🇸",
            "cafe\u{301} nai\u{308}ve Z\u{335}\u{30d}a\u{334}l\u{337}g\u{336}o",
            "\u{301}a mark with nothing before it",
        ];
        for text in texts {
            check(&format!("!plan d {text}"), Ok(Some(plan("d", None, text))));
            check(&format!("!plan d 2025-11-10\n{text}"), Ok(Some(plan("d", date("2025-11-10"), text))));
            let edit = Command::Edit { coach: "s".into(), date: None, text: text.into() };
            check(&format!("!edit s {text}"), Ok(Some(edit)));
        }
        // Unicode white space separates words; zero-width characters do not, so `d\u{200b}` is not coach `d`
        // (the service then answers with the valid coaches).
        check("!plan\u{3000}d\u{3000}Long", Ok(Some(plan("d", None, "Long"))));
        check("!plan d\u{200b} Long", Ok(Some(plan("d\u{200b}", None, "Long"))));
        check("!plans \u{200b}", Err("unexpected `\u{200b}`; usage: `!plans [YYYY-MM-DD]`"));
        check("!plan d ٢٠٢٥-١١-١٠ Long", Ok(Some(plan("d", None, "٢٠٢٥-١١-١٠ Long"))));
    }

    #[test]
    fn error_messages_quote_at_most_a_short_piece_of_the_input() {
        let long = "x".repeat(5000);
        for content in [format!("!{long}"), format!("!plans {long}"), format!("!delete d {long}")] {
            let message = parse(&content, "!").unwrap_err().to_string();
            assert!(message.chars().count() < 120, "{message}");
        }
    }

    /// Text that is neither quoted nor starts with a date-shaped word, with no white space around it.
    fn plain_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::strategy::Strategy as _;
        "\\PC{1,200}".prop_filter("plain text", |t| {
            let trimmed = t.trim();
            !trimmed.is_empty()
                && trimmed == t
                && !TradingDate::is_date_shaped(date_core(first_word(t).0))
                && !reads_as_a_date(date_core(first_word(t).0))
                && !t.starts_with(['"', '“', '\''])
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn parsing_never_panics(content in "\\PC{0,300}", prefix in "[!?$.]{1,3}") {
            let _ = parse(&content, &prefix);
            let _ = parse(&format!("{prefix}{content}"), &prefix);
        }

        #[test]
        fn parsing_any_text_with_any_prefix_never_panics(content in ".{0,200}", prefix in ".{1,4}") {
            let _ = parse(&content, &prefix);
            let _ = parse(&format!("{prefix}{content}"), &prefix);
            let _ = parse(&format!("{prefix}plan d {content}"), &prefix);
        }

        #[test]
        fn plan_text_comes_back_unchanged(text in plain_text()) {
            let parsed = parse(&format!("!plan d {text}"), "!").unwrap();
            proptest::prop_assert_eq!(parsed, Some(plan("d", None, &text)));
        }

        #[test]
        fn errors_are_short_whatever_the_input(content in "\\PC{0,100}", repeat in 1usize..60) {
            let content = content.repeat(repeat);
            for input in [format!("!{content}"), format!("!plans {content}"), format!("!history d {content}")] {
                if let Err(error) = parse(&input, "!") {
                    proptest::prop_assert!(error.to_string().chars().count() < 120, "{error}");
                }
            }
        }
    }
}
