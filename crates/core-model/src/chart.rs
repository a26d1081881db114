//! Charts: images attached to a plan or linked from its text, and how they are recognised.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

/// File extensions and `image/` subtypes that count as chart images.
pub const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "gif", "webp", "bmp"];

/// Where a chart came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// An image file attached to the Discord message.
    Attachment,
    /// An image or chart-snapshot link written in the plan text.
    Link,
}

impl ChartKind {
    /// Stable lowercase name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attachment => "attachment",
            Self::Link => "link",
        }
    }

    /// The kind named by [`ChartKind::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "attachment" => Some(Self::Attachment),
            "link" => Some(Self::Link),
            _ => None,
        }
    }
}

/// A chart about to be stored with a plan.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NewChart {
    /// Where the image is.
    pub url: String,
    /// The attachment's file name, if it was one.
    pub filename: Option<String>,
    /// The attachment's content type, if Discord gave one.
    pub content_type: Option<String>,
    /// Attachment or link.
    pub kind: ChartKind,
}

/// A stored chart, in its plan's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chart {
    /// Position in the plan, from 0.
    pub position: u32,
    /// Where the image is.
    pub url: String,
    /// The attachment's file name, if it was one.
    pub filename: Option<String>,
    /// The attachment's content type, if known.
    pub content_type: Option<String>,
    /// Attachment or link.
    pub kind: ChartKind,
    /// When it was added.
    pub added_at: Timestamp,
}

/// A file attached to a message, as the chat platform describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// File name, e.g. `spy.png`.
    pub filename: String,
    /// MIME type, when given, e.g. `image/png`.
    pub content_type: Option<String>,
    /// Where to download it.
    pub url: String,
}

impl Attachment {
    /// Whether the attachment is a chart image, by content type or, failing that, by file extension.
    pub fn is_image(&self) -> bool {
        if let Some(ct) = &self.content_type {
            let ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if let Some(subtype) = ct.strip_prefix("image/") {
                return IMAGE_EXTENSIONS.contains(&subtype) || subtype == "x-ms-bmp";
            }
        }
        has_image_extension(&self.filename)
    }
}

