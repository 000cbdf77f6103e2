//! The `source` stage: I/O only. Brings raw lines in (feeds, receivers, devices, files, stdin)
//! within their length bounds, and nothing else: every line goes to `decode` untouched.

pub mod file;
pub mod follow;
pub mod live;
pub mod serial;
pub mod tcp;
pub mod udp;
