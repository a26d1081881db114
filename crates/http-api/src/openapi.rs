//! The OpenAPI document of every route, served at `/api/v1/openapi.json`: operations and bodies from the handlers'
//! annotations, parameters from [`crate::params`] (with the configured roster), and the error responses every route
//! can give, so that what the document states is what the server does.

use core_model::Roster;
use serde_json::{Map, Value, json};
use utoipa::OpenApi;

use crate::{admin, charts, dto, error, legacy, ops, v1};

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
        v1::list_plans, v1::tickers, v1::get_plan, v1::plan_history, v1::coach_history, v1::coaches, v1::stats, v1::openapi,
        charts::chart_image,
        admin::list, admin::add, admin::remove, admin::test, admin::deliveries,
    ),
    components(schemas(
        error::ErrorBody, error::LegacyErrorBody,
        dto::PlanDto, dto::PlansDto, dto::TickersDto, dto::TickerMentionDto, dto::ChartDto, dto::PersonDto, dto::SourceDto,
        dto::HistoryDto, dto::HistoryEntryDto, dto::CoachesDto, dto::CoachDto, dto::StatsDto,
        legacy::LegacyPlan, legacy::LegacyNoPlan, legacy::LegacyPlanOrNone, legacy::LegacyHistory,
        legacy::LegacyHistoryEntry,
        ops::Health, ops::DatabaseHealth, ops::BotHealthDto, ops::MetricsBody, ops::RequestCounts,
        ops::RouteMetrics, ops::PlanCounts, ops::ServiceDescription,
        admin::SubscriptionDto, admin::NewSubscriptionDto, admin::SubscriptionsDto, admin::DeliveryDto,
        admin::DeliveriesDto, admin::AddWebhook, admin::PlanEvent,
    )),
    tags(
        (name = "legacy", description = "The predecessor's routes, unchanged for existing agents"),
        (name = "plans", description = "Plans and their history"),
        (name = "coaches", description = "The coach roster"),
        (name = "charts", description = "Copies of the images attached to plans (Discord's links expire)"),
        (name = "service", description = "Health, metrics and this document"),
        (name = "webhooks", description = "Subscriptions to plan events, signed as Standard Webhooks says (admin token)"),
    )
)]
pub struct ApiDoc;

/// Routes that never read storage, so never answer 500 or 503.
const WITHOUT_STORAGE: &[&str] = &["/", "/api/v1/coaches", "/api/v1/openapi.json", "/health", "/metrics"];

/// Routes open without a token (`/` is limited, `/health` not even that).
const OPEN: &[&str] = &["/", "/health"];

/// Whether a route is an admin one (an admin token, and only where authentication is required).
fn is_admin(path: &str) -> bool {
    path.starts_with("/api/v1/webhooks")
}

