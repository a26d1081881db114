//! The attachment CDN: signed, expiring URLs like Discord's, and `POST /attachments/refresh-urls`.

use serde_json::{Value, json};

use super::{ApiError, ApiResult};
use crate::http::{self, Request, Response};
use crate::ids::{AttachmentId, unix_millis_now};
use crate::state::{Shared, attachment_path};

/// `POST /attachments/refresh-urls`: fresh signed URLs for known attachments.
pub(super) fn refresh_urls(shared: &Shared, request: &Request) -> ApiResult {
    let body: Value = serde_json::from_slice(&request.body).map_err(|_| ApiError::invalid_json())?;
    let urls = body
        .get("attachment_urls")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::invalid_form("attachment_urls", "BASE_TYPE_REQUIRED", "This field is required"))?;
    let state = shared.lock();
    let now = unix_millis_now() / 1000;
    let refreshed: Vec<Value> = urls
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|url| {
            let path = url.split_once("/attachments/")?.1;
            let path = path.split('?').next()?;
            let (channel, id, _) = parse_cdn_path(path)?;
            let blob = state.blobs.get(&AttachmentId(id))?;
            (blob.channel_id.get() == channel).then(|| {
                json!({
                    "original": url,
                    "refreshed": state.signed_url(blob.channel_id, AttachmentId(id), &blob.filename, now),
                })
            })
        })
        .collect();
    Ok(Response::json(200, &json!({"refreshed_urls": refreshed})))
}

/// `{channel}/{attachment}/{filename}` (after `/attachments/`).
fn parse_cdn_path(path: &str) -> Option<(u64, u64, String)> {
    let mut parts = path.splitn(3, '/');
    let channel = parts.next()?.parse().ok()?;
    let id = parts.next()?.parse().ok()?;
    let filename = http::percent_decode(parts.next()?);
    Some((channel, id, filename))
}

/// The CDN: serves attachment bytes for a valid, unexpired signed URL.
pub(super) fn cdn(shared: &Shared, request: &Request) -> Response {
    let gone = || Response {
        status: 404,
        headers: vec![("content-type".to_owned(), "text/plain".to_owned())],
        body: b"This content is no longer available.".to_vec(),
    };
    let Some((channel, id, filename)) = request.path.strip_prefix("/attachments/").and_then(parse_cdn_path) else {
        return gone();
    };
    let query = request.query_pairs();
    let hex = |key: &str| query.iter().find(|(k, _)| k == key).and_then(|(_, v)| u64::from_str_radix(v, 16).ok());
    let (Some(expires), Some(signature)) = (hex("ex"), hex("hm")) else {
        return gone();
    };
    let state = shared.lock();
    let attachment = AttachmentId(id);
    let Some(blob) = state.blobs.get(&attachment) else {
        return gone();
    };
    let canonical = attachment_path(blob.channel_id, attachment, &blob.filename);
    let valid = blob.channel_id.get() == channel
        && blob.filename == filename
        && state.url_signature(&canonical, expires) == signature
        && unix_millis_now() / 1000 <= expires;
    if !valid {
        return gone();
    }
    Response {
        status: 200,
        headers: vec![(
            "content-type".to_owned(),
            blob.content_type.clone().unwrap_or_else(|| "application/octet-stream".to_owned()),
        )],
        body: blob.data.as_ref().clone(),
    }
}
