//! trace.dat version 6, the file `trace-cmd record`/`extract` writes (trace-cmd's
//! lib/trace-cmd/trace-output.c; layout in trace-cmd.dat.v6(5)), little-endian, 8-byte longs,
//! 4096-byte pages, "flyrecord" per-CPU data:
//!
//! ```text
//! "\x17\x08\x44tracing" "6\0" u8 endian(0) u8 long_size(8) u32 page_size(4096)
//! "header_page\0" u64 len text   "header_event\0" u64 len text
//! u32 n_ftrace_formats [u64 len, text]*      (ftrace's own events: print)
//! u32 n_systems; "sched\0" u32 n [u64 len, text]*
//! u32 len kallsyms    u32 len printk (0)    u64 len cmdlines ("<pid> <comm>\n")*
//! u32 n_cpus "flyrecord\0" [u64 offset, u64 size]*n_cpus   zero pad to 4096
//! per CPU: whole pages (pages.rs)
//! ```

mod formats;
mod pages;
mod payload;

use std::io::{self, BufWriter, Write};
use std::path::Path;

use schedsim_trace::{Record, TraceBuffers};

use crate::common::{check_cpu, TaskComms};
use crate::spool::Spool;
use crate::stream::{write_kept, TraceWriter};
use formats::{format_file, HEADER_EVENT, HEADER_PAGE, IRQ_VECTORS, KALLSYMS, PRINT, SCHED};
use pages::{Packer, PAGE_SIZE};

/// Writes a trace.dat v6 of `bufs` with `nr_cpus` CPU sections (a CPU without records gets
/// an empty section). Fails with `InvalidInput`, before writing anything, if a CPU's
/// timestamps go backwards or records sit on a CPU ≥ `nr_cpus`.
pub fn write_trace_dat<W: Write + ?Sized>(
    w: &mut W,
    bufs: &TraceBuffers,
    nr_cpus: usize,
) -> io::Result<()> {
    write_kept(w, bufs, TraceDatWriter::new(nr_cpus, None)?)
}

/// [`write_trace_dat`] record by record: each CPU's pages are spooled (in memory, or in a
/// temporary file in `spool_dir`) until the header, which gives every CPU's offset and
/// size and the pid table, can be written.
pub struct TraceDatWriter {
    nr_cpus: usize,
    packers: Vec<Packer>,
    pages: Spool,
    comms: TaskComms,
}

impl TraceDatWriter {
    pub fn new(nr_cpus: usize, spool_dir: Option<&Path>) -> io::Result<TraceDatWriter> {
        Ok(TraceDatWriter {
            nr_cpus,
            packers: (0..nr_cpus).map(|_| Packer::new()).collect(),
            pages: Spool::new(spool_dir, nr_cpus)?,
            comms: TaskComms::default(),
        })
    }
}

impl TraceWriter for TraceDatWriter {
    fn record(&mut self, rec: &Record) -> io::Result<()> {
        check_cpu(rec, self.nr_cpus)?;
        let c = rec.cpu as usize;
        let pages = &mut self.pages;
        self.packers[c].push(rec, |page| pages.write(c, page))?;
        self.comms.note(rec);
        Ok(())
    }

    fn finish(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let nr_cpus = self.nr_cpus;
        for (c, p) in self.packers.iter_mut().enumerate() {
            let pages = &mut self.pages;
            p.finish(|page| pages.write(c, page))?;
        }

        let mut h: Vec<u8> = Vec::with_capacity(16 * 1024);
        h.extend_from_slice(b"\x17\x08\x44tracing6\0");
        h.push(0); // little endian
        h.push(8); // sizeof(long)
        h.extend_from_slice(&(PAGE_SIZE as u32).to_le_bytes());

        h.extend_from_slice(b"header_page\0");
        put_text64(&mut h, HEADER_PAGE);
        h.extend_from_slice(b"header_event\0");
        put_text64(&mut h, HEADER_EVENT);

        h.extend_from_slice(&1u32.to_le_bytes()); // ftrace formats: print
        put_text64(&mut h, &format_file(&PRINT));
        h.extend_from_slice(&2u32.to_le_bytes()); // event systems: sched, irq_vectors
        for (system, events) in [("sched", &SCHED[..]), ("irq_vectors", &IRQ_VECTORS[..])] {
            h.extend_from_slice(system.as_bytes());
            h.push(0);
            h.extend_from_slice(&(events.len() as u32).to_le_bytes());
            for ev in events {
                put_text64(&mut h, &format_file(ev));
            }
        }

        h.extend_from_slice(&(KALLSYMS.len() as u32).to_le_bytes());
        h.extend_from_slice(KALLSYMS.as_bytes());
        h.extend_from_slice(&0u32.to_le_bytes()); // printk formats

        let mut cmdlines = String::new();
        for (pid, comm) in self.comms.table() {
            cmdlines.push_str(&format!("{pid} {comm}\n"));
        }
        put_text64(&mut h, &cmdlines);

        h.extend_from_slice(&(nr_cpus as u32).to_le_bytes());
        h.extend_from_slice(b"flyrecord\0");
        let data_start = (h.len() + 16 * nr_cpus).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let mut off = data_start as u64;
        for c in 0..nr_cpus {
            let size = self.pages.len(c);
            h.extend_from_slice(&off.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            off += size;
        }
        h.resize(data_start, 0);

        // The pages themselves, CPU after CPU.
        let mut w = BufWriter::with_capacity(1 << 16, w);
        w.write_all(&h)?;
        for c in 0..nr_cpus {
            self.pages.copy_lane(c, &mut w)?;
        }
        w.flush()
    }
}

fn put_text64(h: &mut Vec<u8>, s: &str) {
    h.extend_from_slice(&(s.len() as u64).to_le_bytes());
    h.extend_from_slice(s.as_bytes());
}
