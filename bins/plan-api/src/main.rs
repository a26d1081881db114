//! `plan-api`: the HTTP API alone, over the shared database (the bot may run beside it in another process).

use std::process::ExitCode;

use app::startup::{self, ConfigArgs, ServerArgs, StartupError};
use clap::Parser;

/// Serve coach plans over HTTP: the predecessor's routes, /api/v1, /health and /metrics.
#[derive(Debug, Parser)]
#[command(name = "plan-api", version)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match actix_web::rt::System::new().block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            err.report();
            err.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<(), StartupError> {
    let shutdown = startup::shutdown_signal();
    let settings = startup::load_settings(&cli.config, Some(&cli.server))?;
    let _telemetry = app::init_server_telemetry(&settings.log, "plan-api")?;
    let store = startup::open_store(&settings)?;
    let service = startup::build_service(&settings, &store);
    let address = settings.api.address();
    let application = startup::api_application(&settings, service.clone(), &store)
        .map_err(|e| StartupError::cannot_listen(&address, e))?;
    let url = format!("http://{}:{}", settings.api.host, application.port());
    startup::warn_if_exposed(&settings);
    let delivery = startup::start_delivery(&settings, &store, &service)?;
    tracing::info!(%url, database = %store.describe(), auth = ?settings.api.auth, "plan-api listening");
    println!("plan-api listening on {url}");
    let served = application.run_until(shutdown).await;
    if let Some(delivery) = delivery {
        delivery.stop().await;
    }
    served.map_err(|e| StartupError::failed("the HTTP server failed", e))?;
    tracing::info!("plan-api stopped");
    Ok(())
}
