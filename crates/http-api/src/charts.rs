//! Archived chart images: `GET /api/v1/charts/{digest}` serves the copy the bot kept of an attached image, and plan
//! answers point at it (Discord's own links for attachments expire after about a day).

use std::collections::HashMap;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use core_model::image::archived_copy;
use core_model::{ArchivedImage, Chart, ChartKind, ImageDigest, Plan};

use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Content types an archived image is served as; anything else is served as `application/octet-stream`, so that a
/// file that claims to be an image can never run as a page of this origin.
pub(crate) const IMAGE_TYPES: [&str; 6] =
    ["image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp", "image/x-ms-bmp"];

/// The archived copies of the charts of some plans, and where the API serves them.
#[derive(Debug, Default)]
pub(crate) struct ChartCopies {
    base: String,
    by_source: HashMap<String, ArchivedImage>,
}

impl ChartCopies {
    /// Looks up the copies of `plans`' attached charts. A failure to read them is logged and leaves the plans with
    /// their original links: the plans themselves are still served.
    pub(crate) async fn of(state: &AppState, req: &HttpRequest, plans: &[Plan]) -> Self {
        let has_attachments = plans.iter().flat_map(|p| &p.charts).any(|c| c.kind == ChartKind::Attachment);
        if !has_attachments {
            return Self::default();
        }
        let by_source = match state.service.archived_images(plans).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the archived chart images; serving the original links");
                HashMap::new()
            }
        };
        Self { base: base_url(state, req), by_source }
    }

    /// The copies of the charts of `plans` that the service finds, linked under `base` (the API's base URL): for
    /// answers made outside a request, such as webhook bodies. A failure to read them leaves the original links.
    pub(crate) async fn outside_request(service: &service::PlanService, base: &str, plans: &[Plan]) -> Self {
        let by_source = service.archived_images(plans).await.unwrap_or_else(|error| {
            tracing::warn!(error = %error, "cannot read the archived chart images; using the original links");
            HashMap::new()
        });
        Self { base: base.trim_end_matches('/').to_owned(), by_source }
    }

    /// The archived copy of `chart`, if any.
    pub(crate) fn copy_of(&self, chart: &Chart) -> Option<&ArchivedImage> {
        archived_copy(chart, &self.by_source)
    }

    /// Where the API serves the copy of `chart`, if it has one.
    pub(crate) fn image_url(&self, chart: &Chart) -> Option<String> {
        self.copy_of(chart).map(|image| format!("{}/api/v1/charts/{}", self.base, image.digest))
    }

    /// The link agents should follow for `chart`: its copy when there is one, else its original link.
    pub(crate) fn best_url(&self, chart: &Chart) -> String {
        self.image_url(chart).unwrap_or_else(|| chart.url.clone())
    }

    /// How many charts of `plan` have a copy (part of the plan's ETag: a copy made after the plan was read changes
    /// the answer).
    pub(crate) fn count_for(&self, plan: &Plan) -> usize {
        plan.charts.iter().filter(|c| self.copy_of(c).is_some()).count()
    }
}

/// The API's base URL for links in answers: `api.public_url` when configured, else the scheme and `Host` of the
/// request (only the `Host` header: a forwarded host given by a client is not trusted).
fn base_url(state: &AppState, req: &HttpRequest) -> String {
    if let Some(public) = &state.config.public_url {
        return public.trim_end_matches('/').to_owned();
    }
    let scheme = req.connection_info().scheme().to_owned();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| req.app_config().host().to_owned(), str::to_owned);
    let scheme = if scheme == "https" { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// `GET /api/v1/charts/{digest}`
#[utoipa::path(
    get,
    path = "/api/v1/charts/{digest}",
    tag = "charts",
    responses(
        (status = 200, description = "The image file, as it was attached in Discord (`application/octet-stream` when its \
            recorded type is not one of the image types)",
            content(
                (String = "image/png"), (String = "image/jpeg"), (String = "image/gif"), (String = "image/webp"),
                (String = "image/bmp"), (String = "image/x-ms-bmp"), (String = "application/octet-stream"),
            ),
            headers(("ETag" = String, description = "The digest; an image never changes"))),
        (status = 304, description = "The caller has it already (If-None-Match)"),
        (status = 400, description = "Not a digest", body = ErrorBody),
        (status = 404, description = "No archived image has that digest", body = ErrorBody),
    )
)]
pub async fn chart_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let digest = ImageDigest::parse(&path).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let image = state
        .service
        .chart_image(&digest)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no archived chart image has the digest {digest}")))?;
    let etag = format!("\"{digest}\"");
    let unchanged = crate::v1::not_modified(&req, &etag);
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((
            header::CACHE_CONTROL,
            format!("{}, max-age=31536000, immutable", state.config.cache_visibility()),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.insert_header((header::ETAG, value));
    }
    if unchanged {
        return Ok(response.finish());
    }
    let content_type = if IMAGE_TYPES.contains(&image.content_type.as_str()) {
        image.content_type.as_str()
    } else {
        "application/octet-stream"
    };
    Ok(response.content_type(content_type).body(image.bytes))
}
