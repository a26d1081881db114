//! Import of the predecessor's SQLite database (schema version 1) into this schema: active and soft-deleted plans,
//! their charts in order and their history, in one transaction, so that an import is all or nothing.
//!
//! Every imported row carries an import key built from the legacy row (`legacy:{coach_name}:{date}:{created_at}` for
//! a plan, with `#chart{id}`, `#created`, `#history{id}`, `#edited` and `#deleted` suffixes for its charts and
//! history entries), so importing the same file again adds nothing. Rows that cannot be imported are listed in the
//! summary with the reason, never dropped silently.
//!
//! How legacy data becomes plans and history:
//! - Each `plan_history` row holds the text before one edit: it becomes an `edited` entry whose text after is the next
//!   row's text before (or the plan's text), ordered by time, then by id. The plan's version is the number of entries.
//! - A plan with `edited_at` but no history rows was edited without a record of it: it imports at version 2, with a
//!   `created` entry whose text is not recorded (`None`) and an `edited` entry at `edited_at` by
//!   [`UNRECORDED_EDITOR_NAME`] whose text before is not recorded and whose text after is the plan's text. Its
//!   `updated_at` is `edited_at`, so it reads as edited, as it did in the predecessor.
//! - A timestamp of a chart (`added_at`) or a history row (`edited_at`) that cannot be read does not cost the plan:
//!   that row takes the plan's `created_at`, and the summary lists it in [`ImportSummary::warnings`]. So does an
//!   unreadable `edited_at` of the plan itself (its last recorded change, or `created_at`, is used). An unreadable
//!   `created_at`, coach or date skips the plan ([`ImportSummary::skipped`]).
//! - A soft-deleted plan, or an active one whose coach and date already have another active plan here
//!   ([`ImportSummary::conflicts`]), imports deleted at its last change, with a `deleted` entry by
//!   [`IMPORT_ACTOR_NAME`]. A plan imported deleted stays deleted when imported again; `!restore` brings it back.
//!
//! Importing a newer snapshot of the same legacy database: plans new since the last import are imported. Each
//! imported plan records a fingerprint of the legacy rows it came from (its row, its charts, its history rows); a plan
//! whose rows are unchanged in the snapshot is left alone, whatever was done to it here since. One the predecessor
//! changed since (new charts or history rows, new text, deleted) is brought up to date: its text, deletion, charts and
//! history become the snapshot's, and it is listed in [`ImportSummary::updated`] with the rows added (its history
//! entries are rewritten, so they get new ids). It is left as it is, and listed in [`ImportSummary::outdated`] with
//! the reason, when it has also been changed here since its import (the change made here wins), or when the snapshot
//! lacks rows an earlier import took from it (an older snapshot). Importing the same snapshot again adds and changes
//! nothing.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use core_model::transition::NewHistoryEntry;
use core_model::{
    Author, Chart, ChartKind, CoachId, HistoryAction, Plan, PlanId, PlanSource, RepoError, TickerRules, TradingDate,
};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use crate::error::{plan_write_error, repo_error};
use crate::{SqliteStore, rows, timestamp};

/// The legacy schema version this importer reads.
pub const LEGACY_SCHEMA_VERSION: i64 = 1;

/// The name recorded as the actor of the deletions the import records.
pub const IMPORT_ACTOR_NAME: &str = "legacy import";

/// The name recorded as the actor of an edit the predecessor made without recording who made it.
pub const UNRECORDED_EDITOR_NAME: &str = "unknown (not recorded)";

/// The tables a legacy database must have.
const LEGACY_TABLES: [&str; 4] = ["coach_plans", "plan_charts", "plan_history", "schema_version"];

