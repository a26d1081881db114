//! The route table: every path the API serves and its handler, in one list that the router is built from and that a
//! test holds against the OpenAPI document, so that a route cannot be added without being documented.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError as _, guard, web};

use crate::error::ApiError;
use crate::{admin, charts, legacy, ops, v1};

/// One path the API serves (most with GET and HEAD only; other methods get a 405).
pub(crate) struct Route {
    /// The path, as the router matches it and the OpenAPI document names it.
    pub path: &'static str,
    /// For a path that is another spelling of a documented one: that path. An alias is not a path of its own in the
    /// OpenAPI document (it is the same operation, and operation ids must be unique); the documented path's
    /// description names it instead.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests that hold the table against the document"))]
    pub alias_of: Option<&'static str>,
    /// The methods served, as the document names them (HEAD goes with GET).
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests that hold the table against the document"))]
    pub methods: &'static [&'static str],
    /// Builds the actix resource serving `path`.
    resource: fn(&'static str) -> actix_web::Resource,
    /// Whether its GET answers are kept for repeated reads while the data does not change (see `cache.rs`).
    kept: bool,
}

impl Route {
    const fn new(path: &'static str, resource: fn(&'static str) -> actix_web::Resource) -> Self {
        Self { path, alias_of: None, methods: &["get"], resource, kept: false }
    }

    const fn alias(path: &'static str, of: &'static str, resource: fn(&'static str) -> actix_web::Resource) -> Self {
        Self { path, alias_of: Some(of), methods: &["get"], resource, kept: false }
    }

    const fn with_methods(
        path: &'static str,
        methods: &'static [&'static str],
        resource: fn(&'static str) -> actix_web::Resource,
    ) -> Self {
        Self { path, alias_of: None, methods, resource, kept: false }
    }

    /// The route with its GET answers kept for repeated reads.
    const fn kept(self) -> Self {
        Self { kept: true, ..self }
    }

    /// Adds the actix resource serving this route (behind the answer cache when the route is kept).
    pub fn register(&self, config: &mut web::ServiceConfig) {
        let resource = (self.resource)(self.path);
        if self.kept {
            config.service(resource.wrap(actix_web::middleware::from_fn(crate::cache::cached)));
        } else {
            config.service(resource);
        }
    }
}

/// Every route. The router registers exactly these; the OpenAPI document must list exactly the ones that are not
/// aliases (checked by a test below).
pub(crate) const ROUTES: &[Route] = &[
    Route::new("/", |p| get(p, ops::root)),
    Route::new("/health", |p| get(p, ops::health)),
    Route::new("/metrics", |p| get(p, ops::metrics)),
    Route::new("/api/coach-plans/", |p| legacy_get(p, legacy::plan)).kept(),
    Route::alias("/api/coach-plans", "/api/coach-plans/", |p| legacy_get(p, legacy::plan)).kept(),
    Route::new("/api/coach-plans/all", |p| legacy_get(p, legacy::all)).kept(),
    Route::new("/api/coach-plans/history", |p| legacy_get(p, legacy::history)).kept(),
    Route::new("/api/v1/plans", |p| get(p, v1::list_plans)).kept(),
    Route::new("/api/v1/tickers", |p| get(p, v1::tickers)).kept(),
    Route::new("/api/v1/plans/{coach}/{date}", |p| get(p, v1::get_plan)).kept(),
    Route::new("/api/v1/plans/{coach}/{date}/history", |p| get(p, v1::plan_history)).kept(),
    Route::new("/api/v1/coaches", |p| get(p, v1::coaches)),
    Route::new("/api/v1/coaches/{coach}/history", |p| get(p, v1::coach_history)).kept(),
    Route::new("/api/v1/stats", |p| get(p, v1::stats)),
    Route::new("/api/v1/charts/{digest}", |p| get(p, charts::chart_image)),
    Route::new("/api/v1/openapi.json", |p| get(p, v1::openapi)),
    Route::with_methods("/api/v1/webhooks", &["get", "post"], |p| {
        web::resource(p)
            .route(web::route().guard(read_guard()).to(admin::list))
            .route(web::post().to(admin::add))
            .default_service(web::to(|req: HttpRequest| not_allowed(req, &["GET", "HEAD", "POST"])))
    }),
    Route::with_methods("/api/v1/webhooks/{id}", &["delete"], |p| {
        web::resource(p)
            .route(web::delete().to(admin::remove))
            .default_service(web::to(|req: HttpRequest| not_allowed(req, &["DELETE"])))
    }),
    Route::with_methods("/api/v1/webhooks/{id}/test", &["post"], |p| {
        web::resource(p)
            .route(web::post().to(admin::test))
            .default_service(web::to(|req: HttpRequest| not_allowed(req, &["POST"])))
    }),
    Route::new("/api/v1/webhooks/{id}/deliveries", |p| get(p, admin::deliveries)),
];

