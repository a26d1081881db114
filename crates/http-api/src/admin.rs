//! The admin routes: webhook subscriptions and their deliveries (`/api/v1/webhooks...`). They need an admin token,
//! so they answer only where `api.auth` is `required` (see [`crate::guard`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use core_model::{Delivery, Subscription};
use serde::{Deserialize, Serialize};
use service::AdminError;
use utoipa::ToSchema;

use core_model::timestamp::rfc3339;

use crate::error::{ApiError, ErrorBody, classify};
use crate::params;
use crate::state::AppState;

/// Most deliveries listed by default.
const DEFAULT_DELIVERY_LIST: u32 = 50;

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        let status = match &error {
            AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
            AdminError::NameTaken(_) => StatusCode::CONFLICT,
            AdminError::UnknownToken(_) | AdminError::UnknownSubscription(_) => StatusCode::NOT_FOUND,
            AdminError::Storage(inner) => classify(inner),
        };
        ApiError::client(status, &error)
    }
}

/// A webhook subscription (its secret is shown once, when it is made).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionDto {
    /// Its id.
    pub id: i64,
    /// Where deliveries go.
    pub url: String,
    /// The events it receives.
    #[schema(example = json!(["plan.created", "plan.edited"]))]
    pub events: Vec<String>,
    /// When it was added (UTC, RFC 3339).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Whether it receives deliveries.
    pub enabled: bool,
    /// When it was disabled (its receiver answered 410 Gone).
    #[schema(format = DateTime)]
    pub disabled_at: Option<String>,
    /// Why.
    pub disabled_reason: Option<String>,
}

impl SubscriptionDto {
    fn new(s: &Subscription) -> Self {
        Self {
            id: s.id,
            url: s.url.clone(),
            events: s.events.events().iter().map(ToString::to_string).collect(),
            created_at: rfc3339(s.created_at),
            enabled: s.disabled_at.is_none(),
            disabled_at: s.disabled_at.map(rfc3339),
            disabled_reason: s.disabled_reason.clone(),
        }
    }
}

/// A subscription just made, with its signing secret: the only time it is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSubscriptionDto {
    /// The subscription.
    #[serde(flatten)]
    pub subscription: SubscriptionDto,
    /// The secret deliveries are signed with (Standard Webhooks, `whsec_...`); keep it, it is not shown again.
    pub secret: String,
}

/// Subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionsDto {
    /// Oldest first.
    pub webhooks: Vec<SubscriptionDto>,
}

/// One event for one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// Its id.
    pub id: i64,
    /// The `webhook-id` header, the same on every attempt.
    pub message_id: String,
    /// The subscription.
    pub subscription_id: i64,
    /// The event, e.g. `plan.created`.
    pub event: String,
    /// When the event happened (UTC, RFC 3339).
    #[schema(format = DateTime)]
    pub occurred_at: String,
    /// Plan the event is about.
    pub plan_id: Option<i64>,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// When the last attempt was made.
    #[schema(format = DateTime)]
    pub last_attempt_at: Option<String>,
    /// The HTTP status of the last answer.
    pub last_status: Option<u16>,
    /// What went wrong in the last attempt.
    pub last_error: Option<String>,
}

impl DeliveryDto {
    pub(crate) fn new(d: &Delivery) -> Self {
        let pending = d.status == core_model::DeliveryStatus::Pending;
        Self {
            id: d.id,
            message_id: d.message_id.clone(),
            subscription_id: d.subscription_id,
            event: d.event.to_string(),
            occurred_at: rfc3339(d.occurred_at),
            plan_id: d.plan.as_ref().map(|p| p.id.0),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: pending.then(|| rfc3339(d.next_attempt_at)),
            last_attempt_at: d.last_attempt_at.map(rfc3339),
            last_status: d.last_status,
            last_error: d.last_error.clone(),
        }
    }
}

/// Deliveries.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveriesDto {
    /// Newest first.
    pub deliveries: Vec<DeliveryDto>,
}

/// An event a subscription can receive.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum PlanEvent {
    /// A plan was posted.
    #[serde(rename = "plan.created")]
    Created,
    /// A plan's text changed.
    #[serde(rename = "plan.edited")]
    Edited,
    /// A plan was deleted.
    #[serde(rename = "plan.deleted")]
    Deleted,
    /// A deleted plan was restored.
    #[serde(rename = "plan.restored")]
    Restored,
    /// Only a plan's charts changed.
    #[serde(rename = "plan.charts_changed")]
    ChartsChanged,
}

impl PlanEvent {
    fn name(self) -> &'static str {
        match self {
            Self::Created => "plan.created",
            Self::Edited => "plan.edited",
            Self::Deleted => "plan.deleted",
            Self::Restored => "plan.restored",
            Self::ChartsChanged => "plan.charts_changed",
        }
    }
}