/// Why an import failed. When it fails, nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file does not exist.
    #[error("the legacy database {} does not exist", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file is not a SQLite database.
    #[error("{} is not a SQLite database", path.display())]
    NotSqlite {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// Tables of the legacy schema are missing.
    #[error("{} is not the predecessor's database: it lacks the tables {}", path.display(), tables.join(", "))]
    MissingTables {
        /// The file.
        path: PathBuf,
        /// The missing tables.
        tables: Vec<&'static str>,
    },
    /// The legacy database has a newer schema than the one this importer reads.
    #[error(
        "the legacy database {} has schema version {found}, newer than version {LEGACY_SCHEMA_VERSION}, the only one this importer reads",
        path.display()
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The version it records.
        found: i64,
    },
    /// Reading the legacy database failed (e.g. a column is missing).
    #[error("cannot read the legacy database {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing into the store failed; nothing was imported.
    #[error("cannot write the imported plans; nothing was imported")]
    Write(#[source] RepoError),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Legacy plans imported by this run.
    pub plans_imported: u64,
    /// Legacy plans imported by an earlier run and unchanged since (or left as they are: see [`Self::outdated`]).
    pub plans_already_present: u64,
    /// Charts added by this run (to new plans and to plans brought up to date).
    pub charts_imported: u64,
    /// History entries added by this run (to new plans and to plans brought up to date).
    pub history_imported: u64,
    /// Plans imported by an earlier run that this run brought up to date with the newer snapshot.
    pub updated: Vec<UpdatedPlan>,
    /// Active legacy plans imported as deleted, because another plan is active for their coach and date.
    pub conflicts: Vec<ImportConflict>,
    /// Legacy plans imported by an earlier run that have changed since but were left as they are, with the reason.
    pub outdated: Vec<OutdatedPlan>,
    /// Legacy rows imported with a stand-in for a value that could not be read.
    pub warnings: Vec<ImportWarning>,
    /// Legacy rows not imported, with the reason.
    pub skipped: Vec<SkippedRow>,
}

/// A plan imported by an earlier run that a newer snapshot brought up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedPlan {
    /// The legacy plan's id.
    pub legacy_id: i64,
    /// The plan it became.
    pub plan_id: PlanId,
    /// Charts the snapshot added.
    pub charts_added: u64,
    /// History entries the snapshot added.
    pub history_added: u64,
}

/// An active legacy plan imported as deleted, because another plan is active for its coach and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportConflict {
    /// The legacy plan's id.
    pub legacy_id: i64,
    /// Its coach.
    pub coach: CoachId,
    /// Its date.
    pub date: TradingDate,
    /// The deleted plan it became.
    pub imported_as: PlanId,
    /// The plan active for that coach and date.
    pub active: PlanId,
}

/// A legacy plan imported by an earlier run, changed in the snapshot since, and left as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutdatedPlan {
    /// The legacy plan's id.
    pub legacy_id: i64,
    /// The plan it became.
    pub plan_id: PlanId,
    /// Why it was not brought up to date.
    pub reason: String,
}

/// A legacy row imported with a stand-in for a value that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    /// The legacy table (`coach_plans`, `plan_charts` or `plan_history`).
    pub table: &'static str,
    /// The row's id.
    pub legacy_id: i64,
    /// The id of the legacy plan it belongs to (its own id for a `coach_plans` row).
    pub plan_legacy_id: i64,
    /// What could not be read, and what was used instead.
    pub message: String,
}

/// A legacy row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The legacy table (`coach_plans`, `plan_charts` or `plan_history`).
    pub table: &'static str,
    /// The row's id.
    pub legacy_id: i64,
    /// Why.
    pub reason: String,
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {}, updated {}, added {} and {}; {} already present",
            count(self.plans_imported, "plan", "plans"),
            count(self.updated.len() as u64, "plan", "plans"),
            count(self.charts_imported, "chart", "charts"),
            count(self.history_imported, "history entry", "history entries"),
            count(self.plans_already_present, "plan", "plans"),
        )?;
        for u in &self.updated {
            write!(
                f,
                "\nupdated: legacy plan {} (plan {}) from the newer snapshot: {} and {} added",
                u.legacy_id,
                u.plan_id,
                count(u.charts_added, "chart", "charts"),
                count(u.history_added, "history entry", "history entries"),
            )?;
        }
        for c in &self.conflicts {
            write!(
                f,
                "\nconflict: legacy plan {} (coach {}, {}) was imported as deleted plan {}, because plan {} is active for that coach and date",
                c.legacy_id, c.coach, c.date, c.imported_as, c.active
            )?;
        }
        for o in &self.outdated {
            write!(
                f,
                "\noutdated: legacy plan {} was imported before as plan {} and has changed since; it is left as it is because {}",
                o.legacy_id, o.plan_id, o.reason
            )?;
        }
        for w in &self.warnings {
            write!(f, "\nwarning: {} row {} (legacy plan {}): {}", w.table, w.legacy_id, w.plan_legacy_id, w.message)?;
        }
        for s in &self.skipped {
            write!(f, "\nskipped {} row {}: {}", s.table, s.legacy_id, s.reason)?;
        }
        Ok(())
    }
}

/// A row of `coach_plans`.
struct LegacyPlan {
    id: i64,
    coach_name: String,
    date: String,
    text: String,
    author: String,
    channel: Option<String>,
    created_at: String,
    edited_at: Option<String>,
    is_deleted: bool,
}

