//! The tools: their input schemas (built from the running configuration, so `coach` lists the roster) and what each
//! call answers. Every tool only reads. A bad argument or a refused request is a tool error (`isError`) with the
//! same words the HTTP API uses, never a protocol failure.

use std::sync::Arc;

use base64::Engine as _;
use core_model::{CoachId, ImageDigest, MAX_PLAN_TEXT_CHARS, SearchCursor, Ticker, TradingDate};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};
use service::{SearchRequest, ServiceError};

use crate::server::Context;
use crate::views;

/// Days a search or a count of mentions looks back by default.
const DEFAULT_DAYS: u32 = 30;
/// The most days `days` may say (a range given by `from` and `to` may be longer, up to the service's bound).
const MAX_DAYS: u32 = 90;
/// Plans a search returns by default, and at most.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
/// History entries returned by default, and at most.
const DEFAULT_HISTORY: u32 = 25;
const MAX_HISTORY: u32 = 200;

/// Why a tool call cannot be answered, in words for the caller.
#[derive(Debug)]
pub(crate) struct ToolError(pub String);

impl From<ServiceError> for ToolError {
    fn from(error: ServiceError) -> Self {
        if !error.is_user_error() {
            tracing::error!(error = %error, "an MCP tool failed on the server's side");
        }
        Self(error.to_string())
    }
}

/// Each tool's argument names, as its input schema lists them.
const ARGUMENTS: &[(&str, &[&str])] = &[
    ("list_coaches", &[]),
    ("get_plan", &["coach", "date", "include_images"]),
    ("plans_for_date", &["date"]),
    ("search_plans", &["ticker", "query", "coach", "days", "from", "to", "limit", "cursor"]),
    ("ticker_mentions", &["days", "coach"]),
    ("plan_history", &["coach", "date", "limit"]),
];

/// Refuses an argument the tool does not take (a misspelt `days` must not silently become the default).
fn check_argument_names(tool: &str, arguments: Option<&JsonObject>) -> Result<(), ToolError> {
    let Some((_, known)) = ARGUMENTS.iter().find(|(name, _)| *name == tool) else { return Ok(()) };
    let Some(unknown) = arguments.into_iter().flat_map(|a| a.keys()).find(|k| !known.contains(&k.as_str())) else {
        return Ok(());
    };
    let unknown: String = unknown.chars().take(100).collect();
    Err(ToolError(if known.is_empty() {
        format!("{tool} takes no arguments, not `{unknown}`")
    } else {
        format!("{tool} takes no argument `{unknown}`; its arguments are {}", known.join(", "))
    }))
}

