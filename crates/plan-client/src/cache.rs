//! The plan cache: LRU with a TTL per entry, one key scheme (coach and trading date) for every way a plan is
//! learnt, "no plan" kept for a shorter time, and expired entries kept for revalidation and stale-if-error. Beside it,
//! the answers of the listing routes (search pages, ticker mentions), kept whole by their request, with the same TTL
//! and the same revalidation; the plans they hold also fill the plan cache.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use core_model::{CoachId, TradingDate};
use lru::LruCache;

use crate::plan::Plan;

/// The one key of every cache entry: a single fetch and a fetch of the whole date fill and read the same entries.
pub(crate) type Key = (CoachId, TradingDate);

/// What the server last said about a coach and date.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The plan (its `freshness` is [`Fresh`](crate::Freshness::Fresh)), or `None` for "no plan".
    pub(crate) plan: Option<Plan>,
    /// The plan's ETag, to revalidate with `If-None-Match`.
    pub(crate) etag: Option<String>,
    /// When the server last confirmed it.
    pub(crate) validated_at: Instant,
}

/// The outcome of a lookup.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// Within its TTL: serve it.
    Fresh(Option<Plan>),
    /// Past its TTL: revalidate (with the ETag, when there is one); serve it stale if the server cannot answer.
    Expired(Entry),
    /// Nothing cached.
    Missing,
}

/// How long entries are fresh.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ttl {
    /// For a plan.
    pub(crate) plan: Duration,
    /// For "no plan".
    pub(crate) absent: Duration,
}

/// LRU map from [`Key`] to [`Entry`]. Not synchronised: the client keeps it behind a mutex, never held across an
/// await.
#[derive(Debug)]
pub(crate) struct PlanCache {
    entries: LruCache<Key, Entry>,
    ttl: Ttl,
}

impl PlanCache {
    pub(crate) fn new(capacity: NonZeroUsize, ttl: Ttl) -> Self {
        Self { entries: LruCache::new(capacity), ttl }
    }

    fn ttl_of(&self, entry: &Entry) -> Duration {
        if entry.plan.is_some() { self.ttl.plan } else { self.ttl.absent }
    }

    fn is_fresh(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.validated_at) < self.ttl_of(entry)
    }

    /// Looks `key` up and marks it recently used.
    pub(crate) fn lookup(&mut self, key: &Key, now: Instant) -> Lookup {
        let ttl = self.ttl;
        match self.entries.get(key) {
            None => Lookup::Missing,
            Some(entry) => {
                let limit = if entry.plan.is_some() { ttl.plan } else { ttl.absent };
                if now.saturating_duration_since(entry.validated_at) < limit {
                    Lookup::Fresh(entry.plan.clone())
                } else {
                    Lookup::Expired(entry.clone())
                }
            }
        }
    }

    /// Whether `key` has an entry within its TTL, without marking it used.
    pub(crate) fn is_fresh_key(&self, key: &Key, now: Instant) -> bool {
        self.entries.peek(key).is_some_and(|e| self.is_fresh(e, now))
    }

    /// The entry of `key` without marking it used.
    pub(crate) fn peek(&self, key: &Key) -> Option<&Entry> {
        self.entries.peek(key)
    }

    /// Stores what the server said, evicting the least recently used entry when full.
    pub(crate) fn insert(&mut self, key: Key, entry: Entry) {
        self.entries.put(key, entry);
    }

    /// Number of entries (plans and "no plan").
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Most entries kept.
    pub(crate) fn capacity(&self) -> usize {
        self.entries.cap().get()
    }

    /// The TTLs.
    pub(crate) fn ttl(&self) -> Ttl {
        self.ttl
    }

    /// Empties the cache; returns how many entries it held.
    pub(crate) fn clear(&mut self) -> usize {
        let count = self.entries.len();
        self.entries.clear();
        count
    }
}

/// A whole answer of a listing route, as the server sent it.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// The JSON body.
    pub(crate) body: Arc<[u8]>,
    /// Its ETag, to revalidate with `If-None-Match`.
    pub(crate) etag: Option<String>,
    /// When the server last confirmed it.
    pub(crate) validated_at: Instant,
}

/// The outcome of an answer lookup.
#[derive(Debug)]
pub(crate) enum AnswerLookup {
    /// Within the TTL: serve it.
    Fresh(Answer),
    /// Past the TTL: revalidate; serve it stale if the server cannot answer.
    Expired(Answer),
    /// Nothing cached.
    Missing,
}

