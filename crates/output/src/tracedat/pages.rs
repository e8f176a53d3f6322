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

/// Packs one CPU's records into pages, calling `emit` for each full 4096-byte page in
/// order; returns the number of pages. Fails on a timestamp that goes backwards (a delta
/// cannot be negative) or a gap beyond 2^59 ns.
pub(crate) fn pack_cpu(
    records: &[Record],
    mut emit: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<u64> {
    let mut page = vec![0u8; PAGE_SIZE];
    let mut used = 0usize; // bytes of data[] in use (the page's commit)
    let mut open = false;
    let mut last_ts = 0u64;
    let mut pages = 0u64;
    let mut pl = Vec::with_capacity(128);

    let mut flush = |page: &mut Vec<u8>, used: usize, pages: &mut u64| -> io::Result<()> {
        page[8..16].copy_from_slice(&(used as u64).to_le_bytes());
        emit(page)?;
        *pages += 1;
        Ok(())
    };

    for rec in records {
        pl.clear();
        payload::encode(rec, &mut pl);
        let data_len = align4(pl.len());
        let ev_len = if data_len > MAX_SMALL_DATA {
            8 + data_len
        } else {
            4 + data_len
        };
        let mut delta = 0u64;
        let mut extend = false;
        if open {
            delta = rec.ts.checked_sub(last_ts).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "trace.dat: CPU {} timestamp goes back ({} < {})",
                        rec.cpu, rec.ts, last_ts
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
            if used + need > PAGE_DATA {
                flush(&mut page, used, &mut pages)?;
                open = false;
            }
        }
        if !open {
            page.fill(0);
            page[0..8].copy_from_slice(&rec.ts.to_le_bytes());
            used = 0;
            delta = 0;
            extend = false;
            open = true;
        }
        let d = &mut page[PAGE_HEADER..];
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
        d[used..used + pl.len()].copy_from_slice(&pl);
        used += data_len; // padding bytes are already zero
        last_ts = rec.ts;
    }
    if open {
        flush(&mut page, used, &mut pages)?;
    }
    Ok(pages)
}
