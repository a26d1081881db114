//! Slash commands: their definitions (built from the roster), the comparison that decides whether Discord's
//! registered set must be overwritten, and how an invocation (its options, or the form it opened) becomes the same
//! [`Command`] the prefix grammar yields.

use core_model::{Attachment, Coach, Roster, TradingDate};
use twilight_model::application::command::{
    Command as Definition, CommandOption, CommandOptionChoice, CommandOptionChoiceValue, CommandOptionType, CommandType,
};
use twilight_model::application::interaction::InteractionDataResolved;
use twilight_model::application::interaction::application_command::{CommandData, CommandOptionValue};
use twilight_model::application::interaction::modal::{ModalInteractionComponent, ModalInteractionData};
use twilight_util::builder::command::{AttachmentBuilder, CommandBuilder, IntegerBuilder, StringBuilder};

use crate::command::{Command, MAX_SEARCH_DAYS, ParseError};

/// Most choices Discord shows for one option (and most suggestions it takes); with a larger roster, `coach`
/// autocompletes from what the user types instead (the service still checks the coach given).
pub const MAX_CHOICES: usize = 25;

/// The `custom_id` of the plan text field in the form `/plan` opens.
pub const FORM_TEXT_FIELD: &str = "text";

/// Most characters of a plan typed into the form (Discord's limit for a text field).
pub const FORM_TEXT_MAX: u16 = 4000;

/// The slash commands, by name, with their usage and what they do (for `/help` and the definitions).
pub const SLASH_COMMANDS: [(&str, &str, &str); 9] = [
    ("plan", "/plan coach [text] [date] [chart…]", "post a plan; without text, a form opens for a long one"),
    (
        "edit",
        "/edit coach text [date]",
        "replace the text of a plan (its author or an admin); its links follow the text",
    ),
    ("delete", "/delete coach [date]", "delete a plan (its author or an admin); it can be restored"),
    ("restore", "/restore coach [date]", "bring back your deleted plan (an admin: the newest deleted one)"),
    ("plans", "/plans [date]", "every coach's plan for the date"),
    ("myplans", "/myplans [date]", "your plans"),
    ("history", "/history coach [date]", "the changes of a coach's plans, newest first"),
    (
        "search",
        "/search query [days]",
        "plans of the last 30 days (or 1 to 90) mentioning a ticker or containing words",
    ),
    ("help", "/help", "these commands"),
];

fn describe(name: &str) -> String {
    let what = SLASH_COMMANDS.iter().find(|(n, _, _)| *n == name).map_or("", |(_, _, what)| what);
    let mut chars = what.chars();
    // Discord allows 100 characters; a description starts with a capital.
    let first: String = chars.next().map(|c| c.to_uppercase().collect()).unwrap_or_default();
    format!("{first}{}", chars.as_str()).chars().take(100).collect()
}

/// How a coach shows among choices and suggestions: `Day Trading (d)`, within Discord's 100 characters.
fn choice_name(coach: &Coach) -> String {
    format!("{} ({})", coach.name, coach.id).chars().take(100).collect()
}

fn coach_option(roster: &Roster, required: bool) -> CommandOption {
    let coaches = roster.coaches();
    let option = StringBuilder::new("coach", "Whose plan").required(required);
    if coaches.len() > MAX_CHOICES {
        return option.autocomplete(true).build();
    }
    option.choices(coaches.iter().map(|c| (choice_name(c), c.id.as_str().to_owned()))).build()
}

