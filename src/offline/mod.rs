//! The pipeline over files instead of feeds: `aisgap replay` (decode, sort by event time,
//! track, detect, store) and `aisgap decode` (decode only, one record per event).

pub mod batch;
pub mod decode;
pub mod engines;
pub mod input;
pub mod jsonl;
pub mod provenance;
pub mod replay;
pub mod sort;
pub mod window;
