//! The operator's routes: `/` (what this service is), `/health` (database and bot) and `/metrics` (JSON by default,
//! Prometheus text for a scraper).

use std::collections::BTreeMap;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use service::BotState;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody, error_chain};
use crate::metrics::render_prometheus;
use crate::params;
use crate::state::AppState;

/// `GET /` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceDescription {
    /// `coach-plans`.
    pub service: &'static str,
    /// Server version.
    pub version: &'static str,
    /// What it does.
    pub description: &'static str,
    /// The main routes and what they return.
    pub endpoints: BTreeMap<&'static str, &'static str>,
    /// Where the OpenAPI document is.
    pub documentation: &'static str,
}

/// `GET /`
#[utoipa::path(get, path = "/", tag = "service", responses((status = 200, body = ServiceDescription)))]
pub async fn root(state: web::Data<AppState>) -> HttpResponse {
    let mut endpoints = BTreeMap::from([
        ("/api/coach-plans/?coach=d&date=YYYY-MM-DD", "a coach's plan (legacy shape)"),
        ("/api/coach-plans/all?date=YYYY-MM-DD", "the plans of the date, by coach (legacy shape)"),
        ("/api/coach-plans/history?coach=d&date=YYYY-MM-DD", "a coach's change history (legacy shape)"),
        ("/api/v1/plans?date=YYYY-MM-DD", "the plans of a date"),
        ("/api/v1/plans?ticker=NVDA&q=words&from=&to=", "plans found by ticker, coach, author, dates and words"),
        ("/api/v1/tickers?from=&to=", "the tickers the plans mention, with counts and coaches"),
        ("/api/v1/plans/{coach}/{date}", "one plan, with an ETag"),
        ("/api/v1/plans/{coach}/{date}/history", "the changes of a coach's plans of a date"),
        ("/api/v1/coaches/{coach}/history", "the changes of a coach's plans, every date"),
        ("/api/v1/coaches", "the coach roster"),
        ("/api/v1/stats", "counts over everything stored"),
        ("/health", "database and Discord bot status"),
        ("/metrics", "request and storage metrics (JSON, or Prometheus text)"),
    ]);
    if state.webhooks.is_some() {
        endpoints.insert("/api/v1/webhooks", "webhook subscriptions (admin scope)");
    }
    endpoints.extend(state.mounted.iter().copied());
    HttpResponse::Ok().json(ServiceDescription {
        service: "coach-plans",
        version: env!("CARGO_PKG_VERSION"),
        description: "Trading coaches' daily plans, captured from Discord, for trading agents",
        endpoints,
        documentation: "/api/v1/openapi.json",
    })
}

/// The database part of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseHealth {
    /// `ok` or `error`.
    pub status: &'static str,
    /// What failed, when it did.
    pub error: Option<String>,
}

/// The Discord bot part of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BotHealthDto {
    /// `connected`, `disconnected` or `unknown` (the bot never reported to this database).
    pub status: &'static str,
    /// When the bot last reported (UTC, RFC 3339).
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
    /// Seconds since then.
    pub age_seconds: Option<u64>,
    /// The bot said it was connected but stopped reporting: it is counted as disconnected.
    pub stale: bool,
}

/// `GET /health` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `healthy`, `degraded` (the bot is disconnected) or `unhealthy` (the database cannot be read; status 503).
    pub status: &'static str,
    /// Server version.
    pub version: &'static str,
    /// Now (UTC, RFC 3339).
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Seconds since the API started.
    pub uptime_seconds: u64,
    /// The database.
    pub database: DatabaseHealth,
    /// The Discord bot, also when it runs in another process.
    pub bot: BotHealthDto,
}

/// `GET /health`
#[utoipa::path(
    get,
    path = "/health",
    tag = "service",
    responses(
        (status = 200, description = "The database answers (the bot may be disconnected: `degraded`)", body = Health),
        (status = 503, description = "The database cannot be read", body = Health),
    )
)]
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let database = match state.service.ping().await {
        Ok(()) => DatabaseHealth { status: "ok", error: None },
        Err(err) => {
            // The cause, not the generic "unexpected error" wording meant for users of the data routes.
            let cause = std::error::Error::source(&err).map_or_else(|| err.to_string(), error_chain);
            tracing::warn!(error = %cause, "health check: the database cannot be read");
            DatabaseHealth { status: "error", error: Some(cause) }
        }
    };
    let bot = match state.service.bot_health(state.config.bot_stale_after).await {
        Ok(h) => BotHealthDto {
            status: h.state.as_str(),
            last_seen: h.last_seen.map(core_model::timestamp::rfc3339),
            age_seconds: h.age_seconds,
            stale: h.stale,
        },
        Err(_) => BotHealthDto { status: BotState::Unknown.as_str(), last_seen: None, age_seconds: None, stale: false },
    };
    let status = match (database.error.is_some(), bot.status) {
        (true, _) => "unhealthy",
        (false, "disconnected") => "degraded",
        (false, _) => "healthy",
    };
    let body = Health {
        status,
        version: env!("CARGO_PKG_VERSION"),
        timestamp: core_model::timestamp::rfc3339(state.service.now()),
        uptime_seconds: state.metrics.uptime_seconds() as u64,
        database,
        bot,
    };
    let mut response = if status == "unhealthy" { HttpResponse::ServiceUnavailable() } else { HttpResponse::Ok() };
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store"))).json(body)
}

