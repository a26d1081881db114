//! The native routes under `/api/v1`: REST semantics (404 when absent, 400 for bad input), JSON errors with a
//! request id, and ETags with `If-None-Match` on plan responses.

use std::hash::{DefaultHasher, Hash as _, Hasher as _};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use core_model::{CoachId, TradingDate};
use serde::Serialize;
use service::{MAX_HISTORY_LIMIT, MAX_SEARCH_LIMIT, SearchRequest};

use crate::charts::ChartCopies;
use crate::dto::{
    CoachDto, CoachesDto, HistoryDto, HistoryEntryDto, PlanDto, PlansDto, StatsDto, TickerMentionDto, TickersDto,
};
use crate::error::{ApiError, ErrorBody};
use crate::params;
use crate::state::AppState;

/// Default number of history entries returned.
const DEFAULT_HISTORY_LIMIT: usize = 100;

fn parse_coach(state: &AppState, input: &str) -> Result<CoachId, ApiError> {
    Ok(params::coach(&state.service.policy().roster, input)?)
}

/// A date in a path or query: `YYYY-MM-DD`, or `today` in the market time zone.
fn parse_date(state: &AppState, input: &str) -> Result<TradingDate, ApiError> {
    Ok(params::date_or_today(input, state.service.today())?)
}

/// The history routes' `limit`, read from the query of the route at `path`.
fn history_limit(path: &str, req: &HttpRequest) -> Result<usize, ApiError> {
    let query = params::QueryValues::parse(path, req.query_string())?;
    match query.one("limit") {
        Some(text) => Ok(params::count("limit", text, MAX_HISTORY_LIMIT as u64)? as usize),
        None => Ok(DEFAULT_HISTORY_LIMIT),
    }
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
    let cache_control = format!("{}, max-age={}", state.config.cache_visibility(), state.config.cache_max_age_seconds);
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
    description = "Finds active plans: by ticker, coach, author, date range and words, a page at a time, newest \
        date first, then in roster order. Every parameter given must hold; a repeated one holds when any of its \
        values does. Without `date`, `from` and `to`, the 30 days ending today (in the market time zone). \
        `/api/v1/plans?date=D` is one date's plans, in roster order.",
    responses(
        (status = 200, description = "A page of plans", body = PlansDto,
            headers(("ETag" = String, description = "Changes whenever the answer changes"))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, description = "A bad parameter, a range of more than 366 days or backwards, `date` with `from` or `to`, or a cursor this server did not give", body = ErrorBody),
    )
)]
pub async fn list_plans(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = params::QueryValues::parse("/api/v1/plans", req.query_string())?;
    let today = state.service.today();
    let date = |name: &str| query.one(name).map(|d| params::date_or_today(d, today)).transpose();
    let (date, from, to) = (date("date")?, date("from")?, date("to")?);
    let roster = &state.service.policy().roster;
    let request = SearchRequest {
        tickers: query.all("ticker").map(params::ticker).collect::<Result<_, _>>()?,
        coaches: query.all("coach").map(|c| params::coach(roster, c)).collect::<Result<_, _>>()?,
        author: query.one("author").map(|a| params::user_id("author", a)).transpose()?,
        date,
        from,
        to,
        words: query.one("q").map(str::to_owned),
        limit: query
            .one("limit")
            .map(|l| params::count("limit", l, MAX_SEARCH_LIMIT as u64))
            .transpose()?
            .map(|n| n as usize),
        cursor: query.one("cursor").map(|c| params::cursor(c).map(|c| c.encode())).transpose()?,
    };
    let results = state.service.search(request).await?;
    let copies = ChartCopies::of(&state, &req, &results.plans).await;
    let mut hasher = DefaultHasher::new();
    (req.query_string(), results.from, results.to, &results.next_cursor).hash(&mut hasher);
    for plan in &results.plans {
        (plan.id, plan.version, copies.count_for(plan)).hash(&mut hasher);
    }
    let etag = format!("\"plans-{:016x}\"", hasher.finish());
    let body = PlansDto {
        date: date.map(|d| d.to_string()),
        from: results.from.to_string(),
        to: results.to.to_string(),
        plans: results.plans.iter().map(|p| PlanDto::new(p, roster, &copies)).collect(),
        next_cursor: results.next_cursor,
    };
    Ok(cacheable(&state, &req, etag, &body))
}

/// `GET /api/v1/tickers`
#[utoipa::path(
    get,
    path = "/api/v1/tickers",
    tag = "plans",
    description = "How often each ticker was mentioned in the active plans of a range (the 30 days ending today by \
        default), with the coaches who mentioned it and the last date: what the coaches agree on.",
    responses(
        (status = 200, description = "Tickers, most plans first, then by ticker", body = TickersDto,
            headers(("ETag" = String, description = "Changes whenever the answer changes"))),
        (status = 304, description = "Unchanged since the ETag given in If-None-Match"),
        (status = 400, description = "A bad parameter, or a range of more than 366 days or backwards", body = ErrorBody),
    )
)]
pub async fn tickers(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let query = params::QueryValues::parse("/api/v1/tickers", req.query_string())?;
    let today = state.service.today();
    let date = |name: &str| query.one(name).map(|d| params::date_or_today(d, today)).transpose();
    let (from, to) = (date("from")?, date("to")?);
    let roster = &state.service.policy().roster;
    let coaches = query.all("coach").map(|c| params::coach(roster, c)).collect::<Result<_, _>>()?;
    let mentions = state.service.ticker_mentions(from, to, coaches).await?;
    let body = TickersDto {
        from: mentions.from.to_string(),
        to: mentions.to.to_string(),
        tickers: mentions
            .tickers
            .into_iter()
            .map(|m| TickerMentionDto {
                ticker: m.ticker.to_string(),
                plans: m.plans,
                coaches: m.coaches.iter().map(ToString::to_string).collect(),
                last_date: m.last_date.to_string(),
            })
            .collect(),
    };
    let mut hasher = DefaultHasher::new();
    for mention in &body.tickers {
        (&mention.ticker, mention.plans, &mention.coaches, &mention.last_date).hash(&mut hasher);
    }
    let etag = format!("\"tickers-{}-{}-{:016x}\"", body.from, body.to, hasher.finish());
    Ok(cacheable(&state, &req, etag, &body))
}

/// `GET /api/v1/plans/{coach}/{date}`
#[utoipa::path(
    get,
    path = "/api/v1/plans/{coach}/{date}",
    tag = "plans",
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
    let date = parse_date(&state, &date)?;
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
    responses(
        (status = 200, description = "Every change of the coach's plans of that date (deleted ones too), newest first", body = HistoryDto),
        (status = 400, description = "Unknown coach, bad date or limit", body = ErrorBody),
    )
)]
pub async fn plan_history(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (coach, date) = path.into_inner();
    let coach = parse_coach(&state, &coach)?;
    let date = parse_date(&state, &date)?;
    let limit = history_limit("/api/v1/plans/{coach}/{date}/history", &req)?;
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
    responses(
        (status = 200, description = "Every change of the coach's plans over all dates, newest first", body = HistoryDto),
        (status = 400, description = "Unknown coach or bad limit", body = ErrorBody),
    )
)]
pub async fn coach_history(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let coach = parse_coach(&state, &path.into_inner())?;
    let limit = history_limit("/api/v1/coaches/{coach}/history", &req)?;
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
pub async fn openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(state.openapi.clone())
}
