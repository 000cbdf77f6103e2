//! aisgap: watches AIS feeds, tracks every vessel, finds watched vessels (tankers by default)
//! that go dark near designated ports, and tallies the port calls they probably made while dark.
//!
//! The pipeline, one module per stage: `source` (I/O) -> `decode` (pure) -> `track` (pure vessel
//! state) -> `detect` (pure, time passed in) -> `store` (SQLite) -> `query`.

pub mod decode;
pub mod encode;
pub mod model;
pub mod simulate;
pub mod time;
