//! An in-memory implementation of the storage ports, for tests and for trying the product without a database.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use jiff::Timestamp;

use crate::transition::{NewHistoryEntry, apply_change, create_plan};
use crate::{
    ArchivedImage, Author, ChartImage, ChartImageStore, CoachId, HistoryAction, HistoryEntry, HistoryQuery,
    ImageDigest, MentionQuery, NewPlan, Plan, PlanChange, PlanId, PlanRepository, PlanSearch, RepoError, SearchPage,
    SearchQuery, StatusRecord, StatusStore, StoreStats, TickerMention, TickerRules, TradingDate, UserId, sort_mentions,
};

mod access;

#[derive(Debug, Default)]
struct State {
    plans: Vec<Plan>,
    history: Vec<HistoryEntry>,
    status: HashMap<String, StatusRecord>,
    images: HashMap<ImageDigest, ChartImage>,
    image_links: HashMap<String, ImageDigest>,
    access: access::AccessState,
    /// Moves with every change of plans and chart copies (see [`PlanRepository::change_count`]).
    changes: u64,
}

impl State {
    fn record(&mut self, plan: &Plan, entry: NewHistoryEntry) {
        self.changes += 1;
        self.access.announce(crate::event_of(entry.action), plan, entry.at);
        let id = i64::try_from(self.history.len()).unwrap_or(i64::MAX) + 1;
        self.history.push(HistoryEntry {
            id,
            plan_id: plan.id,
            coach: plan.coach.clone(),
            date: plan.date,
            version: entry.version,
            action: entry.action,
            text_before: entry.text_before,
            text_after: entry.text_after,
            actor: entry.actor,
            at: entry.at,
            message_id: entry.message_id,
        });
    }

    fn active(&self, coach: &CoachId, date: TradingDate) -> Option<&Plan> {
        self.plans.iter().find(|p| &p.coach == coach && p.date == date && !p.is_deleted())
    }
}

/// Plans, history and status kept in memory, behind one lock: every operation is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    rules: TickerRules,
}

impl MemoryStore {
    /// An empty store that extracts tickers with the default rules.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that extracts tickers with `rules`.
    pub fn with_ticker_rules(rules: TickerRules) -> Self {
        Self { state: Mutex::default(), rules }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change: every mutation is computed first
        // and pushed last, so the state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn plan_index(id: PlanId) -> Option<usize> {
    usize::try_from(id.0).ok()?.checked_sub(1)
}

impl PlanRepository for MemoryStore {
    fn insert(&self, plan: NewPlan, at: Timestamp) -> Result<Plan, RepoError> {
        let mut state = self.lock();
        if state.active(&plan.coach, plan.date).is_some() {
            return Err(RepoError::Duplicate { coach: plan.coach, date: plan.date });
        }
        let id = PlanId(i64::try_from(state.plans.len()).unwrap_or(i64::MAX) + 1);
        let (plan, entry) = create_plan(id, plan, at, &self.rules);
        state.plans.push(plan.clone());
        state.record(&plan, entry);
        Ok(plan)
    }

    fn change(
        &self,
        id: PlanId,
        change: PlanChange,
        actor: &Author,
        at: Timestamp,
        expected_version: Option<u32>,
    ) -> Result<Plan, RepoError> {
        let mut state = self.lock();
        let index = plan_index(id).filter(|i| *i < state.plans.len()).ok_or(RepoError::NotFound(id))?;
        let current = &state.plans[index];
        let applied = apply_change(current, change, actor, at, expected_version, &self.rules)?;
        if applied.entry.action == HistoryAction::Restored && state.active(&current.coach, current.date).is_some() {
            return Err(RepoError::Duplicate { coach: current.coach.clone(), date: current.date });
        }
        state.plans[index] = applied.plan.clone();
        state.record(&applied.plan, applied.entry);
        Ok(applied.plan)
    }

    fn get(&self, id: PlanId) -> Result<Option<Plan>, RepoError> {
        Ok(plan_index(id).and_then(|i| self.lock().plans.get(i).cloned()))
    }

    fn find_active(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        Ok(self.lock().active(coach, date).cloned())
    }

    fn find_latest_deleted(&self, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
        let state = self.lock();
        let deleted = state.plans.iter().filter(|p| &p.coach == coach && p.date == date && p.is_deleted());
        Ok(deleted.max_by_key(|p| (p.deleted_at, p.id)).cloned())
    }

    fn find_by_source_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        let state = self.lock();
        Ok(state.plans.iter().rev().find(|p| p.source.message_id == Some(message_id)).cloned())
    }

    fn find_by_posting_message(&self, message_id: u64) -> Result<Option<Plan>, RepoError> {
        let state = self.lock();
        let entry = state.history.iter().rev().find(|e| e.message_id == Some(message_id));
        Ok(entry.and_then(|e| plan_index(e.plan_id)).and_then(|i| state.plans.get(i).cloned()))
    }

    fn list_active_by_date(&self, date: TradingDate) -> Result<Vec<Plan>, RepoError> {
        let state = self.lock();
        let mut plans: Vec<Plan> = state.plans.iter().filter(|p| p.date == date && !p.is_deleted()).cloned().collect();
        plans.sort_by(|a, b| a.coach.cmp(&b.coach));
        Ok(plans)
    }