/// The coaches to suggest while `typed` is being typed into `coach`, best first, at most [`MAX_CHOICES`]: ids that
/// start with it, then names that have a word starting with it, then ids or names that contain it (case
/// ignored; `coach_` and a trailing `:` dropped as the roster drops them); each kind in roster order. Nothing
/// typed yet suggests the roster's first coaches.
pub fn suggest_coaches(roster: &Roster, typed: &str) -> Vec<(String, String)> {
    let typed = typed.trim().to_lowercase();
    let typed = typed.strip_suffix(':').unwrap_or(&typed);
    let typed = typed.strip_prefix("coach_").unwrap_or(typed);
    let rank = |coach: &Coach| -> Option<u8> {
        let id = coach.id.as_str();
        let name = coach.name.to_lowercase();
        if id.starts_with(typed) {
            Some(0)
        } else if name.split(|c: char| !c.is_alphanumeric()).any(|word| word.starts_with(typed)) {
            Some(1)
        } else if id.contains(typed) || name.contains(typed) {
            Some(2)
        } else {
            None
        }
    };
    let mut ranked: Vec<(u8, &Coach)> = roster.coaches().iter().filter_map(|c| rank(c).map(|r| (r, c))).collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().take(MAX_CHOICES).map(|(_, c)| (choice_name(c), c.id.as_str().to_owned())).collect()
}

/// The `date` option; without it, the command means today in the market's time zone, or, `every_date`, every date.
fn date_option(every_date: bool) -> CommandOption {
    let description = if every_date {
        "YYYY-MM-DD, today or yesterday (default: every date)"
    } else {
        "YYYY-MM-DD, today or yesterday (default: today in the market's time zone)"
    };
    StringBuilder::new("date", description).min_length(5).max_length(10).build()
}

fn text_option(required: bool) -> CommandOption {
    let text = StringBuilder::new("text", "The plan (chart links welcome)").required(required);
    text.max_length(u16::try_from(core_model::MAX_PLAN_TEXT_CHARS).unwrap_or(FORM_TEXT_MAX)).build()
}

/// The slash commands for a roster, in the order `/help` lists them.
pub fn definitions(roster: &Roster) -> Vec<Definition> {
    let command = |name: &str| CommandBuilder::new(name, describe(name), CommandType::ChatInput);
    vec![
        command("plan")
            .option(coach_option(roster, true))
            .option(text_option(false))
            .option(date_option(false))
            .option(AttachmentBuilder::new("chart", "A chart image").build())
            .option(AttachmentBuilder::new("chart2", "Another chart image").build())
            .option(AttachmentBuilder::new("chart3", "A third chart image").build())
            .build(),
        command("edit").option(coach_option(roster, true)).option(text_option(true)).option(date_option(false)).build(),
        command("delete").option(coach_option(roster, true)).option(date_option(false)).build(),
        command("restore").option(coach_option(roster, true)).option(date_option(false)).build(),
        command("plans").option(date_option(false)).build(),
        command("myplans").option(date_option(true)).build(),
        command("history").option(coach_option(roster, true)).option(date_option(true)).build(),
        command("search")
            .option(StringBuilder::new("query", "A ticker ($NVDA) or words").required(true).max_length(200).build())
            .option(
                IntegerBuilder::new("days", "How many days back, today included (default 30)")
                    .min_value(1)
                    .max_value(i64::from(MAX_SEARCH_DAYS))
                    .build(),
            )
            .build(),
        command("help").build(),
    ]
}

/// What decides how a command looks and behaves in Discord, in a form that compares equal whatever Discord filled
/// in (ids, versions, `required: false` left out).
fn comparable(command: &Definition) -> serde_json::Value {
    serde_json::json!({
        "type": command.kind,
        "name": command.name,
        "description": command.description,
        "nsfw": command.nsfw.unwrap_or(false),
        "options": command.options.iter().map(comparable_option).collect::<Vec<_>>(),
    })
}

fn comparable_option(option: &CommandOption) -> serde_json::Value {
    serde_json::json!({
        "type": option.kind,
        "name": option.name,
        "description": option.description,
        "required": option.required.unwrap_or(false),
        "autocomplete": option.autocomplete.unwrap_or(false),
        "choices": option.choices.clone().unwrap_or_default(),
        "min_value": option.min_value,
        "max_value": option.max_value,
        "min_length": option.min_length,
        "max_length": option.max_length,
        "options": option.options.iter().flatten().map(comparable_option).collect::<Vec<_>>(),
    })
}

