//! Whether what readers see changed: the storage's change count (which every process's writes move), read at most
//! once per [`CHANGE_CHECK_EVERY`], and at once after this process wrote. Caches of answers key on it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{PlanService, ServiceError};

/// How stale the view of other processes' writes may be: a write made by another process (the bot beside a separate
/// API, another API replica) is seen by the next read after this long at most. This process's own writes are seen
/// by the next read.
pub const CHANGE_CHECK_EVERY: Duration = Duration::from_millis(50);

/// What was last read of the change count.
#[derive(Debug, Default)]
pub(crate) struct ChangeWatch {
    /// Moves with every write this process makes.
    local: AtomicU64,
    /// The change count, when it was read, and `local` then.
    seen: Mutex<Option<(u64, Instant, u64)>>,
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
            _ => {
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
