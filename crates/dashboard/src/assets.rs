//! The page's assets (style sheet, script, icon), compiled into the binary and served under URLs that carry a hash
//! of their content, so that browsers may keep them for a year: a new build with a changed asset has a new URL.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// One asset.
pub(crate) struct Asset {
    /// Its file name.
    pub(crate) name: &'static str,
    /// Its content type.
    pub(crate) content_type: &'static str,
    /// Its bytes.
    pub(crate) body: &'static str,
}

pub(crate) const STYLE: Asset =
    Asset { name: "style.css", content_type: "text/css; charset=utf-8", body: include_str!("../assets/style.css") };
pub(crate) const SCRIPT: Asset =
    Asset { name: "app.js", content_type: "text/javascript; charset=utf-8", body: include_str!("../assets/app.js") };
pub(crate) const ICON: Asset =
    Asset { name: "icon.svg", content_type: "image/svg+xml", body: include_str!("../assets/icon.svg") };

const ASSETS: [Asset; 3] = [STYLE, SCRIPT, ICON];

/// FNV-1a, 64 bits: a content hash for URLs and ETags (not a security measure).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

static VERSIONS: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|a| format!("{:012x}", fnv1a(a.body.as_bytes()) >> 16)).collect());

/// The URL of an asset, with the hash of its content.
pub(crate) fn url(asset: &Asset) -> String {
    let index = ASSETS.iter().position(|a| a.name == asset.name).unwrap_or(0);
    format!("/dashboard/assets/{}?v={}", asset.name, VERSIONS[index])
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct Version {
    v: Option<String>,
}

/// `GET /dashboard/assets/{name}?v=HASH`: the asset, cacheable for a year when `v` is the hash of its content (its
/// URL changes with its content). Asked for under another hash (a page of another version, during an upgrade of
/// several servers), it is served but not to be kept: the hash it was asked for names other content.
pub(crate) async fn serve(name: web::Path<String>, version: web::Query<Version>) -> HttpResponse {
    match ASSETS.iter().position(|a| a.name == name.as_str()) {
        Some(index) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, ASSETS[index].content_type))
            .insert_header((
                header::CACHE_CONTROL,
                if version.v.as_deref() == Some(VERSIONS[index].as_str()) {
                    "public, max-age=31536000, immutable"
                } else {
                    "no-cache"
                },
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(ASSETS[index].body),
        None => HttpResponse::NotFound()
            .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body("no such asset"),
    }
}