/// Whether Discord's registered commands are already `wanted` (in any order).
pub fn same_definitions(registered: &[Definition], wanted: &[Definition]) -> bool {
    let sorted = |commands: &[Definition]| {
        let mut values: Vec<String> = commands.iter().map(|c| comparable(c).to_string()).collect();
        values.sort_unstable();
        values
    };
    sorted(registered) == sorted(wanted)
}

/// The suggestions for the option being typed into in an autocomplete interaction: coaches for `coach` (see
/// [`suggest_coaches`]), nothing for any other option.
pub fn suggestions(data: &CommandData, roster: &Roster) -> Vec<CommandOptionChoice> {
    let typed = data.options.iter().find_map(|option| match &option.value {
        CommandOptionValue::Focused(typed, _) if option.name == "coach" => Some(typed.as_str()),
        _ => None,
    });
    let coaches = typed.map(|typed| suggest_coaches(roster, typed)).unwrap_or_default();
    coaches
        .into_iter()
        .map(|(name, value)| CommandOptionChoice {
            name,
            name_localizations: None,
            value: CommandOptionChoiceValue::String(value),
        })
        .collect()
}

/// What an invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// Run a command.
    Run(Command),
    /// `/plan` without text: open the form for the plan's text.
    OpenForm {
        /// Coach as chosen.
        coach: String,
        /// Date, when given.
        date: Option<TradingDate>,
    },
}

/// A `date` option: `YYYY-MM-DD`, `today` or `yesterday` (relative to `today`).
fn date(value: &str, today: TradingDate) -> Result<TradingDate, ParseError> {
    let value = value.trim();
    let refused = || ParseError::BadDateOption { given: value.chars().take(30).collect() };
    match value.to_ascii_lowercase().as_str() {
        "today" => return Ok(today),
        "yesterday" => return Ok(TradingDate::from_date(today.date().yesterday().map_err(|_| refused())?)),
        _ => {}
    }
    TradingDate::parse(value).map_err(|_| refused())
}

/// A plan's text read as `!plan` reads it (a leading date, quotes around it all), with the `date` option: the text's
/// date stands for a missing option; two different dates are refused.
fn dated_text(text: &str, option: Option<TradingDate>) -> Result<(Option<TradingDate>, String), ParseError> {
    let (in_text, text) = crate::command::dated_text(text)?;
    match (option, in_text) {
        (Some(option), Some(text)) if option != text => Err(ParseError::TwoDates { option, text }),
        (option, in_text) => Ok((option.or(in_text), text)),
    }
}

