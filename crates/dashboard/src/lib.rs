//! The dashboard: a web page of the day's plans with their charts, each plan's history with what changed, and
//! search, server-rendered over the service and mounted beside the HTTP API (`/dashboard`).
//!
//! - [`pages`]: the HTML (maud; everything escaped); [`diff`]: what changed between versions; `assets.rs`: the style
//!   sheet, script and icon compiled in, served under content-hashed URLs.
//! - Live: the day view's script asks every 2 seconds whether its list changed, with the list's ETag
//!   (`/dashboard/live`, 304 when nothing did) — polling rather than server-sent events: it holds no connection per
//!   open page, passes every proxy, and needs nothing but the same read the page itself makes.
//! - Security: every page carries a Content-Security-Policy that allows scripts, styles, images and requests from
//!   this origin only; the API's guard decides who may read (with `api.auth: required`, a token from the sign-in
//!   form, kept in an `HttpOnly`, `SameSite=Strict` cookie, `Secure` over HTTPS).

mod assets;
pub mod diff;
mod pages;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, guard, web};
use core_model::{ArchivedImage, CoachId, Plan, TradingDate};
use maud::Markup;
use serde::Deserialize;
use service::{Access, PlanService, ServiceError};

use crate::pages::{Context, Shown};

/// The cookie a signed-in browser presents its token in.
pub const SESSION_COOKIE: &str = service::access::BROWSER_COOKIE;

/// Most plans a search page lists.
const SEARCH_PLANS: usize = 50;

/// The Content-Security-Policy of every page: this origin only, no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The dashboard over the service.
#[derive(Clone)]
pub struct Dashboard {
    service: PlanService,
    access: Option<Access>,
    auth_required: bool,
}

impl std::fmt::Debug for Dashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dashboard").field("auth_required", &self.auth_required).finish_non_exhaustive()
    }
}

impl Dashboard {
    /// The pages over `service`; with `auth_required`, the sign-in form checks tokens with `access`.
    pub fn new(service: PlanService, access: Option<Access>, auth_required: bool) -> Self {
        Self { service, access, auth_required }
    }

    /// Adds the dashboard's routes to an app: its pages answer GET and HEAD (another method is a 405 page naming
    /// the ones they take), and any other path under `/dashboard/` is a 404 page.
    pub fn configure(&self, config: &mut web::ServiceConfig) {
        config
            .app_data(web::Data::new(self.clone()))
            .service(page_resource("/dashboard", day))
            .service(page_resource("/dashboard/", day))
            .service(page_resource("/dashboard/live", live))
            .service(page_resource("/dashboard/search", search))
            .service(page_resource("/dashboard/plans/{coach}/{date}", plan))
            .service(
                web::resource("/dashboard/sign-in")
                    .route(reads(sign_in_form))
                    .route(web::post().to(sign_in))
                    .default_service(others_refused("GET, HEAD, POST")),
            )
            .service(
                web::resource("/dashboard/sign-out")
                    .route(web::post().to(sign_out))
                    .default_service(others_refused("POST")),
            )
            .service(page_resource("/dashboard/assets/{name}", assets::serve))
            .service(web::resource("/dashboard/{rest:.*}").to(not_found));
    }

    fn context(&self, req: &HttpRequest) -> Context<'_> {
        let policy = self.service.policy();
        Context {
            roster: &policy.roster,
            zone: policy.zone.zone(),
            signed_in: self.auth_required && req.cookie(SESSION_COOKIE).is_some(),
            searched: "",
        }
    }

    /// The plans with their archived chart images (a failure to read the copies leaves the charts as links).
    async fn shown<'a>(&self, plans: &'a [Plan]) -> Vec<Shown<'a>> {
        let copies = self.service.archived_images(plans).await.unwrap_or_else(|error| {
            tracing::warn!(error = %error, "cannot read the archived chart images; the charts are shown as links");
            HashMap::new()
        });
        plans.iter().map(|plan| show(&self.service, plan, &copies)).collect()
    }
}

/// A resource whose `handler` answers GET and HEAD, and another method a 405 page.
fn page_resource<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path).route(reads(handler)).default_service(others_refused("GET, HEAD"))
}

/// The route of a page's reads: GET and HEAD.
fn reads<F, Args>(handler: F) -> actix_web::Route
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::route().guard(guard::Any(guard::Get()).or(guard::Head())).to(handler)
}

/// The answer to a method a dashboard path does not take: a page naming the ones it does (`allowed`), with `Allow`.
fn others_refused(allowed: &'static str) -> actix_web::Route {
    web::to(move |dashboard: web::Data<Dashboard>, req: HttpRequest| async move {
        let text = format!("{} is not how this page is asked for; it takes {allowed}.", req.method());
        let mut response =
            page(StatusCode::METHOD_NOT_ALLOWED, pages::message(&dashboard.context(&req), "Not allowed", &text));
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(allowed));
        response
    })
}