/// A row of `plan_charts`.
struct LegacyChart {
    id: i64,
    plan_id: i64,
    url: String,
    filename: Option<String>,
    added_at: String,
}

/// A row of `plan_history`: the text of a plan before one edit.
struct LegacyEdit {
    id: i64,
    plan_id: i64,
    text_before: String,
    edited_by: String,
    edited_at: String,
}

/// Everything read from the legacy database.
struct LegacyData {
    plans: Vec<LegacyPlan>,
    charts: BTreeMap<i64, Vec<LegacyChart>>,
    edits: BTreeMap<i64, Vec<LegacyEdit>>,
}

/// A legacy plan in this schema, ready to write.
struct ImportedPlan {
    key: String,
    /// The plan (its id is set when written).
    plan: Plan,
    /// Import keys of its charts, in the order of `plan.charts`.
    chart_keys: Vec<String>,
    /// Its history entries, oldest first, with their import keys.
    entries: Vec<(NewHistoryEntry, String)>,
    /// When it last changed in the legacy database.
    last_change: Timestamp,
    /// The fingerprint of the legacy rows it comes from.
    digest: String,
}

impl ImportedPlan {
    /// The key of the deletion entry the import records.
    fn deleted_key(&self) -> String {
        format!("{}#deleted", self.key)
    }

    /// Marks the plan deleted at its last change, recording the deletion.
    fn delete(&mut self) {
        self.plan.version += 1;
        self.plan.deleted_at = Some(self.last_change);
        let entry = NewHistoryEntry {
            action: HistoryAction::Deleted,
            version: self.plan.version,
            text_before: Some(self.plan.text.clone()),
            text_after: None,
            actor: Author { user_id: None, display_name: IMPORT_ACTOR_NAME.to_owned() },
            at: self.last_change,
            message_id: None,
        };
        let key = self.deleted_key();
        self.entries.push((entry, key));
    }

    fn entry_keys(&self) -> Vec<Option<String>> {
        self.entries.iter().map(|(_, key)| Some(key.clone())).collect()
    }
}

/// Imports the predecessor's database at `legacy_path` into `store`, in one transaction. Naive legacy timestamps are
/// read as local times of `zone` and stored in UTC.
///
/// Coach names `coach_d` (and `d`) become coach id `d`, whether or not the coach is on today's roster. Authors are
/// kept by name (no user id). The module documentation says how rows become plans and history, what a bad timestamp
/// does, and what importing a newer snapshot of the same database does.
///
/// # Errors
/// [`ImportError::Missing`], [`ImportError::NotSqlite`], [`ImportError::MissingTables`] and
/// [`ImportError::NewerSchema`] when the file is not a legacy database this importer reads; [`ImportError::Read`]
/// when reading it fails; [`ImportError::Write`] when writing fails. Nothing is imported when it fails.
pub fn import_legacy(store: &SqliteStore, legacy_path: &Path, zone: &TimeZone) -> Result<ImportSummary, ImportError> {
    let data = read_legacy(legacy_path)?;
    let mut summary = ImportSummary::default();
    let mut imported = Vec::new();
    let LegacyData { plans, mut charts, mut edits } = data;
    for legacy in &plans {
        let plan_charts = charts.remove(&legacy.id).unwrap_or_default();
        let plan_edits = edits.remove(&legacy.id).unwrap_or_default();
        match translate(legacy, &plan_charts, plan_edits, zone, store.ticker_rules(), &mut summary.warnings) {
            Ok(plan) => imported.push((plan, legacy)),
            Err(reason) => summary.skipped.push(SkippedRow { table: "coach_plans", legacy_id: legacy.id, reason }),
        }
    }
    for (plan_id, orphans) in charts {
        for chart in orphans {
            summary.skipped.push(SkippedRow { table: "plan_charts", legacy_id: chart.id, reason: no_plan(plan_id) });
        }
    }
    for (plan_id, orphans) in edits {
        for edit in orphans {
            summary.skipped.push(SkippedRow { table: "plan_history", legacy_id: edit.id, reason: no_plan(plan_id) });
        }
    }
    let summary = store
        .write(|tx| {
            for (plan, legacy) in imported {
                write_plan(tx, plan, legacy, &mut summary)?;
            }
            Ok(summary)
        })
        .map_err(ImportError::Write)?;
    tracing::info!(
        legacy = %legacy_path.display(),
        plans_imported = summary.plans_imported,
        plans_updated = summary.updated.len(),
        plans_already_present = summary.plans_already_present,
        conflicts = summary.conflicts.len(),
        outdated = summary.outdated.len(),
        warnings = summary.warnings.len(),
        skipped = summary.skipped.len(),
        "imported the legacy database"
    );
    Ok(summary)
}

