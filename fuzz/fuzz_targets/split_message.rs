//! Fuzz target: splitting a reply never panics, every chunk is within the limit and not blank, and no symbol
//! (grapheme cluster) is lost, changed or torn in two unless one symbol alone is longer than the limit.

#![no_main]

use discord_adapter::split::split_message;
use libfuzzer_sys::fuzz_target;
use unicode_segmentation::UnicodeSegmentation as _;

fn blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// The clusters of `text` that are not white space, in order.
fn visible(text: &str) -> Vec<&str> {
    text.graphemes(true).filter(|g| !blank(g)).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((limit, rest)) = data.split_first_chunk::<2>() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    // 1 to 2100: small limits reach every cut rule quickly, large ones Discord's 2000.
    let limit = usize::from(u16::from_le_bytes(*limit)) % 2100 + 1;
    let chunks = split_message(text, limit);
    for chunk in &chunks {
        assert!(chunk.chars().count() <= limit, "a chunk over {limit}: {chunk:?}");
        assert!(!blank(chunk), "a blank chunk");
    }
    // `\r` before `\n` is dropped with the line end; `\r\n` is one cluster, so compare without it.
    let widest = text.graphemes(true).map(|g| g.chars().count()).max().unwrap_or(0);
    if widest <= limit && !text.contains('\r') {
        let arrived: Vec<&str> = chunks.iter().flat_map(|c| visible(c)).collect();
        assert_eq!(arrived, visible(text), "symbols changed; limit {limit}, chunks {chunks:?}");
    }
});
