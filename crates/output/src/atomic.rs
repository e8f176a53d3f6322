//! All-or-nothing file output: write to a temporary file in the target's directory, flush
//! and fsync it, then `rename(2)` it over the target. A writer that fails (or panics) leaves
//! the target untouched and the temporary file removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Removes the temporary file unless disarmed (covers both `Err` and panics in `f`).
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Runs `f` on a buffered writer to a fresh temporary file next to `path`, then renames
/// that file to `path`. On any error nothing is left at `path` that was not there before.
///
/// ```no_run
/// # use schedsim_trace::TraceBuffers;
/// let bufs = TraceBuffers::new(2, true);
/// schedsim_output::write_atomically("out.txt", |w| {
///     schedsim_output::write_ftrace_text(w, &bufs, 2)
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomically<P, F>(path: P, f: F) -> io::Result<()>
where
    P: AsRef<Path>,
    F: FnOnce(&mut dyn Write) -> io::Result<()>,
{
    let path = path.as_ref();
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a file path: {}", path.display()),
        )
    })?;
    let dir = parent_dir(path);
    let (file, tmp) = create_temp(&dir, &name.to_string_lossy())?;
    let mut guard = TempGuard(Some(tmp.clone()));
    let mut w = BufWriter::with_capacity(1 << 16, file);
    f(&mut w)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    fs::rename(&tmp, path)?;
    guard.0 = None;
    Ok(())
}

/// The directory a file at `path` goes in (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A fresh file `.{name}.tmp-{pid}-{n}` in `dir`, open for reading and writing.
pub(crate) fn create_temp(dir: &Path, name: &str) -> io::Result<(File, PathBuf)> {
    loop {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}
