//! The operator's commands of exposure: API tokens (`token create|list|revoke`) and webhook subscriptions
//! (`webhook add|list|remove|test|deliveries`).

use std::time::{Duration, Instant};

use app::startup::{self, ConfigArgs, ServerArgs, StartupError};
use app::{Settings, store::Store};
use clap::Subcommand;
use core_model::jiff::Timestamp;
use core_model::timestamp::rfc3339;
use core_model::{Delivery, DeliveryStatus, Scope, TokenRecord};
use service::AdminError;

/// `plan-server token ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a token and print it (once: only its SHA-256 is kept). The token is alone on the last line.
    Create {
        /// A name to know it by (letters, digits, `.`, `_`, `-`), e.g. the agent that uses it.
        #[arg(long)]
        name: String,
        /// `read` (plans, search, metrics, MCP) or `admin` (also webhooks over HTTP).
        #[arg(long, default_value = "read", value_parser = parse_scope)]
        scope: Scope,
        /// Days until it stops working (1 to 3650); never, when absent.
        #[arg(long, value_name = "DAYS")]
        expires_in: Option<u32>,
    },
    /// List the tokens: name, scope, state, when made, last used and expiry (never the tokens themselves).
    List,
    /// Revoke a token: every API process refuses it from its next request.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// `plan-server webhook ...`
#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Subscribe a receiver (an https:// URL) to plan events; prints the subscription's id and its signing secret,
    /// once.
    Add {
        /// Where deliveries go.
        url: String,
        /// Comma-separated events (plan.created, plan.edited, plan.deleted, plan.restored, plan.charts_changed);
        /// every one when absent.
        #[arg(long, value_name = "EVENTS")]
        events: Option<String>,
    },
    /// List the subscriptions.
    List,
    /// Remove a subscription and its deliveries.
    Remove {
        /// The subscription's id.
        id: i64,
    },
    /// Send a `webhook.test` event to a subscription now and report what the receiver answered.
    Test {
        /// The subscription's id.
        id: i64,
    },
    /// List deliveries, newest first, with their status and attempts.
    Deliveries {
        /// Only this subscription's.
        id: Option<i64>,
        /// Most deliveries listed (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    text.parse().map_err(|e: core_model::BadAccessValue| e.to_string())
}

/// What a command works with: its settings, its database, a runtime for the service's calls, and its logs (kept
/// until the command ends).
struct Opened {
    settings: Settings,
    store: Store,
    runtime: tokio::runtime::Runtime,
    _telemetry: app::TelemetryGuard,
}

fn open(config: &ConfigArgs, server: &ServerArgs) -> Result<Opened, StartupError> {
    let settings = startup::load_settings(config, Some(server))?;
    let telemetry = app::init_telemetry(&settings.log, "plan-server")?;
    let store = startup::open_store(&settings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| StartupError::failed("cannot start the runtime", e))?;
    Ok(Opened { settings, store, runtime, _telemetry: telemetry })
}

fn admin_error(context: &str, error: AdminError) -> StartupError {
    match error {
        AdminError::Storage(inner) => StartupError::failed(context.to_owned(), inner),
        // A name, scope, event, URL or expiry given on the command line that does not do: exit 2.
        AdminError::Invalid(bad) => StartupError::bad_argument(context.to_owned(), bad.to_string()),
        other => StartupError::failed(context.to_owned(), other.to_string()),
    }
}

fn when(at: Option<Timestamp>, none: &str) -> String {
    at.map_or_else(|| none.to_owned(), |t| format!("{t:.0}"))
}

/// `plan-server token ...`
pub(crate) fn token(config: &ConfigArgs, server: &ServerArgs, command: TokenCommand) -> Result<(), StartupError> {
    let Opened { store, runtime, _telemetry, .. } = open(config, server)?;
    let access = startup::access(&store);
    runtime.block_on(async move {
        match command {
            TokenCommand::Create { name, scope, expires_in } => {
                let (token, record) = access
                    .create(&name, scope, expires_in)
                    .await
                    .map_err(|e| admin_error("cannot make the token", e))?;
                tracing::info!(name = %record.name, scope = %record.scope, "API token created");
                println!(
                    "token {} ({} scope, expires {}); store it now, it is not shown again. Send it as \
                     Authorization: Bearer TOKEN, or in a URL as http://agent:TOKEN@host:port/",
                    record.name,
                    record.scope,
                    when(record.expires_at, "never")
                );
                println!("{}", token.expose());
                Ok(())
            }
            TokenCommand::List => {
                let tokens = access.list().await.map_err(|e| admin_error("cannot list the tokens", e))?;
                print_tokens(&tokens);
                Ok(())
            }
            TokenCommand::Revoke { name } => {
                access.revoke(&name).await.map_err(|e| admin_error("cannot revoke the token", e))?;
                tracing::info!(name = %name, "API token revoked");
                println!("revoked token {name}: every API process refuses it from its next request");
                Ok(())
            }
        }
    })
}

fn print_tokens(tokens: &[TokenRecord]) {
    if tokens.is_empty() {
        println!("no tokens; make one with plan-server token create --name NAME");
        return;
    }
    let now = Timestamp::now();
    println!("{:<24} {:<6} {:<8} {:<21} {:<21} EXPIRES", "NAME", "SCOPE", "STATE", "CREATED", "LAST USED");
    for t in tokens {
        println!(
            "{:<24} {:<6} {:<8} {:<21} {:<21} {}",
            t.name.to_string(),
            t.scope.to_string(),
            t.state(now).as_str(),
            when(Some(t.created_at), ""),
            when(t.last_used_at, "never"),
            when(t.expires_at, "never"),
        );
    }
}

