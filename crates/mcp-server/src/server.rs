//! [`PlanMcp`]: the MCP server handler over the service. It answers `initialize` with the product's name, version
//! and instructions, and hands tools and resources to their modules.

use std::sync::Arc;

use core_model::Plan;
use rmcp::ErrorData as McpError;
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CustomRequest, CustomResult, ErrorCode, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use service::PlanService;

use crate::views::Copies;
use crate::{resources, tools};

/// What the server tells the model it is for.
pub const INSTRUCTIONS: &str = "This server holds trading coaches' daily plans, posted in Discord: their text, the \
     tickers they mention, their charts and every change to them. Use search_plans or the ticker_mentions consensus to \
     find what the coaches said about a ticker or a theme, and get_plan or plans_for_date for one day's plans.";

/// How the server answers.
#[derive(Debug, Clone)]
pub struct McpConfig {
    /// The HTTP API's address as agents reach it (`api.public_url`, e.g. `https://plans.example.com`): when set,
    /// every link to an archived chart image starts with it.
    pub public_url: Option<String>,
    /// The HTTP API's own address (e.g. `http://127.0.0.1:8080`), for links when no public URL is set and no HTTP
    /// request names a host (over stdio). Over HTTP, links follow the request's `Host`, as the API's do.
    pub local_url: String,
    /// Most chart images `get_plan` returns as images.
    pub max_images: usize,
    /// Largest chart image `get_plan` returns as an image, in bytes (a larger one is named by its link instead).
    pub max_image_bytes: usize,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            local_url: "http://127.0.0.1:8080".to_owned(),
            max_images: 4,
            max_image_bytes: 1024 * 1024,
        }
    }
}

/// What the tools and resources share: the service and the configuration.
#[derive(Debug)]
pub(crate) struct Context {
    pub service: PlanService,
    /// `api.public_url`, without a trailing slash.
    pub public_url: Option<String>,
    /// The API's own address, without a trailing slash.
    pub local_url: String,
    pub max_images: usize,
    pub max_image_bytes: usize,
}

impl Context {
    /// The market time zone's name.
    pub(crate) fn zone_name(&self) -> String {
        self.service.policy().zone.name().to_owned()
    }

    /// The API's base URL for the links in an answer to `request`: the public URL when configured, else the
    /// request's `Host` over HTTP (it passed the allowed-hosts check), else the API's own address.
    fn base_url(&self, request: &RequestContext<RoleServer>) -> String {
        if let Some(public) = &self.public_url {
            return public.clone();
        }
        request
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(http::header::HOST))
            .and_then(|host| host.to_str().ok())
            .filter(|host| !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic()))
            .map_or_else(|| self.local_url.clone(), |host| format!("http://{host}"))
    }

    /// The roster, the market time zone and today's trading date (`list_coaches` and `coach://coaches`).
    pub(crate) fn coaches_json(&self) -> serde_json::Value {
        let coaches: Vec<serde_json::Value> = self
            .service
            .policy()
            .roster
            .coaches()
            .iter()
            .map(|c| serde_json::json!({ "id": c.id.as_str(), "name": c.name, "legacy_name": c.id.legacy_name() }))
            .collect();
        let today = self.service.today().to_string();
        serde_json::json!({ "coaches": coaches, "market_timezone": self.zone_name(), "today": today })
    }

    /// The archived copies of `plans`' attached charts, linked under `base`. A failure to read them is logged and
    /// leaves the original links: the plans are still answered.
    pub(crate) async fn copies(&self, plans: &[Plan], base: &str) -> Copies {
        let by_source = match self.service.archived_images(plans).await {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(error = %error, "cannot read the archived chart images; answering the original links");
                Default::default()
            }
        };
        Copies { base: base.to_owned(), by_source }
    }
}

/// The coach-plans MCP server. Cheap to clone (an `Arc` inside): one per process, cloned into each session.
#[derive(Debug, Clone)]
pub struct PlanMcp {
    context: Arc<Context>,
}

impl PlanMcp {
    /// The server over `service`.
    pub fn new(service: PlanService, config: McpConfig) -> Self {
        let context = Context {
            service,
            public_url: config.public_url.map(|url| url.trim_end_matches('/').to_owned()),
            local_url: config.local_url.trim_end_matches('/').to_owned(),
            max_images: config.max_images,
            max_image_bytes: config.max_image_bytes,
        };
        Self { context: Arc::new(context) }
    }
}

impl ServerHandler for PlanMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder().enable_tools().enable_resources().build();
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("coach-plans", env!("CARGO_PKG_VERSION"))
                    .with_title("Coach plans")
                    .with_description("Trading coaches' daily plans, captured from Discord, for trading agents"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools::catalog(&self.context)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let span = tracing::info_span!("mcp tool", tool = %request.name);
        let base = self.context.base_url(&context);
        let call = self.context.call(&request.name, request.arguments.as_ref(), &base);
        let result = tracing::Instrument::instrument(call, span);
        Ok(result.await.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        Ok(ListResourcesResult::with_all_items(resources::list()))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        Ok(ListResourceTemplatesResult::with_all_items(resources::templates()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let base = self.context.base_url(&context);
        self.context.read(&request.uri, &base).await.map(Into::into)
    }

    /// A request the SDK could not read as one it serves: the SDK takes a known method whose params do not fit for
    /// an unknown method, and would answer "method not found" with the method's name alone.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        Err(unreadable_request(&request.method, request.params))
    }
}

/// What a request the SDK could not read says: which params its method takes, or which methods there are. (The SDK
/// reads the params of the other methods leniently: they never come here.)
fn unreadable_request(method: &str, params: Option<serde_json::Value>) -> McpError {
    use serde_json::from_value;
    let params = params.unwrap_or_default();
    let (error, example) = match method {
        "tools/call" => {
            (from_value::<CallToolRequestParams>(params).err(), r#"{"name": "get_plan", "arguments": {"coach": "d"}}"#)
        }
        "resources/read" => (from_value::<ReadResourceRequestParams>(params).err(), r#"{"uri": "coach://coaches"}"#),
        _ => {
            let method: String = method.chars().take(100).collect();
            return McpError::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!(
                    "there is no method `{method}` here; this server answers initialize, ping, tools/list, \
                     tools/call, resources/list, resources/templates/list and resources/read"
                ),
                None,
            );
        }
    };
    let why = error.map_or_else(String::new, |e| format!(" ({e})"));
    McpError::invalid_params(format!("the params of `{method}` are not what it takes{why}; send {example}"), None)
}