fn no_plan(plan_id: i64) -> String {
    format!("it belongs to plan {plan_id}, which is not in coach_plans")
}

/// Writes one translated legacy plan: a new one, or one an earlier import wrote, brought up to date when it can be.
fn write_plan(
    conn: &Connection,
    imported: ImportedPlan,
    legacy: &LegacyPlan,
    summary: &mut ImportSummary,
) -> Result<(), RepoError> {
    let existing: Option<i64> = conn
        .prepare_cached("SELECT id FROM plans WHERE import_key = ?1")
        .and_then(|mut stmt| stmt.query_row([&imported.key], |r| r.get(0)).optional())
        .map_err(repo_error)?;
    match existing {
        None => insert_new(conn, imported, legacy, summary),
        Some(id) => bring_up_to_date(conn, PlanId(id), imported, legacy, summary),
    }
}

/// The plan active for the imported plan's coach and date, other than the plan `except`.
fn other_active_plan(conn: &Connection, plan: &Plan, except: Option<PlanId>) -> Result<Option<PlanId>, RepoError> {
    let active = rows::active_plan(conn, &plan.coach, plan.date).map_err(repo_error)?;
    Ok(active.map(|p| p.id).filter(|id| Some(*id) != except))
}

/// Writes the plan's row's charts and history entries (the plan row exists, with `imported.plan.id`).
fn write_children(conn: &Connection, imported: &ImportedPlan) -> Result<(), RepoError> {
    let plan = &imported.plan;
    for (chart, key) in plan.charts.iter().zip(&imported.chart_keys) {
        rows::insert_chart(conn, plan.id, chart, Some(key)).map_err(repo_error)?;
    }
    for (entry, key) in &imported.entries {
        rows::insert_history(conn, plan, entry, Some(key)).map_err(repo_error)?;
    }
    Ok(())
}

/// Writes a legacy plan no earlier import wrote.
fn insert_new(
    conn: &Connection,
    mut imported: ImportedPlan,
    legacy: &LegacyPlan,
    summary: &mut ImportSummary,
) -> Result<(), RepoError> {
    let mut conflict = None;
    if !imported.plan.is_deleted() {
        conflict = other_active_plan(conn, &imported.plan, None)?;
        if conflict.is_some() {
            imported.delete();
        }
    }
    let plan = &mut imported.plan;
    plan.id =
        rows::insert_plan(conn, plan, Some(&imported.key)).map_err(|e| plan_write_error(e, &plan.coach, plan.date))?;
    write_children(conn, &imported)?;
    set_digest(conn, imported.plan.id, &imported.digest)?;
    let plan = &imported.plan;
    summary.plans_imported += 1;
    summary.charts_imported += plan.charts.len() as u64;
    summary.history_imported += imported.entries.len() as u64;
    if let Some(active) = conflict {
        summary.conflicts.push(ImportConflict {
            legacy_id: legacy.id,
            coach: plan.coach.clone(),
            date: plan.date,
            imported_as: plan.id,
            active,
        });
    }
    Ok(())
}

/// Import keys of a plan's stored charts (by position) or history entries (by version); `None` for rows made here.
fn stored_keys(conn: &Connection, sql: &str, id: PlanId) -> Result<Vec<Option<String>>, RepoError> {
    conn.prepare_cached(sql).and_then(|mut stmt| stmt.query_map([id.0], |r| r.get(0))?.collect()).map_err(repo_error)
}

/// Whether an import key of the plan keyed `plan_key` names a legacy row (as opposed to an entry the import made up:
/// `#edited`, `#deleted`).
fn is_legacy_row_key(plan_key: &str, key: &str) -> bool {
    key.strip_prefix(plan_key)
        .is_some_and(|suffix| suffix == "#created" || suffix.starts_with("#chart") || suffix.starts_with("#history"))
}

