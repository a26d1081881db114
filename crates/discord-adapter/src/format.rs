//! Replies written for people: coach names, dates, chart counts, edited marks, and short errors that say what to do.
//! Splitting to Discord's size limit happens after formatting ([`crate::split`]).

use core_model::{HistoryAction, HistoryEntry, Plan, Roster, TradingDate};
use service::{Posted, ServiceError};
use unicode_segmentation::UnicodeSegmentation as _;

use crate::command::{COMMANDS, ParseError};

/// Longest excerpt of a plan text quoted in a history line, in characters.
const EXCERPT_CHARS: usize = 120;

fn coach_label(roster: &Roster, plan: &Plan) -> String {
    format!("**{}** (`{}`)", roster.display_name(&plan.coach), plan.coach)
}

fn charts_label(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => " · 1 chart".to_owned(),
        n => format!(" · {n} charts"),
    }
}

/// The text on one line, shortened to [`EXCERPT_CHARS`] characters with `…` when longer. It is shortened after a
/// whole grapheme cluster, so an emoji sequence or a letter with its marks is never torn in two.
fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= EXCERPT_CHARS {
        return one_line;
    }
    let mut chars = 0;
    let mut end = 0;
    for (at, cluster) in one_line.grapheme_indices(true) {
        chars += cluster.chars().count();
        if chars > EXCERPT_CHARS {
            break;
        }
        end = at + cluster.len();
    }
    format!("{}…", &one_line[..end])
}

/// The message that follows a confirmation when some attached images could not be copied (`failed`), or are no
/// images (`not_images`, by name): their Discord links will stop working.
pub fn charts_not_archived(failed: usize, not_images: &[String]) -> String {
    let mut lines = Vec::new();
    if failed > 0 {
        let what = if failed == 1 { "1 attached chart".to_owned() } else { format!("{failed} attached charts") };
        lines.push(format!(
            "⚠️ {what} could not be copied; agents get Discord's link, which stops working in about a day. Attach it again in an edit, or post the plan again, to retry."
        ));
    }
    if !not_images.is_empty() {
        let names: Vec<String> = not_images.iter().map(|n| format!("`{}`", excerpt(n))).collect();
        let (them, are) = if names.len() == 1 { ("it", "is") } else { ("them", "are") };
        lines.push(format!(
            "⚠️ {} {are} not an image (PNG, JPEG, GIF, WebP or BMP), so no copy is kept: agents get Discord's link, which stops working in about a day. To keep a chart, attach {them} as an image.",
            names.join(", ")
        ));
    }
    lines.join("\n")
}

/// The reply to a posted plan.
pub fn posted(roster: &Roster, posted: &Posted) -> String {
    let plan = posted.plan();
    let verb = match posted {
        Posted::Created(_) => "saved",
        Posted::Replaced(_) => "replaced",
    };
    format!("✅ Plan {verb} for {} on {}{}.", coach_label(roster, plan), plan.date, charts_label(plan.charts.len()))
}

/// The reply to a successful `!edit` (or an edit of the plan's message).
pub fn edited(roster: &Roster, plan: &Plan) -> String {
    format!(
        "✏️ Plan for {} on {} updated (version {}){}.",
        coach_label(roster, plan),
        plan.date,
        plan.version,
        charts_label(plan.charts.len())
    )
}

/// The reply to an edit of a plan's message that names another coach or date: the plan stays where it is.
pub fn source_edit_cannot_move(roster: &Roster, plan: &Plan, prefix: &str) -> String {
    format!(
        "⚠️ editing a message cannot move its plan to another coach or date; the plan for {} on {} is unchanged. \
         Post a new `{prefix}plan` for the other coach or date (and `{prefix}delete {} {}` this one if it is wrong).",
        coach_label(roster, plan),
        plan.date,
        plan.coach,
        plan.date
    )
}

