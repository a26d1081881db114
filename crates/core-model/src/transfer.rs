//! Moving everything a store holds into another store, whatever their backends (`plan-server copy-db`): the rows as
//! plain records, read a batch at a time in a fixed order and written with their ids, and a digest of the whole
//! content, so that a copy can be checked against its source.
//!
//! [`StoreTransfer`] is the port every storage adapter implements; [`ContentDigest`] folds records into the digest.
//! Derived indexes (tickers rows, full-text indexes) are not records: each adapter rebuilds its own from the plans.

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::{
    ChartImage, Delivery, HistoryEntry, ImageDigest, Plan, RepoError, StatusRecord, Subscription, TokenHash,
    TokenRecord,
};

/// A plan with its charts, as stored, and the keys the predecessor's importer left on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    /// The plan, charts and tickers included, with its id.
    pub plan: Plan,
    /// The predecessor's row it was imported from, if it was.
    pub import_key: Option<String>,
    /// The fingerprint of the predecessor's rows it was last imported from.
    pub import_digest: Option<String>,
    /// The import key of each chart, in the plan's chart order.
    pub chart_import_keys: Vec<Option<String>>,
}

/// A history entry, with its id and import key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// The entry.
    pub entry: HistoryEntry,
    /// The predecessor's row it was imported from, if it was.
    pub import_key: Option<String>,
}

/// An archived chart image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// The file.
    pub image: ChartImage,
    /// When it was first stored.
    pub stored_at: Timestamp,
}

/// The link from a chart's source key to its archived image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageLinkRecord {
    /// The chart's source key.
    pub source_key: String,
    /// The image.
    pub digest: ImageDigest,
    /// When it was linked.
    pub linked_at: Timestamp,
}

/// A runtime status value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    /// Its key.
    pub key: String,
    /// Its value and time.
    pub record: StatusRecord,
}

/// An API token as stored: its hash and what is known of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntry {
    /// The SHA-256 of the token.
    pub hash: TokenHash,
    /// Its name, scope and times.
    pub record: TokenRecord,
}

/// A batch of records to write, all of one kind. Plans go before the history that names them, images before the
/// links to them, subscriptions before their deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferBatch {
    /// Plans with their charts.
    Plans(Vec<PlanRecord>),
    /// History entries.
    History(Vec<HistoryRecord>),
    /// Image files.
    Images(Vec<ImageRecord>),
    /// Links to image files.
    Links(Vec<ImageLinkRecord>),
    /// Runtime status values.
    Status(Vec<StatusEntry>),
    /// API tokens, oldest first.
    Tokens(Vec<TokenEntry>),
    /// Webhook subscriptions, with their ids.
    Subscriptions(Vec<Subscription>),
    /// Webhook deliveries, with their ids and message ids (after the subscriptions they belong to).
    Deliveries(Vec<Delivery>),
}

/// How many records of each kind a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferCounts {
    /// Plans, deleted ones included.
    pub plans: u64,
    /// Charts of all plans.
    pub charts: u64,
    /// History entries.
    pub history: u64,
    /// Archived image files.
    pub images: u64,
    /// Links to them.
    pub links: u64,
    /// Runtime status values.
    pub status: u64,
    /// API tokens, revoked ones included.
    pub tokens: u64,
    /// Webhook subscriptions.
    pub subscriptions: u64,
    /// Webhook deliveries.
    pub deliveries: u64,
}

impl TransferCounts {
    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::fmt::Display for TransferCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} plans, {} charts, {} history entries, {} chart images ({} links), {} status values, {} API tokens, \
             {} webhook subscriptions, {} webhook deliveries",
            self.plans,
            self.charts,
            self.history,
            self.images,
            self.links,
            self.status,
            self.tokens,
            self.subscriptions,
            self.deliveries
        )
    }
}

/// Reading every record of a store and writing records into an empty one.
///
/// Contract (checked by the copy round trip tests): exports return records ordered by their key (plans and history
/// by id, images by digest, links by source key, status by key, tokens, subscriptions and deliveries by id), those
/// after `after`, at most `limit`; an import
/// writes one batch as one unit, keeping ids, so that history entries still name their plans and the next plan
/// created gets an id past every imported one (after [`finish_import`](Self::finish_import)); [`clear`](Self::clear)
/// removes every record, leaving the schema.
pub trait StoreTransfer: Send + Sync {
    /// How many records of each kind the store holds.
    ///
    /// # Errors
    /// Storage failures.
    fn transfer_counts(&self) -> Result<TransferCounts, RepoError>;

    /// Plans (with charts) with an id past `after`, by id.
    ///
    /// # Errors
    /// Storage failures.
    fn export_plans(&self, after: i64, limit: usize) -> Result<Vec<PlanRecord>, RepoError>;

