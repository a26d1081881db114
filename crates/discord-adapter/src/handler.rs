//! What the bot does with a chat message, independent of Discord's wire types: parse the command, call the service,
//! and write the reply. The gateway runner feeds it; tests can call it directly.

use core_model::image::source_key;
use core_model::{Actor, Attachment, Chart, ChartKind, NewChart, Plan, PlanSource, TradingDate, charts_of_message};
use service::{EditCharts, EditPlan, MessagePost, PlanService, PostPlan, ServiceError};

use crate::archive::{ChartArchiver, shorten};
use crate::command::{self, Command};
use crate::format;

/// The most plans a `!search` reply lists.
const SEARCH_REPLY_PLANS: usize = 20;

/// A chat message as the bot sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// Message id.
    pub message_id: u64,
    /// Channel id.
    pub channel_id: u64,
    /// Guild id (`None` in direct messages).
    pub guild_id: Option<u64>,
    /// Channel name, when known.
    pub channel_name: Option<String>,
    /// Who wrote it, with their roles in the guild.
    pub author: Actor,
    /// Whether the author is a bot (the bot ignores bots, itself included).
    pub author_is_bot: bool,
    /// The text.
    pub content: String,
    /// Attached files.
    pub attachments: Vec<Attachment>,
}

/// How a command went, with the reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; the confirmation or the answer (none for a command delivered again whose reply was sent already).
    Done(Option<String>),
    /// A plan posted or changed, with its confirmation. Its attached images are copied once the confirmation is sent
    /// ([`CommandHandler::archive_charts_after`]), so that the download never delays it.
    Saved {
        /// The confirmation.
        reply: String,
        /// The plan as saved.
        plan: Box<Plan>,
    },
    /// Refused (bad input, not allowed, or a failure on the server's side); what to tell the caller.
    Refused(String),
}

impl Outcome {
    /// The outcome as told to the caller, and the plan whose attached images are to be copied once it is told.
    pub fn into_answer(self) -> (Self, Option<Plan>) {
        match self {
            Self::Saved { reply, plan } => (Self::Done(Some(reply)), Some(*plan)),
            other => (other, None),
        }
    }

    /// The text told to the caller, if any.
    pub fn into_reply(self) -> Option<String> {
        match self {
            Self::Done(reply) => reply,
            Self::Saved { reply, .. } | Self::Refused(reply) => Some(reply),
        }
    }
}

/// Where the bot listens: empty lists mean everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listening {
    /// Guild ids.
    pub guilds: Vec<u64>,
    /// Channel ids.
    pub channels: Vec<u64>,
}

impl Listening {
    /// Whether a message in `channel_id` of `guild_id` is for the bot.
    pub fn includes(&self, guild_id: Option<u64>, channel_id: u64) -> bool {
        let guild_ok = self.guilds.is_empty() || guild_id.is_some_and(|g| self.guilds.contains(&g));
        let channel_ok = self.channels.is_empty() || self.channels.contains(&channel_id);
        guild_ok && channel_ok
    }
}

/// Turns messages into service calls and replies.
#[derive(Debug, Clone)]
pub struct CommandHandler {
    service: PlanService,
    prefix: String,
    listening: Listening,
    archiver: Option<ChartArchiver>,
    refused_edits: RefusedEdits,
}

/// The edits of plan messages last refused, as (message id, hash of the content): Discord sends a message's update
/// again when it adds a link's preview, and a refusal is said once per content, not once per update.
#[derive(Debug, Clone, Default)]
struct RefusedEdits(std::sync::Arc<std::sync::Mutex<std::collections::HashMap<u64, u64>>>);

impl RefusedEdits {
    /// Most messages remembered (then the memory starts again: at worst a refusal is said twice).
    const CAPACITY: usize = 1024;

    /// Records that the edit of `message` to `content` is refused; whether it was not already.
    fn first_time(&self, message: u64, content: &str) -> bool {
        use std::hash::{BuildHasher as _, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(content);
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= Self::CAPACITY && !seen.contains_key(&message) {
            seen.clear();
        }
        seen.insert(message, hash) != Some(hash)
    }

    /// Forgets `message` (its edit was taken).
    fn forget(&self, message: u64) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&message);
    }
}

