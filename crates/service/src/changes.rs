//! Whether what readers see changed: the storage's change count (which every process's writes move), read at most
//! once per [`CHANGE_CHECK_EVERY`], and at once after this process wrote. Caches of answers key on it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{PlanService, ServiceError};

/// How often the change count is read: a write made by another process (the bot beside a separate API, another API
/// replica) is seen within twice this (one period, plus at most another while one request reads the count for all).
/// This process's own writes are seen by the next read.
pub const CHANGE_CHECK_EVERY: Duration = Duration::from_millis(50);

/// What was last read of the change count.
#[derive(Debug, Default)]
pub(crate) struct ChangeWatch {
    /// Moves with every write this process makes.
    local: AtomicU64,
    /// The change count, when it was read, and `local` then.
    seen: Mutex<Option<(u64, Instant, u64)>>,
    /// Whether a request is reading the change count now (the others keep the last count meanwhile).
    refreshing: AtomicBool,
}

/// Clears [`ChangeWatch::refreshing`] when the read ends, however it ends.
struct Refreshing<'a>(&'a AtomicBool);

impl Drop for Refreshing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl ChangeWatch {
    /// Notes a write of this process (made or attempted): the next version read goes to storage.
    pub(crate) fn wrote(&self) {
        self.local.fetch_add(1, Ordering::AcqRel);
    }
}

impl PlanService {
    /// A number that differs whenever what a reader may see changed: plans, charts, history, chart copies, and
    /// "today" (the market's date). Equal numbers mean an answer kept under the first is still right. Other
    /// processes' writes show within [`CHANGE_CHECK_EVERY`]; this process's at once.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn data_version(&self) -> Result<u64, ServiceError> {
        let watch = &self.changes;
        let local = watch.local.load(Ordering::Acquire);
        let cached = *watch.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let count = match cached {
            Some((count, at, seen_local)) if seen_local == local && at.elapsed() < CHANGE_CHECK_EVERY => count,
            // Stale by age only, and another request is reading the count: this one keeps the last count (the
            // bound on other processes' writes holds: the read under way ends well within it).
            Some((count, at, seen_local))
                if seen_local == local
                    && at.elapsed() < 2 * CHANGE_CHECK_EVERY
                    && watch.refreshing.swap(true, Ordering::AcqRel) =>
            {
                count
            }
            _ => {
                watch.refreshing.store(true, Ordering::Release);
                let _done = Refreshing(&watch.refreshing);
                let count = self.storage(|s| s.change_count()).await.map_err(ServiceError::from_repo)?;
                *watch.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some((count, Instant::now(), local));
                count
            }
        };
        // Today is part of every answer that defaults to it.
        let today = self.today().date();
        let day = u64::try_from(i32::from(today.year()) * 400 + i32::from(today.day_of_year())).unwrap_or(0);
        Ok(count.wrapping_mul(1_000_003).wrapping_add(day))
    }
}
