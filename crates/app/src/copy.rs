//! `plan-server copy-db`: everything one store holds (plans with their versions, charts in order, history, chart
//! images, runtime status) into another, whatever their backends, then checked: the target's counts and content
//! digest must equal the source's.

use core_model::RepoError;
use core_model::transfer::{ContentDigest, StoreTransfer, TransferBatch, TransferCounts};

use crate::store::Store;

/// Records per batch: plans (with charts), history entries, image files, links.
const PLANS_PER_BATCH: usize = 500;
const HISTORY_PER_BATCH: usize = 2000;
const IMAGES_PER_BATCH: usize = 20;
const LINKS_PER_BATCH: usize = 2000;

/// What a copy moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    /// The records copied, by kind.
    pub counts: TransferCounts,
    /// The content digest both stores now share.
    pub digest: String,
}

/// Why a copy did not happen or did not check out.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source and the target are one database.
    #[error("the source and the target are the same database ({0}); give two different ones")]
    Same(String),
    /// The target holds records, and `force` was not given.
    #[error("{target} is not empty ({counts}); give --force to replace everything it holds")]
    NotEmpty {
        /// The target, shown without a password.
        target: String,
        /// What it holds.
        counts: TransferCounts,
    },
    /// Reading a store failed.
    #[error("cannot read {store}")]
    Read {
        /// The store.
        store: String,
        /// Why.
        #[source]
        source: RepoError,
    },
    /// Writing the target failed.
    #[error("cannot write {store}; it may hold part of the copy: run copy-db again with --force")]
    Write {
        /// The store.
        store: String,
        /// Why.
        #[source]
        source: RepoError,
    },
    /// The target does not hold what the source holds (the source changed during the copy, or a write was lost).
    #[error(
        "the copy does not match its source: the source holds {} (digest {}), the copy {} (digest {}); stop the bot \
         and the API writing to the source, then run copy-db again with --force",
        .0.source_counts,
        .0.source_digest,
        .0.target_counts,
        .0.target_digest
    )]
    Mismatch(Box<Mismatch>),
}

/// What a copy that does not match its source holds, beside the source.
#[derive(Debug)]
pub struct Mismatch {
    /// What the source holds.
    pub source_counts: TransferCounts,
    /// What the copy holds.
    pub target_counts: TransferCounts,
    /// The source's content digest.
    pub source_digest: String,
    /// The copy's content digest.
    pub target_digest: String,
}

/// Copies everything `from` holds into `to`, which must be empty unless `force` (then everything it holds is
/// removed first), and checks the copy. `progress` hears a line per kind of record copied.
///
/// # Errors
/// [`CopyError`].
pub fn copy(from: &Store, to: &Store, force: bool, mut progress: impl FnMut(&str)) -> Result<CopySummary, CopyError> {
    let (source_name, target_name) = (from.describe(), to.describe());
    if source_name == target_name {
        return Err(CopyError::Same(source_name));
    }
    let (source, target) = (from.transfer(), to.transfer());
    let read = |store: &str| {
        let store = store.to_owned();
        move |source| CopyError::Read { store: store.clone(), source }
    };
    // The same file or database named two ways (`plans.db` and `./plans.db`, a link, another host name).
    if source.identity().map_err(read(&source_name))? == target.identity().map_err(read(&target_name))? {
        return Err(CopyError::Same(format!("{source_name} is {target_name}")));
    }
    let write = |source| CopyError::Write { store: target_name.clone(), source };
    let held = target.transfer_counts().map_err(read(&target_name))?;
    if !held.is_empty() {
        if !force {
            return Err(CopyError::NotEmpty { target: target_name, counts: held });
        }
        target.clear().map_err(write)?;
        progress(&format!("removed what {target_name} held ({held})"));
    }
    let source_counts = source.transfer_counts().map_err(read(&source_name))?;
    let mut digest = ContentDigest::new();
    let mut copied = Ok(());
    each_batch(source.as_ref(), |batch| {
        fold(&mut digest, &batch);
        if copied.is_ok() {
            copied = target.import(&batch);
        }
        copied.is_ok()
    })
    .map_err(read(&source_name))?;
    copied.map_err(write)?;
    target.finish_import().map_err(write)?;
    progress(&format!("copied {source_counts}"));
    let source_digest = digest.finish();
    let (target_counts, target_digest) = content(target.as_ref()).map_err(read(&target_name))?;
    if target_counts != source_counts || target_digest != source_digest {
        return Err(CopyError::Mismatch(Box::new(Mismatch {
            source_counts,
            target_counts,
            source_digest,
            target_digest,
        })));
    }
    Ok(CopySummary { counts: source_counts, digest: source_digest })
}

