//! The pages, server-rendered with maud (every value is HTML-escaped unless marked otherwise, and nothing here is):
//! the day view, a plan's permalink with its history, search results, and the sign-in form.

use core_model::jiff::Timestamp;
use core_model::jiff::tz::TimeZone;
use core_model::{CoachId, HistoryAction, HistoryEntry, Plan, Roster, TradingDate};
use maud::{DOCTYPE, Markup, html};

use crate::assets::{self, ICON, SCRIPT, STYLE};
use crate::diff::{self, Line};

/// What every page needs to know about its reader and the desk.
pub(crate) struct Context<'a> {
    pub(crate) roster: &'a Roster,
    pub(crate) zone: &'a TimeZone,
    /// Whether the reader signed in (a sign-out button is shown).
    pub(crate) signed_in: bool,
    /// What the search box holds (the words of a search page).
    pub(crate) searched: &'a str,
}

/// A plan with the URLs of its archived chart images.
pub(crate) struct Shown<'a> {
    pub(crate) plan: &'a Plan,
    /// `(url, alt)` of each chart that has a copy on this server, in order.
    pub(crate) images: Vec<(String, String)>,
    /// The other charts' links (TradingView and the like, or attachments without a copy).
    pub(crate) links: Vec<String>,
}

/// A time in the market's zone; with its date when that is not `date` (the plan's trading date), so that a plan
/// posted or changed on another day says which.
fn time(at: Timestamp, zone: &TimeZone, date: TradingDate) -> String {
    let zoned = at.to_zoned(zone.clone());
    if zoned.date() == date.date() {
        zoned.strftime("%H:%M %Z").to_string()
    } else {
        zoned.strftime("%Y-%m-%d %H:%M %Z").to_string()
    }
}

fn day_url(date: TradingDate, coach: Option<&CoachId>) -> String {
    match coach {
        Some(coach) => format!("/dashboard?date={date}&coach={coach}"),
        None => format!("/dashboard?date={date}"),
    }
}

/// The permalink of a plan.
pub(crate) fn plan_url(coach: &CoachId, date: TradingDate) -> String {
    format!("/dashboard/plans/{coach}/{date}")
}

/// A page: the head (viewport, icon, style), the header with the search box, `body`, and the chart dialog.
pub(crate) fn layout(context: &Context<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Coach plans" }
                link rel="icon" href=(assets::url(&ICON)) type="image/svg+xml";
                link rel="stylesheet" href=(assets::url(&STYLE));
                script src=(assets::url(&SCRIPT)) defer {}
            }
            body {
                header {
                    h1 { a href="/dashboard" { "Coach plans" } }
                    form.inline method="get" action="/dashboard/search" role="search" {
                        label {
                            "Ticker or words"
                            input type="search" name="q" placeholder="NVDA, \"gap fill\"" maxlength="200"
                                value=(context.searched);
                        }
                        button type="submit" { "Search" }
                    }
                    @if context.signed_in {
                        form.inline method="post" action="/dashboard/sign-out" {
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
                dialog #chart-dialog aria-label="Chart" {
                    img alt="";
                    form method="dialog" { button #chart-close type="submit" { "Close" } }
                }
                footer { "Times in " (context.zone.iana_name().unwrap_or("the market's time zone")) "." }
            }
        }
    }
}

/// A plan: coach (or date), author, times, edited mark, tickers, text, charts and links.
pub(crate) fn card(context: &Context<'_>, shown: &Shown<'_>, heading_date: bool) -> Markup {
    let plan = shown.plan;
    let coach = context.roster.display_name(&plan.coach);
    let heading = if heading_date { format!("{coach} · {}", plan.date) } else { coach.clone() };
    html! {
        article.plan data-coach=(plan.coach) {
            h2 { a href=(plan_url(&plan.coach, plan.date)) { (heading) } }
            p.meta {
                "by " (plan.author.display_name) " · posted " (time(plan.created_at, context.zone, plan.date))
                @if plan.is_edited() {
                    " · " span.edited { "edited " (time(plan.updated_at, context.zone, plan.date)) " (version " (plan.version) ")" }
                }
            }
            @if !plan.tickers.is_empty() {
                ul.tickers aria-label="Tickers" {
                    @for ticker in &plan.tickers {
                        li { a href=(format!("/dashboard/search?q=${ticker}")) { "$" (ticker) } }
                    }
                }
            }
            div.text { (plan.text) }
            @if !shown.images.is_empty() {
                ul.charts aria-label="Charts" {
                    @for (url, alt) in &shown.images {
                        li { a.chart href=(url) { img src=(url) alt=(alt) loading="lazy"; } }
                    }
                }
            }
            @if !shown.links.is_empty() {
                ul.links aria-label="Chart links" {
                    @for link in &shown.links {
                        li { a href=(link) rel="noopener noreferrer" { (link) } }
                    }
                }
            }
        }
    }
}

/// The plans of a day (every coach of the roster, or one), as the live list swaps it in.
pub(crate) fn plan_list(context: &Context<'_>, shown: &[Shown<'_>], coach: Option<&CoachId>) -> Markup {
    html! {
        @for entry in context.roster.coaches().iter().filter(|c| coach.is_none_or(|only| *only == c.id)) {
            @match shown.iter().find(|s| s.plan.coach == entry.id) {
                Some(plan) => (card(context, plan, false)),
                None => article.empty data-coach=(entry.id) {
                    h2 { (entry.name) }
                    p { "No plan yet." }
                },
            }
        }
    }
}

