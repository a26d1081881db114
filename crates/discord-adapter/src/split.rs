//! Splitting a reply into Discord messages: at most 2000 characters each, cut at line boundaries, so that long
//! lists (`!plans`, `!myplans`, `!history`) always arrive whole.

/// Discord's limit on a message's content, in characters.
pub const DISCORD_MESSAGE_LIMIT: usize = 2000;

/// Splits `text` into chunks of at most `limit` characters. Lines are kept whole where they fit; a longer line is cut
/// at its last white space before the limit, or at the limit itself. Joining the chunks with newlines gives back the
/// text (less the white space at the cuts). Empty text gives no chunk.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let limit = limit.max(1);
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.trim_end().split('\n') {
        let line_len = line.chars().count();
        let needed = if current.is_empty() { line_len } else { current_len + 1 + line_len };
        if needed <= limit {
            if !current.is_empty() {
                current.push('\n');
                current_len += 1;
            }
            current.push_str(line);
            current_len += line_len;
            continue;
        }
        if !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        let mut rest = line;
        while rest.chars().count() > limit {
            let cut = cut_point(rest, limit);
            let (head, tail) = rest.split_at(cut);
            chunks.push(head.trim_end().to_owned());
            rest = tail.trim_start();
        }
        current.push_str(rest);
        current_len = rest.chars().count();
    }
    if !current.trim().is_empty() {
        chunks.push(current);
    }
    chunks.retain(|c| !c.trim().is_empty());
    chunks
}

/// The byte index at which to cut `line` so that the head has at most `limit` characters: after its last white
/// space when there is one past the middle, else exactly at the limit.
fn cut_point(line: &str, limit: usize) -> usize {
    let hard = line.char_indices().nth(limit).map_or(line.len(), |(i, _)| i);
    match line[..hard].rfind(char::is_whitespace) {
        Some(space) if space > hard / 2 => space,
        _ => hard,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_one_chunk() {
        assert_eq!(split_message("hello\nworld", 2000), ["hello\nworld"]);
        assert!(split_message("", 2000).is_empty());
        assert!(split_message("\n\n", 2000).is_empty());
    }

    #[test]
    fn lines_are_kept_whole() {
        let text = "aaaa\nbbbb\ncccc";
        assert_eq!(split_message(text, 9), ["aaaa\nbbbb", "cccc"]);
        assert_eq!(split_message(text, 4), ["aaaa", "bbbb", "cccc"]);
    }

    #[test]
    fn a_long_line_is_cut_at_white_space_or_at_the_limit() {
        assert_eq!(split_message("aaa bbb ccc", 8), ["aaa bbb", "ccc"]);
        assert_eq!(split_message("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(split_message("ééééé", 2), ["éé", "éé", "é"], "characters, not bytes");
    }

    proptest::proptest! {
        #[test]
        fn chunks_respect_the_limit_and_lose_no_word(text in "[a-zé🚀 \\n]{0,600}", limit in 1usize..80) {
            let chunks = split_message(&text, limit);
            for chunk in &chunks {
                proptest::prop_assert!(chunk.chars().count() <= limit, "{chunk:?}");
                proptest::prop_assert!(!chunk.trim().is_empty());
            }
            let words = |s: &str| s.split_whitespace().collect::<String>();
            proptest::prop_assert_eq!(words(&chunks.join("\n")), words(&text));
        }
    }
}
