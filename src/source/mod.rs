//! Sources: where raw AIS lines come from (feeds, receivers, devices, files) and nothing else;
//! every line they read within the length bound is handed on, unjudged, to the decoder.

pub mod follow;
pub mod live;
pub mod serial;
pub mod tcp;
pub mod udp;
