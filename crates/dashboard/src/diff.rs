//! What changed between two versions of a plan's text, line by line, for people: kept lines, removed lines and
//! added lines in order.

use similar::{ChangeTag, TextDiff};

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// In both versions.
    Kept(String),
    /// Only in the older version.
    Removed(String),
    /// Only in the newer version.
    Added(String),
}

/// The lines of `before` and `after`, compared (Patience algorithm: moved blocks stay readable).
pub fn lines(before: &str, after: &str) -> Vec<Line> {
    // Compared as lists of lines, so that a last line with or without its newline is the same line.
    let (before, after): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    let diff = TextDiff::configure().algorithm(similar::Algorithm::Patience).diff_slices(&before, &after);
    diff.iter_all_changes()
        .map(|change| {
            let text = change.value().to_owned();
            match change.tag() {
                ChangeTag::Equal => Line::Kept(text),
                ChangeTag::Delete => Line::Removed(text),
                ChangeTag::Insert => Line::Added(text),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_line_is_removed_then_added_and_the_rest_kept() {
        let diff = lines("Long NVDA above 950\nstop 940\n", "Long NVDA above 955\nstop 940");
        assert_eq!(
            diff,
            vec![
                Line::Removed("Long NVDA above 950".into()),
                Line::Added("Long NVDA above 955".into()),
                Line::Kept("stop 940".into()),
            ]
        );
        assert_eq!(lines("", "new"), vec![Line::Added("new".into())]);
        assert!(lines("same", "same").iter().all(|l| matches!(l, Line::Kept(_))));
    }
}