/// Requests of one route, method and status, in the JSON metrics.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteMetrics {
    /// Route template.
    pub route: String,
    /// HTTP method.
    pub method: &'static str,
    /// Status.
    pub status: u16,
    /// Requests.
    pub count: u64,
    /// Mean latency, in milliseconds.
    pub mean_ms: f64,
}

/// Request counts in the JSON metrics.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestCounts {
    /// Every request served.
    pub total: u64,
    /// Requests answered with a 5xx.
    pub server_errors: u64,
    /// Requests answered with a 4xx.
    pub client_errors: u64,
    /// Requests by status code.
    pub by_status: BTreeMap<String, u64>,
    /// Requests by route, method and status.
    pub routes: Vec<RouteMetrics>,
}

/// Stored counts in the JSON metrics.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanCounts {
    /// Plans not deleted.
    pub active: u64,
    /// Plans deleted.
    pub deleted: u64,
    /// Charts.
    pub charts: u64,
    /// History entries.
    pub history_entries: u64,
}

/// `GET /metrics` JSON body.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsBody {
    /// Seconds since the API started.
    pub uptime_seconds: f64,
    /// Requests served.
    pub requests: RequestCounts,
    /// Stored counts, or null when the database cannot be read.
    pub plans: Option<PlanCounts>,
    /// `ok` or `error`.
    pub database: &'static str,
}

/// Whether the caller wants Prometheus text rather than JSON.
fn wants_prometheus(req: &HttpRequest, format: Option<&str>) -> bool {
    if let Some(format) = format {
        return format == "prometheus";
    }
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    accept.contains("application/openmetrics-text")
        || (accept.contains("text/plain") && !accept.contains("application/json"))
}

/// `GET /metrics`
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses(
        (status = 200, description = "JSON by default; Prometheus text (format 0.0.4) for `Accept: text/plain` or `application/openmetrics-text`, or `?format=prometheus`",
            content(
                (MetricsBody = "application/json"),
                (String = "text/plain; version=0.0.4; charset=utf-8"),
            )),
        (status = 400, description = "An unknown format", body = ErrorBody),
    )
)]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let format = params::QueryValues::parse("/metrics", req.query_string()).and_then(|query| {
        query.one("format").map(|f| params::one_of("format", f, params::METRICS_FORMATS)).transpose()
    });
    let format = match format {
        Ok(format) => format,
        Err(bad) => return actix_web::ResponseError::error_response(&ApiError::from(bad)),
    };
    let database_up = state.service.ping().await.is_ok();
    let stats = state.service.stats().await;
    if wants_prometheus(&req, format) {
        let uptime = state.metrics.uptime_seconds();
        let mut gauges = vec![
            ("coach_plans_uptime_seconds", "Seconds since the API started.", uptime),
            ("coach_plans_database_up", "1 when the database answers, else 0.", f64::from(u8::from(database_up))),
        ];
        if let Ok(stats) = &stats {
            gauges.extend([
                ("coach_plans_active_plans", "Plans not deleted.", stats.active_plans as f64),
                ("coach_plans_deleted_plans", "Plans soft-deleted.", stats.deleted_plans as f64),
                ("coach_plans_charts", "Charts of all plans.", stats.charts as f64),
                ("coach_plans_history_entries", "Recorded plan changes.", stats.history_entries as f64),
            ]);
        }
        return HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(render_prometheus(&state.metrics, &gauges));
    }
    let snapshot = state.metrics.snapshot();
    let mut requests = RequestCounts {
        total: 0,
        server_errors: 0,
        client_errors: 0,
        by_status: BTreeMap::new(),
        routes: Vec::with_capacity(snapshot.len()),
    };
    for (key, series) in snapshot {
        requests.total += series.count;
        match key.status {
            500..=599 => requests.server_errors += series.count,
            400..=499 => requests.client_errors += series.count,
            _ => {}
        }
        *requests.by_status.entry(key.status.to_string()).or_default() += series.count;
        requests.routes.push(RouteMetrics {
            route: key.route,
            method: key.method,
            status: key.status,
            count: series.count,
            mean_ms: series.seconds_sum * 1000.0 / series.count.max(1) as f64,
        });
    }
    let database = if database_up && stats.is_ok() { "ok" } else { "error" };
    let plans = stats.ok().map(|s| PlanCounts {
        active: s.active_plans,
        deleted: s.deleted_plans,
        charts: s.charts,
        history_entries: s.history_entries,
    });
    HttpResponse::Ok().json(MetricsBody { uptime_seconds: state.metrics.uptime_seconds(), requests, plans, database })
}
