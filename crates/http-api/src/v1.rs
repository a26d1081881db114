//! The native routes under `/api/v1`: REST semantics (404 when absent, 400 for bad input), JSON errors with a
//! request id, and ETags with `If-None-Match` on plan responses.

use std::hash::{DefaultHasher, Hash as _, Hasher as _};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use core_model::{CoachId, TradingDate, UserId};
use serde::{Deserialize, Serialize};
use service::MAX_HISTORY_LIMIT;
use utoipa::IntoParams;

use crate::charts::ChartCopies;
use crate::dto::{CoachDto, CoachesDto, HistoryDto, HistoryEntryDto, PlanDto, PlansDto, StatsDto};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Default number of history entries returned.
const DEFAULT_HISTORY_LIMIT: usize = 100;

/// Query of `GET /api/v1/plans`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PlansQuery {
    /// Trading date `YYYY-MM-DD` or `today` (the default).
    date: Option<String>,
    /// Only this coach's plan (`d`, `coach_d`, ...).
    coach: Option<String>,
    /// Only plans by this Discord user id.
    author: Option<String>,
}

/// Query of the history routes.
#[derive(Debug, Deserialize, IntoParams)]
pub struct HistoryQuery {
    /// Most entries returned, 1 to 1000 (default 100).
    limit: Option<String>,
}

/// A query value, or `None` when absent or blank (`?coach=` filters nothing).
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn parse_coach(state: &AppState, input: &str) -> Result<CoachId, ApiError> {
    Ok(state.service.parse_coach(input)?)
}

/// A date in a path or query: `YYYY-MM-DD`, or `today` in the market time zone.
fn parse_date(state: &AppState, input: Option<&str>) -> Result<TradingDate, ApiError> {
    match input.map(str::trim) {
        Some(text) if text.eq_ignore_ascii_case("today") => Ok(state.service.today()),
        other => Ok(state.service.parse_date(other)?),
    }
}

fn parse_limit(input: Option<&str>) -> Result<usize, ApiError> {
    let Some(text) = input.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(DEFAULT_HISTORY_LIMIT) };
    text.parse::<usize>().ok().filter(|n| (1..=MAX_HISTORY_LIMIT).contains(n)).ok_or_else(|| {
        ApiError::bad_request(format!("`limit` must be a whole number from 1 to {MAX_HISTORY_LIMIT}, not `{text}`"))
    })
}

/// Whether the request's `If-None-Match` matches `etag`.
pub(crate) fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    req.headers().get_all(header::IF_NONE_MATCH).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |candidate| {
            let candidate = candidate.trim();
            candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
        },
    )
}

/// A cacheable JSON answer with an ETag, or 304 when the caller has it already.
fn cacheable<T: Serialize>(state: &AppState, req: &HttpRequest, etag: String, body: &T) -> HttpResponse {
    let cache_control = format!("public, max-age={}", state.config.cache_max_age_seconds);
    let unchanged = not_modified(req, &etag);
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response.insert_header((header::CACHE_CONTROL, cache_control));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.insert_header((header::ETAG, value));
    }
    if unchanged { response.finish() } else { response.json(body) }
}

/// `GET /api/v1/plans`
#[utoipa::path(
    get,
    path = "/api/v1/plans",
    tag = "plans",
    params(PlansQuery),
    responses(
        (status = 200, description = "Active plans of the date, in roster order", body = PlansDto,
            headers(("ETag" = String, description = "Changes whenever a plan of the answer changes"))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, description = "Bad date, coach or author", body = ErrorBody),
    )
)]
pub async fn list_plans(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<PlansQuery>,
) -> Result<HttpResponse, ApiError> {
    let date = parse_date(&state, query.date.as_deref())?;
    let coach = non_empty(query.coach.as_deref()).map(|c| parse_coach(&state, c)).transpose()?;
    let author = match non_empty(query.author.as_deref()) {
        Some(text) => Some(UserId(text.parse::<u64>().map_err(|_| {
            ApiError::bad_request(format!("`author` must be a Discord user id (a number), not `{text}`"))
        })?)),
        None => None,
    };
    let mut plans = match author {
        Some(user) => state.service.plans_by_author(user, Some(date)).await?,
        None => state.service.plans_for_date(Some(date)).await?,
    };
    if let Some(coach) = &coach {
        plans.retain(|p| &p.coach == coach);
    }
    let copies = ChartCopies::of(&state, &req, &plans).await;
    let mut hasher = DefaultHasher::new();
    for plan in &plans {
        (plan.id, plan.version, copies.count_for(plan)).hash(&mut hasher);
    }
    let etag = format!("\"plans-{date}-{:016x}\"", hasher.finish());
    let roster = &state.service.policy().roster;
    let plans = plans.iter().map(|p| PlanDto::new(p, roster, &copies)).collect();
    let body = PlansDto { date: date.to_string(), plans };
    Ok(cacheable(&state, &req, etag, &body))
}