/// Any other path under `/dashboard/`: a page that says so, with the way back.
async fn not_found(dashboard: web::Data<Dashboard>, req: HttpRequest) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    let text = format!(
        "There is no page at {path}. A plan's page is /dashboard/plans/COACH/YYYY-MM-DD; a day's plans are at \
         /dashboard?date=YYYY-MM-DD."
    );
    page(StatusCode::NOT_FOUND, pages::message(&dashboard.context(&req), "Not found", &text))
}

fn show<'a>(service: &PlanService, plan: &'a Plan, copies: &HashMap<String, ArchivedImage>) -> Shown<'a> {
    let (mut images, mut links) = (Vec::new(), Vec::new());
    for (index, chart) in plan.charts.iter().enumerate() {
        match core_model::image::archived_copy(chart, copies) {
            Some(image) => images.push((
                format!("/api/v1/charts/{}", image.digest),
                pages::chart_alt(&service.policy().roster, plan, index, chart.filename.as_deref()),
            )),
            // An attachment without a copy points at Discord, which this page never loads from: a link.
            None => links.push(chart.url.clone()),
        }
    }
    Shown { plan, images, links }
}

/// A page with the dashboard's security headers.
fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(markup.into_string())
}

/// What a service error says to a reader, and its status.
fn refusal(dashboard: &Dashboard, req: &HttpRequest, error: &ServiceError) -> HttpResponse {
    if error.is_user_error() {
        return page(
            StatusCode::BAD_REQUEST,
            pages::message(&dashboard.context(req), "Cannot show that", &error.to_string()),
        );
    }
    tracing::error!(error = %core_model::error_chain(error), "a dashboard page failed");
    let text = "The plans cannot be read right now; try again in a moment.";
    page(StatusCode::SERVICE_UNAVAILABLE, pages::message(&dashboard.context(req), "Unavailable", text))
}

#[derive(Debug, Deserialize)]
struct DayQuery {
    date: Option<String>,
    coach: Option<String>,
}

/// The date and coach a day view asks for, and the plans of that date; the page to answer instead when they cannot
/// be had.
async fn day_plans(
    dashboard: &Dashboard,
    req: &HttpRequest,
    query: &DayQuery,
) -> Result<(TradingDate, Option<CoachId>, Vec<Plan>), HttpResponse> {
    let service = &dashboard.service;
    let refuse = |error: ServiceError| refusal(dashboard, req, &error);
    let date = service.parse_date(query.date.as_deref().filter(|d| !d.is_empty())).map_err(refuse)?;
    let coach = query.coach.as_deref().filter(|c| !c.is_empty()).map(|c| service.parse_coach(c)).transpose();
    let coach = coach.map_err(refuse)?;
    let plans = service.plans_for_date(Some(date)).await.map_err(refuse)?;
    Ok((date, coach, plans))
}

/// The ETag of a day's list: what is shown changes it (plans, their versions, their chart copies, the filter).
fn etag(date: TradingDate, coach: Option<&CoachId>, shown: &[Shown<'_>]) -> String {
    let mut key = format!("{date}|{}", coach.map_or("", CoachId::as_str));
    for entry in shown {
        let plan = entry.plan;
        key.push_str(&format!("|{}:{}:{}:{}", plan.id, plan.version, plan.updated_at, entry.images.len()));
    }
    format!("\"{:016x}\"", assets::fnv1a(key.as_bytes()))
}

/// `GET /dashboard`: the day view (today in the market's time zone unless `date` says otherwise).
async fn day(dashboard: web::Data<Dashboard>, req: HttpRequest, query: web::Query<DayQuery>) -> HttpResponse {
    let (date, coach, plans) = match day_plans(&dashboard, &req, &query).await {
        Ok(day) => day,
        Err(refused) => return refused,
    };
    let shown = dashboard.shown(&plans).await;
    let tag = etag(date, coach.as_ref(), &shown);
    page(StatusCode::OK, pages::day(&dashboard.context(&req), date, coach.as_ref(), &shown, &tag))
}

/// `GET /dashboard/live`: the day's list alone, for the page's script; 304 while it has not changed.
async fn live(dashboard: web::Data<Dashboard>, req: HttpRequest, query: web::Query<DayQuery>) -> HttpResponse {
    let (date, coach, plans) = match day_plans(&dashboard, &req, &query).await {
        Ok(day) => day,
        Err(refused) => return refused,
    };
    let shown = dashboard.shown(&plans).await;
    let tag = etag(date, coach.as_ref(), &shown);
    let unchanged = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str());
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::ETAG, tag.clone()))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY));
    if unchanged {
        return response.finish();
    }
    let list = pages::plan_list(&dashboard.context(&req), &shown, coach.as_ref());
    response.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8")).body(list.into_string())
}