/// The document as JSON, for a server with this roster (coach parameters list its coaches) that requires tokens
/// or not (`auth_required`).
pub fn document(roster: &Roster, auth_required: bool) -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&doc).unwrap_or_else(|_| json!({}));
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                let parameters = crate::params::document_parameters(path, roster);
                if parameters.is_empty() {
                    operation.remove("parameters");
                } else {
                    operation.insert("parameters".to_owned(), Value::Array(parameters));
                }
                add_error_responses(path, operation, auth_required);
                if OPEN.contains(&path.as_str()) {
                    operation.insert("security".to_owned(), json!([]));
                }
            }
        }
    }
    doc["components"]["securitySchemes"] = json!({
        "bearer": { "type": "http", "scheme": "bearer", "description": "An API token (`cpt_...`)" },
        "basic": {
            "type": "http",
            "scheme": "basic",
            "description": "An API token as the password, any user name (e.g. `http://agent:cpt_...@host/`)",
        },
    });
    if auth_required {
        doc["security"] = json!([{ "bearer": [] }, { "basic": [] }]);
    }
    serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned())
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Adds the error responses a route can give besides its own (every request can be refused for its size or its
/// origin; a route that reads storage can find it busy or broken), and the body of each error response that has
/// none yet.
fn add_error_responses(path: &str, operation: &mut Map<String, Value>, auth_required: bool) {
    let legacy = path.starts_with("/api/coach-plans");
    // A legacy handler's errors have the predecessor's body; refusals made before routing (size, CORS) the v1 body.
    let handler_error = if legacy { schema_ref("LegacyErrorBody") } else { schema_ref("ErrorBody") };
    let either_error = if legacy {
        json!({ "anyOf": [schema_ref("LegacyErrorBody"), schema_ref("ErrorBody")] })
    } else {
        schema_ref("ErrorBody")
    };
    let mut added: Vec<(&str, &str, Value)> = vec![
        (
            "400",
            "A bad parameter (the message says which and what to send), or a cross-origin request from an origin \
             that is not allowed",
            either_error,
        ),
        ("413", "The request has a body larger than the limit", schema_ref("ErrorBody")),
        ("414", "The query string is longer than the limit", schema_ref("ErrorBody")),
    ];
    let open = OPEN.contains(&path);
    // Checking a token reads storage too.
    let reads_storage = !WITHOUT_STORAGE.contains(&path) || (auth_required && !open);
    if reads_storage {
        added.push(("500", "A failure on the server's side, logged under the request id", handler_error.clone()));
        added.push(("503", "The database is busy; try again shortly", handler_error.clone()));
    }
    if path != "/health" {
        added.push((
            "429",
            "Too many requests from this token (or address): wait as `Retry-After` says",
            handler_error.clone(),
        ));
    }
    if auth_required && !open {
        added.push((
            "401",
            "No token, or one that is unknown, revoked or expired (`WWW-Authenticate` says how to send one)",
            handler_error.clone(),
        ));
    }
    if is_admin(path) {
        let why = if auth_required {
            "The token is not an admin one"
        } else {
            "Webhooks are managed over HTTP only where `api.auth` is `required`"
        };
        added.push(("403", why, handler_error.clone()));
    }
    let responses = operation.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    for (status, description, schema) in added {
        let response = responses.entry(status).or_insert_with(|| json!({ "description": description }));
        if let Some(response) = response.as_object_mut()
            && !response.contains_key("content")
        {
            response.insert("content".to_owned(), json!({ "application/json": { "schema": schema } }));
        }
    }
    // Any other error the handler documents without a body (e.g. a 404) has the handler's error body.
    for (status, response) in responses.iter_mut() {
        let is_error = status.starts_with('4') || status.starts_with('5');
        if let Some(response) = response.as_object_mut()
            && is_error
            && !response.contains_key("content")
        {
            response.insert("content".to_owned(), json!({ "application/json": { "schema": handler_error.clone() } }));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use core_model::{Coach, CoachId};

    use super::*;
    use crate::params::PARAMETERS;
    use crate::routes::ROUTES;

    fn document_of(roster: &Roster) -> Value {
        serde_json::from_str(&document(roster, false)).unwrap()
    }

    fn operations(doc: &Value) -> impl Iterator<Item = (&String, &Value)> {
        doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| item.as_object().unwrap().values().map(move |operation| (path, operation)))
    }

    #[test]
    fn every_path_segment_and_declared_parameter_is_in_the_document() {
        let doc = document_of(&Roster::default());
        for route in ROUTES.iter().filter(|r| r.alias_of.is_none()) {
            let segments: BTreeSet<&str> =
                route.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
            for operation in doc["paths"][route.path].as_object().unwrap().values() {
                let documented: BTreeSet<&str> = operation["parameters"]
                    .as_array()
                    .map(|ps| ps.iter().filter(|p| p["in"] == "path").map(|p| p["name"].as_str().unwrap()).collect())
                    .unwrap_or_default();
                assert_eq!(segments, documented, "{}: every segment is a documented path parameter", route.path);
            }
        }
        for param in PARAMETERS {
            assert!(ROUTES.iter().any(|r| r.path == param.path), "{} is a route", param.path);
            for operation in doc["paths"][param.path].as_object().unwrap().values() {
                let documented = operation["parameters"].as_array().unwrap();
                assert!(documented.iter().any(|p| p["name"] == param.name), "{} {}", param.path, param.name);
            }
        }
    }

    #[test]
    fn coach_parameters_follow_the_configured_roster() {
        let coach = |id: &str| Coach { id: CoachId::new(id).unwrap(), name: id.to_uppercase() };
        let roster = Roster::new(vec![coach("fx"), coach("crypto-1")]).unwrap();
        let doc = document_of(&roster);
        let schema = &doc["paths"]["/api/v1/plans/{coach}/{date}"]["get"]["parameters"][0]["schema"];
        assert_eq!(schema["pattern"], "^(?:[cC][oO][aA][cC][hH]_)?(?:[fF][xX]|[cC][rR][yY][pP][tT][oO]\\-1):?$");
        assert_eq!(schema["examples"], json!(["fx", "crypto-1"]));
        let legacy = &doc["paths"]["/api/coach-plans/"]["get"]["parameters"][0];
        assert_eq!(
            (&legacy["name"], &legacy["in"], &legacy["required"]),
            (&json!("coach"), &json!("query"), &json!(true))
        );
        assert_eq!(legacy["schema"]["pattern"], schema["pattern"]);
    }

    #[test]
    fn every_operation_documents_its_errors_with_their_bodies() {
        let doc = document_of(&Roster::default());
        for (path, operation) in operations(&doc) {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "413", "414"] {
                assert!(responses.contains_key(status), "{path} documents {status}");
            }
            assert_eq!(responses.contains_key("503"), !WITHOUT_STORAGE.contains(&path.as_str()) || path == "/health");
            assert_eq!(responses.contains_key("429"), path != "/health", "{path}: limited unless a probe");
            assert!(!responses.contains_key("401"), "{path}: no 401 without authentication");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(response["content"]["application/json"]["schema"].is_object(), "{path} {status}");
                }
            }
        }
        let legacy_400 = &doc["paths"]["/api/coach-plans/all"]["get"]["responses"]["400"]["content"];
        assert_eq!(
            legacy_400["application/json"]["schema"]["anyOf"][0]["$ref"],
            "#/components/schemas/LegacyErrorBody"
        );
    }

    #[test]
    fn with_authentication_every_route_but_health_and_the_index_documents_401() {
        let doc: Value = serde_json::from_str(&document(&Roster::default(), true)).unwrap();
        assert_eq!(doc["security"], json!([{ "bearer": [] }, { "basic": [] }]));
        for (path, operation) in operations(&doc) {
            let responses = operation["responses"].as_object().unwrap();
            let open = OPEN.contains(&path.as_str());
            assert_eq!(responses.contains_key("401"), !open, "{path}");
            assert_eq!(responses.contains_key("403"), is_admin(path), "{path}");
            if open {
                assert_eq!(operation["security"], json!([]), "{path} needs no token");
            }
        }
    }

    #[test]
    fn chart_images_are_documented_in_every_type_they_are_served_as() {
        let doc = document_of(&Roster::default());
        let content =
            doc["paths"]["/api/v1/charts/{digest}"]["get"]["responses"]["200"]["content"].as_object().unwrap();
        let documented: BTreeSet<&str> = content.keys().map(String::as_str).collect();
        let mut served: BTreeSet<&str> = crate::charts::IMAGE_TYPES.into_iter().collect();
        served.insert("application/octet-stream");
        assert_eq!(documented, served);
    }
}
