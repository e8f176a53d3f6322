//! Output writers: ftrace text, trace.dat, Perfetto, metrics.
