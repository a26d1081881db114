//! Copies of chart images: the files attached to a plan's message are downloaded from Discord's CDN while their
//! signed links are fresh (they expire after about a day) and kept through the service, so that agents can still
//! fetch them from the API later.

use std::time::Duration;

use bytes::Bytes;
use core_model::ChartImage;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::error_chain;

/// The largest file kept (Discord's upload limit without boosts is 10 MiB; boosted servers allow more).
pub const DEFAULT_MAX_IMAGE_BYTES: usize = 25 * 1024 * 1024;

/// Why an image could not be copied.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The link is not an http(s) URL.
    #[error("`{0}` is not a link that can be downloaded")]
    BadUrl(String),
    /// The CDN answered with an error status.
    #[error("the file server answered HTTP {0}")]
    Status(u16),
    /// The file is larger than allowed.
    #[error("the file is larger than {} MiB", .0 / 1024 / 1024)]
    TooLarge(usize),
    /// The download did not finish in time.
    #[error("the download took longer than {} s", .0.as_secs())]
    Timeout(Duration),
    /// The connection failed.
    #[error("the download failed: {0}")]
    Network(String),
    /// The file is not an image (PNG, JPEG, GIF, WebP or BMP), whatever its name says.
    #[error("the file is not an image (PNG, JPEG, GIF, WebP or BMP)")]
    NotAnImage,
}

/// Downloads attachment images, over HTTPS (Discord's CDN) or plain HTTP (a local emulator).
#[derive(Clone)]
pub struct ChartArchiver {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    max_bytes: usize,
    timeout: Duration,
}

impl std::fmt::Debug for ChartArchiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChartArchiver").field("max_bytes", &self.max_bytes).field("timeout", &self.timeout).finish()
    }
}

impl ChartArchiver {
    /// An archiver that keeps files up to `max_bytes` and gives up on a download after `timeout`.
    ///
    /// # Panics
    /// Never in practice: the TLS configuration uses rustls' ring provider and its safe default protocol versions,
    /// which always build.
    pub fn new(max_bytes: usize, timeout: Duration) -> Self {
        let provider = rustls::crypto::ring::default_provider();
        #[allow(clippy::expect_used)]
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .expect("ring supports the safe default protocol versions")
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self { client, max_bytes, timeout }
    }

    /// Downloads the image at `url`, kept as the type its bytes show (a file that only claims to be an image is
    /// refused).
    ///
    /// # Errors
    /// [`ArchiveError`] saying why not (one retry is made after a network error or a 5xx).
    pub async fn download(&self, url: &str) -> Result<ChartImage, ArchiveError> {
        match self.attempt(url).await {
            Err(ArchiveError::Network(_) | ArchiveError::Timeout(_)) | Err(ArchiveError::Status(500..=599)) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                self.attempt(url).await
            }
            outcome => outcome,
        }
    }

    async fn attempt(&self, url: &str) -> Result<ChartImage, ArchiveError> {
        let uri: hyper::Uri = url.parse().map_err(|_| ArchiveError::BadUrl(shorten(url)))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(ArchiveError::BadUrl(shorten(url)));
        }
        let download = async {
            let response = self.client.get(uri).await.map_err(|e| ArchiveError::Network(error_chain(&e)))?;
            let status = response.status();
            if !status.is_success() {
                return Err(ArchiveError::Status(status.as_u16()));
            }
            let body = Limited::new(response.into_body(), self.max_bytes).collect().await.map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    ArchiveError::TooLarge(self.max_bytes)
                } else {
                    ArchiveError::Network(e.to_string())
                }
            })?;
            let bytes = body.to_bytes().to_vec();
            let content_type = core_model::image::sniff_type(&bytes).ok_or(ArchiveError::NotAnImage)?;
            Ok(ChartImage::new(content_type, bytes))
        };
        tokio::time::timeout(self.timeout, download).await.unwrap_or(Err(ArchiveError::Timeout(self.timeout)))
    }
}

/// A URL for a log line or a message: without its query (Discord's signature) and at most 120 characters.
pub(crate) fn shorten(url: &str) -> String {
    core_model::image::source_key(url).chars().take(120).collect()
}