/// The reply to an edit of a plan's message that no longer reads as a plan command (`why`).
pub fn source_edit_unreadable(roster: &Roster, plan: &Plan, why: &str, prefix: &str) -> String {
    format!(
        "⚠️ {why}; the plan for {} on {} is unchanged. Edit the message again, or use `{prefix}edit {} {} <text>`.",
        coach_label(roster, plan),
        plan.date,
        plan.coach,
        plan.date
    )
}

/// The reply to a successful `!delete`.
pub fn deleted(roster: &Roster, plan: &Plan, prefix: &str) -> String {
    format!(
        "🗑️ Plan for {} on {} deleted. `{prefix}restore {} {}` brings it back.",
        coach_label(roster, plan),
        plan.date,
        plan.coach,
        plan.date
    )
}

/// The reply to a successful `!restore`.
pub fn restored(roster: &Roster, plan: &Plan) -> String {
    format!("♻️ Plan for {} on {} restored.", coach_label(roster, plan), plan.date)
}

fn plan_block(roster: &Roster, plan: &Plan, with_date: bool) -> String {
    let date = if with_date { format!(" · {}", plan.date) } else { String::new() };
    let edited = if plan.is_edited() { " · edited" } else { "" };
    format!(
        "{}{date} — by {}{}{edited}\n{}",
        coach_label(roster, plan),
        plan.author.display_name,
        charts_label(plan.charts.len()),
        closed_code_blocks(&plan.text)
    )
}

