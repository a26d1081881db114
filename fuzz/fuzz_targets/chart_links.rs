//! Fuzz target: chart recognition never panics on any plan text or attachment, and every chart it finds is an
//! http(s) chart URL, found once.

#![no_main]

use core_model::{Attachment, ChartKind, chart_links_in_text, charts_of_message, is_chart_url};
use libfuzzer_sys::fuzz_target;
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let links = chart_links_in_text(text);
    for (i, chart) in links.iter().enumerate() {
        let url = Url::parse(&chart.url).expect("a found link parses");
        assert!(is_chart_url(&url), "{} is not a chart URL", chart.url);
        assert!(matches!(url.scheme(), "http" | "https"), "{}", chart.url);
        assert_eq!(chart.kind, ChartKind::Link);
        assert!(!links[..i].iter().any(|c| c.url == chart.url), "{} found twice", chart.url);
    }
    // The same bytes as the file name and content type of an attachment.
    let (name, content_type) = text.split_at(text.char_indices().nth(text.chars().count() / 2).map_or(0, |(i, _)| i));
    let attachment = Attachment {
        filename: name.to_owned(),
        content_type: Some(content_type.to_owned()),
        url: format!("https://cdn.test/{}", name.len()),
    };
    let charts = charts_of_message(std::slice::from_ref(&attachment), text);
    assert!(charts.len() <= links.len() + 1);
});