/// Brings a plan an earlier import wrote up to date with the snapshot's version of it, unless it changed here since
/// or the snapshot lacks rows the earlier import took.
fn bring_up_to_date(
    conn: &Connection,
    id: PlanId,
    mut fresh: ImportedPlan,
    legacy: &LegacyPlan,
    summary: &mut ImportSummary,
) -> Result<(), RepoError> {
    let stored_digest: Option<String> = conn
        .prepare_cached("SELECT import_digest FROM plans WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id.0], |r| r.get(0)))
        .map_err(repo_error)?;
    if stored_digest.as_deref() == Some(fresh.digest.as_str()) {
        // The predecessor has not changed the plan since it was imported (whatever was done to it here since).
        summary.plans_already_present += 1;
        return Ok(());
    }
    let stored = rows::plan_by_id(conn, id).map_err(repo_error)?.ok_or(RepoError::NotFound(id))?;
    let chart_keys = stored_keys(conn, "SELECT import_key FROM charts WHERE plan_id = ?1 ORDER BY position", id)?;
    let entry_keys = stored_keys(conn, "SELECT import_key FROM plan_history WHERE plan_id = ?1 ORDER BY version", id)?;
    // Imported deleted once (deleted in the predecessor, or its slot was taken): it stays deleted.
    let deleted_key = fresh.deleted_key();
    if !fresh.plan.is_deleted() && entry_keys.iter().any(|k| k.as_deref() == Some(deleted_key.as_str())) {
        fresh.delete();
    }
    let mut conflict = None;
    if !fresh.plan.is_deleted() {
        conflict = other_active_plan(conn, &fresh.plan, Some(id))?;
        if conflict.is_some() {
            fresh.delete();
        }
    }
    fresh.plan.id = id;
    let fresh_chart_keys: Vec<Option<String>> = fresh.chart_keys.iter().cloned().map(Some).collect();
    let fresh_entry_keys = fresh.entry_keys();
    let unchanged = chart_keys == fresh_chart_keys
        && entry_keys == fresh_entry_keys
        && (&stored.text, &stored.author, &stored.source, stored.version, stored.updated_at, stored.deleted_at)
            == (
                &fresh.plan.text,
                &fresh.plan.author,
                &fresh.plan.source,
                fresh.plan.version,
                fresh.plan.updated_at,
                fresh.plan.deleted_at,
            );
    if unchanged {
        // Imported by a build that did not record fingerprints, and unchanged since.
        set_digest(conn, id, &fresh.digest)?;
        summary.plans_already_present += 1;
        return Ok(());
    }
    let outdated = |reason: String| OutdatedPlan { legacy_id: legacy.id, plan_id: id, reason };
    if chart_keys.iter().chain(&entry_keys).any(Option::is_none) {
        summary.plans_already_present += 1;
        summary.outdated.push(outdated("it has been changed here since its import".to_owned()));
        return Ok(());
    }
    let fresh_keys: HashSet<&str> =
        fresh.chart_keys.iter().chain(fresh.entries.iter().map(|(_, key)| key)).map(String::as_str).collect();
    let lost = chart_keys.iter().chain(&entry_keys).flatten().filter(|k| is_legacy_row_key(&fresh.key, k));
    let lost = lost.filter(|k| !fresh_keys.contains(k.as_str())).count();
    if lost > 0 {
        summary.plans_already_present += 1;
        let reason = format!(
            "the snapshot lacks {} an earlier import took from it (is it older than the one imported before?)",
            count(lost as u64, "row", "rows")
        );
        summary.outdated.push(outdated(reason));
        return Ok(());
    }
    let added = |stored: &[Option<String>], fresh: &[Option<String>]| {
        fresh.iter().filter(|k| !stored.contains(k)).count() as u64
    };
    let (charts_added, history_added) = (added(&chart_keys, &fresh_chart_keys), added(&entry_keys, &fresh_entry_keys));
    conn.prepare_cached("DELETE FROM charts WHERE plan_id = ?1")
        .and_then(|mut stmt| stmt.execute([id.0]))
        .and_then(|_| conn.prepare_cached("DELETE FROM plan_history WHERE plan_id = ?1")?.execute([id.0]))
        .map_err(repo_error)?;
    rows::update_plan(conn, &fresh.plan).map_err(|e| plan_write_error(e, &fresh.plan.coach, fresh.plan.date))?;
    write_children(conn, &fresh)?;
    set_digest(conn, id, &fresh.digest)?;
    summary.charts_imported += charts_added;
    summary.history_imported += history_added;
    summary.updated.push(UpdatedPlan { legacy_id: legacy.id, plan_id: id, charts_added, history_added });
    if let Some(active) = conflict {
        summary.conflicts.push(ImportConflict {
            legacy_id: legacy.id,
            coach: fresh.plan.coach.clone(),
            date: fresh.plan.date,
            imported_as: id,
            active,
        });
    }
    Ok(())
}

/// A fingerprint of a legacy plan's rows as read (FNV-1a, 64 bits, over every field, each length-prefixed): equal
/// fingerprints mean the predecessor did not change the plan, its charts or its history between two snapshots.
fn legacy_digest(legacy: &LegacyPlan, charts: &[LegacyChart], edits: &[(Timestamp, LegacyEdit)]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut field = |bytes: &[u8]| {
        for byte in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    let text = |value: Option<&str>| value.map_or_else(|| vec![0xff], |v| v.as_bytes().to_vec());
    for value in [&legacy.coach_name, &legacy.date, &legacy.text, &legacy.author, &legacy.created_at] {
        field(value.as_bytes());
    }
    field(&text(legacy.channel.as_deref()));
    field(&text(legacy.edited_at.as_deref()));
    field(&[u8::from(legacy.is_deleted)]);
    for chart in charts {
        field(&chart.id.to_le_bytes());
        field(chart.url.as_bytes());
        field(&text(chart.filename.as_deref()));
        field(chart.added_at.as_bytes());
    }
    let mut edits: Vec<&LegacyEdit> = edits.iter().map(|(_, edit)| edit).collect();
    edits.sort_by_key(|edit| edit.id);
    for edit in edits {
        field(&edit.id.to_le_bytes());
        field(edit.text_before.as_bytes());
        field(edit.edited_by.as_bytes());
        field(edit.edited_at.as_bytes());
    }
    format!("{hash:016x}")
}

/// Records the fingerprint of the legacy rows a plan was imported from.
fn set_digest(conn: &Connection, id: PlanId, digest: &str) -> Result<(), RepoError> {
    conn.prepare_cached("UPDATE plans SET import_digest = ?2 WHERE id = ?1")
        .and_then(|mut stmt| stmt.execute(rusqlite::params![id.0, digest]))
        .map(drop)
        .map_err(repo_error)
}

/// Reads a naive local legacy timestamp (`2025-11-09T20:36:52.274074`, microseconds optional, `T` or a space) as a
/// time in `zone`. A timestamp with an offset or `Z` is taken as it is. Kept to the microsecond.
fn legacy_time(text: &str, zone: &TimeZone) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(timestamp::to_micros(ts));
    }
    let civil: DateTime = text.parse().map_err(|_| format!("`{text}` is not a timestamp"))?;
    zone.to_ambiguous_timestamp(civil)
        .compatible()
        .map(timestamp::to_micros)
        .map_err(|e| format!("`{text}` is not a time in {}: {e}", zone.iana_name().unwrap_or("the time zone")))
}

