//! Webhook subscriptions: adding one (its target checked), listing, removing, testing, and its deliveries.

use std::net::IpAddr;
use std::sync::Arc;

use core_model::{
    BadAccessValue, Clock, Delivery, EventSet, NewSubscription, Subscription, WebhookSecret, WebhookStore,
    webhook::is_public_address,
};

use crate::access::random_bytes;
use crate::{AdminError, run_blocking};

/// The longest target URL accepted.
const MAX_URL_LEN: usize = 2048;

/// The most deliveries one listing returns.
pub const MAX_DELIVERY_LIST: u32 = 500;

/// The webhook use cases. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Webhooks {
    store: Arc<dyn WebhookStore>,
    clock: Arc<dyn Clock>,
    allow_insecure_loopback: bool,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").field("allow_insecure_loopback", &self.allow_insecure_loopback).finish()
    }
}

/// Whether `host` (a URL's host) is this machine.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Checks a webhook target: `https`, or `http` to this machine when `allow_insecure_loopback`; no credentials;
/// an address written as an IP must be a public one (loopback too when allowed). Host names are checked again, by
/// the addresses they resolve to, at every delivery.
///
/// # Errors
/// What is wrong with it and what to use instead.
pub fn check_target(text: &str, allow_insecure_loopback: bool) -> Result<url::Url, BadAccessValue> {
    let shown: String = without_credentials(text).chars().take(120).collect();
    let bad = |why: &str| BadAccessValue(format!("{shown:?} cannot receive webhooks: {why}"));
    if text.len() > MAX_URL_LEN {
        return Err(bad(&format!("a URL is at most {MAX_URL_LEN} characters")));
    }
    let url = url::Url::parse(text).map_err(|e| bad(&format!("{e}; use e.g. https://hooks.example.com/plans")))?;
    let host = url.host().ok_or_else(|| bad("it names no host; use e.g. https://hooks.example.com/plans"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("put no credentials in the URL: receivers check each delivery's signature instead"));
    }
    let loopback = is_loopback_host(&host);
    let allowed_loopback = loopback && allow_insecure_loopback;
    match url.scheme() {
        "https" => {}
        "http" if allowed_loopback => {}
        "http" if loopback => {
            return Err(bad(
                "plain http is refused; use https, or set webhooks.allow_insecure_loopback for a receiver on this \
                 machine",
            ));
        }
        _ => return Err(bad("use an https:// URL")),
    }
    let ip = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    };
    if loopback && !allowed_loopback {
        return Err(bad(
            "it is this machine; set webhooks.allow_insecure_loopback to deliver to a receiver on this machine",
        ));
    }
    if let Some(ip) = ip.filter(|ip| !ip.is_loopback() && !is_public_address(*ip)) {
        return Err(bad(&format!("{ip} is a private, link-local or reserved address; use a public host")));
    }
    Ok(url)
}

/// `text` as it may be repeated in an error: any user name and password in it replaced by `***`.
fn without_credentials(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else { return text.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => text.to_owned(),
    }
}

impl Webhooks {
    /// The use cases over `store`; `allow_insecure_loopback` admits `http://` targets on this machine.
    pub fn new(store: Arc<dyn WebhookStore>, clock: Arc<dyn Clock>, allow_insecure_loopback: bool) -> Self {
        Self { store, clock, allow_insecure_loopback }
    }

    /// Whether `http://` targets on this machine are admitted.
    pub fn allows_insecure_loopback(&self) -> bool {
        self.allow_insecure_loopback
    }

