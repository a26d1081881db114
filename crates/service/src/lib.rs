//! Business rules of coach-plans: posting, editing, deleting and restoring plans, who may do it, and reading them.
//!
//! The service sees storage only through the ports of `core_model` (`Arc<dyn PlanRepository>`); adapters are chosen by
//! the binaries. Storage calls may block, so they run on tokio's blocking pool, inside the caller's tracing span.

pub mod access;
mod admin_error;
mod bot_records;
mod bot_status;
mod changes;
mod error;
mod images;
mod policy;
mod search;
pub mod webhooks;

use std::sync::Arc;

use core_model::{
    Actor, Author, BoxError, Clock, CoachId, HistoryEntry, HistoryQuery, Inserted, NewChart, NewPlan, Plan, PlanChange,
    PlanRepository, PlanSource, PlanText, RepoError, StatusRecord, StatusStore, StoreStats, TradingDate, UnknownCoach,
    UserId,
};
use tracing::Instrument as _;

pub use access::{Access, AuthError};
pub use admin_error::AdminError;
pub use bot_status::{BOT_CONNECTION_KEY, BotHealth, BotState};
pub use changes::CHANGE_CHECK_EVERY;
pub use error::{Operation, ServiceError};
pub use policy::Policy;
pub use search::{
    DEFAULT_SEARCH_DAYS, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_DAYS, MAX_SEARCH_LIMIT, Mentions, SearchRequest,
    SearchResults, TermResults,
};
pub use webhooks::Webhooks;

/// Most history entries one request returns.
pub const MAX_HISTORY_LIMIT: usize = 1000;

/// A plan to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPlan {
    /// The coach.
    pub coach: CoachId,
    /// The trading date, or today in the market time zone.
    pub date: Option<TradingDate>,
    /// The text.
    pub text: PlanText,
    /// Its charts, in order.
    pub charts: Vec<NewChart>,
    /// Where it was posted.
    pub source: PlanSource,
}

/// What posting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// A new plan was stored.
    Created(Plan),
    /// The caller's own active plan for that coach and date was replaced: its text, its charts and its source
    /// message are now the new post's (one `edited` history entry).
    Replaced(Plan),
}

/// What became of a plan posted from a chat message ([`PlanService::post_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagePost {
    /// Posted now.
    Posted(Posted),
    /// The message had posted or re-posted this plan before (the newest such, deleted or not; a later message may
    /// have re-posted it since): nothing was posted now.
    Earlier(Plan),
}

impl Posted {
    /// The plan as stored.
    pub fn plan(&self) -> &Plan {
        match self {
            Self::Created(p) | Self::Replaced(p) => p,
        }
    }

    /// The plan as stored, taken out.
    pub fn into_plan(self) -> Plan {
        match self {
            Self::Created(p) | Self::Replaced(p) => p,
        }
    }
}

/// A change of an existing plan's text, and optionally of its charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditPlan {
    /// The coach.
    pub coach: CoachId,
    /// The trading date, or today in the market time zone.
    pub date: Option<TradingDate>,
    /// The new text.
    pub text: PlanText,
    /// What happens to the charts.
    pub charts: EditCharts,
    /// The version the caller last read; when given and the plan has moved on, the edit is refused with
    /// [`ServiceError::Conflict`] instead of overwriting a change the caller has not seen.
    pub expected_version: Option<u32>,
}

/// What an edit does to a plan's charts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditCharts {
    /// They stay as they are.
    Keep,
    /// They are replaced by these.
    Replace(Vec<NewChart>),
    /// They follow a chat message that edits the plan ([`core_model::charts_after_edit`]): the images attached to
    /// it (or, when it attaches none, the plan's), then the links of the new text.
    FollowMessage {
        /// The images attached to the message, as charts.
        attached: Vec<NewChart>,
    },
}

/// Most days after today (in the market's time zone) a plan may be posted for.
pub const MAX_DAYS_AHEAD: i64 = 31;