/// Logs a failure on the server's side once, at error level, with what the operator can do about it.
fn log_failure(error: &ServiceError) {
    if error.is_user_error() {
        return;
    }
    let chain = crate::error_chain(error);
    match error {
        ServiceError::Unwritable(_) => tracing::error!(
            error = %chain,
            "command not saved: the database cannot be written (disk full, or the database file, its -wal file or \
             their directory read-only or immutable); free disk space or make them writable by this process; reads \
             go on meanwhile, and writes work again as soon as it is fixed, without a restart"
        ),
        ServiceError::Busy(_) => tracing::error!(
            error = %chain,
            "command not saved: another process held the database's write lock for longer than \
             database.busy_timeout_ms; find what holds it (a long transaction, a backup that locks the file) or raise \
             the timeout"
        ),
        ServiceError::Unavailable(_) => tracing::error!(
            error = %chain,
            "command not saved: the database cannot be reached; check that its server is up and reachable from \
             here (`plan-server doctor`); commands work again as soon as it is, without a restart"
        ),
        _ => tracing::error!(error = %chain, "command failed on the server's side"),
    }
}

impl CommandHandler {
    /// A handler over the service, for commands starting with `prefix`, in the places `listening` names.
    pub fn new(service: PlanService, prefix: impl Into<String>, listening: Listening) -> Self {
        Self { service, prefix: prefix.into(), listening, archiver: None, refused_edits: RefusedEdits::default() }
    }

    /// The handler, also keeping a copy of every image attached to a plan (when the service has an image store).
    #[must_use]
    pub fn with_chart_archiver(mut self, archiver: ChartArchiver) -> Self {
        self.archiver = Some(archiver);
        self
    }

    /// Copies the attached images of `plan` that have no copy yet; returns how many could not be copied, and the
    /// names of the files among them that are not images at all.
    async fn archive_charts(&self, plan: &Plan) -> (usize, Vec<String>) {
        let Some(archiver) = self.archiver.as_ref().filter(|_| self.service.archives_chart_images()) else {
            return (0, Vec::new());
        };
        let attached: Vec<&Chart> = plan.charts.iter().filter(|c| c.kind == ChartKind::Attachment).collect();
        if attached.is_empty() {
            return (0, Vec::new());
        }
        let archived = match self.service.archived_images(std::slice::from_ref(plan)).await {
            Ok(archived) => archived,
            Err(error) => {
                log_failure(&error);
                Default::default()
            }
        };
        let (mut failed, mut not_images) = (0, Vec::new());
        for chart in attached.into_iter().filter(|c| !archived.contains_key(source_key(&c.url))) {
            let outcome = match archiver.download(&chart.url).await {
                Err(crate::archive::ArchiveError::NotAnImage) => {
                    tracing::info!(chart = %shorten(&chart.url), "an attached chart is not an image; no copy is kept");
                    not_images.push(chart.filename.clone().unwrap_or_else(|| shorten(&chart.url)));
                    continue;
                }
                Ok(image) => {
                    let size = image.bytes.len();
                    self.service.archive_chart_image(&chart.url, image).await.map(|_| size).map_err(|e| {
                        log_failure(&e);
                        e.to_string()
                    })
                }
                Err(error) => Err(error.to_string()),
            };
            match outcome {
                Ok(size) => tracing::info!(chart = %shorten(&chart.url), size, "chart image copied"),
                Err(error) => {
                    failed += 1;
                    tracing::warn!(chart = %shorten(&chart.url), error = %error, "cannot copy a chart image; its link will expire");
                }
            }
        }
        (failed, not_images)
    }

    /// Copies the attached images of a plan just saved (after its confirmation was sent); returns the warning to send
    /// when some could not be copied.
    pub async fn archive_charts_after(&self, plan: &Plan) -> Option<String> {
        match self.archive_charts(plan).await {
            (0, not_images) if not_images.is_empty() => None,
            (failed, not_images) => Some(format::charts_not_archived(failed, &not_images)),
        }
    }

    /// The service.
    pub fn service(&self) -> &PlanService {
        &self.service
    }

    /// Where the handler listens.
    pub fn listening(&self) -> &Listening {
        &self.listening
    }

    fn is_for_us(&self, message: &IncomingMessage) -> bool {
        !message.author_is_bot && self.listening.includes(message.guild_id, message.channel_id)
    }

    /// Handles a new message; returns how it went, if it was a command (ordinary messages and bots get nothing).
    pub async fn on_message(&self, message: &IncomingMessage) -> Option<Outcome> {
        if !self.is_for_us(message) {
            return None;
        }
        let command = match command::parse(&message.content, &self.prefix) {
            Ok(Some(command)) => command,
            Ok(None) => return None,
            Err(error) => return Some(Outcome::Refused(format::parse_error(&error))),
        };
        tracing::info!(command = command.name(), "command received");
        Some(self.execute(message, command, &self.prefix).await)
    }