/// The counts and content digest of a store, read through its exports.
///
/// # Errors
/// Storage failures.
pub fn content(store: &dyn StoreTransfer) -> Result<(TransferCounts, String), RepoError> {
    let counts = store.transfer_counts()?;
    let mut digest = ContentDigest::new();
    each_batch(store, |batch| {
        fold(&mut digest, &batch);
        true
    })?;
    Ok((counts, digest.finish()))
}

/// Adds a batch's records to `digest`.
fn fold(digest: &mut ContentDigest, batch: &TransferBatch) {
    match batch {
        TransferBatch::Plans(records) => records.iter().for_each(|r| digest.plan(r)),
        TransferBatch::History(records) => records.iter().for_each(|r| digest.history(r)),
        TransferBatch::Images(records) => records.iter().for_each(|r| digest.image(r)),
        TransferBatch::Links(records) => records.iter().for_each(|r| digest.link(r)),
        TransferBatch::Status(entries) => entries.iter().for_each(|e| digest.status(e)),
        TransferBatch::Tokens(entries) => entries.iter().for_each(|e| digest.token(e)),
        TransferBatch::Subscriptions(all) => all.iter().for_each(|s| digest.subscription(s)),
        TransferBatch::Deliveries(all) => all.iter().for_each(|d| digest.delivery(d)),
    }
}

/// Reads every record of `store` a batch at a time, in the order a copy writes them (plans before the history that
/// names them, images before the links to them), handing each batch to `each`; stops early when `each` says so.
fn each_batch(store: &dyn StoreTransfer, mut each: impl FnMut(TransferBatch) -> bool) -> Result<(), RepoError> {
    let mut after = 0;
    loop {
        let plans = store.export_plans(after, PLANS_PER_BATCH)?;
        let Some(last) = plans.last() else { break };
        after = last.plan.id.0;
        if !each(TransferBatch::Plans(plans)) {
            return Ok(());
        }
    }
    let mut after = 0;
    loop {
        let entries = store.export_history(after, HISTORY_PER_BATCH)?;
        let Some(last) = entries.last() else { break };
        after = last.entry.id;
        if !each(TransferBatch::History(entries)) {
            return Ok(());
        }
    }
    let mut after = String::new();
    loop {
        let images = store.export_images(&after, IMAGES_PER_BATCH)?;
        let Some(last) = images.last() else { break };
        after = last.image.digest.to_string();
        if !each(TransferBatch::Images(images)) {
            return Ok(());
        }
    }
    let mut after = String::new();
    loop {
        let links = store.export_links(&after, LINKS_PER_BATCH)?;
        let Some(last) = links.last() else { break };
        after = last.source_key.clone();
        if !each(TransferBatch::Links(links)) {
            return Ok(());
        }
    }
    if !each(TransferBatch::Status(store.export_status()?))
        || !each(TransferBatch::Tokens(store.export_tokens()?))
        || !each(TransferBatch::Subscriptions(store.export_subscriptions()?))
    {
        return Ok(());
    }
    let mut after = 0;
    loop {
        let deliveries = store.export_deliveries(after, HISTORY_PER_BATCH)?;
        let Some(last) = deliveries.last() else { break };
        after = last.id;
        if !each(TransferBatch::Deliveries(deliveries)) {
            return Ok(());
        }
    }
    Ok(())
}
