//! Finding plans: [`SearchQuery`] (by ticker, coach, author, dates and words) answered a page at a time
//! ([`SearchPage`]), and [`MentionsQuery`], the tickers the coaches mentioned over a range. Answers are cached like
//! single plans: within the TTL from the cache, then revalidated with their ETag, served stale when the server
//! cannot be reached; and every plan they hold fills the plan cache, so a single fetch that follows is a hit.

use std::sync::Arc;

use core_model::{CoachId, Ticker, TradingDate};
use serde::Serialize;

use crate::cache::{Answer, AnswerLookup, Entry};
use crate::client::{PlanClient, unexpected};
use crate::error::{Error, Result};
use crate::metrics::Counters;
use crate::plan::{Freshness, Plan};
use crate::wire::{WireMentions, WirePlans, coach_field, date_field, plan_etag, ticker_field};

/// The dates a query covers, as the caller gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Dates {
    /// The server's default: the 30 days ending today.
    #[default]
    Default,
    /// One date (`YYYY-MM-DD` or `today`).
    Day(String),
    /// From and to (`YYYY-MM-DD` or `today`), either left to the server's default.
    Range(Option<String>, Option<String>),
    /// The last `n` days, today included.
    LastDays(u32),
}

/// What to find: every part given must hold; tickers (and coaches) given several times hold when any does.
///
/// ```
/// let nvda_this_month = plan_client::SearchQuery::new().ticker("NVDA").last_days(30);
/// let gap_fills = plan_client::SearchQuery::new().words("\"gap fill\"").coach("d").from("2025-11-01");
/// # let _ = (nvda_this_month, gap_fills);
/// ```
///
/// Without dates, a search covers the 30 days ending today in the market time zone; a range covers at most 366
/// days. Values are checked when the query is sent ([`PlanClient::search`]), and nothing is sent for bad input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    tickers: Vec<String>,
    coaches: Vec<String>,
    author: Option<u64>,
    dates: Dates,
    words: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

impl SearchQuery {
    /// A query with no filter: every plan of the 30 days ending today.
    pub fn new() -> Self {
        Self::default()
    }

    /// Plans mentioning this ticker (`NVDA`, `$nvda`, `BRK.B`, `BTC-USD`); call it again for any of several.
    #[must_use]
    pub fn ticker(mut self, ticker: impl Into<String>) -> Self {
        self.tickers.push(ticker.into());
        self
    }

    /// Plans of this coach (any form: `d`, `coach_d`); call it again for any of several.
    #[must_use]
    pub fn coach(mut self, coach: impl Into<String>) -> Self {
        self.coaches.push(coach.into());
        self
    }

    /// Plans posted by this Discord user id.
    #[must_use]
    pub fn author(mut self, user_id: u64) -> Self {
        self.author = Some(user_id);
        self
    }

    /// One trading date (`YYYY-MM-DD` or `today`), instead of a range.
    #[must_use]
    pub fn date(mut self, date: impl Into<String>) -> Self {
        self.dates = Dates::Day(date.into());
        self
    }

    /// The first date of the range (`YYYY-MM-DD` or `today`); without [`to`](Self::to), the range ends today.
    #[must_use]
    pub fn from(mut self, date: impl Into<String>) -> Self {
        let to = match self.dates {
            Dates::Range(_, to) => to,
            _ => None,
        };
        self.dates = Dates::Range(Some(date.into()), to);
        self
    }

    /// The last date of the range (`YYYY-MM-DD` or `today`); without [`from`](Self::from), the 30 days ending then.
    #[must_use]
    pub fn to(mut self, date: impl Into<String>) -> Self {
        let from = match self.dates {
            Dates::Range(from, _) => from,
            _ => None,
        };
        self.dates = Dates::Range(from, Some(date.into()));
        self
    }

    /// The last `days` days, today included (in the client's market time zone), 1 to 366.
    #[must_use]
    pub fn last_days(mut self, days: u32) -> Self {
        self.dates = Dates::LastDays(days);
        self
    }