fn has_image_extension(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Whether a URL points at a chart: a direct image link or a TradingView snapshot.
pub fn is_chart_url(url: &Url) -> bool {
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let Some(host) = url.host_str() else { return false };
    let host = host.to_ascii_lowercase();
    let path = url.path();
    let tradingview_snapshot = match host.as_str() {
        "tradingview.com" | "www.tradingview.com" => path.starts_with("/x/") && path.len() > 3,
        "s3.tradingview.com" => path.starts_with("/snapshots/"),
        _ => false,
    };
    let last_segment = path.rsplit('/').next().unwrap_or("");
    tradingview_snapshot || has_image_extension(last_segment)
}

/// Invisible characters that end a link as white space does: zero-width space and joiners, direction marks and
/// embeddings, the word joiner and invisible operators, direction isolates, and the byte order mark. Text copied from
/// chat clients and right-to-left editors carries them around links.
fn is_invisible_separator(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The chart links written in a plan's text, in order of appearance, without repeats.
///
/// A link may stand alone, inside `<...>` (Discord's no-preview form), in parentheses or markdown `[..](..)`,
/// or be followed by punctuation (also full-width), an emoji or an invisible character (zero-width space,
/// direction mark); all of those are stripped.
pub fn chart_links_in_text(text: &str) -> Vec<NewChart> {
    let mut found: Vec<NewChart> = Vec::new();
    let separator = |c: char| c.is_whitespace() || c == '<' || c == '>' || is_invisible_separator(c);
    for token in text.split(separator) {
        let Some(start) = token.find("http://").or_else(|| token.find("https://")) else { continue };
        // A link's last character is ASCII (a non-ASCII one is percent-encoded in a URL): what follows the link
        // without a space, such as `。` or `🚀`, is not part of it.
        let candidate =
            token[start..].split(['(', ')', '[', ']', '"', '\'', '`', '|']).next().unwrap_or("").trim_end_matches(
                |c: char| !c.is_ascii() || matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | '*' | '_' | '~'),
            );
        let Ok(url) = Url::parse(candidate) else { continue };
        if is_chart_url(&url) && !found.iter().any(|c| c.url == url.as_str()) {
            found.push(NewChart { url: url.to_string(), filename: None, content_type: None, kind: ChartKind::Link });
        }
    }
    found
}

/// Every chart of a message: its image attachments first, then the chart links in its text, without repeats.
pub fn charts_of_message(attachments: &[Attachment], text: &str) -> Vec<NewChart> {
    let mut charts: Vec<NewChart> = attachments
        .iter()
        .filter(|a| a.is_image())
        .map(|a| NewChart {
            url: a.url.clone(),
            filename: Some(a.filename.clone()),
            content_type: a.content_type.clone(),
            kind: ChartKind::Attachment,
        })
        .collect();
    add_links(&mut charts, text);
    charts
}

/// Adds the chart links of `text` that `charts` does not hold yet, in order.
fn add_links(charts: &mut Vec<NewChart>, text: &str) {
    for link in chart_links_in_text(text) {
        if !charts.iter().any(|c| c.url == link.url) {
            charts.push(link);
        }
    }
}

impl From<&Chart> for NewChart {
    fn from(chart: &Chart) -> Self {
        Self {
            url: chart.url.clone(),
            filename: chart.filename.clone(),
            content_type: chart.content_type.clone(),
            kind: chart.kind,
        }
    }
}

/// The charts of a plan after an edit written in a message (`!edit`): the images `attached` to that message, or,
/// when it attaches none, the images the plan has; then the chart links of the new `text`, in order. Images stay
/// until new ones are attached; links follow the text.
pub fn charts_after_edit(stored: &[Chart], attached: Vec<NewChart>, text: &str) -> Vec<NewChart> {
    let mut charts = if attached.is_empty() {
        stored.iter().filter(|c| c.kind == ChartKind::Attachment).map(NewChart::from).collect()
    } else {
        attached
    };
    add_links(&mut charts, text);
    charts
}

/// Whether `new` are the charts `stored` already are (the same links, in the same order).
pub fn same_charts(stored: &[Chart], new: &[NewChart]) -> bool {
    stored.len() == new.len() && stored.iter().zip(new).all(|(s, n)| s.url == n.url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_keeps_the_images_unless_new_ones_come_and_its_links_follow_the_text() {
        let at = Timestamp::UNIX_EPOCH;
        let stored_chart = |position: u32, url: &str, kind: ChartKind| Chart {
            position,
            url: url.to_owned(),
            filename: None,
            content_type: None,
            kind,
            added_at: at,
        };
        let stored = [
            stored_chart(0, "https://cdn.discordapp.com/attachments/1/2/a.png", ChartKind::Attachment),
            stored_chart(1, "https://www.tradingview.com/x/Old12345/", ChartKind::Link),
        ];
        let urls = |charts: &[NewChart]| charts.iter().map(|c| c.url.clone()).collect::<Vec<_>>();
        let kept = charts_after_edit(&stored, vec![], "new text, link gone; https://example.com/new.png");
        assert_eq!(urls(&kept), ["https://cdn.discordapp.com/attachments/1/2/a.png", "https://example.com/new.png"]);
        let attached = NewChart {
            url: "https://cdn.discordapp.com/attachments/1/3/b.png".into(),
            filename: Some("b.png".into()),
            content_type: None,
            kind: ChartKind::Attachment,
        };
        let replaced = charts_after_edit(&stored, vec![attached], "same link https://www.tradingview.com/x/Old12345/");
        assert_eq!(urls(&replaced), ["https://cdn.discordapp.com/attachments/1/3/b.png", stored[1].url.as_str()]);
        let unchanged = charts_after_edit(&stored, vec![], "still https://www.tradingview.com/x/Old12345/");
        assert!(same_charts(&stored, &unchanged));
        assert!(!same_charts(&stored, &kept));
    }

    #[track_caller]
    fn check_links(text: &str, expected: &[&str]) {
        let got: Vec<String> = chart_links_in_text(text).into_iter().map(|c| c.url).collect();
        assert_eq!(got, expected, "text {text:?}");
    }

    #[test]
    fn finds_chart_links_in_text() {
        check_links("see https://i.imgur.com/abc.png", &["https://i.imgur.com/abc.png"]);
        check_links("see <https://i.imgur.com/abc.PNG>.", &["https://i.imgur.com/abc.PNG"]);
        check_links("(https://x.test/a/b.jpeg?w=1),", &["https://x.test/a/b.jpeg?w=1"]);
        check_links("[chart](https://x.test/c.webp)", &["https://x.test/c.webp"]);
        check_links("https://www.tradingview.com/x/AbC123/", &["https://www.tradingview.com/x/AbC123/"]);
        check_links(
            "https://s3.tradingview.com/snapshots/a/AbC123.png",
            &["https://s3.tradingview.com/snapshots/a/AbC123.png"],
        );
        check_links("two https://a.test/1.gif https://a.test/1.gif", &["https://a.test/1.gif"]);
        check_links("x:https://a.test/2.bmp!", &["https://a.test/2.bmp"]);
    }

    /// Links in right-to-left text, next to zero-width characters, direction marks, emoji or full-width
    /// punctuation are found, without those characters.
    #[test]
    fn finds_chart_links_among_unicode_text() {
        let png = "https://i.imgur.com/abc.png";
        for text in [
            format!("ראה {png} עכשיו"),
            format!("\u{202b}انظر {png}\u{202c}"),
            format!("chart:\u{200b}{png}\u{200b}"),
            format!("{png}\u{200f}"),
            format!("\u{2066}{png}\u{2069}"),
            format!("\u{feff}{png}"),
            format!("{png}\u{2060}next"),
            format!("{png}。"),
            format!("（{png}）"),
            format!("{png}🚀🚀"),
            format!("{png}👨\u{200d}👩\u{200d}👧"),
            format!("<{png}>\u{200d}"),
        ] {
            check_links(&text, &[png]);
        }
        check_links("https://x.test/チャート.png", &["https://x.test/%E3%83%81%E3%83%A3%E3%83%BC%E3%83%88.png"]);
        check_links("https://x.test/a.png\u{301}", &["https://x.test/a.png"]);
        check_links("https://x.test/a\u{200d}b.png", &[]);
    }

    #[test]
    fn ignores_links_that_are_not_charts() {
        check_links("read https://example.com/article", &[]);
        check_links("https://www.tradingview.com/chart/", &[]);
        check_links("https://www.tradingview.com/x/", &[]);
        check_links("ftp://a.test/x.png", &[]);
        check_links("https://a.test/.png", &[]);
        check_links("http://", &[]);
        check_links("no links at all", &[]);
        check_links("https://a.test/image.png.exe", &[]);
    }

    #[test]
    fn recognises_image_attachments_by_type_or_extension() {
        let a = |name: &str, ct: Option<&str>| Attachment {
            filename: name.into(),
            content_type: ct.map(Into::into),
            url: format!("https://cdn.test/{name}"),
        };
        assert!(a("chart.png", None).is_image());
        assert!(a("CHART.JPEG", None).is_image());
        assert!(a("blob", Some("image/webp")).is_image());
        assert!(a("blob", Some("image/png; charset=binary")).is_image());
        assert!(!a("notes.txt", Some("text/plain")).is_image());
        assert!(!a("movie.mp4", Some("video/mp4")).is_image());
        assert!(!a("vector.svg", Some("image/svg+xml")).is_image());
        assert!(!a("png", None).is_image());
        assert!(
            a("chart.gif", Some("application/octet-stream")).is_image(),
            "extension decides when the type is not an image type"
        );
    }

    #[test]
    fn message_charts_put_attachments_first_and_skip_repeats() {
        let attachments = vec![
            Attachment {
                filename: "a.png".into(),
                content_type: Some("image/png".into()),
                url: "https://cdn.test/a.png".into(),
            },
            Attachment {
                filename: "notes.pdf".into(),
                content_type: Some("application/pdf".into()),
                url: "https://cdn.test/n.pdf".into(),
            },
        ];
        let charts = charts_of_message(&attachments, "also https://cdn.test/a.png and https://i.test/b.jpg");
        let urls: Vec<_> = charts.iter().map(|c| (c.url.as_str(), c.kind)).collect();
        assert_eq!(
            urls,
            [("https://cdn.test/a.png", ChartKind::Attachment), ("https://i.test/b.jpg", ChartKind::Link)]
        );
    }

    /// Pieces of plan text around links: words, scripts, invisible characters, emoji, punctuation and markup.
    const PIECES: &[&str] = &[
        " ",
        "\n",
        "<",
        ">",
        "(",
        ")",
        "[",
        "](",
        "\"",
        "`",
        "|",
        ".",
        ",",
        "!",
        "?",
        "。",
        "…",
        "🚀",
        "👨\u{200d}👩\u{200d}👧",
        "\u{200b}",
        "\u{200f}",
        "\u{2066}",
        "\u{feff}",
        "e\u{301}",
        "שלום",
        "انظر",
        "chart",
        "https://",
        "http://",
        "https://i.imgur.com/",
        "https://www.tradingview.com/x/",
        "AbC123/",
        "a.png",
        "b.JPG",
        "c.webp?w=1",
        "#frag",
        "%20",
        "@",
        ":8080",
        "/",
        "..",
        "xn--",
        "ftp://",
        "javascript:",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn link_extraction_never_panics_and_yields_chart_urls(text in "\\PC{0,200}") {
            for chart in chart_links_in_text(&text) {
                let url = Url::parse(&chart.url).unwrap();
                proptest::prop_assert!(is_chart_url(&url));
            }
        }

        #[test]
        fn links_among_any_pieces_are_charts_once_each(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..60),
        ) {
            let text = pieces.concat();
            let charts = chart_links_in_text(&text);
            for (i, chart) in charts.iter().enumerate() {
                let url = Url::parse(&chart.url).unwrap();
                proptest::prop_assert!(is_chart_url(&url), "{}", chart.url);
                proptest::prop_assert!(matches!(url.scheme(), "http" | "https"));
                proptest::prop_assert!(!charts[..i].iter().any(|c| c.url == chart.url), "repeated {}", chart.url);
                proptest::prop_assert!(!chart.url.chars().any(is_invisible_separator));
            }
        }

        #[test]
        fn message_charts_never_panic(
            text in "\\PC{0,100}",
            names in proptest::collection::vec(("\\PC{0,20}", proptest::option::of("\\PC{0,20}")), 0..4),
        ) {
            let attachments: Vec<Attachment> = names
                .into_iter()
                .map(|(filename, content_type)| Attachment { url: format!("https://cdn.test/{filename}"), filename, content_type })
                .collect();
            let charts = charts_of_message(&attachments, &text);
            proptest::prop_assert!(charts.len() <= attachments.len() + text.len());
        }
    }
}