    /// History entries with an id past `after`, by id.
    ///
    /// # Errors
    /// Storage failures.
    fn export_history(&self, after: i64, limit: usize) -> Result<Vec<HistoryRecord>, RepoError>;

    /// Image files with a digest past `after` (`""` for the first), by digest.
    ///
    /// # Errors
    /// Storage failures.
    fn export_images(&self, after: &str, limit: usize) -> Result<Vec<ImageRecord>, RepoError>;

    /// Links with a source key past `after` (`""` for the first), by source key.
    ///
    /// # Errors
    /// Storage failures.
    fn export_links(&self, after: &str, limit: usize) -> Result<Vec<ImageLinkRecord>, RepoError>;

    /// Every runtime status value, by key.
    ///
    /// # Errors
    /// Storage failures.
    fn export_status(&self) -> Result<Vec<StatusEntry>, RepoError>;

    /// Every API token, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    fn export_tokens(&self) -> Result<Vec<TokenEntry>, RepoError>;

    /// Every webhook subscription, by id.
    ///
    /// # Errors
    /// Storage failures.
    fn export_subscriptions(&self) -> Result<Vec<Subscription>, RepoError>;

    /// Webhook deliveries with an id past `after`, by id.
    ///
    /// # Errors
    /// Storage failures.
    fn export_deliveries(&self, after: i64, limit: usize) -> Result<Vec<Delivery>, RepoError>;

    /// Writes a batch as one unit, keeping ids.
    ///
    /// # Errors
    /// Storage failures; nothing of the batch is kept.
    fn import(&self, batch: &TransferBatch) -> Result<(), RepoError>;

    /// Completes an import: ids given to new rows start past every imported one.
    ///
    /// # Errors
    /// Storage failures.
    fn finish_import(&self) -> Result<(), RepoError>;

    /// What names this database however it was reached (a file through a link or another spelling of its path, a
    /// server by another of its names): two stores with the same identity are one database, so a copy from one to
    /// the other would first remove what it is about to copy.
    ///
    /// # Errors
    /// Storage failures.
    fn identity(&self) -> Result<String, RepoError>;

    /// Removes every record (plans, charts, history, images, links, status, tokens, subscriptions, deliveries),
    /// keeping the schema.
    ///
    /// # Errors
    /// Storage failures.
    fn clear(&self) -> Result<(), RepoError>;
}

/// A SHA-256 over records fed in export order: two stores with the same content have the same digest.
#[derive(Debug, Clone, Default)]
pub struct ContentDigest {
    hash: Sha256,
}

impl ContentDigest {
    /// An empty digest.
    pub fn new() -> Self {
        Self::default()
    }

    fn field(&mut self, text: &str) {
        self.hash.update((text.len() as u64).to_le_bytes());
        self.hash.update(text.as_bytes());
    }

    /// Adds a plan record: every field of the plan, its charts and its keys.
    pub fn plan(&mut self, record: &PlanRecord) {
        self.field("plan");
        self.field(&format!("{:?}", record.plan));
        self.field(&format!("{:?} {:?} {:?}", record.import_key, record.import_digest, record.chart_import_keys));
    }

    /// Adds a history record.
    pub fn history(&mut self, record: &HistoryRecord) {
        self.field("history");
        self.field(&format!("{:?} {:?}", record.entry, record.import_key));
    }

    /// Adds an image record: its bytes (through their digest, checked against the recorded one), type and time.
    pub fn image(&mut self, record: &ImageRecord) {
        self.field("image");
        let bytes = ImageDigest::of(&record.image.bytes);
        let intact = if bytes == record.image.digest { "intact" } else { "altered" };
        self.field(&format!(
            "{} {bytes} {intact} {:?} {:?}",
            record.image.digest, record.image.content_type, record.stored_at
        ));
    }

    /// Adds a link record.
    pub fn link(&mut self, record: &ImageLinkRecord) {
        self.field("link");
        self.field(&format!("{:?}", record));
    }

    /// Adds a status entry.
    pub fn status(&mut self, entry: &StatusEntry) {
        self.field("status");
        self.field(&format!("{entry:?}"));
    }

    /// Adds a token: its hash and record.
    pub fn token(&mut self, entry: &TokenEntry) {
        self.field("token");
        self.field(&format!("{} {:?}", entry.hash.to_hex(), entry.record));
    }

    /// Adds a subscription, its secret included (`Debug` leaves it out).
    pub fn subscription(&mut self, subscription: &Subscription) {
        self.field("subscription");
        self.field(&format!("{subscription:?} {}", subscription.secret.expose()));
    }

    /// Adds a delivery.
    pub fn delivery(&mut self, delivery: &Delivery) {
        self.field("delivery");
        self.field(&format!("{delivery:?}"));
    }

    /// The digest, as 64 lowercase hexadecimal digits.
    pub fn finish(self) -> String {
        self.hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}