    /// Words the plan's text contains, all of them: words, phrases in double quotes, prefixes (`semi*`).
    #[must_use]
    pub fn words(mut self, words: impl Into<String>) -> Self {
        self.words = Some(words.into());
        self
    }

    /// Plans per page, 1 to 200 (the server's default is 50).
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continue after the page whose `next_cursor` this is (see [`SearchPage::next_query`]).
    #[must_use]
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// The request path and query, every value checked.
    fn path(&self, client: &PlanClient) -> Result<String> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for ticker in &self.tickers {
            let ticker = Ticker::parse(ticker).map_err(Error::invalid_from)?;
            query.append_pair("ticker", ticker.as_str());
        }
        for coach in &self.coaches {
            query.append_pair("coach", client.parse_coach(coach)?.as_str());
        }
        if let Some(author) = self.author {
            query.append_pair("author", &author.to_string());
        }
        append_dates(&mut query, client, &self.dates)?;
        if let Some(words) = &self.words {
            query.append_pair("q", words);
        }
        if let Some(limit) = self.limit {
            if !(1..=200).contains(&limit) {
                return Err(Error::invalid(format!("a page holds 1 to 200 plans, not {limit}")));
            }
            query.append_pair("limit", &limit.to_string());
        }
        if let Some(cursor) = &self.cursor {
            query.append_pair("cursor", cursor);
        }
        Ok(format!("/api/v1/plans?{}", query.finish()))
    }
}

/// Appends `date` or `from`/`to` for `dates`, resolving `today` and `last_days` with the client's clock.
fn append_dates(
    query: &mut url::form_urlencoded::Serializer<'_, String>,
    client: &PlanClient,
    dates: &Dates,
) -> Result<()> {
    match dates {
        Dates::Default => {}
        Dates::Day(date) => {
            query.append_pair("date", &client.parse_date(date)?.to_string());
        }
        Dates::Range(from, to) => {
            if let Some(from) = from {
                query.append_pair("from", &client.parse_date(from)?.to_string());
            }
            if let Some(to) = to {
                query.append_pair("to", &client.parse_date(to)?.to_string());
            }
        }
        Dates::LastDays(days) => {
            if !(1..=366).contains(days) {
                return Err(Error::invalid(format!("search 1 to 366 days back, not {days}")));
            }
            let today = client.today();
            let from = today.date().checked_sub(core_model::jiff::Span::new().days(i64::from(*days) - 1));
            let from = TradingDate::from_date(from.map_err(|e| Error::invalid(e.to_string()))?);
            query.append_pair("from", &from.to_string());
            query.append_pair("to", &today.to_string());
        }
    }
    Ok(())
}

/// A page of the plans a search found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SearchPage {
    /// The first trading date searched.
    pub from: TradingDate,
    /// The last trading date searched.
    pub to: TradingDate,
    /// The plans, newest date first, then in roster order.
    pub plans: Vec<Plan>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    #[serde(skip)]
    query: SearchQuery,
}

impl SearchPage {
    /// The query of the next page (this page's query, continued after it), or `None` on the last page.
    pub fn next_query(&self) -> Option<SearchQuery> {
        self.next_cursor.as_ref().map(|cursor| self.query.clone().after(cursor.clone()))
    }
}

/// Which ticker mentions to count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MentionsQuery {
    coaches: Vec<String>,
    dates: Dates,
}

impl MentionsQuery {
    /// Every coach's plans of the 30 days ending today.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only this coach's plans (any form); call it again for several.
    #[must_use]
    pub fn coach(mut self, coach: impl Into<String>) -> Self {
        self.coaches.push(coach.into());
        self
    }

    /// From this date (`YYYY-MM-DD` or `today`).
    #[must_use]
    pub fn from(mut self, date: impl Into<String>) -> Self {
        let to = match self.dates {
            Dates::Range(_, to) => to,
            _ => None,
        };
        self.dates = Dates::Range(Some(date.into()), to);
        self
    }

