//! A small owned, spanned view of a parsed TOML document.
//!
//! toml_edit keeps a byte span on every key and value, but its API has separate types for
//! standard tables, inline tables, arrays of tables and plain arrays. The format code only
//! cares about "a table", "an array", "a scalar", so we flatten toml_edit's document into
//! this tree once, keeping a span on every node; everything after works on `Node`.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Key, Value};

use super::ctx::Ctx;
use crate::error::WorkloadError;

/// A value with the byte range it was written at.
#[derive(Debug)]
pub(crate) struct Node {
    pub span: Range<usize>,
    pub kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime,
    Array(Vec<Node>),
    Table(Vec<Entry>),
}

/// One `key = value` of a table, in file order.
#[derive(Debug)]
pub(crate) struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

impl Kind {
    /// How a type is named in "expected X, found Y" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime => "a date-time",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

impl Node {
    pub fn as_table(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Table(entries) => Some(entries),
            _ => None,
        }
    }
}

/// Parse `text` as TOML; a syntax error becomes a located `WorkloadError`.
pub(crate) fn parse_document(ctx: &Ctx) -> Result<Node, WorkloadError> {
    let doc = ImDocument::parse(ctx.text).map_err(|e| {
        let at = e.span().map(|s| s.start).unwrap_or(0);
        // toml_edit's message is multi-line with its own excerpt; its first line is the gist.
        let msg = e.message().lines().next().unwrap_or("invalid TOML").trim();
        ctx.err(at, "", format!("invalid TOML: {msg}")).with_hint(
            "see docs/workload-format.md for the syntax; strings need quotes, e.g. run = \"10ms\"",
        )
    })?;
    Ok(Node {
        span: 0..0,
        kind: Kind::Table(table_entries(
            doc.as_table()
                .iter()
                .map(|(k, item)| (k, doc.as_table().key(k), item)),
        )),
    })
}

fn table_entries<'a>(
    items: impl Iterator<Item = (&'a str, Option<&'a Key>, &'a Item)>,
) -> Vec<Entry> {
    items
        .filter_map(|(key, k, item)| {
            let key_span = k.and_then(Key::span).unwrap_or(0..0);
            let value = item_node(item, &key_span)?;
            Some(Entry {
                key: key.to_string(),
                key_span,
                value,
            })
        })
        .collect()
}

/// `fallback` is used where toml_edit has no span (implicit and dotted tables).
fn item_node(item: &Item, fallback: &Range<usize>) -> Option<Node> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_node(v, fallback)),
        Item::Table(t) => Some(Node {
            span: t.span().unwrap_or_else(|| fallback.clone()),
            kind: Kind::Table(table_entries(t.iter().map(|(k, i)| (k, t.key(k), i)))),
        }),
        Item::ArrayOfTables(a) => Some(Node {
            span: a.span().unwrap_or_else(|| fallback.clone()),
            kind: Kind::Array(
                a.iter()
                    .map(|t| Node {
                        span: t.span().unwrap_or_else(|| fallback.clone()),
                        kind: Kind::Table(table_entries(t.iter().map(|(k, i)| (k, t.key(k), i)))),
                    })
                    .collect(),
            ),
        }),
    }
}

fn value_node(v: &Value, fallback: &Range<usize>) -> Node {
    let span = v.span().unwrap_or_else(|| fallback.clone());
    let kind = match v {
        Value::String(s) => Kind::Str(s.value().clone()),
        Value::Integer(i) => Kind::Int(*i.value()),
        Value::Float(f) => Kind::Float(*f.value()),
        Value::Boolean(b) => Kind::Bool(*b.value()),
        Value::Datetime(_) => Kind::Datetime,
        Value::Array(a) => Kind::Array(a.iter().map(|v| value_node(v, &span)).collect()),
        Value::InlineTable(t) => Kind::Table(
            t.iter()
                .map(|(k, v)| {
                    let key_span = t.key(k).and_then(Key::span).unwrap_or(span.clone());
                    Entry {
                        key: k.to_string(),
                        value: value_node(v, &key_span),
                        key_span,
                    }
                })
                .collect(),
        ),
    };
    Node { span, kind }
}
