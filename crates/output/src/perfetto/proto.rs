//! A minimal protobuf wire-format encoder (and decoder, for tests): varints, zigzag-free
//! int32/int64 (negative values sign-extended to 10 bytes as protobuf's `int32` does),
//! length-delimited strings and nested messages. Fields are written in the order the caller
//! adds them, so the same calls give the same bytes.

const VARINT: u32 = 0;
const LEN: u32 = 2;

/// One message being built.
#[derive(Default, Clone, Debug)]
pub struct Msg {
    pub buf: Vec<u8>,
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

impl Msg {
    pub fn new() -> Msg {
        Msg::default()
    }

    fn key(&mut self, field: u32, wire: u32) {
        put_varint(&mut self.buf, ((field << 3) | wire) as u64);
    }

    pub fn uint64(&mut self, field: u32, v: u64) -> &mut Msg {
        self.key(field, VARINT);
        put_varint(&mut self.buf, v);
        self
    }

    pub fn uint32(&mut self, field: u32, v: u32) -> &mut Msg {
        self.uint64(field, v as u64)
    }

    /// `int32`/`int64`: two's complement, sign-extended to 64 bits.
    pub fn int64(&mut self, field: u32, v: i64) -> &mut Msg {
        self.uint64(field, v as u64)
    }

    pub fn int32(&mut self, field: u32, v: i32) -> &mut Msg {
        self.int64(field, v as i64)
    }

    pub fn bool(&mut self, field: u32, v: bool) -> &mut Msg {
        self.uint64(field, v as u64)
    }

    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Msg {
        self.key(field, LEN);
        put_varint(&mut self.buf, b.len() as u64);
        self.buf.extend_from_slice(b);
        self
    }

    pub fn string(&mut self, field: u32, s: &str) -> &mut Msg {
        self.bytes(field, s.as_bytes())
    }

    pub fn message(&mut self, field: u32, m: &Msg) -> &mut Msg {
        self.bytes(field, &m.buf)
    }
}

/// A decoded field value: varint, fixed64/fixed32 (raw) or length-delimited bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

fn get_varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Splits one message into `(field number, value)` in wire order; `None` on malformed input.
pub fn decode(b: &[u8]) -> Option<Vec<(u32, Value<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = get_varint(b, &mut pos)?;
        let (field, wire) = ((key >> 3) as u32, (key & 7) as u32);
        let v = match wire {
            0 => Value::Varint(get_varint(b, &mut pos)?),
            1 => {
                let s = b.get(pos..pos + 8)?;
                pos += 8;
                Value::Fixed64(u64::from_le_bytes(s.try_into().ok()?))
            }
            2 => {
                let n = get_varint(b, &mut pos)? as usize;
                let s = b.get(pos..pos.checked_add(n)?)?;
                pos += n;
                Value::Bytes(s)
            }
            5 => {
                let s = b.get(pos..pos + 4)?;
                pos += 4;
                Value::Fixed32(u32::from_le_bytes(s.try_into().ok()?))
            }
            _ => return None,
        };
        out.push((field, v));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_protobuf() {
        let mut m = Msg::new();
        m.uint64(1, 150);
        assert_eq!(m.buf, [0x08, 0x96, 0x01]);
        let mut m = Msg::new();
        m.int32(2, -1);
        assert_eq!(
            m.buf,
            [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        let mut m = Msg::new();
        m.string(2, "testing");
        assert_eq!(m.buf, b"\x12\x07testing");
        let mut m = Msg::new();
        m.uint32(353, 1);
        assert_eq!(m.buf, [0x88, 0x16, 0x01]);
        let d = decode(&m.buf).unwrap();
        assert_eq!(d, vec![(353, Value::Varint(1))]);
    }
}