    /// Carries out a command given by `message`'s author (a prefix command, or a slash command whose answer is
    /// `message`), writing replies for the face whose commands start with `prefix` (`!` or `/`).
    pub async fn execute(&self, message: &IncomingMessage, command: Command, prefix: &str) -> Outcome {
        match self.run(message, command, prefix).await {
            Ok(outcome) => outcome,
            Err(error) => {
                log_failure(&error);
                Outcome::Refused(format::service_error(&error, prefix))
            }
        }
    }

    async fn run(&self, message: &IncomingMessage, command: Command, prefix: &str) -> Result<Outcome, ServiceError> {
        let service = &self.service;
        let roster = &service.policy().roster;
        let reply = match command {
            Command::Plan { coach, date, text } => {
                // A message delivered again (after a restart, when the previous run stopped between saving the plan
                // and noting the message as handled) already posted its plan, or re-posted it, even if a later
                // message has re-posted it since. Nothing is posted again; while the plan still comes from this
                // message, its confirmation is sent again, since the first one may never have left, and its images
                // not copied yet are copied after it (the previous run may have stopped before copying them). The
                // service checks that in the insert's transaction; a post refused before it gets that far (the
                // roster or the rules may have changed since) is checked here.
                let posted = match self.post_message(message, coach, date, text).await {
                    Ok(posted) => posted,
                    Err(error) => match service.plan_posted_by_message(message.message_id).await? {
                        Some(plan) => MessagePost::Earlier(plan),
                        None => return Err(error),
                    },
                };
                let posted = match posted {
                    MessagePost::Posted(posted) => posted,
                    MessagePost::Earlier(plan) => {
                        tracing::info!(
                            message_id = message.message_id,
                            "message already handled; nothing posted again"
                        );
                        if plan.source.message_id != Some(message.message_id) || plan.is_deleted() {
                            return Ok(Outcome::Done(None));
                        }
                        service::Posted::Created(plan)
                    }
                };
                let reply = format::posted(roster, &posted) + &format::not_images(&message.attachments);
                return Ok(Outcome::Saved { reply, plan: Box::new(posted.into_plan()) });
            }
            Command::Edit { coach, date, text } => {
                let coach = service.parse_coach(&coach)?;
                let text = service.parse_text(&text)?;
                // The images attached to the edit (its links come from the text, in the service).
                let attached = charts_of_message(&message.attachments, "");
                let charts = EditCharts::FollowMessage { attached };
                let request = EditPlan { coach, date, text, charts, expected_version: None };
                let plan = service.edit(&message.author, request).await?;
                let reply = format::edited(roster, &plan) + &format::not_images(&message.attachments);
                return Ok(Outcome::Saved { reply, plan: Box::new(plan) });
            }
            Command::Delete { coach, date } => {
                let coach = service.parse_coach(&coach)?;
                format::deleted(roster, &service.delete(&message.author, &coach, date).await?, prefix)
            }
            Command::Restore { coach, date } => {
                let coach = service.parse_coach(&coach)?;
                format::restored(roster, &service.restore(&message.author, &coach, date).await?)
            }
            Command::Plans { date } => {
                let date = date.unwrap_or_else(|| service.today());
                format::plans_of_date(roster, date, &service.plans_for_date(Some(date)).await?)
            }
            Command::MyPlans { date } => {
                format::my_plans(roster, date, &service.plans_by_author(message.author.user_id, date).await?)
            }
            Command::History { coach, date } => {
                let coach = service.parse_coach(&coach)?;
                // One more than shown, to know whether older entries were left out.
                let mut entries = service.history(&coach, date, HISTORY_SHOWN + 1).await?;
                let more = entries.len() > HISTORY_SHOWN;
                entries.truncate(HISTORY_SHOWN);
                format::history(roster, &coach, date, &entries, more)
            }
            Command::Search { terms, days } => self.search(&terms, days, prefix).await?,
            Command::Help { .. } if prefix == "/" => format::slash_help(roster),
            Command::Help { topic } => format::help(prefix, topic.as_deref(), roster),
        };
        Ok(Outcome::Done(Some(reply)))
    }

