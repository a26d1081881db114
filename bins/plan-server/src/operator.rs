//! The database commands: `migrate`, `backup`, `copy-db` and `import-legacy`.

use std::path::Path;
use std::sync::Arc;

use app::startup::{self, ConfigArgs, ServerArgs, StartupError};
use core_model::MarketTimeZone;
use storage::backup::Overwrite;

/// `plan-server migrate`: creates the database when missing, applies pending migrations, reports the version.
pub(crate) fn migrate(config: &ConfigArgs, server: &ServerArgs) -> Result<(), StartupError> {
    let settings = startup::load_settings(config, Some(server))?;
    let _telemetry = app::init_telemetry(&settings.log, "plan-server")?;
    let store = startup::open_store(&settings)?;
    let status = store.schema_status().map_err(|e| StartupError::failed("cannot read the schema version", e))?;
    let applied = store.applied_at_open();
    if applied.is_empty() {
        println!("{}: schema version {} is up to date", store.describe(), status.current);
    } else {
        let list: Vec<String> = applied.iter().map(u32::to_string).collect();
        println!(
            "{}: applied migration(s) {}; schema version is now {}",
            store.describe(),
            list.join(", "),
            status.current
        );
    }
    Ok(())
}

/// `plan-server backup FILE [--force]`: an online, checked copy of the configured database at `file`; the database
/// is never created or migrated here (a missing one is an error).
pub(crate) fn backup(config: &ConfigArgs, server: &ServerArgs, file: &Path, force: bool) -> Result<(), StartupError> {
    let settings = startup::load_settings(config, Some(server))?;
    let _telemetry = app::init_telemetry(&settings.log, "plan-server")?;
    if let Some(url) = postgres_url(&settings)? {
        return Err(StartupError::failed(
            format!("cannot back up {url} with plan-server backup"),
            format!(
                "backup copies SQLite database files; back up PostgreSQL with its own tools, e.g. `pg_dump \
                 --format=custom --file={} 'postgres://USER@HOST/DATABASE'`, or take a SQLite copy with \
                 `plan-server copy-db --from 'postgres://...' --to {}`",
                file.display(),
                file.display()
            ),
        ));
    }
    let database = &settings.database.path;
    let overwrite = if force { Overwrite::Replace } else { Overwrite::Refuse };
    let summary = storage::backup::backup(database, file, overwrite)
        .map_err(|e| StartupError::failed(format!("cannot back up {} to {}", database.display(), file.display()), e))?;
    tracing::info!(
        database = %database.display(),
        backup = %summary.destination.display(),
        plans = summary.plans,
        bytes = summary.bytes,
        "database backed up"
    );
    println!(
        "backed up {} to {}: {} plans, schema version {}, {} bytes",
        database.display(),
        summary.destination.display(),
        summary.plans,
        summary.schema_version,
        summary.bytes
    );
    Ok(())
}

/// `plan-server import-legacy PATH`: copies the predecessor's database into the configured one and prints what
/// was imported.
pub(crate) fn import_legacy(
    config: &ConfigArgs,
    server: &ServerArgs,
    path: &Path,
    legacy_timezone: Option<MarketTimeZone>,
) -> Result<(), StartupError> {
    let settings = startup::load_settings(config, Some(server))?;
    let _telemetry = app::init_telemetry(&settings.log, "plan-server")?;
    let zone = legacy_timezone.unwrap_or_else(|| settings.market_time_zone());
    if let Some(url) = postgres_url(&settings)? {
        return Err(StartupError::failed(
            format!("cannot import {} into {url}", path.display()),
            "import-legacy writes into a SQLite database: import into one (give --database FILE), then move it over \
             with `plan-server copy-db --from FILE --to 'postgres://...'`",
        ));
    }
    let options = app::store::sqlite_options(&settings);
    let store = storage::SqliteStore::open(&settings.database.path, options).map_err(app::store::StoreError::from)?;
    let store = Arc::new(store);
    let summary = storage::legacy::import_legacy(&store, path, zone.zone())
        .map_err(|e| StartupError::failed(format!("cannot import {}", path.display()), e))?;
    println!("{summary}");
    println!("into {}", settings.database.path.display());
    let roster = settings.roster();
    let stats =
        core_model::PlanRepository::stats(&*store).map_err(|e| StartupError::failed("cannot count the plans", e))?;
    let unknown: Vec<String> = stats
        .active_by_coach
        .iter()
        .filter(|(coach, _)| roster.get(coach).is_none())
        .map(|(coach, n)| format!("{coach} ({n})"))
        .collect();
    if !unknown.is_empty() {
        println!(
            "note: active plans of coaches not in the roster: {}; add them to plans.coaches to read and change them \
             by coach (until then only /api/coach-plans/all lists them)",
            unknown.join(", ")
        );
    }
    Ok(())
}

/// The configured PostgreSQL database, shown without its password, when `database.url` is set.
fn postgres_url(settings: &app::Settings) -> Result<Option<String>, StartupError> {
    match app::store::Location::of(settings).map_err(|e| StartupError::failed("cannot read database.url", e))? {
        app::store::Location::Postgres(url) => Ok(Some(url.to_string())),
        app::store::Location::Sqlite(_) => Ok(None),
    }
}

/// `plan-server copy-db --from A --to B [--force]`: everything A holds into B (created and migrated when needed),
/// checked by counts and content digest.
pub(crate) fn copy_db(
    config: &ConfigArgs,
    server: &ServerArgs,
    from: &str,
    to: &str,
    force: bool,
) -> Result<(), StartupError> {
    use app::store::{Location, Store};
    let settings = startup::load_settings(config, Some(server))?;
    let _telemetry = app::init_telemetry(&settings.log, "plan-server")?;
    let locate = |text: &str| -> Result<Location, StartupError> {
        if text == "configured" {
            Location::of(&settings).map_err(|e| StartupError::failed("cannot read database.url", e))
        } else {
            Location::parse(text).map_err(|e| StartupError::failed("cannot read the database URL", e))
        }
    };
    let (source, target) = (locate(from)?, locate(to)?);
    if let Location::Sqlite(path) = &source
        && !path.exists()
    {
        return Err(StartupError::failed(
            format!("there is no database at {}", path.display()),
            "give --from an existing SQLite file, a postgres:// URL, or `configured`",
        ));
    }
    let from_store = Store::open(&source, &settings)?;
    let to_store = Store::open(&target, &settings)?;
    println!("copying {source} to {target}");
    let summary = app::copy::copy(&from_store, &to_store, force, |line| println!("  {line}"))
        .map_err(|e| StartupError::failed(format!("cannot copy {source} to {target}"), e))?;
    tracing::info!(from = %source, to = %target, digest = %summary.digest, "database copied");
    println!(
        "copied {} from {source} to {target}; the copy matches its source (content digest {})",
        summary.counts,
        &summary.digest[..16]
    );
    Ok(())
}
