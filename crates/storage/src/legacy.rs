//! Import of the predecessor's SQLite database (schema version 1) into this schema: active and soft-deleted plans,
//! their charts in order and their history, in one transaction, so that an import is all or nothing.
//!
//! Every imported row carries an import key built from the legacy row (`legacy:{coach_name}:{date}:{created_at}` for
//! a plan, with `#chart{id}`, `#created`, `#history{id}` and `#deleted` suffixes for its charts and history entries),
//! so importing the same file again adds nothing. Rows that cannot be imported are listed in the summary with the
//! reason, never dropped silently.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use core_model::transition::NewHistoryEntry;
use core_model::{Author, Chart, ChartKind, CoachId, HistoryAction, Plan, PlanId, PlanSource, RepoError, TradingDate};
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
    /// Legacy plans found imported by an earlier run, left as they are.
    pub plans_already_present: u64,
    /// Charts imported by this run.
    pub charts_imported: u64,
    /// History entries recorded by this run.
    pub history_imported: u64,
    /// Active legacy plans imported as deleted, because another plan is active for their coach and date.
    pub conflicts: Vec<ImportConflict>,
    /// Legacy plans imported by an earlier run that have changed since (they are not updated).
    pub outdated: Vec<OutdatedPlan>,
    /// Legacy rows not imported, with the reason.
    pub skipped: Vec<SkippedRow>,
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

/// A legacy plan imported by an earlier run whose text or deletion has changed since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutdatedPlan {
    /// The legacy plan's id.
    pub legacy_id: i64,
    /// The plan it became.
    pub plan_id: PlanId,
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
            "imported {} with {} and {}; {} already present",
            count(self.plans_imported, "plan", "plans"),
            count(self.charts_imported, "chart", "charts"),
            count(self.history_imported, "history entry", "history entries"),
            count(self.plans_already_present, "plan", "plans"),
        )?;
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
                "\noutdated: legacy plan {} was imported before as plan {} and has changed since; the import does not update it",
                o.legacy_id, o.plan_id
            )?;
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
}

impl ImportedPlan {
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
        self.entries.push((entry, format!("{}#deleted", self.key)));
    }
}

/// Imports the predecessor's database at `legacy_path` into `store`, in one transaction. Naive legacy timestamps are
/// read as local times of `zone` and stored in UTC.
///
/// Coach names `coach_d` (and `d`) become coach id `d`, whether or not the coach is on today's roster. Authors are
/// kept by name (no user id). A legacy plan already imported is left as it is. An active legacy plan whose coach and
/// date already have another active plan is imported as deleted and listed in [`ImportSummary::conflicts`].
/// Rows that cannot be read as a plan (empty coach name, bad date or timestamp, a chart or history row of no plan)
/// are listed in [`ImportSummary::skipped`].
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
        match translate(legacy, &plan_charts, plan_edits, zone) {
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
        plans_already_present = summary.plans_already_present,
        conflicts = summary.conflicts.len(),
        skipped = summary.skipped.len(),
        "imported the legacy database"
    );
    Ok(summary)
}

fn no_plan(plan_id: i64) -> String {
    format!("it belongs to plan {plan_id}, which is not in coach_plans")
}

