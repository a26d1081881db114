//! Answers kept for repeated reads: a plan read the second time is not read from storage, not turned into JSON and
//! not given its ETag again, while nothing a reader may see changed ([`PlanService::data_version`]: this process's
//! writes at once, other processes' within [`service::CHANGE_CHECK_EVERY`]).
//!
//! The plan routes are wrapped in [`cached`] (after routing, so that metrics keep their route; after the guard, so
//! that every request is still authenticated and rate limited). A kept answer is keyed by path, query, `Host` (chart
//! links are made from it) and `Accept`; only `200` answers of GET are kept, up to [`MAX_BODY`] each and
//! [`MAX_ENTRIES`] in all (the whole cache is dropped when it is full, or when the version moves on).
//!
//! [`PlanService::data_version`]: service::PlanService::data_version

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, HttpResponseBuilder};

use crate::state::AppState;

/// Most answers kept.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// Largest answer kept.
pub(crate) const MAX_BODY: usize = 256 * 1024;

/// An answer as kept.
#[derive(Debug)]
struct Entry {
    status: StatusCode,
    headers: Vec<(header::HeaderName, header::HeaderValue)>,
    body: Bytes,
}

/// The answers kept, all under one data version.
#[derive(Debug, Default)]
pub(crate) struct AnswerCache {
    kept: Mutex<(u64, HashMap<String, Arc<Entry>>)>,
}

impl AnswerCache {
    fn get(&self, version: u64, key: &str) -> Option<Arc<Entry>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        (kept.0 == version).then(|| kept.1.get(key).cloned()).flatten()
    }

    fn put(&self, version: u64, key: String, entry: Entry) {
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.0 != version || kept.1.len() >= MAX_ENTRIES {
            *kept = (version, HashMap::new());
        }
        kept.1.insert(key, Arc::new(entry));
    }
}

fn key_of(req: &ServiceRequest) -> String {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    format!("{}?{}\n{}\n{}", req.path(), req.query_string(), header(header::HOST), header(header::ACCEPT))
}

fn answer(entry: &Entry, only_head: bool) -> HttpResponse {
    let mut response = HttpResponseBuilder::new(if only_head { StatusCode::NOT_MODIFIED } else { entry.status });
    for (name, value) in &entry.headers {
        if only_head && name == header::CONTENT_TYPE {
            continue;
        }
        response.append_header((name.clone(), value.clone()));
    }
    if only_head { response.finish() } else { response.body(entry.body.clone()) }
}

/// Serves a kept answer when the data did not change since it was kept; otherwise calls the route and keeps its
/// answer.
pub(crate) async fn cached(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(state), true) = (state, req.method() == Method::GET) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Ok(version) = state.service.data_version().await else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = key_of(&req);
    if let Some(entry) = state.answers.get(version, &key) {
        let etag = entry.headers.iter().find(|(name, _)| name == header::ETAG).and_then(|(_, v)| v.to_str().ok());
        let response = answer(&entry, etag.is_some_and(|etag| crate::v1::not_modified(req.request(), etag)));
        return Ok(req.into_response(response));
    }
    let response = next.call(req).await?;
    let size = response.response().body().size();
    let keep = response.status() == StatusCode::OK
        && matches!(size, actix_web::body::BodySize::Sized(n) if n > 0 && n <= MAX_BODY as u64);
    if !keep {
        return Ok(response.map_into_boxed_body());
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let body = match actix_web::body::to_bytes(body).await {
        Ok(body) => body,
        Err(error) => {
            let error: Box<dyn std::error::Error> = error.into();
            return Err(actix_web::error::ErrorInternalServerError(error.to_string()));
        }
    };
    let headers = head.headers().iter().map(|(name, value)| (name.clone(), value.clone())).collect();
    state.answers.put(version, key, Entry { status: head.status(), headers, body: body.clone() });
    Ok(ServiceResponse::new(request, head.set_body(body).map_into_boxed_body()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_kept_under_one_version_and_dropped_when_it_moves() {
        let cache = AnswerCache::default();
        let entry = || Entry { status: StatusCode::OK, headers: Vec::new(), body: Bytes::from_static(b"{}") };
        cache.put(1, "a".into(), entry());
        assert!(cache.get(1, "a").is_some());
        assert!(cache.get(2, "a").is_none(), "another version never sees it");
        cache.put(2, "b".into(), entry());
        assert!(cache.get(1, "a").is_none() && cache.get(2, "b").is_some(), "a new version drops the old answers");
        for n in 0..MAX_ENTRIES + 1 {
            cache.put(2, n.to_string(), entry());
        }
        assert!(cache.kept.lock().unwrap().1.len() <= MAX_ENTRIES, "bounded");
    }
}
