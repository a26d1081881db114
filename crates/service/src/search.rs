//! Finding plans for readers: the rules of a search (its date range, its page size, its cursor) on top of the
//! storage's [`PlanSearch`](core_model::PlanSearch).

use core_model::jiff::ToSpan as _;
use core_model::{
    CoachId, MentionQuery, Plan, SearchCursor, SearchQuery, TextQuery, Ticker, TickerMention, TradingDate, UserId,
    days_in_range,
};

use crate::{PlanService, ServiceError};

/// Days a search covers when it names no dates: the 30 days ending today.
pub const DEFAULT_SEARCH_DAYS: u32 = 30;
/// The longest range one search covers, in days.
pub const MAX_SEARCH_DAYS: u32 = 366;
/// Plans per page when the caller does not say.
pub const DEFAULT_SEARCH_LIMIT: usize = 50;
/// The most plans one page holds.
pub const MAX_SEARCH_LIMIT: usize = 200;

/// A search as a reader asks for it; every part may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchRequest {
    /// Plans mentioning any of these tickers.
    pub tickers: Vec<Ticker>,
    /// Plans of any of these coaches.
    pub coaches: Vec<CoachId>,
    /// Plans by this Discord user.
    pub author: Option<UserId>,
    /// One trading date (instead of `from` and `to`).
    pub date: Option<TradingDate>,
    /// First trading date, included (default: 29 days before `to`).
    pub from: Option<TradingDate>,
    /// Last trading date, included (default: today, in the market time zone).
    pub to: Option<TradingDate>,
    /// Words the plan's text must contain (see [`TextQuery`]).
    pub words: Option<String>,
    /// Plans per page, 1 to [`MAX_SEARCH_LIMIT`] (default [`DEFAULT_SEARCH_LIMIT`]).
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResults {
    /// The first date searched.
    pub from: TradingDate,
    /// The last date searched.
    pub to: TradingDate,
    /// The plans found, newest date first, then in roster order.
    pub plans: Vec<Plan>,
    /// Pass this as `cursor` for the next page; `None` when this page is the last.
    pub next_cursor: Option<String>,
}

/// What [`PlanService::search_terms`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermResults {
    /// The first date searched.
    pub from: TradingDate,
    /// The last date searched.
    pub to: TradingDate,
    /// The plans found, newest date first, then in roster order.
    pub plans: Vec<Plan>,
    /// Whether more plans matched than were returned.
    pub more: bool,
}

/// The tickers mentioned over a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mentions {
    /// The first date counted.
    pub from: TradingDate,
    /// The last date counted.
    pub to: TradingDate,
    /// Per ticker: plans, coaches (in roster order) and the last date; most plans first, then by ticker.
    pub tickers: Vec<TickerMention>,
}

impl PlanService {
    /// The range a search covers: one `date`, or `from` to `to`, each defaulting as [`SearchRequest`] says.
    ///
    /// # Errors
    /// [`ServiceError::InvalidSearch`] when a date is given with a range, when `from` is after `to`, or when the
    /// range covers more than [`MAX_SEARCH_DAYS`] days.
    pub fn search_range(
        &self,
        date: Option<TradingDate>,
        from: Option<TradingDate>,
        to: Option<TradingDate>,
    ) -> Result<(TradingDate, TradingDate), ServiceError> {
        if let Some(date) = date {
            if from.is_some() || to.is_some() {
                return Err(ServiceError::InvalidSearch(
                    "give either `date` (one day) or `from` and `to` (a range), not both".to_owned(),
                ));
            }
            return Ok((date, date));
        }
        let to = to.unwrap_or_else(|| self.today());
        let from = match from {
            Some(from) => from,
            None => days_before(to, DEFAULT_SEARCH_DAYS - 1),
        };
        if from > to {
            return Err(ServiceError::InvalidSearch(format!(
                "`from` ({from}) is after `to` ({to}); give the earlier date as `from`"
            )));
        }
        let days = days_in_range(from, to);
        if days > i64::from(MAX_SEARCH_DAYS) {
            return Err(ServiceError::InvalidSearch(format!(
                "the range from {from} to {to} covers {days} days; search at most {MAX_SEARCH_DAYS} days at a time"
            )));
        }
        Ok((from, to))
    }

    /// The range of the last `days` days, today included.
    ///
    /// # Errors
    /// [`ServiceError::InvalidSearch`] when `days` is 0 or more than [`MAX_SEARCH_DAYS`].
    pub fn last_days(&self, days: u32) -> Result<(TradingDate, TradingDate), ServiceError> {
        if !(1..=MAX_SEARCH_DAYS).contains(&days) {
            return Err(ServiceError::InvalidSearch(format!("search 1 to {MAX_SEARCH_DAYS} days back, not {days}")));
        }
        let today = self.today();
        Ok((days_before(today, days - 1), today))
    }

