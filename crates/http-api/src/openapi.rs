//! The OpenAPI document of every route, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`.

use std::sync::OnceLock;

use utoipa::OpenApi;

use crate::{charts, dto, error, legacy, ops, v1};

/// The API's description, collected from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "coach-plans",
        description = "Trading coaches' daily plans, captured from Discord, for trading agents. \
                       The `legacy` routes keep the predecessor's paths and JSON shapes; `/api/v1` is the native API.",
    ),
    paths(
        ops::root, ops::health, ops::metrics,
        legacy::plan, legacy::all, legacy::history,
        v1::list_plans, v1::get_plan, v1::plan_history, v1::coach_history, v1::coaches, v1::stats, v1::openapi,
        charts::chart_image,
    ),
    components(schemas(
        error::ErrorBody,
        dto::PlanDto, dto::PlansDto, dto::ChartDto, dto::PersonDto, dto::SourceDto,
        dto::HistoryDto, dto::HistoryEntryDto, dto::CoachesDto, dto::CoachDto, dto::StatsDto,
        legacy::LegacyPlan, legacy::LegacyNoPlan, legacy::LegacyPlanOrNone, legacy::LegacyHistory,
        legacy::LegacyHistoryEntry,
        ops::Health, ops::DatabaseHealth, ops::BotHealthDto, ops::MetricsBody, ops::RequestCounts,
        ops::RouteMetrics, ops::PlanCounts, ops::ServiceDescription,
    )),
    tags(
        (name = "legacy", description = "The predecessor's routes, unchanged for existing agents"),
        (name = "plans", description = "Plans and their history"),
        (name = "coaches", description = "The coach roster"),
        (name = "charts", description = "Copies of the images attached to plans (Discord's links expire)"),
        (name = "service", description = "Health, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc.to_json().unwrap_or_else(|_| "{}".to_owned())
    })
}
