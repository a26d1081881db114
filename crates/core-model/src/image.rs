//! Archived chart images: copies of the image files attached to plans, kept because the links a chat platform gives
//! for attachments expire (Discord signs them for about a day).
//!
//! An image is known by the SHA-256 digest of its bytes ([`ImageDigest`]), so the same file attached twice is kept
//! once. A chart finds its copy through its [`source key`](source_key): its URL without the query and fragment, which
//! stays the same when the platform signs the link anew.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The SHA-256 digest of an image's bytes, as 64 lowercase hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageDigest(String);

/// A text that is not an image digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an image digest: it must be 64 lowercase hexadecimal digits (a SHA-256)")]
pub struct BadImageDigest(pub String);

impl ImageDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let mut hex = String::with_capacity(64);
        for byte in hash {
            hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
            hex.push(char::from_digit(u32::from(byte & 0x0f), 16).unwrap_or('0'));
        }
        Self(hex)
    }

    /// Parses a digest written as 64 lowercase hexadecimal digits.
    ///
    /// # Errors
    /// [`BadImageDigest`] for anything else.
    pub fn parse(text: &str) -> Result<Self, BadImageDigest> {
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(text.to_owned()))
        } else {
            let shown: String = text.chars().take(80).collect();
            Err(BadImageDigest(shown))
        }
    }

    /// The 64 hexadecimal digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ImageDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ImageDigest {
    type Error = BadImageDigest;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<ImageDigest> for String {
    fn from(digest: ImageDigest) -> Self {
        digest.0
    }
}

/// An image file with its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ChartImage {
    /// The digest of `bytes`.
    pub digest: ImageDigest,
    /// MIME type, e.g. `image/png`.
    pub content_type: String,
    /// The file.
    pub bytes: Vec<u8>,
}

impl ChartImage {
    /// An image of `content_type` made of `bytes`; its digest is computed.
    pub fn new(content_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self { digest: ImageDigest::of(&bytes), content_type: content_type.into(), bytes }
    }

    /// What is known of it without the bytes.
    pub fn info(&self) -> ArchivedImage {
        ArchivedImage {
            digest: self.digest.clone(),
            content_type: self.content_type.clone(),
            size: self.bytes.len() as u64,
        }
    }
}

impl fmt::Debug for ChartImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChartImage")
            .field("digest", &self.digest)
            .field("content_type", &self.content_type)
            .field("size", &self.bytes.len())
            .finish()
    }
}

/// An archived image, without its bytes: what a chart's reader needs to point at the copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedImage {
    /// The digest of its bytes.
    pub digest: ImageDigest,
    /// MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
}

/// The archived copy of `chart` among `copies` (keyed by [`source_key`]): attached images only, links are never
/// copied.
pub fn archived_copy<'a>(
    chart: &crate::Chart,
    copies: &'a std::collections::HashMap<String, ArchivedImage>,
) -> Option<&'a ArchivedImage> {
    (chart.kind == crate::ChartKind::Attachment).then(|| copies.get(source_key(&chart.url))).flatten()
}

/// The image type `bytes` hold, by their first bytes (PNG, JPEG, GIF, WebP, BMP): what a chart image is kept and
/// served as, whatever its name or the server that sent it claimed. `None` for anything else.
pub fn sniff_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some("image/webp"),
        [b'B', b'M', _, _, _, _, 0, 0, 0, 0, ..] => Some("image/bmp"),
        _ => None,
    }
}

/// The key under which a chart's archived copy is found: its URL without query and fragment (Discord signs
/// attachment links with `?ex=..&is=..&hm=..`, anew in every payload, while the path names the file for good).
pub fn source_key(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_first_bytes() {
        assert_eq!(sniff_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(sniff_type(&[0xff, 0xd8, 0xff, 0xe0, 0, 0x10]), Some("image/jpeg"));
        assert_eq!(sniff_type(b"GIF89a\x01\0"), Some("image/gif"));
        assert_eq!(sniff_type(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_type(b"BM\x36\0\0\0\0\0\0\0\x36\0"), Some("image/bmp"));
        for not_an_image in [&b"these are my notes"[..], b"", b"\x89PN", b"<svg xmlns=", b"%PDF-1.7", b"BMW is a car"] {
            assert_eq!(sniff_type(not_an_image), None, "{not_an_image:?}");
        }
    }

    #[test]
    fn digests_are_sha256_in_lowercase_hex() {
        // SHA-256 of "abc", from FIPS 180-2.
        let digest = ImageDigest::of(b"abc");
        assert_eq!(digest.as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(ImageDigest::parse(digest.as_str()), Ok(digest.clone()));
        let json = serde_json::to_string(&digest).unwrap();
        assert_eq!(serde_json::from_str::<ImageDigest>(&json).unwrap(), digest);
    }

    #[test]
    fn anything_but_64_lowercase_hex_digits_is_refused() {
        for bad in ["", "abc", &"A".repeat(64), &"g".repeat(64), &"0".repeat(63), &"0".repeat(65), "../etc/passwd"] {
            assert!(ImageDigest::parse(bad).is_err(), "{bad:?}");
        }
        let message = ImageDigest::parse("nope").unwrap_err().to_string();
        assert!(message.contains("64 lowercase hexadecimal digits"), "{message}");
    }

    #[test]
    fn a_signed_link_and_its_resigned_form_share_a_source_key() {
        let first = "https://cdn.discordapp.com/attachments/1/2/spy.png?ex=65&is=64&hm=aa";
        let again = "https://cdn.discordapp.com/attachments/1/2/spy.png?ex=99&is=98&hm=bb#x";
        assert_eq!(source_key(first), source_key(again));
        assert_eq!(source_key(first), "https://cdn.discordapp.com/attachments/1/2/spy.png");
        assert_ne!(source_key(first), source_key("https://cdn.discordapp.com/attachments/1/3/spy.png"));
    }

    #[test]
    fn an_image_knows_its_digest_and_size_and_hides_its_bytes_in_debug() {
        let image = ChartImage::new("image/png", vec![1, 2, 3]);
        assert_eq!(
            image.info(),
            ArchivedImage { digest: ImageDigest::of(&[1, 2, 3]), content_type: "image/png".into(), size: 3 }
        );
        assert!(!format!("{image:?}").contains("[1, 2, 3]"));
    }
}