    /// Posts the plan of a `!plan` (or `/plan`) message, unless the message posted before.
    async fn post_message(
        &self,
        message: &IncomingMessage,
        coach: String,
        date: Option<TradingDate>,
        text: String,
    ) -> Result<MessagePost, ServiceError> {
        let service = &self.service;
        let coach = service.parse_coach(&coach)?;
        let text = service.parse_text(&text)?;
        let charts = charts_of_message(&message.attachments, text.as_str());
        let source = PlanSource {
            guild_id: message.guild_id,
            channel_id: Some(message.channel_id),
            channel_name: message.channel_name.clone(),
            message_id: Some(message.message_id),
        };
        service.post_message(&message.author, PostPlan { coach, date, text, charts, source }).await
    }

    /// `!search`: a cashtag is a ticker; one word is a ticker or a word (plans matching either); several words
    /// are words.
    async fn search(&self, terms: &str, days: Option<u32>, prefix: &str) -> Result<String, ServiceError> {
        let service = &self.service;
        let days = days.unwrap_or(service::DEFAULT_SEARCH_DAYS);
        let found = service.search_terms(terms, days, SEARCH_REPLY_PLANS).await?;
        let roster = &service.policy().roster;
        Ok(format::search_results(roster, terms, (found.from, found.to), &found.plans, found.more, prefix))
    }

    /// Handles an edit of a message: when it posted a plan, the plan follows the new text and charts.
    /// An edit that names another coach or date does not move the plan, and one that no longer reads as a plan
    /// command leaves it as it was: the reply says so, once per content. Returns how it went, if there is anything
    /// to tell.
    pub async fn on_message_edit(&self, message: &IncomingMessage) -> Option<Outcome> {
        if !self.is_for_us(message) {
            return None;
        }
        let outcome = self.edit_outcome(message).await;
        match &outcome {
            Some(Outcome::Refused(_)) if !self.refused_edits.first_time(message.message_id, &message.content) => None,
            Some(Outcome::Refused(_)) => outcome,
            _ => {
                self.refused_edits.forget(message.message_id);
                outcome
            }
        }
    }

    async fn edit_outcome(&self, message: &IncomingMessage) -> Option<Outcome> {
        let (coach, date, text) = match command::parse(&message.content, &self.prefix) {
            Ok(Some(Command::Plan { coach, date, text })) => (coach, date, text),
            other => {
                // No longer a plan command: its author is told when the message posted a plan, which stays.
                let plan = self.service.plan_by_source_message(message.message_id).await.ok().flatten()?;
                if plan.is_deleted() || !message.author.is(&plan.author) {
                    return None;
                }
                let why = match other {
                    Err(error) => error.to_string(),
                    _ => format!("the message no longer starts with `{}plan`", self.prefix),
                };
                let roster = &self.service.policy().roster;
                return Some(Outcome::Refused(format::source_edit_unreadable(roster, &plan, &why, &self.prefix)));
            }
        };
        let result = async {
            let Some(plan) = self.service.plan_by_source_message(message.message_id).await? else { return Ok(None) };
            if plan.is_deleted() || !message.author.is(&plan.author) {
                return Ok(None);
            }
            let coach = self.service.parse_coach(&coach)?;
            if coach != plan.coach || date.is_some_and(|d| d != plan.date) {
                return Ok(Some(Err(plan)));
            }
            let text = self.service.parse_text(&text)?;
            let mut charts = charts_of_message(&message.attachments, text.as_str());
            keep_stored_urls(&mut charts, &plan.charts);
            let synced = self.service.sync_source_edit(&message.author, message.message_id, text, charts).await?;
            Ok(synced.map(Ok))
        }
        .await;
        let roster = &self.service.policy().roster;
        match result {
            Ok(Some(Ok(plan))) => Some(Outcome::Saved { reply: format::edited(roster, &plan), plan: Box::new(plan) }),
            Ok(Some(Err(plan))) => Some(Outcome::Refused(format::source_edit_cannot_move(roster, &plan, &self.prefix))),
            Ok(None) => None,
            Err(error) => {
                log_failure(&error);
                Some(Outcome::Refused(format::service_error(&error, &self.prefix)))
            }
        }
    }

    /// Handles the deletion of a message: the plan it posted, if any, is soft-deleted. No reply (the message is gone).
    pub async fn on_message_delete(&self, guild_id: Option<u64>, channel_id: u64, message_id: u64) {
        if !self.listening.includes(guild_id, channel_id) {
            return;
        }
        match self.service.sync_source_delete(message_id).await {
            Ok(Some(plan)) => tracing::info!(plan_id = %plan.id, message_id, "plan deleted with its message"),
            Ok(None) => {}
            Err(error) => log_failure(&error),
        }
    }
}