/// An invocation's options as the command they ask for, with the attached charts (in option order).
///
/// # Errors
/// [`ParseError`] when a date is not a date, or a required option is missing (Discord's client requires them, so
/// only a stale command definition gets here).
pub fn parse(data: &CommandData, today: TradingDate) -> Result<(Invocation, Vec<Attachment>), ParseError> {
    let text = |name: &str| string_option(data, name);
    let date = text("date").map(|d| date(&d, today)).transpose()?;
    let prefix = "/".to_owned();
    let usage = |name: &str| SLASH_COMMANDS.iter().find(|(n, _, _)| *n == name).map_or("/help", |(_, u, _)| u);
    let coach = || {
        text("coach")
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| ParseError::MissingCoach { prefix: String::new(), usage: usage(&data.name) })
    };
    let charts = attachments(data);
    let command = match data.name.as_str() {
        "plan" => match text("text").filter(|t| !t.trim().is_empty()) {
            Some(text) => {
                let (date, text) = dated_text(&text, date)?;
                Command::Plan { coach: coach()?, date, text }
            }
            None => return Ok((Invocation::OpenForm { coach: coach()?, date }, charts)),
        },
        "edit" => {
            let text = text("text").filter(|t| !t.trim().is_empty());
            let text = text.ok_or(ParseError::MissingText { prefix: String::new(), usage: usage("edit") })?;
            let (date, text) = dated_text(&text, date)?;
            if text.is_empty() {
                return Err(ParseError::MissingText { prefix: String::new(), usage: usage("edit") });
            }
            Command::Edit { coach: coach()?, date, text }
        }
        "delete" => Command::Delete { coach: coach()?, date },
        "restore" => Command::Restore { coach: coach()?, date },
        "plans" => Command::Plans { date },
        "myplans" => Command::MyPlans { date },
        "history" => Command::History { coach: coach()?, date },
        "search" => {
            let terms = text("query").map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
            let terms = terms.ok_or(ParseError::MissingTerms { prefix: String::new(), usage: usage("search") })?;
            let days = data.options.iter().find(|o| o.name == "days").and_then(|o| match o.value {
                CommandOptionValue::Integer(days) => Some(days),
                _ => None,
            });
            let days = days
                .map(|d| u32::try_from(d).ok().filter(|d| (1..=MAX_SEARCH_DAYS).contains(d)).ok_or(d))
                .transpose()
                .map_err(|d| ParseError::BadDays { given: d.to_string(), quoted: None })?;
            Command::Search { terms, days }
        }
        "help" => Command::Help { topic: None },
        other => return Err(ParseError::UnknownCommand { prefix, name: other.chars().take(30).collect() }),
    };
    Ok((Invocation::Run(command), charts))
}

/// The files given as attachment options, in option order.
fn attachments(data: &CommandData) -> Vec<Attachment> {
    let Some(InteractionDataResolved { attachments, .. }) = &data.resolved else { return Vec::new() };
    data.options
        .iter()
        .filter(|o| o.value.kind() == CommandOptionType::Attachment)
        .filter_map(|o| match o.value {
            CommandOptionValue::Attachment(id) => attachments.get(&id),
            _ => None,
        })
        .map(|a| Attachment { filename: a.filename.clone(), content_type: a.content_type.clone(), url: a.url.clone() })
        .collect()
}

/// The `custom_id` of the form `/plan` opens: the coach, the date (or `-`) and the interaction that opened it (whose
/// charts wait for the form).
pub fn form_id(coach: &str, date: Option<TradingDate>, opened_by: u64) -> String {
    let date = date.map_or_else(|| "-".to_owned(), |d| d.to_string());
    format!("plan:{coach}:{date}:{opened_by}")
}

/// A submitted form as the `/plan` it completes, with the interaction that opened it.
///
/// # Errors
/// [`ParseError`] when the form is not one the bot opens, or its text is empty.
pub fn parse_form(data: &ModalInteractionData) -> Result<(Command, Option<u64>), ParseError> {
    let unknown = || ParseError::UnknownCommand { prefix: String::new(), name: "form".to_owned() };
    let mut parts = data.custom_id.split(':');
    let (Some("plan"), Some(coach), Some(date), opened_by) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unknown());
    };
    let date = match date {
        "-" => None,
        date => Some(TradingDate::parse(date).map_err(|_| unknown())?),
    };
    let (date, text) = dated_text(&form_text(&data.components).unwrap_or_default(), date)?;
    if text.is_empty() {
        return Err(ParseError::MissingText { prefix: String::new(), usage: "/plan coach [text] [date] [chart…]" });
    }
    let opened_by = opened_by.and_then(|id| id.parse().ok());
    Ok((Command::Plan { coach: coach.to_owned(), date, text }, opened_by))
}

/// The text typed into `/plan` or `/edit`, as typed, when it holds any: given back with a refusal.
pub fn typed_text(data: &CommandData) -> Option<String> {
    if !matches!(data.name.as_str(), "plan" | "edit") {
        return None;
    }
    string_option(data, "text").filter(|text| !text.trim().is_empty())
}

/// The value of the string option `name`, when given.
fn string_option(data: &CommandData, name: &str) -> Option<String> {
    data.options.iter().find(|o| o.name == name).and_then(|o| match &o.value {
        CommandOptionValue::String(text) => Some(text.clone()),
        _ => None,
    })
}

