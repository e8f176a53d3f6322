//! The file being parsed, and the typed accessors that turn every "wrong type" into a
//! located error: file, line, column and key path, so no caller has to build one by hand.

use super::hint;
use super::tree::{Entry, Kind, Node};
use crate::error::WorkloadError;
use crate::model::Loc;

pub(crate) type Res<T> = Result<T, WorkloadError>;

pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl Ctx<'_> {
    /// 1-based line and column (in characters) of byte offset `at`.
    pub fn loc(&self, at: usize) -> Loc {
        let at = floor_char_boundary(self.text, at.min(self.text.len()));
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        Loc {
            line: line.try_into().unwrap_or(u32::MAX),
            col: col.try_into().unwrap_or(u32::MAX),
        }
    }

    pub fn err(&self, at: usize, key: &str, msg: impl Into<String>) -> WorkloadError {
        let loc = self.loc(at);
        WorkloadError::new(self.file, loc.line, loc.col, key, msg)
    }

    /// File offset of byte `off` of a string node's decoded value. Exact when the string is
    /// written without escapes (the usual case), so an error can point at the bad word inside
    /// `"run 2xs"`; otherwise the start of the string.
    pub fn str_pos(&self, node: &Node, off: usize) -> usize {
        if let Kind::Str(s) = &node.kind {
            let raw = self.text.get(node.span.clone()).unwrap_or("");
            let quoted = raw.len() == s.len() + 2
                && (raw.starts_with('"') || raw.starts_with('\''))
                && raw.get(1..raw.len() - 1) == Some(s.as_str());
            if quoted && off <= s.len() {
                return node.span.start + 1 + off;
            }
        }
        node.span.start
    }

    /// "expected X, found Y", with a hint showing how to write what was expected.
    fn wrong_type(&self, node: &Node, key: &str, expected: &str, hint: String) -> WorkloadError {
        self.err(
            node.span.start,
            key,
            format!("expected {expected}, found {}", node.kind.type_name()),
        )
        .with_hint(hint)
    }

    pub fn want_str<'n>(&self, node: &'n Node, key: &str, expected: &str) -> Res<&'n str> {
        match &node.kind {
            Kind::Str(s) => Ok(s),
            _ => Err(self.wrong_type(
                node,
                key,
                expected,
                format!("write it in quotes: {} = \"...\"", leaf(key)),
            )),
        }
    }

    pub fn want_bool(&self, node: &Node, key: &str) -> Res<bool> {
        match node.kind {
            Kind::Bool(b) => Ok(b),
            _ => {
                let k = leaf(key);
                Err(self.wrong_type(
                    node,
                    key,
                    "true or false",
                    format!("write {k} = true or {k} = false"),
                ))
            }
        }
    }

    /// An integer within `lo..=hi`; `what` names the range in the message.
    pub fn want_int(&self, node: &Node, key: &str, lo: i64, hi: i64, what: &str) -> Res<i64> {
        match node.kind {
            Kind::Int(i) if (lo..=hi).contains(&i) => Ok(i),
            Kind::Int(i) => {
                // Nobody wants to read 4294967295: an effectively open range is "lo or more".
                let range = if hi >= i64::from(u32::MAX) {
                    format!("{lo} or more")
                } else {
                    format!("in {lo}..={hi}")
                };
                Err(self
                    .err(node.span.start, key, format!("{i} is out of range"))
                    .with_hint(format!("{what} must be {range}")))
            }
            _ => Err(self.wrong_type(
                node,
                key,
                &format!("an integer ({what})"),
                format!("write a plain number without quotes: {} = {lo}", leaf(key)),
            )),
        }
    }

    pub fn want_table<'n>(&self, node: &'n Node, key: &str, expected: &str) -> Res<&'n [Entry]> {
        node.as_table().ok_or_else(|| {
            self.wrong_type(
                node,
                key,
                expected,
                "see docs/workload-format.md for the layout".into(),
            )
        })
    }

    pub fn want_array<'n>(&self, node: &'n Node, key: &str, expected: &str) -> Res<&'n [Node]> {
        match &node.kind {
            Kind::Array(items) => Ok(items),
            _ => Err(self.wrong_type(
                node,
                key,
                expected,
                format!("write a list: {} = [...]", leaf(key)),
            )),
        }
    }

    /// Reject any key of `entries` not in `allowed`, suggesting the nearest allowed one.
    pub fn check_keys(&self, entries: &[Entry], path: &str, allowed: &[&str]) -> Res<()> {
        for e in entries {
            if !allowed.contains(&e.key.as_str()) {
                let key = join(path, &e.key);
                let mut err = self.err(e.key_span.start, &key, format!("unknown key `{}`", e.key));
                err = match hint::did_you_mean(&e.key, allowed) {
                    Some(s) => err.with_hint(format!("did you mean `{s}`?")),
                    None => err.with_hint(format!("accepted keys here: {}", allowed.join(", "))),
                };
                return Err(err);
            }
        }
        Ok(())
    }
}

/// `path.key`, quoting keys that are not bare TOML keys: `cgroup."/web"."cpu.max"`.
pub(crate) fn join(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

/// The last component of a key path, for "write KEY = ..." hints.
fn leaf(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}

/// `path[i]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Look up `key` in a table's entries.
pub(crate) fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Entry> {
    entries.iter().find(|e| e.key == key)
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}