/// `plan-server webhook ...`
pub(crate) fn webhook(config: &ConfigArgs, server: &ServerArgs, command: WebhookCommand) -> Result<(), StartupError> {
    let Opened { settings, store, runtime, _telemetry } = open(config, server)?;
    let hooks = startup::webhooks(&settings, &store);
    runtime.block_on(async move {
        match command {
            WebhookCommand::Add { url, events } => {
                let added =
                    hooks.add(&url, events.as_deref()).await.map_err(|e| admin_error("cannot add the webhook", e))?;
                let names: Vec<&str> = added.events.events().iter().map(|e| e.as_str()).collect();
                tracing::info!(id = added.id, events = %names.join(","), "webhook subscription added");
                println!("webhook {}: {} ({})", added.id, added.url, names.join(", "));
                println!(
                    "signing secret (shown once; receivers verify deliveries with it, as Standard Webhooks says):"
                );
                println!("{}", added.secret.expose());
                Ok(())
            }
            WebhookCommand::List => {
                let all = hooks.list().await.map_err(|e| admin_error("cannot list the webhooks", e))?;
                if all.is_empty() {
                    println!("no webhooks; add one with plan-server webhook add https://...");
                    return Ok(());
                }
                println!("{:<5} {:<21} {:<9} {:<70} URL", "ID", "CREATED", "STATE", "EVENTS");
                for s in all {
                    let events: Vec<&str> = s.events.events().iter().map(|e| e.as_str()).collect();
                    let state = if s.disabled_reason.is_some() { "disabled" } else { "enabled" };
                    let created = when(Some(s.created_at), "");
                    println!("{:<5} {created:<21} {state:<9} {:<70} {}", s.id, events.join(","), s.url);
                    if let Some(why) = &s.disabled_reason {
                        println!("      disabled because {why}");
                    }
                }
                Ok(())
            }
            WebhookCommand::Remove { id } => {
                hooks.remove(id).await.map_err(|e| admin_error("cannot remove the webhook", e))?;
                println!("removed webhook {id} and its deliveries");
                Ok(())
            }
            WebhookCommand::Test { id } => test(&settings, &store, &hooks, id).await,
            WebhookCommand::Deliveries { id, limit } => {
                let found = hooks.deliveries(id, limit).await.map_err(|e| admin_error("cannot list deliveries", e))?;
                print_deliveries(&found);
                Ok(())
            }
        }
    })
}

/// Queues a test event and delivers it from this process (with any other due delivery), then says what came of it.
async fn test(settings: &Settings, store: &Store, hooks: &service::Webhooks, id: i64) -> Result<(), StartupError> {
    let queued = hooks.test(id).await.map_err(|e| admin_error("cannot test the webhook", e))?;
    let service = startup::build_service(settings, store);
    let mut settings = settings.clone();
    settings.webhooks.deliver = true;
    let worker = startup::delivery_worker(&settings, store, &service)?;
    let deadline = Instant::now() + Duration::from_secs(settings.webhooks.timeout_seconds + 10);
    loop {
        worker.round().await;
        let latest = hooks.deliveries(Some(id), 20).await.map_err(|e| admin_error("cannot read the delivery", e))?;
        let attempt = latest.into_iter().find(|d| d.id == queued.id && d.attempts > 0);
        if let Some(delivery) = attempt {
            return report_test(&delivery);
        }
        if Instant::now() > deadline {
            return Err(StartupError::failed(
                format!("cannot test webhook {id}"),
                "another process holds the test delivery and has not finished it; see plan-server webhook deliveries",
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report_test(delivery: &Delivery) -> Result<(), StartupError> {
    if delivery.status == DeliveryStatus::Delivered {
        println!(
            "delivered {} ({}): the receiver answered {}",
            delivery.event,
            delivery.message_id,
            delivery.last_status.map_or_else(|| "2xx".to_owned(), |s| s.to_string())
        );
        return Ok(());
    }
    let why = delivery.last_error.clone().unwrap_or_else(|| "no answer".to_owned());
    let next =
        if delivery.status == DeliveryStatus::Pending { "it stays queued and is retried" } else { "it is not retried" };
    Err(StartupError::failed(
        format!("the test event {} was not delivered", delivery.message_id),
        format!("{why}; {next} (plan-server webhook deliveries shows it)"),
    ))
}

fn print_deliveries(deliveries: &[Delivery]) {
    if deliveries.is_empty() {
        println!("no deliveries");
        return;
    }
    println!(
        "{:<7} {:<5} {:<20} {:<10} {:<8} {:<6} {:<21} LAST ERROR",
        "ID", "HOOK", "EVENT", "STATUS", "ATTEMPTS", "LAST", "NEXT ATTEMPT"
    );
    for d in deliveries {
        let next = if d.status == DeliveryStatus::Pending { rfc3339(d.next_attempt_at) } else { "-".to_owned() };
        println!(
            "{:<7} {:<5} {:<20} {:<10} {:<8} {:<6} {:<21} {}",
            d.id,
            d.subscription_id,
            d.event.as_str(),
            d.status.as_str(),
            d.attempts,
            d.last_status.map_or_else(|| "-".to_owned(), |s| s.to_string()),
            next.get(..19).unwrap_or(&next),
            d.last_error.as_deref().unwrap_or(""),
        );
    }
}