/// The coach id of a legacy coach name: `coach_d` or `d` is `d`.
fn legacy_coach(name: &str) -> Result<CoachId, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the coach name is empty".to_owned());
    }
    let lower = name.to_ascii_lowercase();
    let bare = lower.strip_prefix("coach_").unwrap_or(&lower);
    CoachId::new(bare).map_err(|e| format!("coach name `{name}` does not name a coach: {e}"))
}

/// Turns a legacy plan with its charts and edits into a plan of this schema with its history. A child row's
/// timestamp that cannot be read becomes the plan's `created_at`, with a warning.
fn translate(
    legacy: &LegacyPlan,
    charts: &[LegacyChart],
    edits: Vec<LegacyEdit>,
    zone: &TimeZone,
    rules: &TickerRules,
    warnings: &mut Vec<ImportWarning>,
) -> Result<ImportedPlan, String> {
    let coach = legacy_coach(&legacy.coach_name)?;
    let date = TradingDate::parse(legacy.date.trim()).map_err(|e| e.to_string())?;
    let created_at = legacy_time(&legacy.created_at, zone).map_err(|e| format!("created_at: {e}"))?;
    let key = format!("legacy:{}:{}:{}", legacy.coach_name, legacy.date, legacy.created_at);
    let mut warn = |table: &'static str, legacy_id: i64, message: String| {
        warnings.push(ImportWarning { table, legacy_id, plan_legacy_id: legacy.id, message });
    };

    let mut stored_charts = Vec::with_capacity(charts.len());
    let mut chart_keys = Vec::with_capacity(charts.len());
    for (chart, position) in charts.iter().zip(0u32..) {
        let added_at = legacy_time(&chart.added_at, zone).unwrap_or_else(|e| {
            warn("plan_charts", chart.id, format!("added_at {e}; the plan's created_at was used instead"));
            created_at
        });
        let filename = chart.filename.clone().filter(|f| !f.trim().is_empty());
        let kind = if filename.is_some() { ChartKind::Attachment } else { ChartKind::Link };
        stored_charts.push(Chart { position, url: chart.url.clone(), filename, content_type: None, kind, added_at });
        chart_keys.push(format!("{key}#chart{}", chart.id));
    }

    let mut timed_edits: Vec<(Timestamp, LegacyEdit)> = edits
        .into_iter()
        .map(|edit| {
            let at = legacy_time(&edit.edited_at, zone).unwrap_or_else(|e| {
                warn("plan_history", edit.id, format!("edited_at {e}; the plan's created_at was used instead"));
                created_at
            });
            (at, edit)
        })
        .collect();
    timed_edits.sort_by_key(|(at, edit)| (*at, edit.id));

    let marked_edited = legacy.edited_at.as_deref().is_some_and(|t| !t.trim().is_empty());
    let edited_at = legacy.edited_at.as_deref().filter(|t| !t.trim().is_empty()).and_then(|t| {
        legacy_time(t, zone)
            .map_err(|e| {
                warn(
                    "coach_plans",
                    legacy.id,
                    format!("edited_at {e}; its last recorded change (or created_at) was used instead"),
                );
            })
            .ok()
    });
    let last_change = edited_at.or_else(|| timed_edits.last().map(|(at, _)| *at)).unwrap_or(created_at);

    let author = Author { user_id: None, display_name: legacy.author.clone() };
    // Each legacy history row holds the text before its edit; the text after is the next row's, or the current text.
    let text_after = |i: usize| timed_edits.get(i).map_or_else(|| legacy.text.clone(), |(_, e)| e.text_before.clone());
    // Edited without a history row: neither the text at creation nor who edited it is known.
    let unrecorded_edit = marked_edited && timed_edits.is_empty();
    let mut entries = Vec::with_capacity(timed_edits.len() + 2);
    let created = NewHistoryEntry {
        action: HistoryAction::Created,
        version: 1,
        text_before: None,
        text_after: (!unrecorded_edit).then(|| text_after(0)),
        actor: author.clone(),
        at: created_at,
        message_id: None,
    };
    entries.push((created, format!("{key}#created")));
    for (i, (at, edit)) in timed_edits.iter().enumerate() {
        let entry = NewHistoryEntry {
            action: HistoryAction::Edited,
            version: u32::try_from(i + 2).map_err(|_| "too many history rows".to_owned())?,
            text_before: Some(edit.text_before.clone()),
            text_after: Some(text_after(i + 1)),
            actor: Author { user_id: None, display_name: edit.edited_by.clone() },
            at: *at,
            message_id: None,
        };
        entries.push((entry, format!("{key}#history{}", edit.id)));
    }
    if unrecorded_edit {
        let entry = NewHistoryEntry {
            action: HistoryAction::Edited,
            version: 2,
            text_before: None,
            text_after: Some(legacy.text.clone()),
            actor: Author { user_id: None, display_name: UNRECORDED_EDITOR_NAME.to_owned() },
            at: last_change,
            message_id: None,
        };
        entries.push((entry, format!("{key}#edited")));
    }

    let plan = Plan {
        id: PlanId(0),
        coach,
        date,
        text: legacy.text.clone(),
        author,
        source: PlanSource { channel_name: legacy.channel.clone(), ..PlanSource::default() },
        charts: stored_charts,
        tickers: rules.extract(&legacy.text),
        version: u32::try_from(entries.len()).map_err(|_| "too many history rows".to_owned())?,
        created_at,
        updated_at: last_change,
        deleted_at: None,
    };
    let digest = legacy_digest(legacy, charts, &timed_edits);
    let mut imported = ImportedPlan { key, plan, chart_keys, entries, last_change, digest };
    if legacy.is_deleted {
        imported.delete();
    }
    Ok(imported)
}