    /// Subscribes `url` to `events` (comma-separated names; `None` for every plan event) with a new secret, returned
    /// in the subscription: the only time it is shown.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for a refused URL, an unknown event or a list naming none; storage failures.
    pub async fn add(&self, url: &str, events: Option<&str>) -> Result<Subscription, AdminError> {
        let url = check_target(url, self.allow_insecure_loopback)?;
        let events = events.map_or_else(|| Ok(EventSet::all()), EventSet::parse)?;
        let new = NewSubscription {
            url: url.to_string(),
            events,
            secret: WebhookSecret::from_random(random_bytes()),
            created_at: self.clock.now(),
        };
        let store = Arc::clone(&self.store);
        Ok(run_blocking(move || store.add_subscription(&new)).await?)
    }

    /// Every subscription, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list(&self) -> Result<Vec<Subscription>, AdminError> {
        let store = Arc::clone(&self.store);
        Ok(run_blocking(move || store.subscriptions()).await?)
    }

    /// Removes a subscription and its deliveries.
    ///
    /// # Errors
    /// [`AdminError::UnknownSubscription`]; storage failures.
    pub async fn remove(&self, id: i64) -> Result<(), AdminError> {
        let store = Arc::clone(&self.store);
        if run_blocking(move || store.remove_subscription(id)).await? {
            Ok(())
        } else {
            Err(AdminError::UnknownSubscription(id))
        }
    }

    /// Queues a test event for a subscription; a worker delivers it like any other.
    ///
    /// # Errors
    /// [`AdminError::UnknownSubscription`]; storage failures.
    pub async fn test(&self, id: i64) -> Result<Delivery, AdminError> {
        let (store, at) = (Arc::clone(&self.store), self.clock.now());
        run_blocking(move || store.enqueue_test(id, at)).await?.ok_or(AdminError::UnknownSubscription(id))
    }

    /// Deliveries, newest first, of one subscription (which must exist) or of all; at most `limit` (1 to
    /// [`MAX_DELIVERY_LIST`]).
    ///
    /// # Errors
    /// [`AdminError::UnknownSubscription`]; storage failures.
    pub async fn deliveries(&self, subscription: Option<i64>, limit: u32) -> Result<Vec<Delivery>, AdminError> {
        let store = Arc::clone(&self.store);
        let limit = limit.clamp(1, MAX_DELIVERY_LIST);
        let (found, deliveries) = run_blocking(move || {
            let found = match subscription {
                Some(id) => store.subscriptions()?.iter().any(|s| s.id == id),
                None => true,
            };
            Ok((found, store.deliveries(subscription, limit)?))
        })
        .await?;
        match subscription {
            Some(id) if !found => Err(AdminError::UnknownSubscription(id)),
            _ => Ok(deliveries),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_must_be_https_public_and_without_credentials() {
        assert!(check_target("https://hooks.example.com/plans", false).is_ok());
        assert!(check_target("https://93.184.216.34/plans", false).is_ok());
        for (url, words) in [
            ("http://hooks.example.com/plans", "https"),
            ("ftp://hooks.example.com/", "https"),
            ("https://user:pw@hooks.example.com/", "credentials"),
            ("https://10.0.0.5/hook", "private"),
            ("https://192.168.1.2/hook", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[fd00::1]/hook", "private"),
            ("https://127.0.0.1:9000/hook", "allow_insecure_loopback"),
            ("http://localhost:9000/hook", "allow_insecure_loopback"),
            ("not a url", "https://hooks.example.com"),
        ] {
            let error = check_target(url, false).unwrap_err().to_string();
            assert!(error.contains(words), "{url}: {error}");
        }
        assert!(check_target("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(check_target("http://[::1]:9000/hook", true).is_ok());
        assert!(check_target("http://localhost:9000/hook", true).is_ok());
        assert!(check_target("http://10.0.0.5/hook", true).is_err(), "only loopback is let through");
        // A password typed into the URL is not repeated back.
        for url in ["https://user:hunter2@hooks.example.com/x", "https://user:hunter2@bad host/x"] {
            let error = check_target(url, false).unwrap_err().to_string();
            assert!(!error.contains("hunter2") && !error.contains("user:"), "{error}");
            assert!(error.contains("https://***@"), "{error}");
        }
    }
}