/// The tools, for `tools/list`.
pub(crate) fn catalog(context: &Context) -> Vec<Tool> {
    let coach = || {
        let ids: Vec<String> = context.service.policy().roster.coaches().iter().map(|c| c.id.to_string()).collect();
        json!({
            "type": "string",
            "enum": ids,
            "description": format!("The coach, by id: {}", context.service.policy().roster.describe()),
        })
    };
    let date = |what: &str| {
        json!({
            "type": "string",
            "pattern": "^(today|[0-9]{4}-[0-9]{2}-[0-9]{2})$",
            "description": format!("{what}: YYYY-MM-DD, or `today` in the market time zone ({})", context.zone_name()),
        })
    };
    let days = json!({
        "type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS,
        "description": "How many days back, today included",
    });
    let read_only = || ToolAnnotations::new().read_only(true).open_world(false);
    let tool = |name: &'static str, title: &str, description: &'static str, properties: Value, required: &[&str]| {
        let mut schema = JsonObject::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), properties);
        schema.insert("required".into(), json!(required));
        schema.insert("additionalProperties".into(), json!(false));
        Tool::new(name, description, Arc::new(schema)).with_title(title).with_annotations(read_only())
    };
    vec![
        tool(
            "list_coaches",
            "List the coaches",
            "The coaches whose plans this server holds (ids, names), the market time zone and today's trading date.",
            json!({}),
            &[],
        ),
        tool(
            "get_plan",
            "Get a coach's plan",
            "One coach's plan for a trading date (today by default): its text, tickers, author, charts (the server's \
             archived copies first) and times; no plan is not an error. With include_images, the archived chart \
             images come along as images.",
            json!({
                "coach": coach(),
                "date": date("The trading date (default today)"),
                "include_images": {
                    "type": "boolean", "default": false,
                    "description": format!(
                        "Also return the plan's archived chart images (at most {}, each at most {})",
                        context.max_images,
                        size(context.max_image_bytes as u64)
                    ),
                },
            }),
            &["coach"],
        ),
        tool(
            "plans_for_date",
            "Plans of a date",
            "Every coach's plan for a trading date (today by default), in roster order.",
            json!({ "date": date("The trading date (default today)") }),
            &[],
        ),
        tool(
            "search_plans",
            "Search plans",
            "Plans mentioning a ticker and/or containing words, newest first, over the last `days` days (30 by \
             default) or from `from` to `to`; optionally one coach's. A page at a time: pass `next_cursor` back as \
             `cursor` for more.",
            json!({
                "ticker": {
                    "type": "string", "pattern": Ticker::pattern(),
                    "description": "A ticker: NVDA, $nvda, BRK.B, BTC-USD (any case)",
                },
                "query": {
                    "type": "string", "minLength": 1, "maxLength": MAX_PLAN_TEXT_CHARS,
                    "description": "Words the plan contains, all of them; \"a phrase\" in double quotes; prefix*",
                },
                "coach": coach(),
                "days": days.clone(),
                "from": date("The first trading date (instead of days)"),
                "to": date("The last trading date (instead of days; default today)"),
                "limit": {
                    "type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT,
                    "description": "Most plans returned",
                },
                "cursor": {
                    "type": "string", "pattern": SearchCursor::PATTERN,
                    "description": "The next_cursor of the previous page",
                },
            }),
            &[],
        ),
        tool(
            "ticker_mentions",
            "Ticker mentions",
            "Which tickers the coaches mentioned over the last `days` days (30 by default): per ticker, the number of \
             plans, the coaches and the last date, most mentioned first. The consensus view to ask for first.",
            json!({ "days": days, "coach": coach() }),
            &[],
        ),
        tool(
            "plan_history",
            "Plan history",
            "The changes of a coach's plans, newest first: of one trading date, or of every date when none is given; \
             each with the text before and after, who and when.",
            json!({
                "coach": coach(),
                "date": date("The trading date (default: every date)"),
                "limit": {
                    "type": "integer", "minimum": 1, "maximum": MAX_HISTORY, "default": DEFAULT_HISTORY,
                    "description": "Most entries returned",
                },
            }),
            &["coach"],
        ),
    ]
}

/// A tool's arguments, read with clear errors.
struct Args<'a>(Option<&'a JsonObject>);

impl Args<'_> {
    /// The argument `name`; `null` and a blank string count as left out.
    fn value(&self, name: &str) -> Option<&Value> {
        self.0.and_then(|a| a.get(name)).filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
    }

    fn text(&self, name: &str) -> Result<Option<&str>, ToolError> {
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim())),
            Some(other) => Err(ToolError(format!("`{name}` must be a string, not {other}"))),
        }
    }

    fn number(&self, name: &str, min: u32, max: u32, default: u32) -> Result<u32, ToolError> {
        let Some(value) = self.value(name) else { return Ok(default) };
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| ToolError(format!("`{name}` must be a whole number from {min} to {max}, not {value}")))
    }

    fn flag(&self, name: &str) -> Result<bool, ToolError> {
        match self.value(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(ToolError(format!("`{name}` must be true or false, not {other}"))),
        }
    }
}

impl Context {
    fn optional_coach(&self, args: &Args<'_>) -> Result<Option<CoachId>, ToolError> {
        Ok(args.text("coach")?.map(|text| self.service.parse_coach(text)).transpose()?)
    }

    fn required_coach(&self, args: &Args<'_>) -> Result<CoachId, ToolError> {
        self.optional_coach(args)?.ok_or_else(|| {
            ToolError(format!("`coach` is missing; give one of: {}", self.service.policy().roster.describe()))
        })
    }

    fn date(&self, args: &Args<'_>, name: &str) -> Result<Option<TradingDate>, ToolError> {
        match args.text(name)? {
            Some(text) if text.eq_ignore_ascii_case("today") => Ok(Some(self.service.today())),
            Some(text) => Ok(Some(self.service.parse_date(Some(text))?)),
            None => Ok(None),
        }
    }

    /// Calls the tool `name`; links in its answer start with `base`.
    pub(crate) async fn call(&self, name: &str, arguments: Option<&JsonObject>, base: &str) -> CallToolResult {
        let args = Args(arguments);
        let answer = match check_argument_names(name, arguments) {
            Err(error) => Err(error),
            Ok(()) => self.dispatch(name, &args, base).await,
        };
        match answer {
            Ok(result) => result,
            Err(ToolError(message)) => {
                let mut result = CallToolResult::error(vec![ContentBlock::text(message.clone())]);
                result.structured_content = Some(json!({ "error": message }));
                result
            }
        }
    }