/// `GET /api/v1/plans/{coach}/{date}`
#[utoipa::path(
    get,
    path = "/api/v1/plans/{coach}/{date}",
    tag = "plans",
    params(
        ("coach" = String, Path, description = "Coach: `d`, `coach_d`, ..."),
        ("date" = String, Path, description = "Trading date `YYYY-MM-DD`, or `today`"),
    ),
    responses(
        (status = 200, description = "The active plan", body = PlanDto,
            headers(("ETag" = String, description = "Changes with every version of the plan"))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, description = "Unknown coach or bad date", body = ErrorBody),
        (status = 404, description = "No active plan for that coach and date", body = ErrorBody),
    )
)]
pub async fn get_plan(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (coach, date) = path.into_inner();
    let coach = parse_coach(&state, &coach)?;
    let date = parse_date(&state, Some(&date))?;
    let plan = state
        .service
        .plan(&coach, Some(date))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("there is no plan for coach {coach} on {date}")))?;
    let copies = ChartCopies::of(&state, &req, std::slice::from_ref(&plan)).await;
    let etag = match copies.count_for(&plan) {
        0 => format!("\"plan-{}-v{}\"", plan.id, plan.version),
        n => format!("\"plan-{}-v{}-c{n}\"", plan.id, plan.version),
    };
    Ok(cacheable(&state, &req, etag, &PlanDto::new(&plan, &state.service.policy().roster, &copies)))
}

/// `GET /api/v1/plans/{coach}/{date}/history`
#[utoipa::path(
    get,
    path = "/api/v1/plans/{coach}/{date}/history",
    tag = "plans",
    params(
        ("coach" = String, Path, description = "Coach: `d`, `coach_d`, ..."),
        ("date" = String, Path, description = "Trading date `YYYY-MM-DD`, or `today`"),
        HistoryQuery,
    ),
    responses(
        (status = 200, description = "Every change of the coach's plans of that date (deleted ones too), newest first", body = HistoryDto),
        (status = 400, description = "Unknown coach, bad date or limit", body = ErrorBody),
    )
)]
pub async fn plan_history(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let (coach, date) = path.into_inner();
    let coach = parse_coach(&state, &coach)?;
    let date = parse_date(&state, Some(&date))?;
    let limit = parse_limit(query.limit.as_deref())?;
    let entries = state.service.history(&coach, Some(date), limit).await?;
    let body = HistoryDto {
        coach: coach.to_string(),
        date: Some(date.to_string()),
        entries: entries.iter().map(HistoryEntryDto::new).collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/coaches/{coach}/history`
#[utoipa::path(
    get,
    path = "/api/v1/coaches/{coach}/history",
    tag = "coaches",
    params(("coach" = String, Path, description = "Coach: `d`, `coach_d`, ..."), HistoryQuery),
    responses(
        (status = 200, description = "Every change of the coach's plans over all dates, newest first", body = HistoryDto),
        (status = 400, description = "Unknown coach or bad limit", body = ErrorBody),
    )
)]
pub async fn coach_history(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let coach = parse_coach(&state, &path.into_inner())?;
    let limit = parse_limit(query.limit.as_deref())?;
    let entries = state.service.history(&coach, None, limit).await?;
    let body = HistoryDto {
        coach: coach.to_string(),
        date: None,
        entries: entries.iter().map(HistoryEntryDto::new).collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/coaches`
#[utoipa::path(
    get,
    path = "/api/v1/coaches",
    tag = "coaches",
    responses((status = 200, description = "The coach roster and today's trading date", body = CoachesDto))
)]
pub async fn coaches(state: web::Data<AppState>) -> HttpResponse {
    let policy = state.service.policy();
    let body = CoachesDto {
        coaches: policy
            .roster
            .coaches()
            .iter()
            .map(|c| CoachDto { id: c.id.to_string(), name: c.name.clone(), legacy_name: c.id.legacy_name() })
            .collect(),
        market_timezone: policy.zone.name().to_owned(),
        today: state.service.today().to_string(),
    };
    HttpResponse::Ok().json(body)
}

/// `GET /api/v1/stats`
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "plans",
    responses(
        (status = 200, description = "Counts over everything stored", body = StatsDto),
        (status = 500, description = "The database cannot be read", body = ErrorBody),
    )
)]
pub async fn stats(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let stats = state.service.stats().await?;
    Ok(HttpResponse::Ok().json(StatsDto::from(stats)))
}

/// `GET /api/v1/openapi.json`
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "service",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json"))
)]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(crate::openapi::document())
}