    /// What people type in a search box, over the last `days` days: a cashtag (`$NVDA`) is a ticker; one word that
    /// could be a ticker (`NVDA`) finds plans mentioning the ticker or containing the word; anything else is words.
    /// At most `limit` plans, newest date first, then in roster order; `more` tells whether others were left out.
    ///
    /// # Errors
    /// As [`search`](Self::search), and for `days` out of range.
    pub async fn search_terms(&self, terms: &str, days: u32, limit: usize) -> Result<TermResults, ServiceError> {
        let (from, to) = self.last_days(days)?;
        let terms = terms.trim();
        let request = |tickers: Vec<Ticker>, words: Option<String>| SearchRequest {
            tickers,
            words,
            from: Some(from),
            to: Some(to),
            limit: Some(limit),
            ..SearchRequest::default()
        };
        let one_word = !terms.contains(char::is_whitespace);
        let mut searches = Vec::new();
        match Ticker::parse(terms).ok().filter(|_| one_word) {
            Some(ticker) if terms.starts_with('$') => searches.push(request(vec![ticker], None)),
            Some(ticker) => {
                searches.push(request(vec![ticker], None));
                searches.push(request(Vec::new(), Some(terms.to_owned())));
            }
            None => searches.push(request(Vec::new(), Some(terms.to_owned()))),
        }
        let (mut plans, mut more) = (Vec::new(), false);
        for search in searches {
            let found = self.search(search).await?;
            more |= found.next_cursor.is_some();
            for plan in found.plans {
                if !plans.iter().any(|p: &Plan| p.id == plan.id) {
                    plans.push(plan);
                }
            }
        }
        let roster = &self.policy().roster;
        let rank = |p: &Plan| roster.coaches().iter().position(|c| c.id == p.coach).unwrap_or(usize::MAX);
        plans.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| rank(a).cmp(&rank(b))).then_with(|| a.id.cmp(&b.id)));
        more |= plans.len() > limit;
        plans.truncate(limit);
        Ok(TermResults { from, to, plans, more })
    }

    /// A page of the active plans the request finds, newest date first, then in roster order.
    ///
    /// # Errors
    /// [`ServiceError::InvalidSearch`] for a bad range (see [`search_range`](Self::search_range)), limit or cursor;
    /// [`ServiceError::UnknownCoach`] for a coach not on the roster; storage failures.
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults, ServiceError> {
        let (from, to) = self.search_range(request.date, request.from, request.to)?;
        for coach in &request.coaches {
            self.check_coach(coach)?;
        }
        let limit = request.limit.unwrap_or(DEFAULT_SEARCH_LIMIT);
        if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
            return Err(ServiceError::InvalidSearch(format!(
                "`limit` must be from 1 to {MAX_SEARCH_LIMIT}, not {limit}"
            )));
        }
        let after = request
            .cursor
            .as_deref()
            .map(SearchCursor::decode)
            .transpose()
            .map_err(|e| ServiceError::InvalidSearch(e.to_string()))?;
        let query = SearchQuery {
            tickers: request.tickers,
            coaches: request.coaches,
            author: request.author,
            from,
            to,
            words: request.words.as_deref().map(TextQuery::parse),
            limit,
            after,
            coach_order: self.policy.roster.coaches().iter().map(|c| c.id.clone()).collect(),
        };
        let page = self.storage(move |s| s.search(&query)).await.map_err(ServiceError::from_repo)?;
        Ok(SearchResults { from, to, plans: page.plans, next_cursor: page.next.map(|c| c.encode()) })
    }

    /// How often each ticker was mentioned in the active plans of the range (defaults as for a search), of the given
    /// coaches (every coach when none).
    ///
    /// # Errors
    /// [`ServiceError::InvalidSearch`] for a bad range, [`ServiceError::UnknownCoach`], storage failures.
    pub async fn ticker_mentions(
        &self,
        from: Option<TradingDate>,
        to: Option<TradingDate>,
        coaches: Vec<CoachId>,
    ) -> Result<Mentions, ServiceError> {
        let (from, to) = self.search_range(None, from, to)?;
        for coach in &coaches {
            self.check_coach(coach)?;
        }
        let query = MentionQuery { from, to, coaches };
        let mut tickers = self.storage(move |s| s.ticker_mentions(&query)).await.map_err(ServiceError::from_repo)?;
        let roster = self.policy.roster.coaches();
        for mention in &mut tickers {
            mention.coaches.sort_by_key(|c| roster.iter().position(|r| &r.id == c).unwrap_or(usize::MAX));
        }
        Ok(Mentions { from, to, tickers })
    }
}

/// The date `days` days before `date`, but not before 0001-01-01, the earliest trading date.
fn days_before(date: TradingDate, days: u32) -> TradingDate {
    let earliest = core_model::jiff::civil::Date::constant(1, 1, 1);
    let earlier = date.date().checked_sub(i64::from(days).days()).unwrap_or(earliest);
    TradingDate::from_date(earlier.max(earliest))
}