/// LRU map from a request (path and query) to its [`Answer`].
#[derive(Debug)]
pub(crate) struct AnswerCache {
    entries: LruCache<String, Answer>,
    ttl: Duration,
}

impl AnswerCache {
    pub(crate) fn new(capacity: NonZeroUsize, ttl: Duration) -> Self {
        Self { entries: LruCache::new(capacity), ttl }
    }

    /// Looks `request` up and marks it recently used.
    pub(crate) fn lookup(&mut self, request: &str, now: Instant) -> AnswerLookup {
        match self.entries.get(request) {
            None => AnswerLookup::Missing,
            Some(answer) if now.saturating_duration_since(answer.validated_at) < self.ttl => {
                AnswerLookup::Fresh(answer.clone())
            }
            Some(answer) => AnswerLookup::Expired(answer.clone()),
        }
    }

    /// Stores an answer, evicting the least recently used one when full.
    pub(crate) fn insert(&mut self, request: String, answer: Answer) {
        self.entries.put(request, answer);
    }

    /// Number of answers held.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Empties it; returns how many answers it held.
    pub(crate) fn clear(&mut self) -> usize {
        let count = self.entries.len();
        self.entries.clear();
        count
    }
}

#[cfg(test)]
mod tests {
    use core_model::jiff::Timestamp;
    use core_model::{Author, PlanId, PlanSource};

    use super::*;
    use crate::plan::Freshness;

    fn key(coach: &str) -> Key {
        (CoachId::new(coach).unwrap(), TradingDate::parse("2026-11-25").unwrap())
    }

    fn plan(coach: &str) -> Plan {
        let ts = Timestamp::UNIX_EPOCH;
        Plan {
            id: PlanId(1),
            coach: CoachId::new(coach).unwrap(),
            coach_name: coach.to_uppercase(),
            date: TradingDate::parse("2026-11-25").unwrap(),
            text: format!("plan of {coach}"),
            author: Author { user_id: None, display_name: "Ann".into() },
            source: PlanSource::default(),
            charts: Vec::new(),
            chart_images: Vec::new(),
            tickers: Vec::new(),
            version: 1,
            created_at: ts,
            updated_at: ts,
            freshness: Freshness::Fresh,
        }
    }

    fn cache(capacity: usize) -> PlanCache {
        let ttl = Ttl { plan: Duration::from_secs(60), absent: Duration::from_secs(10) };
        PlanCache::new(NonZeroUsize::new(capacity).unwrap(), ttl)
    }

    fn entry(plan: Option<Plan>, at: Instant) -> Entry {
        Entry { plan, etag: Some("\"e\"".into()), validated_at: at }
    }

    #[test]
    fn plans_and_absences_expire_after_their_own_ttl() {
        let t0 = Instant::now();
        let mut cache = cache(4);
        cache.insert(key("d"), entry(Some(plan("d")), t0));
        cache.insert(key("i"), entry(None, t0));
        let at = |secs| t0 + Duration::from_secs(secs);
        assert!(matches!(cache.lookup(&key("d"), at(59)), Lookup::Fresh(Some(_))));
        assert!(matches!(cache.lookup(&key("d"), at(60)), Lookup::Expired(Entry { plan: Some(_), .. })));
        assert!(matches!(cache.lookup(&key("i"), at(9)), Lookup::Fresh(None)));
        assert!(matches!(cache.lookup(&key("i"), at(10)), Lookup::Expired(Entry { plan: None, .. })));
        assert!(matches!(cache.lookup(&key("s"), at(0)), Lookup::Missing));
    }

    #[test]
    fn the_least_recently_used_entry_is_evicted_first() {
        let t0 = Instant::now();
        let mut cache = cache(2);
        cache.insert(key("d"), entry(Some(plan("d")), t0));
        cache.insert(key("i"), entry(Some(plan("i")), t0));
        let _ = cache.lookup(&key("d"), t0); // d is now the most recently used
        cache.insert(key("s"), entry(Some(plan("s")), t0));
        assert!(cache.peek(&key("i")).is_none(), "i was the least recently used");
        assert!(cache.peek(&key("d")).is_some());
        assert!(cache.peek(&key("s")).is_some());
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.clear(), 2);
        assert_eq!(cache.len(), 0);
    }
}
