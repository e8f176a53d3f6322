//! Errors in a workload file: always the file, line, column and key path, with a hint.

use std::fmt;

/// A problem with a workload (or machine) description, located in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadError {
    pub file: String,
    pub line: u32,
    pub col: u32,
    /// Dotted key path (`tasks.per.phases.p1.timer.period`), empty if none applies.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

impl WorkloadError {
    pub fn new(file: &str, line: u32, col: u32, key: &str, message: impl Into<String>) -> Self {
        WorkloadError {
            file: file.to_string(),
            line,
            col,
            key: key.to_string(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for WorkloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WorkloadError {}