/// Opens the legacy database read-only, checks it, and reads every row.
fn read_legacy(path: &Path) -> Result<LegacyData, ImportError> {
    if !path.exists() {
        return Err(ImportError::Missing { path: path.to_owned() });
    }
    let read_error = |source: rusqlite::Error| {
        if source.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
            ImportError::NotSqlite { path: path.to_owned(), source }
        } else {
            ImportError::Read { path: path.to_owned(), source }
        }
    };
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(read_error)?;
    let mut missing = Vec::new();
    for table in LEGACY_TABLES {
        let found = conn
            .query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", [table], |_| Ok(()))
            .optional()
            .map_err(read_error)?;
        if found.is_none() {
            missing.push(table);
        }
    }
    if !missing.is_empty() {
        return Err(ImportError::MissingTables { path: path.to_owned(), tables: missing });
    }
    let version: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0)).map_err(read_error)?;
    if let Some(found) = version.filter(|v| *v > LEGACY_SCHEMA_VERSION) {
        return Err(ImportError::NewerSchema { path: path.to_owned(), found });
    }

    let plans = conn
        .prepare(
            "SELECT id, coach_name, date, plan, author, channel, created_at, edited_at, is_deleted FROM coach_plans ORDER BY id",
        )
        .and_then(|mut stmt| {
            stmt.query_map([], |r| {
                Ok(LegacyPlan {
                    id: r.get(0)?,
                    coach_name: r.get(1)?,
                    date: r.get(2)?,
                    text: r.get(3)?,
                    author: r.get(4)?,
                    channel: r.get(5)?,
                    created_at: r.get(6)?,
                    edited_at: r.get(7)?,
                    is_deleted: r.get::<_, Option<i64>>(8)?.unwrap_or(0) != 0,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(read_error)?;

    let mut charts: BTreeMap<i64, Vec<LegacyChart>> = BTreeMap::new();
    conn.prepare("SELECT id, plan_id, chart_url, filename, added_at FROM plan_charts ORDER BY plan_id, id")
        .and_then(|mut stmt| {
            for chart in stmt.query_map([], |r| {
                Ok(LegacyChart {
                    id: r.get(0)?,
                    plan_id: r.get(1)?,
                    url: r.get(2)?,
                    filename: r.get(3)?,
                    added_at: r.get(4)?,
                })
            })? {
                let chart = chart?;
                charts.entry(chart.plan_id).or_default().push(chart);
            }
            Ok(())
        })
        .map_err(read_error)?;

    let mut edits: BTreeMap<i64, Vec<LegacyEdit>> = BTreeMap::new();
    conn.prepare("SELECT id, plan_id, plan_text, edited_by, edited_at FROM plan_history ORDER BY plan_id, id")
        .and_then(|mut stmt| {
            for edit in stmt.query_map([], |r| {
                Ok(LegacyEdit {
                    id: r.get(0)?,
                    plan_id: r.get(1)?,
                    text_before: r.get(2)?,
                    edited_by: r.get(3)?,
                    edited_at: r.get(4)?,
                })
            })? {
                let edit = edit?;
                edits.entry(edit.plan_id).or_default().push(edit);
            }
            Ok(())
        })
        .map_err(read_error)?;

    Ok(LegacyData { plans, charts, edits })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_time(text: &str, expected_utc: &str) {
        let zone = TimeZone::get("America/New_York").unwrap();
        let got = legacy_time(text, &zone).unwrap();
        assert_eq!(timestamp::to_text(got), expected_utc, "legacy time {text:?}");
    }

    #[test]
    fn legacy_times_are_local_to_the_zone() {
        check_time("2025-11-09T20:36:52.274074", "2025-11-10T01:36:52.274074Z");
        check_time("2025-11-09T20:36:52", "2025-11-10T01:36:52.000000Z");
        check_time("2025-11-09 20:36:52.5", "2025-11-10T01:36:52.500000Z");
        check_time("2025-07-01 09:30:00", "2025-07-01T13:30:00.000000Z");
        check_time("2025-07-01T09:30:00+00:00", "2025-07-01T09:30:00.000000Z");
        check_time(" 2025-07-01T09:30:00 ", "2025-07-01T13:30:00.000000Z");
        // 02:30 on 2025-03-09 does not exist in New York; the later offset is used, like Python's fold=0.
        check_time("2025-03-09T02:30:00", "2025-03-09T07:30:00.000000Z");
        let zone = TimeZone::get("America/New_York").unwrap();
        for bad in ["", "yesterday", "2025-11-09T25:00:00", "09/11/2025 10:00"] {
            assert!(legacy_time(bad, &zone).is_err(), "{bad:?} is refused");
        }
    }

    #[test]
    fn legacy_coach_names_become_ids() {
        assert_eq!(legacy_coach("coach_d").unwrap().as_str(), "d");
        assert_eq!(legacy_coach("d").unwrap().as_str(), "d");
        assert_eq!(legacy_coach("Coach_Swing").unwrap().as_str(), "swing");
        assert_eq!(legacy_coach("  ").unwrap_err(), "the coach name is empty");
        assert!(legacy_coach("coach d").unwrap_err().contains("coach d"));
    }
}
