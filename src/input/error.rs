//! Scenario errors written for the person at the terminal: file, line and column, the
//! key, what is allowed, and a suggestion where one helps.

use std::fmt;

/// Why a scenario, sweep, experiment or calibration file was refused; its `Display` is the
/// whole message for the terminal: `file:line:col: `key`: problem`, then a `help:` line.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    /// The file as the caller named it (a path, or the name given to [`Scenario::parse`](crate::scenario::Scenario::parse)).
    pub file: String,
    /// 1-based line and column, when the problem has a place in the file.
    pub at: Option<(usize, usize)>,
    /// The dotted key (`centre.tolerance`, `regions[1].zones`), when there is one.
    pub key: Option<String>,
    /// What is wrong, and what is allowed.
    pub message: String,
    /// A suggestion (the nearest known name, how to fix it), when one helps.
    pub help: Option<String>,
}

impl ScenarioError {
    pub(crate) fn new(file: &str, message: impl Into<String>) -> Self {
        ScenarioError { file: file.to_string(), at: None, key: None, message: message.into(), help: None }
    }
    pub(crate) fn at(mut self, at: Option<(usize, usize)>) -> Self {
        self.at = at;
        self
    }
    pub(crate) fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "`{key}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// 1-based line and column of a byte offset (the column counts bytes). Scans the text
/// once: for many look-ups in one text, build a [`LineIndex`].
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(offset)
}

/// The byte offset at which each line of a text starts, built once, so that finding the
/// line and column of an offset is a binary search rather than a rescan of the text
/// (parsing a file with many keys stays linear in its length).
#[derive(Clone, Debug, Default)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts, len: text.len() }
    }

    /// 1-based line and column (in bytes) of a byte offset; offsets past the end are
    /// clamped to it.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.len);
        // The last line start at or before the offset.
        let line = self.starts.partition_point(|&s| s <= offset);
        (line, offset - self.starts[line - 1] + 1)
    }
}

/// A TOML syntax error as a scenario error: always with a line and column (the toml crate
/// gives none for some, such as too deeply nested table headers: the first line at which the
/// text stops parsing with that error is found instead), and naming the key of a duplicate.
pub(crate) fn toml_error(file: &str, text: &str, e: &toml::de::Error) -> ScenarioError {
    let message = e.message().trim().to_string();
    let at = match e.span() {
        Some(span) => Some(line_col(text, span.start)),
        None => first_failing_line(text, &message).map(|line| (line, 1)),
    };
    let mut message = short_toml_message(&message);
    let duplicate = (message == "duplicate key")
        .then(|| e.span().and_then(|span| text.get(span)))
        .flatten()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 100);
    if let Some(key) = duplicate {
        message = format!("duplicate key `{key}`");
    }
    let mut err = ScenarioError::new(file, format!("invalid TOML: {message}")).at(at);
    if let Some(key) = duplicate {
        err = err.key(key);
    }
    if message.starts_with("duplicate key") {
        err = err.help("each key may be given once per table");
    } else if message.contains("nested") {
        err = err.help("at most 80 levels of nested tables, arrays or dotted keys are allowed");
    }
    err
}

/// The toml crate's wording of some errors, made plain.
fn short_toml_message(message: &str) -> String {
    if message == "recursion limit" || message.contains("recurse further") {
        "nested too deeply".to_string()
    } else {
        message.to_string()
    }
}

/// The first line (1-based) such that the text up to and including it fails to parse with
/// `message`: a binary search over line prefixes (parsing is linear, so this is n log n).
fn first_failing_line(text: &str, message: &str) -> Option<usize> {
    let ends: Vec<usize> = text.match_indices('\n').map(|(i, _)| i + 1).chain(std::iter::once(text.len())).collect();
    let fails = |k: usize| match toml::de::DeTable::parse(&text[..ends[k]]) {
        Err(e) => e.message().trim() == message,
        Ok(_) => false,
    };
    let (mut lo, mut hi) = (0, ends.len() - 1);
    if !fails(hi) {
        return None;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(mid) { hi = mid } else { lo = mid + 1 }
    }
    Some(lo + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan that `LineIndex` replaces, kept as the reference.
    fn naive(text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = before.iter().rposition(|&b| b == b'\n').map_or(offset, |nl| offset - nl - 1) + 1;
        (line, col)
    }

    #[test]
    fn line_index_agrees_with_a_scan_at_every_offset() {
        for text in ["", "a", "\n", "ab\ncd\n\nef", "x = 1\r\ny = \"é\"\n[z]\n", "\n\n\n"] {
            let index = LineIndex::new(text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(index.line_col(offset), naive(text, offset), "{text:?} at {offset}");
            }
        }
        let index = LineIndex::new("ab\ncd\n");
        assert_eq!(index.line_col(0), (1, 1));
        assert_eq!(index.line_col(2), (1, 3));
        assert_eq!(index.line_col(3), (2, 1));
        assert_eq!(index.line_col(7), (3, 1));
    }

    fn parse_err(text: &str) -> ScenarioError {
        let e = toml::de::DeTable::parse(text).expect_err("invalid");
        toml_error("t.toml", text, &e)
    }

    #[test]
    fn duplicate_key_is_named() {
        let e = parse_err("[run]\nticks = 3\nticks = 4\n");
        assert_eq!(e.at, Some((3, 1)));
        assert!(e.message.contains("duplicate key `ticks`"), "{e}");
        let e = parse_err("[run]\nseed = 1\n[run]\n");
        assert!(e.message.contains("`run`"), "{e}");
    }

    #[test]
    fn too_deep_a_header_has_a_line() {
        let text = format!("[run]\nticks = 1\n\n[{}b]\n", "a.".repeat(300));
        let e = parse_err(&text);
        assert_eq!(e.at, Some((4, 1)), "{e}");
        assert!(e.message.contains("nested too deeply"), "{e}");
        let text = format!("x = 1\ny = {}1{}\n", "[".repeat(300), "]".repeat(300));
        let e = parse_err(&text);
        assert_eq!(e.at.map(|a| a.0), Some(2), "{e}");
    }
}