fn read_guard() -> impl guard::Guard {
    guard::Any(guard::Get()).or(guard::Head())
}

/// A GET (and HEAD) route whose other methods get a JSON 405.
fn get<F, Args>(path: &'static str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path).route(web::route().guard(read_guard()).to(handler)).default_service(web::to(method_not_allowed))
}

/// A legacy GET route: its 405 has the predecessor's `{"error": ...}` body (its handlers answer their own errors so).
fn legacy_get<F, Args>(path: &'static str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::route().guard(read_guard()).to(handler))
        .default_service(web::to(legacy_method_not_allowed))
}

/// The answer for a path no route serves.
pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    ApiError::not_found(format!("no route {path}; the routes are listed at / and in /api/v1/openapi.json"))
        .error_response()
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    not_allowed(req, &["GET", "HEAD"]).await
}

/// A JSON 405 whose message and `Allow` header name `allowed`.
async fn not_allowed(req: HttpRequest, allowed: &[&str]) -> HttpResponse {
    let mut response = ApiError::method_not_allowed(req.method().as_str(), allowed).error_response();
    if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

async fn legacy_method_not_allowed(req: HttpRequest) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, HEAD"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": format!("{} is not allowed here; use GET", req.method()) }))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    fn document() -> Value {
        serde_json::from_str(&crate::openapi::document(&core_model::Roster::default(), false)).unwrap()
    }

    #[test]
    fn the_openapi_document_lists_exactly_the_routes_served() {
        let doc = document();
        let documented: BTreeSet<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
        let served: BTreeSet<&str> = ROUTES.iter().filter(|r| r.alias_of.is_none()).map(|r| r.path).collect();
        assert_eq!(documented, served, "every route is documented, and only routes are");
        for (path, item) in doc["paths"].as_object().unwrap() {
            let methods: BTreeSet<&str> =
                item.as_object().unwrap().keys().map(String::as_str).filter(|k| *k != "parameters").collect();
            let route = ROUTES.iter().find(|r| r.path == path).unwrap();
            let served: BTreeSet<&str> = route.methods.iter().copied().collect();
            assert_eq!(methods, served, "{path} is documented with the methods it serves");
        }
    }

    #[test]
    fn an_alias_names_a_documented_route_whose_description_names_it() {
        let doc = document();
        let aliases: Vec<&Route> = ROUTES.iter().filter(|r| r.alias_of.is_some()).collect();
        assert!(!aliases.is_empty());
        for alias in aliases {
            let of = alias.alias_of.unwrap();
            let operation = &doc["paths"][of]["get"];
            assert!(operation.is_object(), "{} is an alias of the documented {of}", alias.path);
            let text = format!("{} {}", operation["summary"], operation["description"]);
            assert!(text.contains(&format!("`{}`", alias.path)), "{of}'s description names {}: {text}", alias.path);
        }
    }

    #[test]
    fn every_path_is_served_once() {
        let paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();
        assert_eq!(paths.len(), ROUTES.len());
    }
}
