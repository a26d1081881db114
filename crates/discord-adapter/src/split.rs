//! Splitting a reply into Discord messages: at most 2000 characters each, cut at line boundaries, so that long
//! lists (`!plans`, `!myplans`, `!history`) always arrive whole.
//!
//! A cut never falls inside a character, nor inside a grapheme cluster (what a reader sees as one symbol: an emoji
//! with its skin tone or a ZWJ sequence such as 👨‍👩‍👧‍👦, a flag, a letter with its combining marks), so a split reply
//! shows the same symbols as the whole one. The one exception is a single cluster longer than the limit (thousands
//! of combining marks on one letter): it can only be cut at the limit.

use unicode_segmentation::UnicodeSegmentation as _;

/// Discord's limit on a message's content, in characters.
pub const DISCORD_MESSAGE_LIMIT: usize = 2000;

/// Splits `text` into chunks of at most `limit` characters (Unicode scalar values). Lines are kept whole where they
/// fit, and so are items of a list (a paragraph after a blank line, an entry starting with `• `) where the chunk
/// can end before one past its middle; a longer line is cut before its last white space past the middle of the
/// chunk, else after the last grapheme cluster that fits. Joining the chunks with newlines gives back the text,
/// less the white space at the cuts (and the `\r` of `\r\n` line ends). Empty or blank text gives no chunk.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    // Where the last item of `current` starts (a byte index at a line start) and how many characters come before.
    let mut item_start: Option<(usize, usize)> = None;
    for line in trim_end(text).split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line_len = line.chars().count();
        let needed = if current.is_empty() { line_len } else { current_len + 1 + line_len };
        if needed > limit
            && let Some((at, before)) = item_start.take()
            && before >= limit / 2
        {
            // End the chunk before the item the line belongs to, and carry the item on.
            let item = trim_start(&current[at..]).to_owned();
            chunks.push(trim_end(&current[..at]).to_owned());
            current_len = item.chars().count();
            current = item;
        }
        let needed = if current.is_empty() { line_len } else { current_len + 1 + line_len };
        if needed <= limit {
            if !current.is_empty() {
                if line.trim().is_empty() || line.starts_with("• ") {
                    item_start = Some((current.len() + 1, current_len));
                }
                current.push('\n');
                current_len += 1;
            }
            current.push_str(line);
            current_len += line_len;
            continue;
        }
        item_start = None;
        if !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        let mut rest = line;
        while rest.chars().count() > limit {
            let cut = cut_point(rest, limit);
            chunks.push(trim_end(&rest[..cut]).to_owned());
            rest = trim_start(&rest[cut..]);
        }
        current.push_str(rest);
        current_len = rest.chars().count();
    }
    chunks.push(current);
    chunks.retain(|c| !is_blank(c));
    chunks
}

/// A code fence of Discord's markdown.
const FENCE: &str = "```";

/// Splits a reply as [`split_message`] does, and keeps its code blocks whole in each message: a chunk that ends
/// inside a block closes it, and the next one opens it again (otherwise the rest of the block would show as
/// markdown, and its closing fence open a block that swallows what follows). Room for the two fences is kept.
pub fn split_reply(text: &str, limit: usize) -> Vec<String> {
    if !text.contains(FENCE) {
        return split_message(text, limit);
    }
    // Whether the text, up to the end of the chunk at hand, is inside a code block.
    let mut inside = false;
    split_message(text, limit.saturating_sub(2 * (FENCE.len() + 1)).max(1))
        .into_iter()
        .map(|chunk| {
            let starts_inside = inside;
            inside ^= chunk.matches(FENCE).count() % 2 == 1;
            match (starts_inside, inside) {
                (true, true) => format!("{FENCE}\n{chunk}\n{FENCE}"),
                (true, false) => format!("{FENCE}\n{chunk}"),
                (false, true) => format!("{chunk}\n{FENCE}"),
                (false, false) => chunk,
            }
        })
        .collect()
}

/// Whether a grapheme cluster (or any text) is nothing but white space.
fn is_blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// `text` without its leading white space clusters. Unlike `str::trim_start`, a cluster that begins with white
/// space but carries a mark is kept whole.
fn trim_start(text: &str) -> &str {
    let start = text.grapheme_indices(true).find(|(_, g)| !is_blank(g)).map_or(text.len(), |(i, _)| i);
    &text[start..]
}

/// `text` without its trailing white space clusters (whole clusters only, as [`trim_start`]).
fn trim_end(text: &str) -> &str {
    let end = text.grapheme_indices(true).rev().find(|(_, g)| !is_blank(g)).map_or(0, |(i, g)| i + g.len());
    &text[..end]
}

