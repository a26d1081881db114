//! The resolver deliveries connect through: a host name counts only by the addresses it resolves to at the moment of
//! the attempt, and only public ones are connected to (loopback too when the operator allows it), so that a name
//! pointed at an internal service (or re-pointed after the subscription was checked) reaches nothing inside.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use core_model::webhook::is_public_address;
use hyper_util::client::legacy::connect::dns::Name;

/// Resolves with the system resolver and keeps the addresses deliveries may go to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublicOnly {
    pub(crate) allow_loopback: bool,
}

/// Whether a delivery may connect to `ip`.
pub(crate) fn admitted(ip: std::net::IpAddr, allow_loopback: bool) -> bool {
    is_public_address(ip) || (allow_loopback && ip.is_loopback())
}

impl tower_service::Service<Name> for PublicOnly {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = all.iter().copied().filter(|a| admitted(a.ip(), allow_loopback)).collect();
            if kept.is_empty() {
                let found: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
                let found = if found.is_empty() { "no address".to_owned() } else { found.join(", ") };
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{host} resolves to no public address (only {found}); webhooks go to public hosts only"),
                ));
            }
            Ok(kept.into_iter())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use tower_service::Service as _;

    use super::*;

    #[tokio::test]
    async fn localhost_resolves_only_when_loopback_is_allowed() {
        let refused = PublicOnly { allow_loopback: false }.call(Name::from_str("localhost").unwrap()).await;
        let refused = refused.err().unwrap().to_string();
        assert!(refused.contains("no public address"), "{refused}");
        let kept: Vec<SocketAddr> =
            PublicOnly { allow_loopback: true }.call(Name::from_str("localhost").unwrap()).await.unwrap().collect();
        assert!(!kept.is_empty() && kept.iter().all(|a| a.ip().is_loopback()));
    }
}
