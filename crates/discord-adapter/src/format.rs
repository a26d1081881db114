//! Replies written for people: coach names, dates, chart counts, edited marks, and short errors that say what to do.
//! Splitting to Discord's size limit happens after formatting ([`crate::split`]).

use core_model::{HistoryAction, HistoryEntry, Plan, Roster, TradingDate};
use service::{Posted, ServiceError};

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

fn excerpt(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= EXCERPT_CHARS {
        one_line
    } else {
        format!("{}…", one_line.chars().take(EXCERPT_CHARS).collect::<String>())
    }
}

/// A line added to a reply when some attached images could not be copied: their Discord links will stop working.
pub fn charts_not_archived(failed: usize) -> String {
    let what = if failed == 1 { "1 attached chart".to_owned() } else { format!("{failed} attached charts") };
    format!(
        "\n⚠️ {what} could not be copied; agents get Discord's link, which stops working in about a day. Attach it again in an edit, or post the plan again, to retry."
    )
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
        plan.text
    )
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
pub fn my_plans(roster: &Roster, date: Option<TradingDate>, plans: &[Plan]) -> String {
    let scope = date.map_or_else(String::new, |d| format!(" for {d}"));
    if plans.is_empty() {
        return format!("You have no plans{scope}.");
    }
    let mut out = format!("📋 **Your plans{scope}** ({})", plans.len());
    for plan in plans {
        out.push_str("\n\n");
        out.push_str(&plan_block(roster, plan, true));
    }
    out
}

fn history_line(entry: &HistoryEntry) -> String {
    let when = entry.at.strftime("%Y-%m-%d %H:%M UTC");
    let who = &entry.actor.display_name;
    let what = match entry.action {
        HistoryAction::Created => format!("posted by {who}"),
        HistoryAction::Edited => format!("edited by {who}"),
        HistoryAction::ChartsChanged => format!("charts changed by {who}"),
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
    out.push_str(&format!("\nCoaches: {coaches}. Dates are YYYY-MM-DD; without one, today in the market's time zone."));
    out
}

/// The reply to a message that is not a valid command.
pub fn parse_error(error: &ParseError) -> String {
    format!("⚠️ {error}")
}

/// The reply to a refused or failed request.
pub fn service_error(error: &ServiceError) -> String {
    format!("⚠️ {error}")
}