/// The byte index at which to cut `line`, which is longer than `limit` characters, so that the head has at most
/// `limit` characters: before its last white space cluster past the middle of what fits, else after the last
/// grapheme cluster that fits, else (a first cluster longer than the limit) at the limit itself. Never 0.
fn cut_point(line: &str, limit: usize) -> usize {
    let mut chars = 0;
    let mut fits = 0;
    let mut space = None;
    for (at, cluster) in line.grapheme_indices(true) {
        chars += cluster.chars().count();
        if chars > limit {
            break;
        }
        if is_blank(cluster) {
            space = Some(at);
        }
        fits = at + cluster.len();
    }
    match space {
        Some(at) if at > fits / 2 => at,
        _ if fits > 0 => fits,
        _ => line.char_indices().nth(limit).map_or(line.len(), |(at, _)| at),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[track_caller]
    fn check(text: &str, limit: usize, expected: &[&str]) {
        assert_eq!(split_message(text, limit), expected, "text {text:?}, limit {limit}");
    }

    #[test]
    fn a_code_block_cut_between_messages_is_closed_and_opened_again() {
        let block: Vec<String> = (0..30).map(|n| format!("level {n} *pivot* __line__")).collect();
        let text = format!("Plan:\n```\n{}\n```\n**News/Events** no plan yet", block.join("\n"));
        let chunks = split_reply(&text, 300);
        assert!(chunks.len() > 2, "{chunks:?}");
        assert!(chunks[0].starts_with("Plan:\n```\nlevel 0") && chunks[0].ends_with("\n```"), "{chunks:?}");
        assert!(chunks[1].starts_with("```\nlevel ") && chunks[1].ends_with("\n```"), "{chunks:?}");
        let last = chunks.last().unwrap();
        assert!(last.ends_with("```\n**News/Events** no plan yet"), "the block ends before what follows: {last:?}");
        assert_eq!(split_reply("no code here", 5), split_message("no code here", 5));
    }

    #[test]
    fn short_text_is_one_chunk() {
        check("hello\nworld", 2000, &["hello\nworld"]);
        check("", 2000, &[]);
        check("\n\n", 2000, &[]);
        check(" \u{3000}\t", 2000, &[]);
    }

    #[test]
    fn lines_are_kept_whole() {
        check("aaaa\nbbbb\ncccc", 9, &["aaaa\nbbbb", "cccc"]);
        check("aaaa\nbbbb\ncccc", 4, &["aaaa", "bbbb", "cccc"]);
        check("aaaa\r\nbbbb\r\ncccc", 9, &["aaaa\nbbbb", "cccc"]);
    }

    #[test]
    fn an_item_of_a_list_is_kept_whole_when_the_chunk_can_end_before_it() {
        let entry = |n: u32| format!("• v{n}\n  before: old\n  after: new");
        let history = format!("History\n{}\n{}\n{}", entry(3), entry(2), entry(1));
        // 33 characters per entry: the second would be cut after its `before:` line; it moves whole instead.
        let chunks = split_message(&history, 80);
        assert_eq!(chunks, [format!("History\n{}\n{}", entry(3), entry(2)), entry(1)]);
        let chunks = split_message(&history, 60);
        assert_eq!(chunks, [format!("History\n{}", entry(3)), entry(2), entry(1)]);
        // A paragraph after a blank line likewise; the blank line goes at the cut.
        check("aaaa\n\nbb\ncc", 9, &["aaaa", "bb\ncc"]);
        // Not when the chunk would end before its middle: lines are then kept as before.
        check("a\n• bbbbbbb\nccc", 12, &["a\n• bbbbbbb", "ccc"]);
    }

    #[test]
    fn a_long_line_is_cut_at_white_space_or_at_the_limit() {
        check("aaa bbb ccc", 8, &["aaa bbb", "ccc"]);
        check("abcdefghij", 4, &["abcd", "efgh", "ij"]);
        check("ééééé", 2, &["éé", "éé", "é"]);
    }

    /// Right-to-left scripts, zero-width characters, emoji (with skin tones, ZWJ sequences, flags) and combining
    /// marks: each chunk holds whole symbols, and no symbol changes.
    #[test]
    fn cuts_never_fall_inside_a_grapheme_cluster() {
        let family = "👨\u{200d}👩\u{200d}👧\u{200d}👦"; // 7 characters, one symbol
        let e_acute = "e\u{301}"; // 2 characters, one symbol
        let thumbs = "👍🏽"; // 2 characters, one symbol
        check(&family.repeat(2), 10, &[family, family]);
        check(&format!("{family} {family}"), 10, &[family, family]);
        check(&e_acute.repeat(3), 3, &[e_acute, e_acute, e_acute]);
        check(&thumbs.repeat(3), 3, &[thumbs, thumbs, thumbs]);
        check("🇺🇸🇫🇷🇯🇵", 3, &["🇺🇸", "🇫🇷", "🇯🇵"]);
        check("🇺🇸🇫🇷🇯🇵", 4, &["🇺🇸🇫🇷", "🇯🇵"]);
        check("क्षि क्षि", 4, &["क्षि", "क्षि"]); // Devanagari conjunct with a vowel sign: 4 characters
        check("שלום עולם", 5, &["שלום", "עולם"]);
        check("\u{202b}مرحبا بالعالم\u{202c}", 8, &["\u{202b}مرحبا", "بالعالم\u{202c}"]);
        check("a\u{200b}b\u{200b}c", 2, &["a\u{200b}", "b\u{200b}", "c"]);
        check("x\u{200d}y\u{2060}z", 2, &["x\u{200d}", "y\u{2060}", "z"]);
        // A space carrying a combining mark is a symbol, not white space to drop at a cut.
        check("ab \u{301}cd", 3, &["ab", "\u{20}\u{301}c", "d"]);
    }

    #[test]
    fn only_a_cluster_longer_than_the_limit_is_cut_inside() {
        let zalgo = format!("e{}", "\u{301}".repeat(5));
        check(&zalgo, 4, &["e\u{301}\u{301}\u{301}", "\u{301}\u{301}"]);
        check(&format!("ab{zalgo}"), 4, &["ab", "e\u{301}\u{301}\u{301}", "\u{301}\u{301}"]);
    }

    #[test]
    fn a_long_plan_of_emoji_fits_discords_limit() {
        let text = format!("plan: {}", "👨\u{200d}👩\u{200d}👧\u{200d}👦🇺🇸e\u{301}".repeat(400));
        let chunks = split_message(&text, DISCORD_MESSAGE_LIMIT);
        assert_eq!(chunks.len(), 3, "4406 characters");
        assert!(chunks.iter().all(|c| c.chars().count() <= DISCORD_MESSAGE_LIMIT));
        assert_eq!(chunks.concat(), text, "no space to drop at the cuts: the text comes back whole");
    }

    /// Symbols a reader sees as one: the splitter must keep each whole.
    const SYMBOLS: &[&str] = &[
        "a",
        "Z",
        "7",
        "é",
        "e\u{301}",
        "a\u{308}\u{301}",
        "👍",
        "👍🏽",
        "👨\u{200d}👩\u{200d}👧\u{200d}👦",
        "🏳\u{fe0f}\u{200d}🌈",
        "🇺🇸",
        "🇯🇵",
        "ש",
        "ل",
        "\u{200f}",
        "\u{200b}",
        "\u{2060}",
        "क्षि",
        "한",
        "\u{1100}\u{1161}\u{11a8}",
        " ",
        "\u{a0}",
        "\u{3000}",
        "\n",
        ".",
    ];

    fn symbols() -> impl Strategy<Value = Vec<&'static str>> {
        prop::collection::vec(prop::sample::select(SYMBOLS), 0..300)
    }

    /// The clusters of `text` that are not white space, in order.
    fn visible_clusters(text: &str) -> Vec<&str> {
        text.graphemes(true).filter(|g| !is_blank(g)).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn chunks_respect_the_limit_and_lose_no_word(text in "[a-zé🚀 \\n]{0,600}", limit in 1usize..80) {
            let chunks = split_message(&text, limit);
            for chunk in &chunks {
                prop_assert!(chunk.chars().count() <= limit, "{chunk:?}");
                prop_assert!(!chunk.trim().is_empty());
            }
            let words = |s: &str| s.split_whitespace().collect::<String>();
            prop_assert_eq!(words(&chunks.join("\n")), words(&text));
        }

        #[test]
        fn any_text_splits_within_the_limit(text in any::<String>(), limit in 0usize..64) {
            for chunk in split_message(&text, limit) {
                prop_assert!(chunk.chars().count() <= limit.max(1), "{chunk:?}");
                prop_assert!(!is_blank(&chunk));
            }
        }

        #[test]
        fn replies_keep_each_code_block_closed_within_a_message(
            lines in prop::collection::vec(prop_oneof!["```", "```rust", "[a-z ]{1,30}"], 0..120),
            limit in 40usize..120,
        ) {
            let text = lines.join("\n");
            let chunks = split_reply(&text, limit);
            for chunk in &chunks {
                prop_assert!(chunk.chars().count() <= limit, "{chunk:?}");
                prop_assert_eq!(chunk.matches(FENCE).count() % 2, 0, "{:?}", chunk);
            }
            let words = |s: &str| s.split_whitespace().filter(|w| !w.starts_with(FENCE)).collect::<Vec<_>>().join(" ");
            prop_assert_eq!(words(&chunks.join("\n")), words(&text));
            if text.matches(FENCE).count() % 2 == 0 && chunks.len() == 1 {
                prop_assert_eq!(&chunks[0], &split_message(&text, limit)[0], "one message is left as it is");
            }
        }

        #[test]
        fn every_symbol_arrives_whole_and_in_order(symbols in symbols(), limit in 7usize..60) {
            let text = symbols.concat();
            let chunks = split_message(&text, limit);
            let arrived: Vec<&str> = chunks.iter().flat_map(|c| visible_clusters(c)).collect();
            prop_assert_eq!(arrived, visible_clusters(&text), "chunks {:?}", chunks);
            for chunk in &chunks {
                prop_assert!(chunk.chars().count() <= limit);
            }
        }
    }
}