/// A plan's text with a code block it opens and never closes (an odd number of ```` ``` ````) closed at its end, so
/// that the rest of a listing is not swallowed into it.
fn closed_code_blocks(text: &str) -> std::borrow::Cow<'_, str> {
    if text.matches("```").count() % 2 == 1 {
        std::borrow::Cow::Owned(format!("{text}\n```"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The reply to `!plans`: every coach of the roster, with its plan or "no plan yet".
pub fn plans_of_date(roster: &Roster, date: TradingDate, plans: &[Plan]) -> String {
    let mut out = format!("📋 **Plans for {date}**");
    for coach in roster.coaches() {
        out.push_str("\n\n");
        match plans.iter().find(|p| p.coach == coach.id) {
            Some(plan) => out.push_str(&plan_block(roster, plan, false)),
            None => out.push_str(&format!("**{}** (`{}`) — no plan yet", coach.name, coach.id)),
        }
    }
    for plan in plans.iter().filter(|p| roster.get(&p.coach).is_none()) {
        out.push_str("\n\n");
        out.push_str(&plan_block(roster, plan, false));
    }
    out
}

/// The reply to `!myplans`.
///
/// With a date, each plan whole (a caller has at most one per coach); without, one line per plan, newest first, at
/// most [`MY_PLANS_SHOWN`] of them with a note of the rest: a coach with a year of plans gets one short reply.
pub fn my_plans(roster: &Roster, date: Option<TradingDate>, plans: &[Plan]) -> String {
    let Some(date) = date else {
        if plans.is_empty() {
            return "You have no plans.".to_owned();
        }
        let mut out = format!("📋 **Your plans** ({}), newest first", plans.len());
        for plan in plans.iter().take(MY_PLANS_SHOWN) {
            out.push_str(&plan_line(roster, plan, if plan.is_edited() { " · edited" } else { "" }));
        }
        if let Some(older) = plans.len().checked_sub(MY_PLANS_SHOWN).filter(|n| *n > 0) {
            out.push_str(&format!(
                "\n…and {older} older: name a date for one day's plans in full, or read them from the API \
                 (`/api/v1/plans?author=USER_ID&from=YYYY-MM-DD`)."
            ));
        }
        return out;
    };
    if plans.is_empty() {
        return format!("You have no plans for {date}.");
    }
    let mut out = format!("📋 **Your plans for {date}** ({})", plans.len());
    for plan in plans {
        out.push_str("\n\n");
        out.push_str(&plan_block(roster, plan, true));
    }
    out
}

/// A refusal of a slash command's plan, with the text it was given, to copy and send again: in a code block, so that
/// it copies as typed (Discord would render its markdown), unless it holds one itself.
pub fn refused_with_text(refusal: &str, text: &str) -> String {
    if text.contains("```") {
        format!("{refusal}\n\nYour text, to send again:\n{text}")
    } else {
        format!("{refusal}\n\nYour text, to send again:\n```\n{text}\n```")
    }
}

/// Most plans `!myplans` lists without a date.
pub const MY_PLANS_SHOWN: usize = 20;

fn history_line(entry: &HistoryEntry) -> String {
    let when = entry.at.strftime("%Y-%m-%d %H:%M UTC");
    let who = &entry.actor.display_name;
    let what = match entry.action {
        HistoryAction::Created => format!("posted by {who}"),
        HistoryAction::Edited => format!("edited by {who}"),
        HistoryAction::ChartsChanged => format!("charts changed by {who}"),
        HistoryAction::Deleted if entry.actor.user_id.is_none() && who == service::SOURCE_DELETED_ACTOR => {
            "deleted with its Discord message".to_owned()
        }
        HistoryAction::Deleted => format!("deleted by {who}"),
        HistoryAction::Restored => format!("restored by {who}"),
    };
    let mut line = format!("• `v{}` {} — {what} ({})", entry.version, entry.date, when);
    match (entry.action, &entry.text_before, &entry.text_after) {
        (HistoryAction::Edited, Some(before), Some(after)) => {
            line.push_str(&format!("\n  before: {}\n  after: {}", excerpt(before), excerpt(after)));
        }
        (HistoryAction::Created, _, Some(after)) => line.push_str(&format!("\n  {}", excerpt(after))),
        _ => {}
    }
    line
}

/// The reply to `!history`.
pub fn history(
    roster: &Roster,
    coach: &core_model::CoachId,
    date: Option<TradingDate>,
    entries: &[HistoryEntry],
    more: bool,
) -> String {
    let scope = date.map_or_else(|| "all dates".to_owned(), |d| d.to_string());
    let name = roster.display_name(coach);
    if entries.is_empty() {
        return format!("No changes recorded for **{name}** (`{coach}`), {scope}.");
    }
    let mut out = format!("🕘 **History of {name}** (`{coach}`), {scope}, newest first");
    for entry in entries {
        out.push('\n');
        out.push_str(&history_line(entry));
    }
    if more {
        let api = match date {
            Some(date) => format!("/api/v1/plans/{coach}/{date}/history"),
            None => format!("/api/v1/coaches/{coach}/history"),
        };
        out.push_str(&format!(
            "\n…and older changes: name a date for one day's, or read them all from the API (`{api}`)."
        ));
    }
    out
}

/// A plan in a list, on a line of its own: its date, coach, `note`, an excerpt of its text and a link to its message.
fn plan_line(roster: &Roster, plan: &Plan, note: &str) -> String {
    let link = message_link(plan).map_or_else(String::new, |l| format!(" · <{l}>"));
    format!("\n• {} · {}{note}: {}{link}", plan.date, coach_label(roster, plan), excerpt(&plan.text))
}

/// Where a plan's Discord message is, when the plan knows its message (plans imported from the predecessor do not).
fn message_link(plan: &Plan) -> Option<String> {
    let (channel, message) = (plan.source.channel_id?, plan.source.message_id?);
    let guild = plan.source.guild_id.map_or_else(|| "@me".to_owned(), |g| g.to_string());
    Some(format!("https://discord.com/channels/{guild}/{channel}/{message}"))
}

/// The reply to `!search`: one line per plan found, newest first, with a link to its message; `more` says that
/// more plans matched than are listed.
pub fn search_results(
    roster: &Roster,
    terms: &str,
    range: (TradingDate, TradingDate),
    plans: &[Plan],
    more: bool,
    prefix: &str,
) -> String {
    let (from, to) = range;
    let terms = excerpt(terms);
    if plans.is_empty() {
        return format!("🔎 Nothing mentions `{terms}` from {from} to {to}.");
    }
    let mut out = format!(
        "🔎 **{terms}** — {} plan{} from {from} to {to}, newest first",
        plans.len(),
        if plans.len() == 1 { "" } else { "s" }
    );
    for plan in plans {
        out.push_str(&plan_line(roster, plan, &format!(" · {}", plan.author.display_name)));
    }
    if more {
        // The slash command takes the days as an option of its own.
        let narrower =
            if prefix == "/" { format!("/search query:{terms} days:7") } else { format!("{prefix}search {terms} 7") };
        out.push_str(&format!(
            "
…and more: narrow it with fewer days (`{narrower}`), or read them all from the API (`/api/v1/plans`)."
        ));
    }
    out
}

/// The reply to `!help` or `!help <command>`.
pub fn help(prefix: &str, topic: Option<&str>, roster: &Roster) -> String {
    let coaches = roster.describe();
    if let Some(topic) = topic {
        return match COMMANDS.iter().find(|(name, _, _)| *name == topic) {
            Some((_, usage, what)) => format!("`{prefix}{usage}` — {what}.\nCoaches: {coaches}."),
            None => format!("`{prefix}{topic}` is not a command; `{prefix}help` lists them."),
        };
    }
    let mut out = "**Coach plans** — commands:".to_owned();
    for (_, usage, what) in COMMANDS {
        out.push_str(&format!("\n`{prefix}{usage}` — {what}"));
    }
    out.push_str(&format!(
        "\nCoaches: {coaches}. Dates are YYYY-MM-DD; without one, today in the market's time zone (for `{prefix}myplans` \
         and `{prefix}history`, every date)."
    ));
    out
}

/// The reply to `/help`: the slash commands.
pub fn slash_help(roster: &Roster) -> String {
    let mut out = "**Coach plans** — commands:".to_owned();
    for (_, usage, what) in crate::slash::SLASH_COMMANDS {
        out.push_str(&format!("\n`{usage}` — {what}"));
    }
    out.push_str(&format!(
        "\nCoaches: {}. Dates are YYYY-MM-DD, today or yesterday; without one, today in the market's time zone \
         (for `/myplans` and `/history`, every date). Errors are shown only to you.",
        roster.describe()
    ));
    out
}

/// What a confirmation adds about attached files that are not images, and so are not charts (nothing when all are).
pub fn not_images(attachments: &[core_model::Attachment]) -> String {
    let names: Vec<String> = attachments
        .iter()
        .filter(|a| !a.is_image())
        .map(|a| format!("`{}`", a.filename.chars().take(60).collect::<String>().replace('`', "'")))
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("\n{one} is not an image (png, jpg, gif, webp or bmp), so it is not kept as a chart."),
        many => format!(
            "\n{} are not images (png, jpg, gif, webp or bmp), so they are not kept as charts.",
            many.join(", ")
        ),
    }
}

/// The reply to a message that is not a valid command.
pub fn parse_error(error: &ParseError) -> String {
    format!("⚠️ {error}")
}

/// The reply to a refused or failed request.
pub fn service_error(error: &ServiceError, prefix: &str) -> String {
    match error {
        // An admin held back by another's plan is given the command that changes it, in this face's syntax.
        ServiceError::AlreadyPosted { coach, date, admin: true, restoring: false, .. } => {
            format!("⚠️ {error}: `{prefix}edit {coach} {date} <text>`")
        }
        _ => format!("⚠️ {error}"),
    }
}

#[cfg(test)]
mod tests {
    use core_model::jiff::Timestamp;
    use core_model::{Author, CoachId, PlanId, PlanSource, UserId};
    use proptest::prelude::*;

    use super::*;
    use crate::split::{DISCORD_MESSAGE_LIMIT, split_message};

    fn plan(coach: &str, text: &str, author: &str, version: u32) -> Plan {
        Plan {
            id: PlanId(1),
            coach: CoachId::new(coach).unwrap(),
            date: TradingDate::parse("2025-11-10").unwrap(),
            text: text.to_owned(),
            author: Author { user_id: Some(UserId(7)), display_name: author.to_owned() },
            source: PlanSource::default(),
            charts: Vec::new(),
            tickers: Vec::new(),
            version,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            deleted_at: None,
        }
    }

    fn entry(action: HistoryAction, before: Option<&str>, after: Option<&str>, who: &str) -> HistoryEntry {
        HistoryEntry {
            id: 1,
            plan_id: PlanId(1),
            coach: CoachId::new("d").unwrap(),
            date: TradingDate::parse("2025-11-10").unwrap(),
            version: 2,
            action,
            text_before: before.map(str::to_owned),
            text_after: after.map(str::to_owned),
            actor: Author { user_id: Some(UserId(7)), display_name: who.to_owned() },
            at: Timestamp::UNIX_EPOCH,
            message_id: None,
        }
    }

    /// Plan texts as coaches write them, whatever their script: each reply quotes them unchanged.
    const TEXTS: &[&str] = &[
        "Long NVDA above 950 🚀",
        "שלום: קנייה מעל 100\nיעד 110",
        "\u{202b}شراء فوق ١٠٠\u{202c} then 105",
        "zero\u{200b}width\u{200c}non\u{200d}joiner\u{2060}word\u{feff}",
        "team 👨\u{200d}👩\u{200d}👧\u{200d}👦 likes 👍🏽 and 🏳\u{fe0f}\u{200d}🌈 🇺🇸",
        "cafe\u{301} nai\u{308}ve Z\u{335}\u{30d}\u{31b}a\u{334}l\u{337}g\u{336}o",
        "@everyone <@1001> <@&300> @here",
    ];

    #[test]
    fn replies_quote_plan_texts_in_any_script_unchanged() {
        let roster = Roster::default();
        for text in TEXTS {
            let listing =
                plans_of_date(&roster, TradingDate::parse("2025-11-10").unwrap(), &[plan("d", text, "Ann", 1)]);
            assert!(listing.contains(text), "{listing}");
            let date = TradingDate::parse("2025-11-10").ok();
            let mine = my_plans(&roster, date, &[plan("d", text, "אן 👩\u{200d}💻", 2)]);
            assert!(mine.contains(text) && mine.contains("by אן 👩\u{200d}💻 · edited"), "{mine}");
        }
    }

    #[test]
    fn more_search_results_say_how_to_narrow_the_search_in_the_commands_own_syntax() {
        let roster = Roster::default();
        let day = TradingDate::parse("2025-11-10").unwrap();
        let plans = [plan("d", "Long NVDA", "Ann", 1)];
        let prefixed = search_results(&roster, "NVDA", (day, day), &plans, true, "!");
        assert!(prefixed.contains("narrow it with fewer days (`!search NVDA 7`)"), "{prefixed}");
        let slash = search_results(&roster, "NVDA", (day, day), &plans, true, "/");
        assert!(slash.contains("narrow it with fewer days (`/search query:NVDA days:7`)"), "{slash}");
        assert!(!search_results(&roster, "NVDA", (day, day), &plans, false, "/").contains("narrow"));
    }

    #[test]
    fn my_plans_without_a_date_list_the_newest_in_a_line_each() {
        let roster = Roster::default();
        let plans: Vec<Plan> = (0..MY_PLANS_SHOWN + 3)
            .map(|n| {
                let day = TradingDate::parse("2025-11-10")
                    .unwrap()
                    .date()
                    .checked_sub(core_model::jiff::Span::new().days(n as i64));
                Plan { date: TradingDate::from_date(day.unwrap()), ..plan("d", &"long text ".repeat(100), "Ann", 1) }
            })
            .collect();
        let mine = my_plans(&roster, None, &plans);
        assert_eq!(mine.lines().filter(|l| l.starts_with("• ")).count(), MY_PLANS_SHOWN, "{mine}");
        assert!(mine.starts_with("📋 **Your plans** (23), newest first\n• 2025-11-10 · **Day Trading** (`d`): long"));
        assert!(
            mine.ends_with(
                "…and 3 older: name a date for one day's plans in full, or read them from the API \
             (`/api/v1/plans?author=USER_ID&from=YYYY-MM-DD`)."
            ),
            "{mine}"
        );
        assert!(mine.chars().count() < 2 * DISCORD_MESSAGE_LIMIT, "a short reply: {} characters", mine.chars().count());
    }

    #[test]
    fn history_excerpts_stop_after_a_whole_symbol() {
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦";
        // 116 letters, then a 7-character family: it does not fit in 120 characters, so the excerpt stops before it.
        let text = format!("{}{family}{family}", "a".repeat(116));
        assert_eq!(excerpt(&text), format!("{}…", "a".repeat(116)));
        let text = format!("{}e\u{301}e\u{301}", "a".repeat(119));
        assert_eq!(excerpt(&text), format!("{}…", "a".repeat(119)), "the accent stays with its letter");
        assert_eq!(excerpt("  short\n\ntext "), "short text");
        let line = history_line(&entry(HistoryAction::Edited, Some("before 🇺🇸"), Some(&text), "Ann"));
        assert!(line.contains("before: before 🇺🇸\n  after: aaaa"), "{line}");
    }

    #[test]
    fn a_code_block_a_plan_leaves_open_ends_with_the_plan() {
        let roster = Roster::default();
        let date = TradingDate::parse("2025-11-10").unwrap();
        let plans = [plan("d", "levels ```", "Ann", 1), plan("i", "fine ```x``` here", "Bob", 1)];
        let listing = plans_of_date(&roster, date, &plans);
        let before_intraday = &listing[..listing.find("**Intraday**").unwrap()];
        assert_eq!(before_intraday.matches("```").count() % 2, 0, "closed before the next coach: {listing}");
        assert!(listing.contains("fine ```x``` here"), "a closed block is left as written: {listing}");
    }

    #[test]
    fn a_plan_deleted_with_its_message_says_so() {
        let mut gone = entry(HistoryAction::Deleted, Some("x"), None, service::SOURCE_DELETED_ACTOR);
        gone.actor.user_id = None;
        assert!(history_line(&gone).contains("— deleted with its Discord message ("), "{}", history_line(&gone));
        let by_ann = history_line(&entry(HistoryAction::Deleted, Some("x"), None, "Ann"));
        assert!(by_ann.contains("— deleted by Ann ("), "{by_ann}");
    }

    fn unicode_text() -> impl Strategy<Value = String> {
        let piece =
            prop_oneof![prop::sample::select(TEXTS).prop_map(str::to_owned), "\\PC{0,40}", Just("\n".to_owned()),];
        prop::collection::vec(piece, 1..60).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever a coach writes and whatever their name: every reply is written without panicking, quotes the plan
        /// whole, and splits into Discord messages of at most 2000 characters that lose no symbol.
        #[test]
        fn any_plan_text_gives_replies_within_discords_limit(text in unicode_text(), name in "\\PC{0,40}") {
            let roster = Roster::default();
            let p = plan("d", &text, &name, 3);
            let date = p.date;
            let entries = [
                entry(HistoryAction::Created, None, Some(&text), &name),
                entry(HistoryAction::Edited, Some(&text), Some(&text), &name),
                entry(HistoryAction::Deleted, Some(&text), None, &name),
            ];
            let coach = p.coach.clone();
            let replies = [
                posted(&roster, &Posted::Created(p.clone())),
                edited(&roster, &p),
                deleted(&roster, &p, "!"),
                restored(&roster, &p),
                source_edit_cannot_move(&roster, &p, "!"),
                plans_of_date(&roster, date, std::slice::from_ref(&p)),
                my_plans(&roster, Some(date), &[p.clone(), p.clone()]),
                history(&roster, &coach, None, &entries, true),
            ];
            prop_assert!(replies[5].contains(&text) && replies[6].contains(&text));
            for reply in &replies {
                let visible = |s: &str| s.graphemes(true).filter(|g| !g.chars().all(char::is_whitespace)).count();
                let chunks = split_message(reply, DISCORD_MESSAGE_LIMIT);
                for chunk in &chunks {
                    prop_assert!(chunk.chars().count() <= DISCORD_MESSAGE_LIMIT);
                }
                prop_assert_eq!(chunks.iter().map(|c| visible(c)).sum::<usize>(), visible(reply));
            }
        }
    }
}