    async fn dispatch(&self, name: &str, args: &Args<'_>, base: &str) -> Result<CallToolResult, ToolError> {
        match name {
            "list_coaches" => Ok(self.list_coaches()),
            "get_plan" => self.get_plan(args, base).await,
            "plans_for_date" => self.plans_for_date(args, base).await,
            "search_plans" => self.search_plans(args, base).await,
            "ticker_mentions" => self.ticker_mentions(args).await,
            "plan_history" => self.plan_history(args).await,
            other => Err(ToolError(format!(
                "there is no tool `{other}`; the tools are list_coaches, get_plan, plans_for_date, search_plans, \
                 ticker_mentions and plan_history"
            ))),
        }
    }

    fn list_coaches(&self) -> CallToolResult {
        let today = self.service.today();
        let text =
            format!("Coaches: {}. Today is {today} in {}.", self.service.policy().roster.describe(), self.zone_name());
        answer(text, self.coaches_json())
    }

    async fn get_plan(&self, args: &Args<'_>, base: &str) -> Result<CallToolResult, ToolError> {
        let coach = self.required_coach(args)?;
        let date = self.date(args, "date")?.unwrap_or_else(|| self.service.today());
        let include_images = args.flag("include_images")?;
        let roster = &self.service.policy().roster;
        let Some(plan) = self.service.plan(&coach, Some(date)).await? else {
            let text = format!("There is no plan for coach {coach} ({}) on {date}.", roster.display_name(&coach));
            return Ok(answer(text, json!({ "plan": null, "coach": coach.as_str(), "date": date.to_string() })));
        };
        let copies = self.copies(std::slice::from_ref(&plan), base).await;
        let mut result =
            answer(views::plan_text(&plan, roster, &copies), json!({ "plan": views::plan(&plan, roster, &copies) }));
        if include_images {
            let (images, notes) = self.images(&plan, &copies).await;
            result.content.extend(images);
            if !notes.is_empty() {
                result.content.push(ContentBlock::text(notes.join("\n")));
            }
        }
        Ok(result)
    }

    async fn plans_for_date(&self, args: &Args<'_>, base: &str) -> Result<CallToolResult, ToolError> {
        let date = self.date(args, "date")?.unwrap_or_else(|| self.service.today());
        let plans = self.service.plans_for_date(Some(date)).await?;
        let roster = &self.service.policy().roster;
        let copies = self.copies(&plans, base).await;
        let text = format!(
            "Plans for {date} ({}):\n\n{}",
            plans.len(),
            views::plans_text(&plans, roster, &copies, "No coach has a plan for that date.")
        );
        let json_plans: Vec<Value> = plans.iter().map(|p| views::plan(p, roster, &copies)).collect();
        Ok(answer(text, json!({ "date": date.to_string(), "plans": json_plans })))
    }

    async fn search_plans(&self, args: &Args<'_>, base: &str) -> Result<CallToolResult, ToolError> {
        let ticker =
            args.text("ticker")?.map(|t| Ticker::parse(t).map_err(|e| ToolError(e.to_string()))).transpose()?;
        let words = args.text("query")?.map(str::to_owned);
        if words.as_ref().is_some_and(|w| w.chars().count() > MAX_PLAN_TEXT_CHARS) {
            return Err(ToolError(format!("`query` is longer than {MAX_PLAN_TEXT_CHARS} characters")));
        }
        let coach = self.optional_coach(args)?;
        let (from, to) = (self.date(args, "from")?, self.date(args, "to")?);
        let (from, to) = match (args.value("days"), from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(ToolError("give either `days` or `from` and `to`, not both".to_owned()));
            }
            (Some(_), None, None) => {
                let (from, to) = self.service.last_days(args.number("days", 1, MAX_DAYS, DEFAULT_DAYS)?)?;
                (Some(from), Some(to))
            }
            (None, from, to) => (from, to),
        };
        let limit = args.number("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)? as usize;
        let request = SearchRequest {
            tickers: ticker.into_iter().collect(),
            coaches: coach.into_iter().collect(),
            from,
            to,
            words,
            limit: Some(limit),
            cursor: args.text("cursor")?.map(str::to_owned),
            ..SearchRequest::default()
        };
        let results = self.service.search(request).await?;
        let roster = &self.service.policy().roster;
        let copies = self.copies(&results.plans, base).await;
        let more = if results.next_cursor.is_some() { " (more: pass next_cursor as cursor)" } else { "" };
        let text = format!(
            "{} plan{} from {} to {}{more}:\n\n{}",
            results.plans.len(),
            if results.plans.len() == 1 { "" } else { "s" },
            results.from,
            results.to,
            views::plans_text(&results.plans, roster, &copies, "Nothing matches.")
        );
        let plans: Vec<Value> = results.plans.iter().map(|p| views::plan(p, roster, &copies)).collect();
        let structured = json!({
            "from": results.from.to_string(),
            "to": results.to.to_string(),
            "plans": plans,
            "next_cursor": results.next_cursor,
        });
        Ok(answer(text, structured))
    }

