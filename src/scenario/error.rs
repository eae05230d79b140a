//! Scenario errors written for the person at the terminal: file, line and column, the
//! key, what is allowed, and a suggestion where one helps.

use std::fmt;

#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based line and column, when the problem has a place in the file.
    pub at: Option<(usize, usize)>,
    /// The dotted key (`centre.tolerance`, `regions[1].zones`), when there is one.
    pub key: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl ScenarioError {
    pub fn new(file: &str, message: impl Into<String>) -> Self {
        ScenarioError { file: file.to_string(), at: None, key: None, message: message.into(), help: None }
    }
    pub fn at(mut self, at: Option<(usize, usize)>) -> Self {
        self.at = at;
        self
    }
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
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

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}
