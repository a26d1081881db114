//! The resolver deliveries connect through: a host name counts only by the addresses it resolves to at the moment of
//! the attempt, and only public ones are connected to (loopback too when the operator allows it), so that a name
//! pointed at an internal service (or re-pointed after the subscription was checked) reaches nothing inside.

use std::net::SocketAddr;

use core_model::webhook::is_public_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves with the system resolver and keeps the addresses deliveries may go to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PublicOnly {
    pub(crate) allow_loopback: bool,
}

/// A name that resolved to no address deliveries may go to.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves to no public address (only {found}); webhooks are delivered to public hosts only")]
struct NotPublic {
    name: String,
    found: String,
}

/// Whether a delivery may connect to `ip`.
pub(crate) fn admitted(ip: std::net::IpAddr, allow_loopback: bool) -> bool {
    is_public_address(ip) || (allow_loopback && ip.is_loopback())
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = all.iter().copied().filter(|a| admitted(a.ip(), allow_loopback)).collect();
            if kept.is_empty() {
                let found: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
                let found = if found.is_empty() { "no address".to_owned() } else { found.join(", ") };
                return Err(Box::new(NotPublic { name: host, found }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn localhost_resolves_only_when_loopback_is_allowed() {
        let name: Name = "localhost".parse().unwrap();
        let refused = PublicOnly { allow_loopback: false }.resolve(name).await.err().unwrap().to_string();
        assert!(refused.contains("no public address"), "{refused}");
        let name: Name = "localhost".parse().unwrap();
        let kept: Vec<SocketAddr> = PublicOnly { allow_loopback: true }.resolve(name).await.unwrap().collect();
        assert!(!kept.is_empty() && kept.iter().all(|a| a.ip().is_loopback()));
    }
}