    async fn ticker_mentions(&self, args: &Args<'_>) -> Result<CallToolResult, ToolError> {
        let (from, to) = self.service.last_days(args.number("days", 1, MAX_DAYS, DEFAULT_DAYS)?)?;
        let coaches: Vec<CoachId> = self.optional_coach(args)?.into_iter().collect();
        let mentions = self.service.ticker_mentions(Some(from), Some(to), coaches).await?;
        let lines: Vec<String> = mentions.tickers.iter().map(views::mention_line).collect();
        let text = if lines.is_empty() {
            format!("No ticker was mentioned from {} to {}.", mentions.from, mentions.to)
        } else {
            format!("Tickers mentioned from {} to {}:\n{}", mentions.from, mentions.to, lines.join("\n"))
        };
        let tickers: Vec<Value> = mentions.tickers.iter().map(views::mention).collect();
        let structured =
            json!({ "from": mentions.from.to_string(), "to": mentions.to.to_string(), "tickers": tickers });
        Ok(answer(text, structured))
    }

    async fn plan_history(&self, args: &Args<'_>) -> Result<CallToolResult, ToolError> {
        let coach = self.required_coach(args)?;
        let date = self.date(args, "date")?;
        let limit = args.number("limit", 1, MAX_HISTORY, DEFAULT_HISTORY)? as usize;
        let entries = self.service.history(&coach, date, limit).await?;
        let scope = date.map_or_else(|| "every date".to_owned(), |d| d.to_string());
        let text = if entries.is_empty() {
            format!("No changes recorded for coach {coach}, {scope}.")
        } else {
            let lines: Vec<String> = entries.iter().map(views::history_line).collect();
            format!("Changes of coach {coach}'s plans, {scope}, newest first:\n{}", lines.join("\n"))
        };
        let json_entries: Vec<Value> = entries.iter().map(views::history_entry).collect();
        let structured = json!({
            "coach": coach.as_str(),
            "date": date.map(|d| d.to_string()),
            "entries": json_entries,
        });
        Ok(answer(text, structured))
    }

    /// The plan's archived chart images as image content, within the bounds; and a note for each left out.
    async fn images(&self, plan: &core_model::Plan, copies: &views::Copies) -> (Vec<ContentBlock>, Vec<String>) {
        let mut images = Vec::new();
        let mut notes = Vec::new();
        for chart in &plan.charts {
            let Some(copy) = copies.copy_of(chart) else { continue };
            if images.len() >= self.max_images {
                notes.push(format!(
                    "Chart {} left out: at most {} images are returned.",
                    chart.position + 1,
                    self.max_images
                ));
                continue;
            }
            if copy.size > self.max_image_bytes as u64 {
                notes.push(format!(
                    "Chart {} left out: {} is more than the {} an image may have here; its link is {}.",
                    chart.position + 1,
                    size(copy.size),
                    size(self.max_image_bytes as u64),
                    copies.best_url(chart)
                ));
                continue;
            }
            match self.image_bytes(&copy.digest).await {
                Some((content_type, bytes)) => {
                    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
                    images.push(ContentBlock::image(data, content_type));
                }
                None => notes.push(format!("Chart {} left out: its copy cannot be read now.", chart.position + 1)),
            }
        }
        (images, notes)
    }

    async fn image_bytes(&self, digest: &ImageDigest) -> Option<(String, Vec<u8>)> {
        match self.service.chart_image(digest).await {
            Ok(Some(image)) => Some((image.content_type, image.bytes)),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(error = %error, "cannot read an archived chart image for an MCP answer");
                None
            }
        }
    }
}

/// A size for people: `2.9 KiB`, `1.0 MiB`.
fn size(bytes: u64) -> String {
    let bytes = bytes as f64;
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", bytes / 1024.0)
    }
}

/// A successful answer: the text for people, the JSON for programs.
fn answer(text: String, structured: Value) -> CallToolResult {
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(structured);
    result
}
