//! A lenient JSON reader that accepts what rt-app accepts.
//!
//! rt-app reads its file with json-c in non-strict mode, and the files in the wild (including
//! the ones Debian ships) rely on that: `/* */` and `//` comments, trailing commas, single
//! quoted strings, `True`/`NULL` in any case, and duplicate keys. serde_json refuses all of
//! these and loses key order and positions, hence this small reader of our own.
//!
//! What it keeps that json-c throws away:
//! * every value and every key carries its line:column (1-based, columns in characters), so
//!   the importer can point at the offending text;
//! * duplicate keys are all kept, in file order. [`Json::entries`] gives json-c's view of an
//!   object: one entry per distinct key, at the position where the key first appears, holding
//!   the value of its last occurrence (json-c replaces the value of an existing hash entry in
//!   place, so the key keeps its first slot). The importer uses that view, so a file behaves
//!   as it does under rt-app.
//!
//! Deliberate differences from json-c: text after the top-level value is an error (json-c
//! silently ignores it), and nesting deeper than json-c's default limit of 32 is an error
//! with that number in the message (json-c fails too, less clearly).

use crate::model::Loc;

/// json-c's default `JSON_TOKENER_DEFAULT_DEPTH`.
pub const MAX_DEPTH: usize = 32;

/// A JSON value and where it starts in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Json {
    pub kind: Kind,
    pub loc: Loc,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    /// A number written without fraction or exponent that fits in an i64 (json-c's int).
    Int(i64),
    /// Any other number (json-c's double), including NaN and Infinity.
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    /// Members in file order, duplicates included.
    Object(Vec<Member>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub key: String,
    pub key_loc: Loc,
    pub value: Json,
}

/// json-c's view of one object member (see the module doc).
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub key: &'a str,
    /// Where the key first appears: the member's position in iteration order.
    pub key_loc: Loc,
    /// The value of the last occurrence of the key.
    pub value: &'a Json,
    /// How many times the key appears (1 = no duplicate).
    pub occurrences: usize,
}

/// A syntax error: where, in which key, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub loc: Loc,
    /// Dotted path of the member being read when the error was found (may be empty).
    pub path: String,
    pub message: String,
}

