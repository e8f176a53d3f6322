//! Spooling for the streaming writers: a writer that must put something learned only at
//! the end (a record count, the pid table, each CPU's page count) before the records, or
//! that stores each CPU's data contiguously, appends its bytes to per-lane spools during the
//! run and copies them out in lane order when it finishes.
//!
//! A spool keeps each lane's newest bytes in memory and moves them, in chunks of
//! [`CHUNK`] bytes, to one temporary file (created next to the output and unlinked at once,
//! so it vanishes with the process whatever happens); an in-memory spool (no directory)
//! never does.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::atomic::create_temp;

/// Bytes a lane holds in memory before they go to the file.
pub(crate) const CHUNK: usize = 1 << 16;

#[derive(Default)]
struct Lane {
    /// (offset, length) of this lane's chunks in the file, in order.
    chunks: Vec<(u64, u64)>,
    tail: Vec<u8>,
    len: u64,
}

pub(crate) struct Spool {
    file: Option<SpoolFile>,
    lanes: Vec<Lane>,
}

/// The temporary file, removed on drop if unlinking it at creation failed.
struct SpoolFile {
    file: File,
    len: u64,
    remove: Option<PathBuf>,
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        if let Some(p) = self.remove.take() {
            let _ = fs::remove_file(p);
        }
    }
}

impl Spool {
    /// A spool of `lanes` lanes, in memory (`dir` None) or backed by a temporary file in
    /// `dir`.
    pub(crate) fn new(dir: Option<&Path>, lanes: usize) -> io::Result<Spool> {
        let file = dir.map(temp_file).transpose()?;
        let mut v = Vec::new();
        v.resize_with(lanes, Lane::default);
        Ok(Spool { file, lanes: v })
    }

    /// Appends `bytes` to `lane`.
    pub(crate) fn write(&mut self, lane: usize, bytes: &[u8]) -> io::Result<()> {
        let l = &mut self.lanes[lane];
        l.tail.extend_from_slice(bytes);
        l.len += bytes.len() as u64;
        if l.tail.len() >= CHUNK {
            if let Some(f) = &mut self.file {
                f.file.write_all(&l.tail)?;
                l.chunks.push((f.len, l.tail.len() as u64));
                f.len += l.tail.len() as u64;
                l.tail.clear();
            }
        }
        Ok(())
    }

    /// Bytes written to `lane`.
    pub(crate) fn len(&self, lane: usize) -> u64 {
        self.lanes[lane].len
    }

    /// Copies `lane`'s bytes, in the order written, to `w`.
    pub(crate) fn copy_lane(&mut self, lane: usize, w: &mut dyn Write) -> io::Result<()> {
        let l = &self.lanes[lane];
        if let Some(f) = &mut self.file {
            for &(off, len) in &l.chunks {
                f.file.seek(SeekFrom::Start(off))?;
                let copied = io::copy(&mut (&f.file).take(len), w)?;
                if copied != len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "trace spool file truncated",
                    ));
                }
            }
        }
        w.write_all(&l.tail)
    }
}

/// A fresh temporary file in `dir`, unlinked right away where the system allows it.
fn temp_file(dir: &Path) -> io::Result<SpoolFile> {
    let (file, p) = create_temp(dir, "schedsim-spool")?;
    let remove = fs::remove_file(&p).err().map(|_| p);
    Ok(SpoolFile {
        file,
        len: 0,
        remove,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_come_back_in_order_from_memory_and_file() {
        let dir = std::env::temp_dir();
        for d in [None, Some(dir.as_path())] {
            let mut s = Spool::new(d, 3).unwrap();
            let mut want = vec![Vec::new(); 3];
            for i in 0..20_000u32 {
                let lane = (i * 7 % 3) as usize;
                let bytes = i.to_le_bytes().repeat(1 + (i % 5) as usize);
                s.write(lane, &bytes).unwrap();
                want[lane].extend_from_slice(&bytes);
            }
            for (lane, w) in want.iter().enumerate() {
                assert_eq!(s.len(lane), w.len() as u64);
                let mut got = Vec::new();
                s.copy_lane(lane, &mut got).unwrap();
                assert_eq!(&got, w, "lane {lane}, file {}", d.is_some());
            }
        }
        // Nothing left behind in the directory.
        let left = fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!(".schedsim-spool.tmp-{}-", std::process::id()))
            })
            .count();
        assert_eq!(left, 0);
    }
}