/// Writes one translated legacy plan, unless an earlier import wrote it.
fn write_plan(
    conn: &Connection,
    mut imported: ImportedPlan,
    legacy: &LegacyPlan,
    summary: &mut ImportSummary,
) -> Result<(), RepoError> {
    let existing: Option<(i64, String, bool)> = conn
        .prepare_cached("SELECT id, text, deleted_at IS NOT NULL FROM plans WHERE import_key = ?1")
        .and_then(|mut stmt| stmt.query_row([&imported.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
        .map_err(repo_error)?;
    if let Some((id, text, deleted)) = existing {
        summary.plans_already_present += 1;
        if text != legacy.text || (legacy.is_deleted && !deleted) {
            summary.outdated.push(OutdatedPlan { legacy_id: legacy.id, plan_id: PlanId(id) });
        }
        return Ok(());
    }
    let mut conflict = None;
    if !imported.plan.is_deleted() {
        let active = rows::active_plan(conn, &imported.plan.coach, imported.plan.date).map_err(repo_error)?;
        if let Some(active) = active {
            imported.delete();
            conflict = Some(active.id);
        }
    }
    let plan = &mut imported.plan;
    plan.id =
        rows::insert_plan(conn, plan, Some(&imported.key)).map_err(|e| plan_write_error(e, &plan.coach, plan.date))?;
    for (chart, key) in plan.charts.iter().zip(&imported.chart_keys) {
        rows::insert_chart(conn, plan.id, chart, Some(key)).map_err(repo_error)?;
    }
    for (entry, key) in &imported.entries {
        rows::insert_history(conn, plan, entry, Some(key)).map_err(repo_error)?;
    }
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

/// Turns a legacy plan with its charts and edits into a plan of this schema with its history.
fn translate(
    legacy: &LegacyPlan,
    charts: &[LegacyChart],
    mut edits: Vec<LegacyEdit>,
    zone: &TimeZone,
) -> Result<ImportedPlan, String> {
    let coach = legacy_coach(&legacy.coach_name)?;
    let date = TradingDate::parse(legacy.date.trim()).map_err(|e| e.to_string())?;
    let created_at = legacy_time(&legacy.created_at, zone).map_err(|e| format!("created_at: {e}"))?;
    let edited_at =
        legacy.edited_at.as_deref().map(|t| legacy_time(t, zone)).transpose().map_err(|e| format!("edited_at: {e}"))?;
    let key = format!("legacy:{}:{}:{}", legacy.coach_name, legacy.date, legacy.created_at);

    let mut stored_charts = Vec::with_capacity(charts.len());
    let mut chart_keys = Vec::with_capacity(charts.len());
    for (chart, position) in charts.iter().zip(0u32..) {
        let added_at = legacy_time(&chart.added_at, zone).map_err(|e| format!("chart {}: added_at: {e}", chart.id))?;
        let filename = chart.filename.clone().filter(|f| !f.trim().is_empty());
        let kind = if filename.is_some() { ChartKind::Attachment } else { ChartKind::Link };
        stored_charts.push(Chart { position, url: chart.url.clone(), filename, content_type: None, kind, added_at });
        chart_keys.push(format!("{key}#chart{}", chart.id));
    }

    let mut timed_edits = Vec::with_capacity(edits.len());
    for edit in edits.drain(..) {
        let at = legacy_time(&edit.edited_at, zone).map_err(|e| format!("history row {}: edited_at: {e}", edit.id))?;
        timed_edits.push((at, edit));
    }
    timed_edits.sort_by_key(|(at, edit)| (*at, edit.id));

    let author = Author { user_id: None, display_name: legacy.author.clone() };
    // Each legacy history row holds the text before its edit; the text after is the next row's, or the current text.
    let text_after = |i: usize| timed_edits.get(i).map_or_else(|| legacy.text.clone(), |(_, e)| e.text_before.clone());
    let mut entries = Vec::with_capacity(timed_edits.len() + 2);
    let created = NewHistoryEntry {
        action: HistoryAction::Created,
        version: 1,
        text_before: None,
        text_after: Some(text_after(0)),
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

    let last_change = edited_at.or_else(|| timed_edits.last().map(|(at, _)| *at)).unwrap_or(created_at);
    let plan = Plan {
        id: PlanId(0),
        coach,
        date,
        text: legacy.text.clone(),
        author,
        source: PlanSource { channel_name: legacy.channel.clone(), ..PlanSource::default() },
        charts: stored_charts,
        version: u32::try_from(entries.len()).map_err(|_| "too many history rows".to_owned())?,
        created_at,
        updated_at: last_change,
        deleted_at: None,
    };
    let mut imported = ImportedPlan { key, plan, chart_keys, entries, last_change };
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