/// The text typed into a submitted form, when it holds any: given back with a refusal.
pub fn submitted_text(data: &ModalInteractionData) -> Option<String> {
    form_text(&data.components).filter(|text| !text.trim().is_empty())
}

/// The value of the form's text field, in a label or an action row.
fn form_text(components: &[ModalInteractionComponent]) -> Option<String> {
    components.iter().find_map(|component| match component {
        ModalInteractionComponent::TextInput(input) if input.custom_id == FORM_TEXT_FIELD => Some(input.value.clone()),
        ModalInteractionComponent::Label(label) => form_text(std::slice::from_ref(&*label.component)),
        ModalInteractionComponent::ActionRow(row) => form_text(&row.components),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use core_model::CoachId;

    fn roster(count: usize) -> Roster {
        let coaches = (0..count)
            .map(|i| Coach { id: CoachId::new(&format!("c{i}")).unwrap(), name: format!("Coach {i}") })
            .collect();
        Roster::new(coaches).unwrap()
    }

    fn desk() -> Roster {
        let coach = |id: &str, name: &str| Coach { id: CoachId::new(id).unwrap(), name: name.to_owned() };
        let mut coaches = vec![
            coach("d", "Day Trading"),
            coach("swing", "Swing"),
            coach("opt", "Options Flow"),
            coach("fx", "Forex & Swing Macro"),
        ];
        coaches.extend((1..=30).map(|i| coach(&format!("desk{i}"), &format!("Desk {i}"))));
        Roster::new(coaches).unwrap()
    }

    fn values(suggestions: &[(String, String)]) -> Vec<&str> {
        suggestions.iter().map(|(_, value)| value.as_str()).collect()
    }

    #[test]
    fn typed_coaches_are_suggested_ids_first_then_words_of_names_then_anything_containing_it() {
        let desk = desk();
        let swing = suggest_coaches(&desk, "sw");
        assert_eq!(values(&swing), ["swing", "fx"], "the id, then a name with a word starting so");
        assert_eq!(swing[0].0, "Swing (swing)");
        assert_eq!(values(&suggest_coaches(&desk, "FLOW")), ["opt"], "case is ignored");
        assert_eq!(values(&suggest_coaches(&desk, "coach_D"))[..5], ["d", "desk1", "desk2", "desk3", "desk4"]);
        assert_eq!(values(&suggest_coaches(&desk, "rading")), ["d"], "inside a name");
        assert_eq!(values(&suggest_coaches(&desk, "desk3")), ["desk3", "desk30"]);
        assert!(suggest_coaches(&desk, "zz").is_empty());
        let everyone = suggest_coaches(&desk, " ");
        assert_eq!(everyone.len(), MAX_CHOICES, "at most Discord's limit");
        assert_eq!(values(&everyone)[..3], ["d", "swing", "opt"], "nothing typed: the roster's order");
        let long = Coach { id: CoachId::new("l").unwrap(), name: "L".repeat(120) };
        let named = suggest_coaches(&Roster::new(vec![long]).unwrap(), "l");
        assert_eq!(named[0].0.chars().count(), 100, "a name within Discord's 100 characters");
    }

    #[test]
    fn the_roster_becomes_choices_until_discord_s_limit() {
        let small = definitions(&roster(3));
        let coach = &small[0].options[0];
        let choices = coach.choices.as_ref().unwrap();
        assert_eq!(choices.len(), 3);
        let large = definitions(&roster(MAX_CHOICES + 1));
        let coach = &large[0].options[0];
        assert!(coach.choices.as_ref().is_none_or(Vec::is_empty), "over 25 coaches, no choices");
        assert_eq!(coach.autocomplete, Some(true), "over 25 coaches, the coach autocompletes");
        assert_ne!(small[0].options[0].autocomplete, Some(true), "choices and autocomplete never together");
        for definition in &small {
            assert!(definition.description.chars().count() <= 100, "{}", definition.description);
            let required: Vec<bool> = definition.options.iter().map(|o| o.required.unwrap_or(false)).collect();
            assert!(required.windows(2).all(|w| w[0] || !w[1]), "required options come first in /{}", definition.name);
        }
    }

    #[test]
    fn definitions_compare_equal_whatever_discord_fills_in() {
        let wanted = definitions(&roster(3));
        let mut registered: Vec<serde_json::Value> = wanted.iter().map(|c| serde_json::to_value(c).unwrap()).collect();
        for (i, command) in registered.iter_mut().enumerate() {
            command["id"] = serde_json::json!((1000 + i).to_string());
            command["version"] = serde_json::json!("1");
            command["application_id"] = serde_json::json!("10");
            for option in command["options"].as_array_mut().into_iter().flatten() {
                if option["required"] == false {
                    option.as_object_mut().unwrap().remove("required");
                }
            }
        }
        registered.reverse();
        let registered: Vec<Definition> = registered.into_iter().map(|v| serde_json::from_value(v).unwrap()).collect();
        assert!(same_definitions(&registered, &wanted));
        assert!(!same_definitions(&registered, &definitions(&roster(4))), "a new coach changes /plan");
        assert!(!same_definitions(&registered[1..], &wanted));
    }

    #[test]
    fn dates_are_real_dates_today_or_yesterday() {
        let today = TradingDate::parse("2025-03-01").unwrap();
        assert_eq!(date("today", today).unwrap(), today);
        assert_eq!(date("Yesterday", today).unwrap().to_string(), "2025-02-28");
        assert_eq!(date("2025-02-27", today).unwrap().to_string(), "2025-02-27");
        for refused in ["2025-02-30", "soon", "tomorrow"] {
            let error = date(refused, today).unwrap_err().to_string();
            assert_eq!(
                error,
                format!("`{refused}` is not a date; write YYYY-MM-DD (e.g. 2025-11-09), today or yesterday")
            );
        }
    }

    #[test]
    fn text_is_read_as_the_prefix_commands_read_it() {
        let day = |d: &str| TradingDate::parse(d).ok();
        assert_eq!(dated_text("2025-03-03: Long", None).unwrap(), (day("2025-03-03"), "Long".to_owned()));
        assert_eq!(dated_text("\"Quoted plan\"", None).unwrap(), (None, "Quoted plan".to_owned()));
        assert_eq!(dated_text("2025-03-03 Long", day("2025-03-03")).unwrap(), (day("2025-03-03"), "Long".to_owned()));
        assert_eq!(dated_text("Long", day("2025-03-03")).unwrap(), (day("2025-03-03"), "Long".to_owned()));
        let two = dated_text("2025-03-04 Long", day("2025-03-03")).unwrap_err().to_string();
        assert_eq!(two, "the date option says 2025-03-03 but the text starts with 2025-03-04; keep one of them");
        let tomorrow = dated_text("tomorrow Long", None).unwrap_err().to_string();
        assert!(tomorrow.starts_with("`tomorrow` reads as a date"), "{tomorrow}");
    }

    #[test]
    fn form_ids_carry_the_coach_the_date_and_the_opener() {
        let date = TradingDate::parse("2025-03-03").ok();
        let id = form_id("d", date, 42);
        assert_eq!(id, "plan:d:2025-03-03:42");
        assert!(id.len() <= 100);
        let data: ModalInteractionData = serde_json::from_value(serde_json::json!({
            "custom_id": id,
            "components": [{"type": 18, "id": 1, "component": {"type": 4, "id": 2, "custom_id": "text", "value": "Long"}}],
        }))
        .unwrap();
        let (command, opener) = parse_form(&data).unwrap();
        assert_eq!(command, Command::Plan { coach: "d".into(), date, text: "Long".into() });
        assert_eq!(opener, Some(42));
    }
}
