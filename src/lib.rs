//! aisgap: watches AIS feeds, tracks every vessel, finds watched vessels (tankers by default)
//! that go dark near designated ports, and tallies the port calls they probably made while dark.
//!
//! The pipeline, one module per stage: `source` (I/O) -> `decode` (pure) -> `track` (pure vessel
//! state) -> `detect` (pure, time passed in) -> `store` (SQLite) -> `query` (CLI) and `api` (HTTP and the map page).

pub mod api;
pub mod bytes;
pub mod cli;
pub mod config;
pub mod decode;
pub mod detect;
pub mod engine;
pub mod model;
pub mod offline;
pub mod ports;
pub mod problem;
pub mod query;
pub mod service;
pub mod simulate;
pub mod source;
pub mod store;
pub mod time;
pub mod track;
pub mod watchlist;
