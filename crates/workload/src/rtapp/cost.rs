//! The CPU-time model for rt-app's memory and I/O events.
//!
//! The simulator has no caches, memory bus or block layer: every event that makes a real
//! thread busy becomes plain CPU work (`Step::Run`). These constants are a *model* — round
//! numbers of the right order for a current x86 server core — not measurements of the
//! reference machine. docs/rt-app.md documents them; change them there too.

/// `mem`: memset bandwidth of one core, bytes per ns (10 GB/s).
pub const MEM_BYTES_PER_NS: u64 = 10;
/// `iorun` to /dev/null: cost of one `write()` syscall, whatever its size (the driver copies
/// nothing).
pub const DEVNULL_WRITE_NS: u64 = 500;
/// `iorun` to any other device: fixed cost of one `write()` ...
pub const FILE_WRITE_NS: u64 = 2_000;
/// ... plus the copy into the page cache, bytes per ns (2 GB/s). No writeback, no blocking.
pub const FILE_BYTES_PER_NS: u64 = 2;
/// `memrun` sequential / strided access: streaming bandwidth, bytes per ns.
pub const STREAM_BYTES_PER_NS: u64 = 10;

/// `memrun` random/chase access latency by working-set size: (max bytes, ns per access).
pub const LATENCY_BY_SIZE: &[(u64, u64)] = &[
    (32 << 10, 1),  // L1d
    (1 << 20, 4),   // L2
    (32 << 20, 15), // LLC (32 MiB on the reference EPYC)
    (u64::MAX, 90), // DRAM
];

/// `"mem": bytes` — rt-app memsets the per-thread buffer until `bytes` are written.
pub fn mem_ns(bytes: u64) -> u64 {
    bytes.div_ceil(MEM_BYTES_PER_NS)
}

/// `"iorun": bytes` — rt-app `write()`s the buffer (`mem_buffer_size` bytes at most per call)
/// to `io_device` until `bytes` are written.
pub fn iorun_ns(bytes: u64, buffer_size: u64, io_device: &str) -> u64 {
    let calls = bytes.div_ceil(buffer_size.max(1));
    if io_device == "/dev/null" {
        calls * DEVNULL_WRITE_NS
    } else {
        calls * FILE_WRITE_NS + bytes.div_ceil(FILE_BYTES_PER_NS)
    }
}

/// How a `memrun` walks its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Sequential,
    Random,
    /// Pointer chasing: every load depends on the previous one.
    Chase,
}

/// `"memrun": {size, count, stride, ...}` — `count` passes over `size` bytes, one access
/// every `stride` bytes. Streaming accesses cost bandwidth, random ones and pointer chases
/// cost the latency of the level the buffer fits in.
pub fn memrun_ns(size: u64, count: u64, stride: u64, access: Access) -> u64 {
    let stride = stride.max(1);
    let per_pass = (size / stride).max(1);
    let accesses = per_pass.saturating_mul(count);
    match access {
        Access::Sequential => accesses
            .saturating_mul(stride)
            .div_ceil(STREAM_BYTES_PER_NS),
        Access::Random | Access::Chase => {
            let lat = LATENCY_BY_SIZE
                .iter()
                .find(|(max, _)| size <= *max)
                .map_or(90, |&(_, ns)| ns);
            accesses.saturating_mul(lat)
        }
    }
}
