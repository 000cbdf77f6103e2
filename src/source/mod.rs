//! The `source` stage: I/O only. Brings raw lines in (files, stdin; later sockets) with their
//! limits, and nothing else: every line goes to `decode` untouched.

pub mod file;