/// `GET /dashboard/plans/{coach}/{date}`: a plan's permalink, with its history (`today` sends to today's date).
async fn plan(dashboard: web::Data<Dashboard>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let service = &dashboard.service;
    let (coach, date) = path.into_inner();
    if date.trim().eq_ignore_ascii_case("today")
        && let Ok(coach) = service.parse_coach(&coach)
    {
        // A permalink names its date: today's plan is at today's.
        let location = format!("/dashboard/plans/{coach}/{}", service.today());
        return HttpResponse::Found().insert_header((header::LOCATION, location)).finish();
    }
    let parsed = service.parse_coach(&coach).and_then(|coach| Ok((coach, service.parse_date(Some(&date))?)));
    let (coach, date) = match parsed {
        Ok(found) => found,
        Err(error) => return refusal(&dashboard, &req, &error),
    };
    let current = match service.plan(&coach, Some(date)).await {
        Ok(plan) => plan,
        Err(error) => return refusal(&dashboard, &req, &error),
    };
    let history = match service.history(&coach, Some(date), 100).await {
        Ok(history) => history,
        Err(error) => return refusal(&dashboard, &req, &error),
    };
    let plans: Vec<Plan> = current.into_iter().collect();
    let shown = dashboard.shown(&plans).await;
    page(StatusCode::OK, pages::plan_page(&dashboard.context(&req), &coach, date, shown.first(), &history))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

/// `GET /dashboard/search?q=`: plans of the last 30 days mentioning a ticker or containing words.
async fn search(dashboard: web::Data<Dashboard>, req: HttpRequest, query: web::Query<SearchQuery>) -> HttpResponse {
    let terms = query.q.as_deref().unwrap_or("").trim();
    let context = pages::Context { searched: terms, ..dashboard.context(&req) };
    if terms.is_empty() {
        return page(StatusCode::OK, pages::search(&context, "", None, &[], Some("Type a ticker (NVDA) or words.")));
    }
    match dashboard.service.search_terms(terms, service::DEFAULT_SEARCH_DAYS, SEARCH_PLANS).await {
        Ok(found) => {
            let shown = dashboard.shown(&found.plans).await;
            page(StatusCode::OK, pages::search(&context, terms, Some((found.from, found.to)), &shown, None))
        }
        Err(error) if error.is_user_error() => {
            page(StatusCode::BAD_REQUEST, pages::search(&context, terms, None, &[], Some(&error.to_string())))
        }
        Err(error) => refusal(&dashboard, &req, &error),
    }
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: a dashboard path of this site only (never another host).
fn next_page(next: Option<&str>) -> String {
    match next {
        Some(next) if next.starts_with("/dashboard") && !next.starts_with("//") && !next.contains('\\') => {
            next.to_owned()
        }
        _ => "/dashboard".to_owned(),
    }
}

/// `GET /dashboard/sign-in`.
async fn sign_in_form(dashboard: web::Data<Dashboard>, req: HttpRequest, query: web::Query<NextQuery>) -> HttpResponse {
    let next = next_page(query.next.as_deref());
    if !dashboard.auth_required {
        return see_other(&next);
    }
    page(StatusCode::OK, pages::sign_in(&dashboard.context(&req), &next, None))
}

#[derive(Deserialize)]
struct SignIn {
    token: String,
    next: Option<String>,
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

/// The session cookie: the token, or (empty, expired) to clear it.
fn session_cookie(req: &HttpRequest, token: Option<&str>) -> actix_web::cookie::Cookie<'static> {
    let secure = req.connection_info().scheme() == "https";
    let mut cookie = actix_web::cookie::Cookie::build(SESSION_COOKIE, token.unwrap_or("").to_owned())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(actix_web::cookie::SameSite::Strict)
        .finish();
    if token.is_none() {
        cookie.make_removal();
    }
    cookie
}

/// `POST /dashboard/sign-in`: checks the token; when it is good, keeps it in the session cookie.
async fn sign_in(dashboard: web::Data<Dashboard>, req: HttpRequest, form: web::Form<SignIn>) -> HttpResponse {
    let next = next_page(form.next.as_deref());
    let Some(access) = dashboard.access.as_ref().filter(|_| dashboard.auth_required) else {
        return see_other(&next);
    };
    match access.authenticate(form.token.trim()).await {
        Ok(_) => {
            let cookie = session_cookie(&req, Some(form.token.trim()));
            let mut response = see_other(&next);
            if let Err(error) = response.add_cookie(&cookie) {
                tracing::warn!(error = %error, "cannot set the session cookie");
            }
            response
        }
        Err(service::AuthError::Storage(error)) => {
            tracing::warn!(error = %error, "cannot check a token at sign-in");
            let text = "The token cannot be checked right now; try again in a moment.";
            page(StatusCode::SERVICE_UNAVAILABLE, pages::sign_in(&dashboard.context(&req), &next, Some(text)))
        }
        Err(error) => {
            // The form again, with what went wrong (a 200: the form is the answer; the API's 401s are for clients).
            let text = format!("That token does not open this dashboard: {error}.");
            page(StatusCode::OK, pages::sign_in(&dashboard.context(&req), &next, Some(&text)))
        }
    }
}

/// `POST /dashboard/sign-out`: forgets the session cookie.
async fn sign_out(req: HttpRequest) -> HttpResponse {
    let mut response = see_other("/dashboard/sign-in");
    if let Err(error) = response.add_cookie(&session_cookie(&req, None)) {
        tracing::warn!(error = %error, "cannot clear the session cookie");
    }
    response
}