    /// To this date (`YYYY-MM-DD` or `today`).
    #[must_use]
    pub fn to(mut self, date: impl Into<String>) -> Self {
        let from = match self.dates {
            Dates::Range(from, _) => from,
            _ => None,
        };
        self.dates = Dates::Range(from, Some(date.into()));
        self
    }

    /// The last `days` days, today included, 1 to 366.
    #[must_use]
    pub fn last_days(mut self, days: u32) -> Self {
        self.dates = Dates::LastDays(days);
        self
    }

    fn path(&self, client: &PlanClient) -> Result<String> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for coach in &self.coaches {
            query.append_pair("coach", client.parse_coach(coach)?.as_str());
        }
        append_dates(&mut query, client, &self.dates)?;
        Ok(format!("/api/v1/tickers?{}", query.finish()))
    }
}

/// How often one ticker was mentioned over a range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TickerMention {
    /// The ticker.
    pub ticker: Ticker,
    /// Active plans of the range that mention it.
    pub plans: u64,
    /// Their coaches, in roster order.
    pub coaches: Vec<CoachId>,
    /// The latest trading date of those plans.
    pub last_date: TradingDate,
}

/// The tickers mentioned over a range, most plans first, then by ticker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TickerMentions {
    /// The first trading date counted.
    pub from: TradingDate,
    /// The last trading date counted.
    pub to: TradingDate,
    /// Per ticker.
    pub tickers: Vec<TickerMention>,
    /// Whether this answer is current or a stale copy.
    pub freshness: Freshness,
}

impl PlanClient {
    /// A page of the plans `query` finds (see [`SearchQuery`]); [`SearchPage::next_query`] asks for the next one.
    ///
    /// Cached as single plans are; each plan found also fills the plan cache, so
    /// [`fetch_coach_plan`](Self::fetch_coach_plan) for it is a hit.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad ticker, coach, date or limit (nothing is sent); a 4xx [`Error::Server`] for
    /// a query the server refuses (a range of more than 366 days, a cursor it did not give); otherwise as
    /// [`fetch_coach_plan`](Self::fetch_coach_plan).
    pub async fn search(&self, query: &SearchQuery) -> Result<SearchPage> {
        let path = query.path(self)?;
        let (body, freshness) = self.listing(&path).await?;
        let url = self.url(&path);
        let result = (|| {
            let wire: WirePlans = serde_json::from_slice(&body)
                .map_err(|e| Error::bad_response(&url, format!("not a page of plans: {e}")))?;
            let bad = |detail: String| Error::bad_response(&url, detail);
            let from = date_field("from", wire.from.as_deref().unwrap_or_default()).map_err(bad)?;
            let to = date_field("to", wire.to.as_deref().unwrap_or_default()).map_err(bad)?;
            let plans = wire
                .plans
                .into_iter()
                .map(|p| p.into_plan().map(|plan| Plan { freshness: freshness.clone(), ..plan }).map_err(bad))
                .collect::<Result<Vec<_>>>()?;
            Ok(SearchPage { from, to, plans, next_cursor: wire.next_cursor, query: query.clone() })
        })();
        if let Ok(page) = &result
            && freshness == Freshness::Fresh
        {
            let now = self.inner.clock.now();
            let mut cache = self.lock_cache();
            for plan in &page.plans {
                let entry = Entry { plan: Some(plan.clone()), etag: Some(plan_etag(plan)), validated_at: now };
                cache.insert((plan.coach.clone(), plan.date), entry);
            }
        }
        result
    }

    /// Every plan `query` finds, page after page, up to `max_plans` of them.
    ///
    /// # Errors
    /// As [`search`](Self::search), for any page.
    pub async fn search_all(&self, query: &SearchQuery, max_plans: usize) -> Result<Vec<Plan>> {
        let mut plans = Vec::new();
        let mut next = Some(query.clone());
        while let Some(query) = next.take() {
            let page = self.search(&query).await?;
            next = page.next_query();
            plans.extend(page.plans);
            if plans.len() >= max_plans {
                plans.truncate(max_plans);
                break;
            }
        }
        Ok(plans)
    }

