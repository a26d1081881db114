//! Request metrics: counts and latency histograms by route template, method and status, kept per app (not in a
//! global registry, so that several apps in one process, as in tests, keep their own), rendered as JSON or as
//! Prometheus text exposition from the same numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::Method;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// The label set of one series.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesKey {
    /// Route template, e.g. `/api/v1/plans/{coach}/{date}`; `unmatched` for paths no route serves.
    pub route: String,
    /// HTTP method (`OTHER` for non-standard ones).
    pub method: &'static str,
    /// Response status.
    pub status: u16,
}

/// Counts of one series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesStats {
    /// Requests.
    pub count: u64,
    /// Sum of latencies, in seconds.
    pub seconds_sum: f64,
    /// Requests per bucket of [`LATENCY_BUCKETS`] (not cumulative); the last slot is above every bound.
    pub buckets: [u64; LATENCY_BUCKETS.len() + 1],
}

/// The registry of one app.
#[derive(Debug)]
pub struct RequestMetrics {
    started: Instant,
    series: Mutex<BTreeMap<SeriesKey, SeriesStats>>,
}

impl Default for RequestMetrics {
    fn default() -> Self {
        Self { started: Instant::now(), series: Mutex::new(BTreeMap::new()) }
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

impl RequestMetrics {
    /// Records one request.
    pub fn record(&self, route: String, method: &Method, status: u16, seconds: f64) {
        let key = SeriesKey { route, method: method_label(method), status };
        let bucket = LATENCY_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(LATENCY_BUCKETS.len());
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let stats = series.entry(key).or_default();
        stats.count += 1;
        stats.seconds_sum += seconds;
        stats.buckets[bucket] += 1;
    }

    /// A copy of every series.
    pub fn snapshot(&self) -> BTreeMap<SeriesKey, SeriesStats> {
        self.series.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Seconds since the app started.
    pub fn uptime_seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }
}

/// Escapes a Prometheus label value.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Prometheus text exposition (format 0.0.4) of the request series plus the given gauges `(name, help, value)`.
pub fn render_prometheus(metrics: &RequestMetrics, gauges: &[(&str, &str, f64)]) -> String {
    let snapshot = metrics.snapshot();
    let mut out = String::with_capacity(4096);
    let _ = writeln!(out, "# HELP coach_plans_http_requests_total HTTP requests served, by route, method and status.");
    let _ = writeln!(out, "# TYPE coach_plans_http_requests_total counter");
    for (key, stats) in &snapshot {
        let _ = writeln!(
            out,
            "coach_plans_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{}\"}} {}",
            escape_label(&key.route),
            key.method,
            key.status,
            stats.count
        );
    }
    let _ = writeln!(out, "# HELP coach_plans_http_request_duration_seconds HTTP request latency, in seconds.");
    let _ = writeln!(out, "# TYPE coach_plans_http_request_duration_seconds histogram");
    for (key, stats) in &snapshot {
        let labels =
            format!("route=\"{}\",method=\"{}\",status=\"{}\"", escape_label(&key.route), key.method, key.status);
        let mut cumulative = 0;
        for (bound, count) in LATENCY_BUCKETS.iter().zip(stats.buckets) {
            cumulative += count;
            let _ = writeln!(
                out,
                "coach_plans_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ =
            writeln!(out, "coach_plans_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
        let _ = writeln!(out, "coach_plans_http_request_duration_seconds_sum{{{labels}}} {}", stats.seconds_sum);
        let _ = writeln!(out, "coach_plans_http_request_duration_seconds_count{{{labels}}} {}", stats.count);
    }
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

/// Middleware that records every request in a [`RequestMetrics`].
#[derive(Debug, Clone)]
pub struct RecordMetrics(pub Arc<RequestMetrics>);

impl<S, B> Transform<S, ServiceRequest> for RecordMetrics
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = RecordMetricsService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordMetricsService { service: Rc::new(service), metrics: Arc::clone(&self.0) }))
    }
}

/// The service [`RecordMetrics`] wraps around the app.
#[derive(Debug)]
pub struct RecordMetricsService<S> {
    service: Rc<S>,
    metrics: Arc<RequestMetrics>,
}

impl<S, B> Service<ServiceRequest> for RecordMetricsService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let start = Instant::now();
        let method = req.method().clone();
        let service = Rc::clone(&self.service);
        let metrics = Arc::clone(&self.metrics);
        Box::pin(async move {
            let result = service.call(req).await;
            let (route, status) = match &result {
                Ok(response) => (response.request().match_pattern(), response.status()),
                Err(error) => (None, error.as_response_error().status_code()),
            };
            let route = route.unwrap_or_else(|| "unmatched".to_owned());
            metrics.record(route, &method, status.as_u16(), start.elapsed().as_secs_f64());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_cumulative_buckets_and_escaped_labels() {
        let metrics = RequestMetrics::default();
        metrics.record("/a".into(), &Method::GET, 200, 0.0004);
        metrics.record("/a".into(), &Method::GET, 200, 0.003);
        metrics.record("/a\"b".into(), &Method::from_bytes(b"BREW").unwrap(), 405, 9.0);
        let text = render_prometheus(&metrics, &[("coach_plans_up", "Up.", 1.0)]);
        assert!(
            text.contains("coach_plans_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"200\",le=\"0.0005\"} 1"), "{text}");
        assert!(text.contains("route=\"/a\",method=\"GET\",status=\"200\",le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("route=\"/a\\\"b\",method=\"OTHER\",status=\"405\",le=\"2.5\"} 0"), "{text}");
        assert!(text.contains("route=\"/a\\\"b\",method=\"OTHER\",status=\"405\",le=\"+Inf\"} 1"), "{text}");
        assert!(text.contains("# TYPE coach_plans_up gauge\ncoach_plans_up 1\n"), "{text}");
    }
}