/// The earliest date a plan may be posted for (imported plans keep theirs, whatever it is).
pub const EARLIEST_PLAN_DATE: core_model::jiff::civil::Date = core_model::jiff::civil::date(2000, 1, 1);

/// The display name recorded when a plan's source message is deleted in Discord (the platform does not say by whom).
pub const SOURCE_DELETED_ACTOR: &str = "source message deleted";

/// The use cases over plans. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct PlanService {
    plans: Arc<dyn PlanRepository>,
    status: Arc<dyn StatusStore>,
    clock: Arc<dyn Clock>,
    policy: Arc<Policy>,
    live_bot: Arc<bot_status::LiveBotState>,
    images: Option<Arc<dyn core_model::ChartImageStore>>,
    changes: Arc<changes::ChangeWatch>,
}

impl std::fmt::Debug for PlanService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanService").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl PlanService {
    /// Builds the service over its ports.
    pub fn new(
        plans: Arc<dyn PlanRepository>,
        status: Arc<dyn StatusStore>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Self {
        Self {
            plans,
            status,
            clock,
            policy: Arc::new(policy),
            live_bot: Arc::default(),
            images: None,
            changes: Arc::default(),
        }
    }

    /// The deployment rules.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Now, from the service's clock.
    pub fn now(&self) -> core_model::jiff::Timestamp {
        self.clock.now()
    }

    /// Today in the market time zone.
    pub fn today(&self) -> TradingDate {
        TradingDate::today_in(self.clock.now(), &self.policy.zone)
    }

    /// Parses a coach as users write it (`d`, `D`, `d:`, `coach_d`).
    ///
    /// # Errors
    /// [`ServiceError::UnknownCoach`], listing the valid coaches.
    pub fn parse_coach(&self, input: &str) -> Result<CoachId, ServiceError> {
        Ok(self.policy.roster.parse(input)?)
    }

    /// Parses an optional `YYYY-MM-DD` date; `None` or an empty string is today in the market time zone.
    ///
    /// # Errors
    /// [`ServiceError::InvalidDate`].
    pub fn parse_date(&self, input: Option<&str>) -> Result<TradingDate, ServiceError> {
        match input.map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Ok(TradingDate::parse(text)?),
            None => Ok(self.today()),
        }
    }

    /// Validates plan text as users write it.
    ///
    /// # Errors
    /// [`ServiceError::InvalidText`] when it is empty or longer than 4000 characters.
    pub fn parse_text(&self, input: &str) -> Result<PlanText, ServiceError> {
        Ok(PlanText::new(input)?)
    }

    pub(crate) fn check_coach(&self, coach: &CoachId) -> Result<(), ServiceError> {
        // A `CoachId` is well formed but may name no coach of the roster.
        if self.policy.roster.get(coach).is_some() {
            return Ok(());
        }
        let valid = self.policy.roster.coaches().iter().map(|c| c.id.clone()).collect();
        Err(UnknownCoach { given: coach.to_string(), valid }.into())
    }

    /// What a post is checked for before anything is read: a coach of the roster, a date in range, and an actor who
    /// may post as the coach.
    fn check_postable(&self, actor: &Actor, coach: &CoachId, date: TradingDate) -> Result<(), ServiceError> {
        self.check_coach(coach)?;
        self.check_plan_date(date)?;
        if !self.policy.may_post_as(actor, coach) {
            return Err(ServiceError::NotAPoster { coach: coach.clone() });
        }
        Ok(())
    }

    /// A plan's date is today, a past day since [`EARLIEST_PLAN_DATE`], or at most [`MAX_DAYS_AHEAD`] days ahead:
    /// anything else is almost always a mistyped year, and would file a plan nobody reads.
    fn check_plan_date(&self, date: TradingDate) -> Result<(), ServiceError> {
        let today = self.today();
        let latest = today
            .date()
            .checked_add(core_model::jiff::Span::new().days(MAX_DAYS_AHEAD))
            .map_or(today, TradingDate::from_date);
        let earliest = TradingDate::from_date(EARLIEST_PLAN_DATE);
        if date < earliest || date > latest {
            return Err(ServiceError::DateOutOfRange { date, earliest, latest });
        }
        Ok(())
    }

    fn check_charts(&self, charts: &[NewChart]) -> Result<(), ServiceError> {
        let max = self.policy.max_charts;
        if charts.len() > max {
            return Err(ServiceError::TooManyCharts { given: charts.len(), max });
        }
        Ok(())
    }

    fn authorize(&self, actor: &Actor, plan: &Plan, operation: Operation) -> Result<(), ServiceError> {
        if actor.is(&plan.author) || self.policy.is_admin(actor) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden {
                operation,
                coach: plan.coach.clone(),
                date: plan.date,
                author: plan.author.display_name.clone(),
            })
        }
    }

    /// The refusal to post over (or, `restoring`, restore beside) `holder`, the active plan of its coach and date: it
    /// names the author, and says whether the refused user is an admin (who may edit that plan instead).
    fn already_posted(&self, actor: &Actor, holder: Plan, restoring: bool) -> ServiceError {
        ServiceError::AlreadyPosted {
            coach: holder.coach,
            date: holder.date,
            author: holder.author.display_name,
            admin: self.policy.is_admin(actor),
            restoring,
        }
    }

    /// Runs a blocking storage call off the async runtime, in the current span.
    pub(crate) async fn storage<T, F>(&self, call: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn PlanRepository) -> Result<T, RepoError> + Send + 'static,
    {
        let plans = Arc::clone(&self.plans);
        run_blocking(move || call(&*plans)).await
    }

    async fn change(
        &self,
        plan: &Plan,
        change: PlanChange,
        actor: Author,
        expected_version: Option<u32>,
    ) -> Result<Plan, RepoError> {
        let (id, at) = (plan.id, self.clock.now());
        let changed = self.storage(move |s| s.change(id, change, &actor, at, expected_version)).await;
        self.changes.wrote();
        changed
    }

    async fn active(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, ServiceError> {
        let coach = coach.clone();
        self.storage(move |s| s.find_active(&coach, date)).await.map_err(ServiceError::from_repo)
    }

    async fn active_or_not_found(&self, coach: &CoachId, date: TradingDate) -> Result<Plan, ServiceError> {
        self.active(coach, date).await?.ok_or_else(|| ServiceError::NotFound { coach: coach.clone(), date })
    }

    /// Posts a plan. Where the actor already has the active plan for that coach and date, the plan is replaced: text,
    /// charts (an empty list removes them) and source message, so that edits and deletion of the new message follow
    /// the plan from then on. Another author's active plan is never posted over, by anyone, admins included (they
    /// edit it instead).
    ///
    /// # Errors
    /// [`ServiceError::UnknownCoach`], [`ServiceError::NotAPoster`], [`ServiceError::TooManyCharts`],
    /// [`ServiceError::AlreadyPosted`] (naming the author, and telling an admin the edit command to use), and storage
    /// failures. Nothing is stored when it fails.
    pub async fn post(&self, actor: &Actor, request: PostPlan) -> Result<Posted, ServiceError> {
        match self.post_checked(actor, request, None).await? {
            MessagePost::Posted(posted) => Ok(posted),
            // Only a post made with `post_message` is checked against what its message posted before.
            MessagePost::Earlier(plan) => Ok(Posted::Created(plan)),
        }
    }

    /// Checks, before a user writes a plan (a long one, in a form), that posting it would not be refused: the coach
    /// is on the roster, the user may post as them, and no one else's plan is active for the date. (The post checks
    /// again: this is only so that nobody writes a plan that cannot be saved.)
    ///
    /// # Errors
    /// [`ServiceError::UnknownCoach`], [`ServiceError::NotAPoster`], [`ServiceError::AlreadyPosted`], and storage
    /// failures.
    pub async fn check_may_post(
        &self,
        actor: &Actor,
        coach: &CoachId,
        date: Option<TradingDate>,
    ) -> Result<(), ServiceError> {
        self.check_postable(actor, coach, date.unwrap_or_else(|| self.today()))?;
        match self.plan(coach, date).await? {
            Some(holder) if !actor.is(&holder.author) => Err(self.already_posted(actor, holder, false)),
            _ => Ok(()),
        }
    }

    /// Posts a plan from the chat message named in `request.source`, as [`Self::post`] does, unless that message
    /// posted or re-posted a plan before (a message delivered twice, after a reconnect or a restart): then nothing is
    /// posted and that plan is returned (see [`Self::plan_posted_by_message`]). The check and the insert of a new plan
    /// are one transaction (see [`PlanRepository::insert_unless_posted`]).
    ///
    /// # Errors
    /// As [`Self::post`].
    pub async fn post_message(&self, actor: &Actor, request: PostPlan) -> Result<MessagePost, ServiceError> {
        let message_id = request.source.message_id;
        self.post_checked(actor, request, message_id).await
    }

    async fn post_checked(
        &self,
        actor: &Actor,
        request: PostPlan,
        mut posted_by: Option<u64>,
    ) -> Result<MessagePost, ServiceError> {
        let date = request.date.unwrap_or_else(|| self.today());
        let span = tracing::info_span!("post_plan", coach = %request.coach, %date, user_id = %actor.user_id);
        async move {
            self.check_postable(actor, &request.coach, date)?;
            self.check_charts(&request.charts)?;
            // The insert comes first (a new plan, the usual case, is one write and nothing else); the database's
            // one-active-plan rule refuses it when the coach and date have a plan, which is then replaced or
            // defended. Two rounds: that plan may be deleted between the refusal and the read.
            for _ in 0..2 {
                let new = NewPlan {
                    coach: request.coach.clone(),
                    date,
                    text: request.text.clone(),
                    author: actor.as_author(),
                    source: request.source.clone(),
                    charts: request.charts.clone(),
                };
                let at = self.clock.now();
                let earlier_of = posted_by.take();
                let inserted = self
                    .storage(move |s| match earlier_of {
                        Some(message_id) => s.insert_unless_posted(message_id, new, at),
                        None => s.insert(new, at).map(Inserted::New),
                    })
                    .await;
                match inserted {
                    Ok(Inserted::New(plan)) => {
                        self.changes.wrote();
                        return Ok(MessagePost::Posted(Posted::Created(plan)));
                    }
                    Ok(Inserted::Earlier(earlier)) => return Ok(MessagePost::Earlier(earlier)),
                    Err(RepoError::Duplicate { .. }) => {}
                    Err(e) => return Err(ServiceError::from_repo(e)),
                }
                let Some(existing) = self.active(&request.coach, date).await? else { continue };
                if !actor.is(&existing.author) {
                    return Err(self.already_posted(actor, existing, false));
                }
                let change = PlanChange::Repost {
                    text: request.text.clone(),
                    charts: request.charts.clone(),
                    source: request.source.clone(),
                };
                match self.change(&existing, change, actor.as_author(), None).await {
                    Ok(plan) => return Ok(MessagePost::Posted(Posted::Replaced(plan))),
                    Err(RepoError::Deleted(_)) => continue,
                    Err(e) => return Err(ServiceError::from_repo(e)),
                }
            }
            // Still racing after two rounds: report whoever holds the plan now.
            let holder = self.active_or_not_found(&request.coach, date).await?;
            Err(self.already_posted(actor, holder, false))
        }
        .instrument(span)
        .await
    }

    /// Replaces the text of the active plan of a coach and date, and its charts as [`EditPlan::charts`] says.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`], [`ServiceError::Forbidden`] unless the actor is the author or an admin,
    /// [`ServiceError::TooManyCharts`], [`ServiceError::Unchanged`] when the plan already has that text and those
    /// charts, and storage failures.
    pub async fn edit(&self, actor: &Actor, request: EditPlan) -> Result<Plan, ServiceError> {
        let date = request.date.unwrap_or_else(|| self.today());
        let span = tracing::info_span!("edit_plan", coach = %request.coach, %date, user_id = %actor.user_id);
        async move {
            self.check_coach(&request.coach)?;
            if let EditCharts::Replace(charts) | EditCharts::FollowMessage { attached: charts } = &request.charts {
                self.check_charts(charts)?;
            }
            let plan = self.active_or_not_found(&request.coach, date).await?;
            self.authorize(actor, &plan, Operation::Edit)?;
            let charts = match request.charts {
                EditCharts::Keep => None,
                EditCharts::Replace(charts) => Some(charts),
                EditCharts::FollowMessage { attached } => {
                    Some(core_model::charts_after_edit(&plan.charts, attached, request.text.as_str()))
                }
            };
            let charts = charts.filter(|charts| !core_model::same_charts(&plan.charts, charts));
            if let Some(charts) = &charts {
                self.check_charts(charts)?;
            }
            if charts.is_none() && plan.text == request.text.as_str() {
                return Err(ServiceError::Unchanged { coach: plan.coach, date: plan.date, version: plan.version });
            }
            let change = PlanChange::Edit { text: request.text, charts };
            self.change(&plan, change, actor.as_author(), request.expected_version).await.map_err(|e| match e {
                RepoError::Deleted(_) => ServiceError::NotFound { coach: request.coach, date },
                other => ServiceError::from_repo(other),
            })
        }
        .instrument(span)
        .await
    }

    /// Soft-deletes the active plan of a coach and date.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`], [`ServiceError::Forbidden`] unless the actor is the author or an admin, and storage
    /// failures.
    pub async fn delete(
        &self,
        actor: &Actor,
        coach: &CoachId,
        date: Option<TradingDate>,
    ) -> Result<Plan, ServiceError> {
        let date = date.unwrap_or_else(|| self.today());
        let span = tracing::info_span!("delete_plan", %coach, %date, user_id = %actor.user_id);
        async move {
            self.check_coach(coach)?;
            let plan = self.active_or_not_found(coach, date).await?;
            self.authorize(actor, &plan, Operation::Delete)?;
            self.change(&plan, PlanChange::Delete, actor.as_author(), None).await.map_err(|e| match e {
                RepoError::Deleted(_) => ServiceError::NotFound { coach: coach.clone(), date },
                other => ServiceError::from_repo(other),
            })
        }
        .instrument(span)
        .await
    }

    /// Restores the most recently deleted plan of a coach and date.
    ///
    /// # Errors
    /// [`ServiceError::NothingToRestore`], [`ServiceError::Forbidden`] unless the actor is the author or an admin,
    /// [`ServiceError::AlreadyPosted`] when another plan is active, and storage failures.
    pub async fn restore(
        &self,
        actor: &Actor,
        coach: &CoachId,
        date: Option<TradingDate>,
    ) -> Result<Plan, ServiceError> {
        let date = date.unwrap_or_else(|| self.today());
        let span = tracing::info_span!("restore_plan", %coach, %date, user_id = %actor.user_id);
        async move {
            self.check_coach(coach)?;
            let owned = coach.clone();
            let latest = self
                .storage(move |s| s.find_latest_deleted(&owned, date))
                .await
                .map_err(ServiceError::from_repo)?
                .ok_or_else(|| ServiceError::NothingToRestore { coach: coach.clone(), date })?;
            // Someone else's plan deleted after the caller's does not hide the caller's own.
            let deleted = match self.authorize(actor, &latest, Operation::Restore) {
                Ok(()) => latest,
                Err(refused) => self.own_deleted(actor, coach, date).await?.ok_or(refused)?,
            };
            match self.change(&deleted, PlanChange::Restore, actor.as_author(), None).await {
                Ok(plan) => Ok(plan),
                Err(RepoError::Duplicate { .. }) => {
                    let holder = self.active_or_not_found(coach, date).await?;
                    Err(self.already_posted(actor, holder, true))
                }
                Err(RepoError::NotDeleted(_)) => Err(ServiceError::NothingToRestore { coach: coach.clone(), date }),
                Err(e) => Err(ServiceError::from_repo(e)),
            }
        }
        .instrument(span)
        .await
    }

    /// The newest deleted plan of `coach` and `date` that `actor` posted, found through the history of that date.
    async fn own_deleted(
        &self,
        actor: &Actor,
        coach: &CoachId,
        date: TradingDate,
    ) -> Result<Option<Plan>, ServiceError> {
        let query = HistoryQuery { coach: coach.clone(), date: Some(date), limit: MAX_HISTORY_LIMIT };
        let actor = actor.clone();
        self.storage(move |s| {
            let mut seen = Vec::new();
            for entry in s.history(&query)? {
                if seen.contains(&entry.plan_id) {
                    continue;
                }
                seen.push(entry.plan_id);
                if let Some(plan) = s.get(entry.plan_id)?
                    && plan.is_deleted()
                    && actor.is(&plan.author)
                {
                    return Ok(Some(plan));
                }
            }
            Ok(None)
        })
        .await
        .map_err(ServiceError::from_repo)
    }

    /// Follows an edit of the chat message that posted a plan: the plan takes the message's new text and charts.
    /// Returns `None` when the message posted no active plan, or when only someone other than the author edited it
    /// (chat platforms let only authors edit, but the rule is checked here too).
    ///
    /// # Errors
    /// [`ServiceError::TooManyCharts`] and storage failures.
    pub async fn sync_source_edit(
        &self,
        actor: &Actor,
        message_id: u64,
        text: PlanText,
        charts: Vec<NewChart>,
    ) -> Result<Option<Plan>, ServiceError> {
        let span = tracing::info_span!("sync_source_edit", message_id, user_id = %actor.user_id);
        async move {
            let Some(plan) = self.by_source_message(message_id).await? else { return Ok(None) };
            if plan.is_deleted() || !actor.is(&plan.author) {
                return Ok(None);
            }
            self.check_charts(&charts)?;
            let unchanged_charts = core_model::same_charts(&plan.charts, &charts);
            if plan.text == text.as_str() && unchanged_charts {
                return Ok(None);
            }
            let change = PlanChange::Edit { text, charts: (!unchanged_charts).then_some(charts) };
            match self.change(&plan, change, actor.as_author(), None).await {
                Ok(plan) => Ok(Some(plan)),
                Err(RepoError::Deleted(_)) => Ok(None),
                Err(e) => Err(ServiceError::from_repo(e)),
            }
        }
        .instrument(span)
        .await
    }

    /// Follows the deletion of the chat message that posted a plan: the plan is soft-deleted.
    /// Returns `None` when the message posted no active plan.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn sync_source_delete(&self, message_id: u64) -> Result<Option<Plan>, ServiceError> {
        let span = tracing::info_span!("sync_source_delete", message_id);
        async move {
            let Some(plan) = self.by_source_message(message_id).await? else { return Ok(None) };
            if plan.is_deleted() {
                return Ok(None);
            }
            let actor = Author { user_id: None, display_name: SOURCE_DELETED_ACTOR.to_owned() };
            match self.change(&plan, PlanChange::Delete, actor, None).await {
                Ok(plan) => Ok(Some(plan)),
                Err(RepoError::Deleted(_)) => Ok(None),
                Err(e) => Err(ServiceError::from_repo(e)),
            }
        }
        .instrument(span)
        .await
    }

    /// The newest plan (deleted or not) whose source is the chat message `message_id`: the message that posted it or
    /// last re-posted it.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn plan_by_source_message(&self, message_id: u64) -> Result<Option<Plan>, ServiceError> {
        self.by_source_message(message_id).await
    }

    /// The newest plan (deleted or not) that the chat message `message_id` posted or re-posted, even when a later
    /// message has re-posted it since: a message delivered twice (a replay after a reconnect) finds the plan it
    /// already posted, so it is not posted again.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn plan_posted_by_message(&self, message_id: u64) -> Result<Option<Plan>, ServiceError> {
        self.storage(move |s| s.find_by_posting_message(message_id)).await.map_err(ServiceError::from_repo)
    }

    async fn by_source_message(&self, message_id: u64) -> Result<Option<Plan>, ServiceError> {
        self.storage(move |s| s.find_by_source_message(message_id)).await.map_err(ServiceError::from_repo)
    }

    /// The active plan of a coach on a date (today when `None`).
    ///
    /// # Errors
    /// [`ServiceError::UnknownCoach`] and storage failures.
    pub async fn plan(&self, coach: &CoachId, date: Option<TradingDate>) -> Result<Option<Plan>, ServiceError> {
        self.check_coach(coach)?;
        self.active(coach, date.unwrap_or_else(|| self.today())).await
    }

    /// Every active plan of a date (today when `None`), in roster order; plans of coaches no longer on the roster last.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn plans_for_date(&self, date: Option<TradingDate>) -> Result<Vec<Plan>, ServiceError> {
        let date = date.unwrap_or_else(|| self.today());
        let mut plans = self.storage(move |s| s.list_active_by_date(date)).await.map_err(ServiceError::from_repo)?;
        let coaches = self.policy.roster.coaches();
        plans.sort_by_key(|p| coaches.iter().position(|c| c.id == p.coach).unwrap_or(usize::MAX));
        Ok(plans)
    }

    /// The active plans of one user, newest date first; one date when given.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn plans_by_author(&self, user: UserId, date: Option<TradingDate>) -> Result<Vec<Plan>, ServiceError> {
        self.storage(move |s| s.list_active_by_author(user, date)).await.map_err(ServiceError::from_repo)
    }

    /// The change history of a coach, newest first: of one date, or of every date when `None`. `limit` is clamped to
    /// 1..=[`MAX_HISTORY_LIMIT`].
    ///
    /// # Errors
    /// [`ServiceError::UnknownCoach`] and storage failures.
    pub async fn history(
        &self,
        coach: &CoachId,
        date: Option<TradingDate>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, ServiceError> {
        self.check_coach(coach)?;
        let query = HistoryQuery { coach: coach.clone(), date, limit: limit.clamp(1, MAX_HISTORY_LIMIT) };
        self.storage(move |s| s.history(&query)).await.map_err(ServiceError::from_repo)
    }

    /// Counts over everything stored.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn stats(&self) -> Result<StoreStats, ServiceError> {
        self.storage(|s| s.stats()).await.map_err(ServiceError::from_repo)
    }

    /// Checks that storage answers.
    ///
    /// # Errors
    /// When it does not.
    pub async fn ping(&self) -> Result<(), ServiceError> {
        self.storage(|s| s.ping()).await.map_err(ServiceError::from_repo)
    }

    /// Records a runtime status value (e.g. the bot's connection state) for other processes to read.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn record_status(&self, key: &str, value: &str) -> Result<(), ServiceError> {
        let (status, key, value, at) = (Arc::clone(&self.status), key.to_owned(), value.to_owned(), self.clock.now());
        run_blocking(move || status.put_status(&key, &value, at)).await.map_err(ServiceError::from_repo)
    }

    /// Reads a runtime status value.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn status(&self, key: &str) -> Result<Option<StatusRecord>, ServiceError> {
        let (status, key) = (Arc::clone(&self.status), key.to_owned());
        run_blocking(move || status.status(&key)).await.map_err(ServiceError::from_repo)
    }
}

pub(crate) async fn run_blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, RepoError> + Send + 'static,
) -> Result<T, RepoError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(call))
        .await
        .map_err(|join| RepoError::Failure(Box::new(join) as BoxError))?
}