    /// How often each ticker was mentioned over a range (see [`MentionsQuery`]): the consensus view. Cached as
    /// search pages are.
    ///
    /// # Errors
    /// As [`search`](Self::search).
    pub async fn ticker_mentions(&self, query: &MentionsQuery) -> Result<TickerMentions> {
        let path = query.path(self)?;
        let (body, freshness) = self.listing(&path).await?;
        let url = self.url(&path);
        let wire: WireMentions = serde_json::from_slice(&body)
            .map_err(|e| Error::bad_response(&url, format!("not ticker mentions: {e}")))?;
        let bad = |detail: String| Error::bad_response(&url, detail);
        let tickers = wire
            .tickers
            .into_iter()
            .map(|m| {
                Ok(TickerMention {
                    ticker: ticker_field("ticker", &m.ticker).map_err(bad)?,
                    plans: m.plans,
                    coaches: m
                        .coaches
                        .iter()
                        .map(|c| coach_field(c))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(bad)?,
                    last_date: date_field("last_date", &m.last_date).map_err(bad)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TickerMentions {
            from: date_field("from", &wire.from).map_err(bad)?,
            to: date_field("to", &wire.to).map_err(bad)?,
            tickers,
            freshness,
        })
    }

    /// The body of a listing route's answer at `path`: from the answer cache within the TTL; else from the server
    /// (revalidating a cached answer with its ETag); a cached answer no older than the stale-if-error bound when the
    /// server cannot be reached.
    async fn listing(&self, path: &str) -> Result<(Arc<[u8]>, Freshness)> {
        Counters::bump(&self.inner.counters.requests);
        // Today is part of the key: a query that names no dates means other dates tomorrow.
        let key = format!("{path}#{}", self.today());
        let now = self.inner.clock.now();
        let expired = match self.lock_answers().lookup(&key, now) {
            AnswerLookup::Fresh(answer) => {
                Counters::bump(&self.inner.counters.cache_hits);
                return Ok((answer.body, Freshness::Fresh));
            }
            AnswerLookup::Expired(answer) => Some(answer),
            AnswerLookup::Missing => None,
        };
        Counters::bump(&self.inner.counters.cache_misses);
        let etag = expired.as_ref().and_then(|a| a.etag.clone());
        let reply = match self.exchange(path, etag.as_deref(), &[]).await {
            Ok(reply) => reply,
            Err(error) => return self.stale_answer(expired, error),
        };
        let result = match (reply.status, expired) {
            (200, _) => {
                let body: Arc<[u8]> = reply.body.into();
                let answer = Answer { body: Arc::clone(&body), etag: reply.etag, validated_at: now };
                self.lock_answers().insert(key, answer);
                Ok((body, Freshness::Fresh))
            }
            (304, Some(answer)) => {
                Counters::bump(&self.inner.counters.revalidations);
                let body = Arc::clone(&answer.body);
                self.lock_answers().insert(key, Answer { validated_at: now, ..answer });
                Ok((body, Freshness::Fresh))
            }
            _ => Err(unexpected(&self.url(path), &reply)),
        };
        self.count_outcome(result)
    }

    /// Stale-if-error for a listing answer.
    fn stale_answer(&self, expired: Option<Answer>, error: Error) -> Result<(Arc<[u8]>, Freshness)> {
        let age = |a: &Answer| self.inner.clock.now().saturating_duration_since(a.validated_at);
        match expired {
            Some(answer) if error.is_transient() && age(&answer) <= self.inner.stale_if_error => {
                let age = age(&answer);
                tracing::warn!(?age, error = %error, "plan server failed; serving a stale cached answer");
                Counters::bump(&self.inner.counters.stale_serves);
                Ok((answer.body, Freshness::Stale { age, reason: error.to_string() }))
            }
            _ => Err(error),
        }
    }
}
