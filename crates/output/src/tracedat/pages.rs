//! Per-CPU ring-buffer pages as `ring_buffer_read_page` hands them to trace-cmd
//! (kernel/trace/ring_buffer.c): `struct buffer_data_page { u64 time_stamp; local_t commit;
//! unsigned char data[]; }`, 4096 bytes, records packed back to back.
//!
//! Record header (`struct ring_buffer_event`): u32 with `type_len` in bits 0–4 and
//! `time_delta` in bits 5–31. `rb_update_event`: payload ≤ 112 bytes → `type_len =
//! DIV_ROUND_UP(len, 4)`; larger → `type_len = 0`, `array[0] = aligned len + 4`.
//! The first record of a page has delta 0 against the page's `time_stamp`; a gap that does
//! not fit in 27 bits gets a `RINGBUF_TYPE_TIME_EXTEND` (30) record before it
//! (`rb_add_time_stamp`: `time_delta = delta & TS_MASK`, `array[0] = delta >> TS_SHIFT`).

use std::io;

use schedsim_trace::Record;

use super::payload;

pub(crate) const PAGE_SIZE: usize = 4096;
const PAGE_HEADER: usize = 16;
const PAGE_DATA: usize = PAGE_SIZE - PAGE_HEADER;
const TS_SHIFT: u32 = 27;
const TS_MASK: u64 = (1 << TS_SHIFT) - 1;
const TYPE_TIME_EXTEND: u32 = 30;
/// RB_MAX_SMALL_DATA = RB_ALIGNMENT (4) × RINGBUF_TYPE_DATA_TYPE_LEN_MAX (28).
const MAX_SMALL_DATA: usize = 4 * 28;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Packs one CPU's records, in order, into pages, handing each full 4096-byte page to an
/// `emit` callback. Fails on a timestamp that goes backwards (a delta cannot be negative)
/// or a gap beyond 2^59 ns.
pub(crate) struct Packer {
    page: Vec<u8>,
    /// Bytes of data[] in use (the page's commit).
    used: usize,
    open: bool,
    last_ts: u64,
    pl: Vec<u8>,
}

impl Packer {
    pub(crate) fn new() -> Packer {
        Packer {
            page: vec![0u8; PAGE_SIZE],
            used: 0,
            open: false,
            last_ts: 0,
            pl: Vec::with_capacity(128),
        }
    }

    fn flush(&mut self, emit: &mut impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        self.page[8..16].copy_from_slice(&(self.used as u64).to_le_bytes());
        self.open = false;
        emit(&self.page)
    }

    pub(crate) fn push(
        &mut self,
        rec: &Record,
        mut emit: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        self.pl.clear();
        payload::encode(rec, &mut self.pl);
        let data_len = align4(self.pl.len());
        let ev_len = if data_len > MAX_SMALL_DATA {
            8 + data_len
        } else {
            4 + data_len
        };
        let mut delta = 0u64;
        let mut extend = false;
        if self.open {
            delta = rec.ts.checked_sub(self.last_ts).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "trace.dat: CPU {} timestamp goes back ({} < {})",
                        rec.cpu, rec.ts, self.last_ts
                    ),
                )
            })?;
            if delta >> (TS_SHIFT + 32) != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "trace.dat: time gap over 2^59 ns",
                ));
            }
            extend = delta > TS_MASK;
            let need = ev_len + if extend { 8 } else { 0 };
            if self.used + need > PAGE_DATA {
                self.flush(&mut emit)?;
            }
        }
        if !self.open {
            self.page.fill(0);
            self.page[0..8].copy_from_slice(&rec.ts.to_le_bytes());
            self.used = 0;
            delta = 0;
            extend = false;
            self.open = true;
        }
        let mut used = self.used;
        let d = &mut self.page[PAGE_HEADER..];
        if extend {
            let hdr = TYPE_TIME_EXTEND | ((delta & TS_MASK) as u32) << 5;
            d[used..used + 4].copy_from_slice(&hdr.to_le_bytes());
            d[used + 4..used + 8].copy_from_slice(&((delta >> TS_SHIFT) as u32).to_le_bytes());
            used += 8;
            delta = 0;
        }
        let type_len = if data_len > MAX_SMALL_DATA {
            0
        } else {
            (data_len / 4) as u32
        };
        let hdr = type_len | (delta as u32) << 5;
        d[used..used + 4].copy_from_slice(&hdr.to_le_bytes());
        used += 4;
        if type_len == 0 {
            d[used..used + 4].copy_from_slice(&((data_len + 4) as u32).to_le_bytes());
            used += 4;
        }
        d[used..used + self.pl.len()].copy_from_slice(&self.pl);
        used += data_len; // padding bytes are already zero
        self.used = used;
        self.last_ts = rec.ts;
        Ok(())
    }

    /// Emits the last, partly filled page (none if no record came).
    pub(crate) fn finish(
        &mut self,
        mut emit: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.open {
            self.flush(&mut emit)?;
        }
        Ok(())
    }
}