/// The day view: navigation, filters, and the plans of the day.
pub(crate) fn day(
    context: &Context<'_>,
    date: TradingDate,
    coach: Option<&CoachId>,
    shown: &[Shown<'_>],
    etag: &str,
) -> Markup {
    let previous = date.date().yesterday().ok().map(TradingDate::from_date);
    let next = date.date().tomorrow().ok().map(TradingDate::from_date);
    let live = match coach {
        Some(coach) => format!("/dashboard/live?date={date}&coach={coach}"),
        None => format!("/dashboard/live?date={date}"),
    };
    let body = html! {
        div.toolbar {
            nav.day aria-label="Days" {
                @if let Some(previous) = previous { a href=(day_url(previous, coach)) rel="prev" { "← " (previous) } }
                @if let Some(next) = next { a href=(day_url(next, coach)) rel="next" { (next) " →" } }
            }
            form.inline method="get" action="/dashboard" {
                label { "Date" input type="date" name="date" value=(date.to_string()) required; }
                label {
                    "Coach"
                    select name="coach" {
                        option value="" selected[coach.is_none()] { "Every coach" }
                        @for entry in context.roster.coaches() {
                            option value=(entry.id) selected[coach == Some(&entry.id)] { (entry.name) }
                        }
                    }
                }
                button type="submit" { "Show" }
            }
        }
        h2.day-title { "Plans for " (date) }
        // Filled in by the script that follows the changes: without it, the page promises nothing.
        p #live-note.meta aria-live="polite" {}
        section #plans aria-label="Plans" data-live=(live) data-etag=(etag)
            data-zone=(context.zone.iana_name().unwrap_or("")) {
            (plan_list(context, shown, coach))
        }
    };
    layout(context, &format!("Plans for {date}"), body)
}

fn action(action: HistoryAction) -> &'static str {
    match action {
        HistoryAction::Created => "posted",
        HistoryAction::Edited => "edited",
        HistoryAction::Deleted => "deleted",
        HistoryAction::Restored => "restored",
        _ => "changed",
    }
}

/// One history entry's text change, line by line.
fn change(entry: &HistoryEntry) -> Markup {
    let (before, after) = (entry.text_before.as_deref().unwrap_or(""), entry.text_after.as_deref().unwrap_or(""));
    if before == after {
        return html! {};
    }
    html! {
        div.diff role="group" aria-label="What changed" {
            @for line in diff::lines(before, after) {
                @match line {
                    Line::Kept(text) => div { (text) },
                    Line::Removed(text) => del { span.visually-hidden { "removed: " } (text) },
                    Line::Added(text) => ins { span.visually-hidden { "added: " } (text) },
                }
            }
        }
    }
}

/// A plan's permalink: the plan as it stands (or a note that there is none) and its history, newest first.
pub(crate) fn plan_page(
    context: &Context<'_>,
    coach: &CoachId,
    date: TradingDate,
    shown: Option<&Shown<'_>>,
    history: &[HistoryEntry],
) -> Markup {
    let name = context.roster.display_name(coach);
    let body = html! {
        p { a href=(day_url(date, None)) { "← All plans for " (date) } }
        h2.day-title { (name) "'s plan for " (date) }
        @match shown {
            Some(shown) => (card(context, shown, true)),
            None => p.notice { "There is no plan for " (name) " on " (date) " (never posted, or deleted)." },
        }
        h2 { "History" }
        @if history.is_empty() {
            p { "Nothing was posted." }
        } @else {
            ol.history {
                @for entry in history {
                    li {
                        h3 { "Version " (entry.version) ": " (action(entry.action)) }
                        p.meta { "by " (entry.actor.display_name) " at " (time(entry.at, context.zone, date)) }
                        (change(entry))
                    }
                }
            }
        }
    };
    layout(context, &format!("{name} · {date}"), body)
}

/// Search results: the plans found, newest first.
pub(crate) fn search(
    context: &Context<'_>,
    query: &str,
    range: Option<(TradingDate, TradingDate)>,
    found: &[Shown<'_>],
    error: Option<&str>,
) -> Markup {
    let body = html! {
        h2.day-title { "Search: " (query) }
        @if let Some(error) = error {
            p.notice role="alert" { (error) }
        }
        @if let Some((from, to)) = range {
            p.meta { (found.len()) " plan(s) from " (from) " to " (to) "." }
        }
        @if found.is_empty() && error.is_none() {
            p { "Nothing found." }
        }
        div #results {
            @for shown in found { (card(context, shown, true)) }
        }
    };
    layout(context, &format!("Search: {query}"), body)
}

/// A page with one notice, e.g. an unknown coach or a date that is not a date.
pub(crate) fn message(context: &Context<'_>, title: &str, text: &str) -> Markup {
    layout(
        context,
        title,
        html! { h2.day-title { (title) } p.notice role="alert" { (text) } p { a href="/dashboard" { "Today's plans" } } },
    )
}

/// The sign-in form (the API needs a token).
pub(crate) fn sign_in(context: &Context<'_>, next: &str, error: Option<&str>) -> Markup {
    let body = html! {
        h2.day-title { "Sign in" }
        p { "This dashboard needs an API token (" code { "plan-server token create --name NAME" } " makes one). It is kept in a cookie of this browser until you sign out." }
        @if let Some(error) = error {
            p.notice role="alert" { (error) }
        }
        form method="post" action="/dashboard/sign-in" {
            input type="hidden" name="next" value=(next);
            label { "Token" input type="password" name="token" autocomplete="current-password" required; }
            p { button type="submit" { "Sign in" } }
        }
    };
    layout(context, "Sign in", body)
}

/// The alt text of a chart image.
pub(crate) fn chart_alt(roster: &Roster, plan: &Plan, index: usize, filename: Option<&str>) -> String {
    let coach = roster.display_name(&plan.coach);
    match filename {
        Some(name) => format!("Chart {} of {coach}'s plan for {} ({name})", index + 1, plan.date),
        None => format!("Chart {} of {coach}'s plan for {}", index + 1, plan.date),
    }
}