/// The body of `POST /api/v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddWebhook {
    /// Where deliveries go: an `https://` URL of a public host (not a private, loopback or link-local address), with
    /// no credentials in it.
    #[schema(example = "https://hooks.example.com/coach-plans", format = "uri")]
    pub url: String,
    /// The events to receive, at least one; every plan event when absent.
    #[serde(default)]
    #[schema(example = json!(["plan.created", "plan.edited"]), min_items = 1)]
    pub events: Option<Vec<PlanEvent>>,
}

fn webhooks(state: &AppState) -> Result<&service::Webhooks, ApiError> {
    state
        .webhooks
        .as_ref()
        .ok_or_else(|| ApiError::client(StatusCode::SERVICE_UNAVAILABLE, &"webhooks are not available on this server"))
}

fn subscription_id(req: &HttpRequest) -> Result<i64, ApiError> {
    let text = req.match_info().get("id").unwrap_or_default();
    let id = params::count("id", text, params::MAX_ID)?;
    Ok(i64::try_from(id).unwrap_or(i64::MAX))
}

/// `GET /api/v1/webhooks`
#[utoipa::path(
    get, path = "/api/v1/webhooks", tag = "webhooks",
    description = "Every webhook subscription, oldest first (never their secrets). Needs an admin token.",
    responses((status = 200, description = "Subscriptions", body = SubscriptionsDto)),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = webhooks(&state)?.list().await?;
    Ok(no_store(HttpResponse::Ok()).json(SubscriptionsDto { webhooks: all.iter().map(SubscriptionDto::new).collect() }))
}

/// `POST /api/v1/webhooks`
#[utoipa::path(
    post, path = "/api/v1/webhooks", tag = "webhooks",
    description = "Subscribes a receiver to plan events. The answer holds the signing secret, shown only this once. \
        Deliveries are signed as the Standard Webhooks specification says. Needs an admin token.",
    request_body = AddWebhook,
    responses(
        (status = 201, description = "Subscribed; keep the secret", body = NewSubscriptionDto),
        (status = 400, description = "A body that is not the documented JSON, a refused URL (not https, a private address), an unknown event or an empty list of events", body = ErrorBody),
        (status = 415, description = "A body that is not JSON", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn add(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let is_json = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(ApiError::client(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &"send the subscription as JSON (Content-Type: application/json)",
        ));
    }
    let request: AddWebhook = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not a subscription ({e}); send {{\"url\": \"https://...\", \"events\": [\"plan.created\"]}}"
        ))
    })?;
    let events = request.events.map(|events| events.iter().map(|e| e.name()).collect::<Vec<_>>().join(","));
    let subscription = webhooks(&state)?.add(&request.url, events.as_deref()).await?;
    let body = NewSubscriptionDto {
        secret: subscription.secret.expose().to_owned(),
        subscription: SubscriptionDto::new(&subscription),
    };
    Ok(no_store(HttpResponse::Created()).json(body))
}

/// `DELETE /api/v1/webhooks/{id}`
#[utoipa::path(
    delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    description = "Removes a subscription and its deliveries. Needs an admin token.",
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No subscription has this id", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn remove(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    webhooks(&state)?.remove(subscription_id(&req)?).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/webhooks/{id}/test`
#[utoipa::path(
    post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks",
    description = "Queues a `webhook.test` event for the subscription; it is delivered like any other. Needs an \
        admin token.",
    responses(
        (status = 202, description = "Queued", body = DeliveryDto),
        (status = 404, description = "No subscription has this id", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn test(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let delivery = webhooks(&state)?.test(subscription_id(&req)?).await?;
    Ok(no_store(HttpResponse::Accepted()).json(DeliveryDto::new(&delivery)))
}

/// `GET /api/v1/webhooks/{id}/deliveries`
#[utoipa::path(
    get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    description = "The subscription's deliveries, newest first, with their status and attempts. Needs an admin \
        token.",
    responses(
        (status = 200, description = "Deliveries", body = DeliveriesDto),
        (status = 404, description = "No subscription has this id", body = ErrorBody),
    ),
    security(("bearer" = []), ("basic" = [])),
)]
pub async fn deliveries(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let id = subscription_id(&req)?;
    let query = params::QueryValues::parse("/api/v1/webhooks/{id}/deliveries", req.query_string())?;
    let limit = match query.one("limit") {
        Some(text) => params::count("limit", text, u64::from(service::webhooks::MAX_DELIVERY_LIST))? as u32,
        None => DEFAULT_DELIVERY_LIST,
    };
    let found = webhooks(&state)?.deliveries(Some(id), limit).await?;
    Ok(no_store(HttpResponse::Ok()).json(DeliveriesDto { deliveries: found.iter().map(DeliveryDto::new).collect() }))
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    builder
}
