//! Streaming: the writers take records one at a time, in the `trace` file's order, while
//! the simulation runs, and write their file when it ends. [`FileSink`] plugs a writer into
//! the simulator's trace (`TraceBuffers::stream_to`) and puts the file in place with
//! [`write_atomically`], so memory holds only what a writer must keep for its file's head
//! (counts, the pid table) while the records themselves go to a spool next to the output.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use schedsim_trace::{Record, TraceBuffers, TraceSink};

use crate::atomic::{parent_dir, write_atomically};
use crate::ftrace::FtraceWriter;
use crate::perfetto::PerfettoWriter;
use crate::tracedat::TraceDatWriter;

/// A trace writer fed record by record (in [`TraceBuffers::merged`] order); `finish`
/// writes the whole file.
pub trait TraceWriter {
    fn record(&mut self, rec: &Record) -> io::Result<()>;
    /// Writes the file: called once, after the last record.
    fn finish(&mut self, w: &mut dyn Write) -> io::Result<()>;
}

/// Writes kept records through a streaming writer (the in-memory entry points).
pub(crate) fn write_kept<W: Write + ?Sized>(
    w: &mut W,
    bufs: &TraceBuffers,
    mut tw: impl TraceWriter,
) -> io::Result<()> {
    for rec in bufs.merged() {
        tw.record(rec)?;
    }
    let mut w = BufWriter::with_capacity(1 << 16, w);
    tw.finish(&mut w)?;
    w.flush()
}

/// The trace file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// ftrace text ([`crate::write_ftrace_text`]).
    Ftrace,
    /// trace-cmd's trace.dat v6 ([`crate::write_trace_dat`]).
    TraceDat,
    /// Perfetto protobuf ([`crate::write_perfetto`]).
    Perfetto,
}

/// A trace file written as the run goes: a [`TraceSink`] whose records go to a writer that
/// spools them next to `path`; `finish` writes the file there atomically. Errors name the
/// path. Dropped without `finish` (the run failed), it leaves nothing behind.
pub struct FileSink {
    path: PathBuf,
    writer: Box<dyn TraceWriter>,
}

impl FileSink {
    /// A sink for a `format` file at `path` of a machine with `nr_cpus` CPUs. Fails (naming
    /// the path) if the spool cannot be created in the file's directory.
    pub fn create(
        format: Format,
        path: impl Into<PathBuf>,
        nr_cpus: usize,
    ) -> io::Result<FileSink> {
        let path = path.into();
        let dir = parent_dir(&path);
        let dir = Some(dir.as_path());
        let writer: io::Result<Box<dyn TraceWriter>> = match format {
            Format::Ftrace => FtraceWriter::new(nr_cpus, dir).map(|w| Box::new(w) as _),
            Format::TraceDat => TraceDatWriter::new(nr_cpus, dir).map(|w| Box::new(w) as _),
            Format::Perfetto => PerfettoWriter::new(nr_cpus, dir).map(|w| Box::new(w) as _),
        };
        let writer = writer.map_err(|e| named(&path, e))?;
        Ok(FileSink { path, writer })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl TraceSink for FileSink {
    fn record(&mut self, rec: &Record) -> io::Result<()> {
        self.writer.record(rec).map_err(|e| named(&self.path, e))
    }

    fn finish(&mut self) -> io::Result<()> {
        let writer = &mut self.writer;
        write_atomically(&self.path, |w| writer.finish(w)).map_err(|e| named(&self.path, e))
    }
}