/// Discord signs attachment URLs anew in every payload (`?ex=..&is=..&hm=..`), so an edit event carries other URLs
/// for the same files. An attached chart whose URL differs from a stored one only in its query is the same file: it
/// keeps the stored URL, so an edit that changes nothing is recognised as such. Links in the text are compared whole.
fn keep_stored_urls(charts: &mut [NewChart], stored: &[Chart]) {
    let attachment = |kind: &ChartKind| *kind == ChartKind::Attachment;
    for chart in charts.iter_mut().filter(|c| attachment(&c.kind)) {
        let same_file = |s: &&Chart| attachment(&s.kind) && without_query(&s.url) == without_query(&chart.url);
        if let Some(same) = stored.iter().find(same_file) {
            chart.url.clone_from(&same.url);
        }
    }
}

/// Most history entries a reply shows (the API has them all).
const HISTORY_SHOWN: usize = 25;

/// A URL without its query and fragment.
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use core_model::memory::MemoryStore;
    use core_model::{Actor, PlanRepository as _, UserId};
    use service::{PlanService, Policy};

    use super::*;

    fn message(message_id: u64, content: &str) -> IncomingMessage {
        IncomingMessage {
            message_id,
            channel_id: 20,
            guild_id: Some(10),
            channel_name: None,
            author: Actor::new(UserId(1), "Ann"),
            author_is_bot: false,
            content: content.into(),
            attachments: vec![],
        }
    }

    #[tokio::test]
    async fn a_replayed_post_or_repost_is_handled_once_and_the_plan_follows_the_repost() {
        let store = Arc::new(MemoryStore::new());
        let service = PlanService::new(
            store.clone(),
            store.clone(),
            Arc::new(core_model::testing::ManualClock::at_now()),
            Policy::default(),
        );
        let handler = CommandHandler::new(service, "!", Listening::default());
        let (first, repost) = (message(100, "!plan d first"), message(101, "!plan d second"));
        let reply = |outcome: Option<Outcome>| outcome.and_then(Outcome::into_reply);
        assert!(reply(handler.on_message(&first).await).unwrap().contains("saved"));
        assert!(reply(handler.on_message(&repost).await).unwrap().contains("replaced"));
        // Both delivered again (after a restart): neither posts again; the message the plan now comes from gets its
        // confirmation again (the first may have been lost), the older one gets nothing.
        let again = reply(handler.on_message(&repost).await).unwrap();
        assert_eq!(again, "✅ Plan saved for **Day Trading** (`d`) on 2025-11-09.");
        assert_eq!(reply(handler.on_message(&first).await), None, "the first message does not bring its text back");
        let plan = store.find_by_source_message(101).unwrap().unwrap();
        assert_eq!((plan.text.as_str(), plan.version), ("second", 2));
        assert_eq!(store.stats().unwrap().history_entries, 2, "created and re-posted, nothing more");
        // Deleting the first message leaves the plan; deleting the re-post deletes it.
        handler.on_message_delete(Some(10), 20, 100).await;
        assert!(!store.get(plan.id).unwrap().unwrap().is_deleted());
        handler.on_message_delete(Some(10), 20, 101).await;
        assert!(store.get(plan.id).unwrap().unwrap().is_deleted());
    }

    #[test]
    fn attachment_urls_are_compared_without_their_signature() {
        let stored_url = "https://cdn.discordapp.com/attachments/1/2/spy.png?ex=1&is=2&hm=aa";
        let stored = Chart {
            position: 0,
            url: stored_url.to_owned(),
            filename: Some("spy.png".to_owned()),
            content_type: None,
            kind: ChartKind::Attachment,
            added_at: core_model::jiff::Timestamp::UNIX_EPOCH,
        };
        let chart = |url: &str| NewChart {
            url: url.to_owned(),
            filename: Some("spy.png".to_owned()),
            content_type: None,
            kind: ChartKind::Attachment,
        };
        let mut charts = vec![
            chart("https://cdn.discordapp.com/attachments/1/2/spy.png?ex=9&is=8&hm=bb"),
            chart("https://cdn.discordapp.com/attachments/1/3/spy.png?ex=9&is=8&hm=bb"),
        ];
        keep_stored_urls(&mut charts, &[stored]);
        assert_eq!(charts[0].url, stored_url, "the same file keeps its stored URL");
        assert!(charts[1].url.contains("/1/3/"), "another file is another chart");
    }
}