impl Json {
    /// The json-c type name, as rt-app's messages say it.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "boolean",
            Kind::Int(_) => "integer",
            Kind::Float(_) => "double",
            Kind::Str(_) => "string",
            Kind::Array(_) => "array",
            Kind::Object(_) => "object",
        }
    }

    pub fn as_object(&self) -> Option<&[Member]> {
        match &self.kind {
            Kind::Object(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self.kind {
            Kind::Int(i) => Some(i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// json-c's view of an object: distinct keys in order of first appearance, each with the
    /// value of its last occurrence. Empty for non-objects.
    pub fn entries(&self) -> Vec<Entry<'_>> {
        let members = match &self.kind {
            Kind::Object(m) => m,
            _ => return Vec::new(),
        };
        let mut out: Vec<Entry<'_>> = Vec::with_capacity(members.len());
        for m in members {
            // Objects in workload files are small: a linear search keeps order trivially.
            if let Some(e) = out.iter_mut().find(|e| e.key == m.key) {
                e.value = &m.value;
                e.occurrences += 1;
            } else {
                out.push(Entry {
                    key: &m.key,
                    key_loc: m.key_loc,
                    value: &m.value,
                    occurrences: 1,
                });
            }
        }
        out
    }

    /// json-c's lookup: the last value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.as_object()?
            .iter()
            .rev()
            .find(|m| m.key == key)
            .map(|m| &m.value)
    }
}

/// Parse a whole document.
pub fn parse(text: &str) -> Result<Json, SyntaxError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
        path: Vec::new(),
    };
    // A UTF-8 byte order mark is not JSON, but editors write it; skip it.
    if p.peek() == Some('\u{feff}') {
        p.bump();
    }
    p.skip_blank()?;
    if p.peek().is_none() {
        return Err(p.error_here("empty file: expected a JSON object"));
    }
    let v = p.value(0)?;
    p.skip_blank()?;
    if p.peek().is_some() {
        return Err(p.error_here(
            "unexpected text after the end of the top-level JSON value (json-c would ignore it; \
             schedsim refuses it because it is almost always a mistake)",
        ));
    }
    Ok(v)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    line: u32,
    col: u32,
    /// Keys (and `[i]` indices) leading to the value being read, for error messages.
    path: Vec<String>,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn loc(&self) -> Loc {
        Loc {
            line: self.line,
            col: self.col,
        }
    }

    fn path_string(&self) -> String {
        let mut s = String::new();
        for part in &self.path {
            if part.starts_with('[') || s.is_empty() {
                s.push_str(part);
            } else {
                s.push('.');
                s.push_str(part);
            }
        }
        s
    }

    fn error_at(&self, loc: Loc, msg: impl Into<String>) -> SyntaxError {
        SyntaxError {
            loc,
            path: self.path_string(),
            message: msg.into(),
        }
    }

    fn error_here(&self, msg: impl Into<String>) -> SyntaxError {
        self.error_at(self.loc(), msg)
    }

    fn describe_here(&self) -> String {
        match self.peek() {
            None => "end of file".to_string(),
            Some(c) if c.is_control() => format!("character U+{:04X}", c as u32),
            Some(c) => format!("`{c}`"),
        }
    }

    /// Skip white space and comments (json-c non-strict accepts both comment styles).
    fn skip_blank(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') if self.peek_at(1) == Some('*') => {
                    let start = self.loc();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => {
                                return Err(self.error_at(start, "unterminated `/*` comment"));
                            }
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            _ => {}
                        }
                    }
                }
                Some('/') if self.peek_at(1) == Some('/') => {
                    while let Some(c) = self.bump() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        let loc = self.loc();
        let kind = match self.peek() {
            Some('{') => self.object(depth + 1)?,
            Some('[') => self.array(depth + 1)?,
            Some('"') | Some('\'') => Kind::Str(self.string()?),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number()?,
            Some(c) if c.is_ascii_alphabetic() => self.literal()?,
            _ => {
                return Err(self.error_here(format!(
                "expected a value (object, array, string, number, true, false or null), found {}",
                self.describe_here()
            )))
            }
        };
        Ok(Json { kind, loc })
    }

    fn check_depth(&self, depth: usize) -> Result<(), SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error_here(format!(
                "nesting deeper than {MAX_DEPTH} levels (json-c's limit, so rt-app refuses it too)"
            )));
        }
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.check_depth(depth)?;
        let open = self.loc();
        self.bump(); // '{'
        let mut members = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                // Also the trailing-comma case `{"a": 1,}` (json-c non-strict accepts it).
                Some('}') => {
                    self.bump();
                    return Ok(Kind::Object(members));
                }
                Some('"') | Some('\'') => {}
                None => return Err(self.error_at(open, "unterminated object: missing `}`")),
                _ => {
                    return Err(self.error_here(format!(
                        "expected a quoted key or `}}`, found {}",
                        self.describe_here()
                    )))
                }
            }
            let key_loc = self.loc();
            let key = self.string()?;
            self.skip_blank()?;
            if self.peek() != Some(':') {
                let mut msg = format!(
                    "expected `:` after key \"{key}\", found {}",
                    self.describe_here()
                );
                if matches!(self.peek(), Some(',') | Some('}')) {
                    // Debian's video examples do this: workgen fills the value in, json-c
                    // (and so rt-app itself) refuses the file.
                    msg.push_str(
                        " (a key without a value is shorthand that rt-app's workgen script \
                         completes, e.g. \"suspend\" -> \"suspend\": \"<thread>\"; json-c, and \
                         so rt-app, refuses it: write the value)",
                    );
                }
                return Err(self.error_here(msg));
            }
            self.bump();
            self.skip_blank()?;
            self.path.push(quote_key(&key));
            let value = self.value(depth)?;
            self.path.pop();
            members.push(Member {
                key,
                key_loc,
                value,
            });
            self.skip_blank()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some('}') => {
                    self.bump();
                    return Ok(Kind::Object(members));
                }
                None => return Err(self.error_at(open, "unterminated object: missing `}`")),
                _ => {
                    return Err(self.error_here(format!(
                        "expected `,` or `}}` after a member, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Kind, SyntaxError> {
        self.check_depth(depth)?;
        let open = self.loc();
        self.bump(); // '['
        let mut items = Vec::new();
        loop {
            self.skip_blank()?;
            match self.peek() {
                Some(']') => {
                    self.bump();
                    return Ok(Kind::Array(items));
                }
                None => return Err(self.error_at(open, "unterminated array: missing `]`")),
                _ => {}
            }
            self.path.push(format!("[{}]", items.len()));
            let v = self.value(depth)?;
            self.path.pop();
            items.push(v);
            self.skip_blank()?;
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {
                    self.bump();
                    return Ok(Kind::Array(items));
                }
                None => return Err(self.error_at(open, "unterminated array: missing `]`")),
                _ => {
                    return Err(self.error_here(format!(
                        "expected `,` or `]` after an array element, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
    }

    /// A string in double or (json-c non-strict) single quotes.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.loc();
        let quote = self.bump().expect("caller checked the quote");
        let mut s = String::new();
        loop {
            let c = match self.bump() {
                None => return Err(self.error_at(start, "unterminated string")),
                Some(c) => c,
            };
            if c == quote {
                return Ok(s);
            }
            if c != '\\' {
                s.push(c);
                continue;
            }
            let esc_loc = self.loc();
            match self.bump() {
                Some('"') => s.push('"'),
                Some('\'') => s.push('\''),
                Some('\\') => s.push('\\'),
                Some('/') => s.push('/'),
                Some('b') => s.push('\u{8}'),
                Some('f') => s.push('\u{c}'),
                Some('n') => s.push('\n'),
                Some('r') => s.push('\r'),
                Some('t') => s.push('\t'),
                Some('u') => {
                    let hi = self.hex4()?;
                    let ch = if (0xD800..0xDC00).contains(&hi)
                        && self.peek() == Some('\\')
                        && self.peek_at(1) == Some('u')
                    {
                        self.bump();
                        self.bump();
                        let lo = self.hex4()?;
                        if (0xDC00..0xE000).contains(&lo) {
                            char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                        } else {
                            None
                        }
                    } else {
                        char::from_u32(hi)
                    };
                    // Lone surrogates cannot be represented: use the replacement character.
                    s.push(ch.unwrap_or('\u{fffd}'));
                }
                Some(other) => {
                    return Err(
                        self.error_at(esc_loc, format!("invalid escape `\\{other}` in string"))
                    )
                }
                None => return Err(self.error_at(start, "unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let loc = self.loc();
        let mut v = 0u32;
        for _ in 0..4 {
            match self.bump().and_then(|c| c.to_digit(16)) {
                Some(d) => v = v * 16 + d,
                None => return Err(self.error_at(loc, "`\\u` must be followed by 4 hex digits")),
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Kind, SyntaxError> {
        let start = self.loc();
        let mut text = String::new();
        if self.peek() == Some('-') {
            text.push('-');
            self.bump();
            // json-c non-strict: -Infinity.
            if self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                return match self.literal()? {
                    Kind::Float(f) if f.is_infinite() => Ok(Kind::Float(-f)),
                    _ => Err(self.error_at(start, "`-` must be followed by a number")),
                };
            }
        }
        let mut integral = true;
        self.digits(&mut text, start)?;
        if self.peek() == Some('.') {
            integral = false;
            text.push('.');
            self.bump();
            self.digits(&mut text, start)?;
        }
        if matches!(self.peek(), Some('e') | Some('E')) {
            integral = false;
            text.push('e');
            self.bump();
            if let Some(c @ ('+' | '-')) = self.peek() {
                text.push(c);
                self.bump();
            }
            self.digits(&mut text, start)?;
        }
        if self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return Err(self.error_here(format!(
                "invalid character {} in number",
                self.describe_here()
            )));
        }
        if integral {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Kind::Int(i));
            }
            // Too big for an int64: json-c turns it into a double as well.
        }
        text.parse::<f64>()
            .map(Kind::Float)
            .map_err(|_| self.error_at(start, format!("invalid number `{text}`")))
    }

    fn digits(&mut self, text: &mut String, start: Loc) -> Result<(), SyntaxError> {
        let before = text.len();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
            text.push(c);
            self.bump();
        }
        if text.len() == before {
            return Err(self.error_at(
                start,
                format!(
                    "invalid number: expected a digit, found {}",
                    self.describe_here()
                ),
            ));
        }
        Ok(())
    }

    /// `true`, `false`, `null`, `NaN`, `Infinity`: json-c non-strict compares them
    /// case-insensitively.
    fn literal(&mut self) -> Result<Kind, SyntaxError> {
        let start = self.loc();
        let mut word = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        {
            word.push(c);
            self.bump();
        }
        match word.to_ascii_lowercase().as_str() {
            "true" => Ok(Kind::Bool(true)),
            "false" => Ok(Kind::Bool(false)),
            "null" => Ok(Kind::Null),
            "nan" => Ok(Kind::Float(f64::NAN)),
            "infinity" => Ok(Kind::Float(f64::INFINITY)),
            _ => Err(self.error_at(
                start,
                format!("unexpected word `{word}`: strings must be quoted (expected a value)"),
            )),
        }
    }
}

/// A key as it appears in a dotted path: quoted if it contains a dot or blank, so that
/// `tasks."mp3.decoder".run` stays unambiguous.
pub fn quote_key(key: &str) -> String {
    if key.is_empty() || key.contains(|c: char| c == '.' || c.is_whitespace() || c == '"') {
        format!("\"{}\"", key.replace('"', "\\\""))
    } else {
        key.to_string()
    }
}

/// `parent.key` with [`quote_key`] quoting.
pub fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        quote_key(key)
    } else {
        format!("{parent}.{}", quote_key(key))
    }
}