    fn list_active_by_author(&self, author: UserId, date: Option<TradingDate>) -> Result<Vec<Plan>, RepoError> {
        let state = self.lock();
        let mut plans: Vec<Plan> = state
            .plans
            .iter()
            .filter(|p| !p.is_deleted() && p.author.user_id == Some(author) && date.is_none_or(|d| p.date == d))
            .cloned()
            .collect();
        plans.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.coach.cmp(&b.coach)));
        Ok(plans)
    }

    fn history(&self, query: &HistoryQuery) -> Result<Vec<HistoryEntry>, RepoError> {
        let state = self.lock();
        let mut entries: Vec<HistoryEntry> = state
            .history
            .iter()
            .filter(|e| e.coach == query.coach && query.date.is_none_or(|d| e.date == d))
            .cloned()
            .collect();
        entries.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        entries.truncate(query.limit);
        Ok(entries)
    }

    fn stats(&self) -> Result<StoreStats, RepoError> {
        let state = self.lock();
        let active: Vec<&Plan> = state.plans.iter().filter(|p| !p.is_deleted()).collect();
        let mut by_coach: Vec<(CoachId, u64)> = Vec::new();
        for plan in &active {
            match by_coach.iter_mut().find(|(c, _)| c == &plan.coach) {
                Some((_, n)) => *n += 1,
                None => by_coach.push((plan.coach.clone(), 1)),
            }
        }
        by_coach.sort();
        Ok(StoreStats {
            active_plans: active.len() as u64,
            deleted_plans: (state.plans.len() - active.len()) as u64,
            charts: state.plans.iter().map(|p| p.charts.len() as u64).sum(),
            history_entries: state.history.len() as u64,
            active_by_coach: by_coach,
            first_date: active.iter().map(|p| p.date).min(),
            last_date: active.iter().map(|p| p.date).max(),
        })
    }

    fn ping(&self) -> Result<(), RepoError> {
        drop(self.lock());
        Ok(())
    }

    fn change_count(&self) -> Result<u64, RepoError> {
        Ok(self.lock().changes)
    }
}

impl PlanSearch for MemoryStore {
    fn search(&self, query: &SearchQuery) -> Result<SearchPage, RepoError> {
        let state = self.lock();
        let mut found: Vec<&Plan> = state.plans.iter().filter(|p| query.admits(p)).collect();
        found.sort_by_key(|p| query.sort_key(p));
        let more = found.len() > query.limit;
        found.truncate(query.limit);
        let next = if more { found.last().map(|p| query.cursor_after(p)) } else { None };
        Ok(SearchPage { plans: found.into_iter().cloned().collect(), next })
    }

    fn ticker_mentions(&self, query: &MentionQuery) -> Result<Vec<TickerMention>, RepoError> {
        let state = self.lock();
        let mut mentions: Vec<TickerMention> = Vec::new();
        let counted = state.plans.iter().filter(|p| {
            !p.is_deleted()
                && (query.from..=query.to).contains(&p.date)
                && (query.coaches.is_empty() || query.coaches.contains(&p.coach))
        });
        for plan in counted {
            for ticker in &plan.tickers {
                match mentions.iter_mut().find(|m| &m.ticker == ticker) {
                    Some(m) => {
                        m.plans += 1;
                        m.last_date = m.last_date.max(plan.date);
                        if !m.coaches.contains(&plan.coach) {
                            m.coaches.push(plan.coach.clone());
                        }
                    }
                    None => mentions.push(TickerMention {
                        ticker: ticker.clone(),
                        plans: 1,
                        coaches: vec![plan.coach.clone()],
                        last_date: plan.date,
                    }),
                }
            }
        }
        for mention in &mut mentions {
            mention.coaches.sort();
        }
        sort_mentions(&mut mentions);
        Ok(mentions)
    }
}

impl StatusStore for MemoryStore {
    fn put_status(&self, key: &str, value: &str, at: Timestamp) -> Result<(), RepoError> {
        self.lock().status.insert(key.to_owned(), StatusRecord { value: value.to_owned(), updated_at: at });
        Ok(())
    }

    fn status(&self, key: &str) -> Result<Option<StatusRecord>, RepoError> {
        Ok(self.lock().status.get(key).cloned())
    }
}

impl ChartImageStore for MemoryStore {
    fn put_chart_image(&self, source_key: &str, image: &ChartImage, _at: Timestamp) -> Result<(), RepoError> {
        let mut state = self.lock();
        state.images.entry(image.digest.clone()).or_insert_with(|| image.clone());
        state.image_links.insert(source_key.to_owned(), image.digest.clone());
        state.changes += 1;
        Ok(())
    }

    fn chart_images(&self, source_keys: &[&str]) -> Result<Vec<(String, ArchivedImage)>, RepoError> {
        let state = self.lock();
        Ok(source_keys
            .iter()
            .filter_map(|key| {
                let image = state.image_links.get(*key).and_then(|digest| state.images.get(digest))?;
                Some(((*key).to_owned(), image.info()))
            })
            .collect())
    }

    fn image(&self, digest: &ImageDigest) -> Result<Option<ChartImage>, RepoError> {
        Ok(self.lock().images.get(digest).cloned())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_passes_the_contract_suite() {
        crate::contract::run_all(super::MemoryStore::new);
        crate::contract::run_search_cases(super::MemoryStore::new);
        crate::contract::run_access_cases(super::MemoryStore::new);
        crate::contract::run_webhook_cases(super::MemoryStore::new);
        crate::contract::run_chart_image_cases(super::MemoryStore::new);
    }
}
