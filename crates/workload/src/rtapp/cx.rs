//! Error construction and typed access to JSON values, shared by the importer's passes.
//!
//! rt-app's own getters (`get_int_value_from` and friends) exit with "Invalid type for key
//! %s" when a value has the wrong json-c type; ours say the same, plus where it is.

use super::json::{Json, Kind};
use crate::error::WorkloadError;
use crate::model::Loc;

/// The file being imported: every error names it.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'a> {
    pub file: &'a str,
}

pub(crate) type Res<T> = Result<T, WorkloadError>;

impl<'a> Cx<'a> {
    pub fn err(&self, loc: Loc, path: &str, msg: impl Into<String>) -> WorkloadError {
        WorkloadError::new(self.file, loc.line, loc.col, path, msg)
    }

    /// rt-app's `assure_type_is` failure, for a value of the wrong json-c type.
    pub fn type_err(&self, v: &Json, path: &str, expected: &str) -> WorkloadError {
        self.err(
            v.loc,
            path,
            format!(
                "expected {expected}, found {} (rt-app: \"Invalid type for key {}\")",
                describe(v),
                last_key(path)
            ),
        )
    }

    /// A json-c int that rt-app reads with `json_object_get_int` (a C `int`).
    pub fn int(&self, v: &Json, path: &str) -> Res<i64> {
        match v.kind {
            Kind::Int(i) if i32::try_from(i).is_ok() => Ok(i),
            Kind::Int(i) => Err(self.err(
                v.loc,
                path,
                format!(
                    "{i} does not fit in rt-app's 32-bit int (json_object_get_int would clamp it)"
                ),
            )),
            _ => Err(self.type_err(v, path, "an integer")),
        }
    }

    /// A non-negative int (durations, sizes, counts).
    pub fn uint(&self, v: &Json, path: &str, what: &str) -> Res<u64> {
        let i = self.int(v, path)?;
        u64::try_from(i).map_err(|_| {
            self.err(
                v.loc,
                path,
                format!("{what} must not be negative (found {i})"),
            )
        })
    }

    pub fn bool(&self, v: &Json, path: &str) -> Res<bool> {
        v.as_bool()
            .ok_or_else(|| self.type_err(v, path, "true or false"))
    }

    pub fn str<'v>(&self, v: &'v Json, path: &str) -> Res<&'v str> {
        v.as_str().ok_or_else(|| self.type_err(v, path, "a string"))
    }

    /// rt-app's string getters accept `null` as "not set".
    pub fn opt_str<'v>(&self, v: &'v Json, path: &str) -> Res<Option<&'v str>> {
        match &v.kind {
            Kind::Null => Ok(None),
            Kind::Str(s) => Ok(Some(s)),
            _ => Err(self.type_err(v, path, "a string or null")),
        }
    }

    pub fn object<'v>(&self, v: &'v Json, path: &str) -> Res<&'v Json> {
        match v.kind {
            Kind::Object(_) => Ok(v),
            _ => Err(self.type_err(v, path, "an object")),
        }
    }
}

/// A short description of a value for messages: its type, and the value if it is short.
pub(crate) fn describe(v: &Json) -> String {
    match &v.kind {
        Kind::Null => "null".into(),
        Kind::Bool(b) => format!("boolean {b}"),
        Kind::Int(i) => format!("integer {i}"),
        Kind::Float(f) => format!("double {f}"),
        Kind::Str(s) if s.chars().count() <= 24 => format!("string \"{s}\""),
        Kind::Str(_) => "a string".into(),
        Kind::Array(_) => "an array".into(),
        Kind::Object(_) => "an object".into(),
    }
}

/// The last component of a dotted path (what rt-app calls "the key").
pub(crate) fn last_key(path: &str) -> &str {
    // Quoted components may contain dots; good enough for messages to split on the last
    // dot outside quotes.
    let mut in_quotes = false;
    let mut cut = 0;
    for (i, c) in path.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            '.' if !in_quotes => cut = i + 1,
            _ => {}
        }
    }
    path[cut..].trim_matches('"')
}
