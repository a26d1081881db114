//! The database commands: `migrate`, `backup` and `import-legacy`.

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
        println!("{}: schema version {} is up to date", settings.database.path.display(), status.current);
    } else {
        let list: Vec<String> = applied.iter().map(u32::to_string).collect();
        println!(
            "{}: applied migration(s) {}; schema version is now {}",
            settings.database.path.display(),
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
    let store = Arc::new(startup::open_store(&settings)?);
    let summary = storage::legacy::import_legacy(&store, path, zone.zone())
        .map_err(|e| StartupError::failed(format!("cannot import {}", path.display()), e))?;
    println!("{summary}");
    println!("into {}", settings.database.path.display());
    Ok(())
}
