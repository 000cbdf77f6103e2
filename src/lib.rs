//! aisgap: watches AIS feeds, tracks every vessel, finds watched vessels (tankers by default)
//! that go dark near designated ports, and tallies the port calls they probably made while dark.
//!
//! # Layout
//!
//! One folder (or file) per stage of the pipeline, in the order data flows:
//!
//! ```text
//! source/   I/O: files, TCP, UDP, serial, stdin; one line framer for replay and live
//! decode/   pure: lines (NMEA, tag blocks, CSV exports) -> AisEvent, every refusal counted
//! track/    pure: the vessel table, packed track points, receiver coverage per port-hour
//! detect/   pure: gaps, reachability of ports, coverage judgement, trips (time passed in)
//! engine    pure: drives track and detect over the event stream, keeps the stream clock
//!           (`stream_clock`: which times may move it)
//! store/    the single SQLite writer, the schema, and the read side (`Reader`)
//! query/    the answers of `aisgap query`      api/  the HTTP API and the map page
//! report/   self-contained HTML reports (`aisgap report`) built from the store
//! ```
//!
//! Around the pipeline: `offline/` runs it over log files (`aisgap replay`, `aisgap decode`),
//! `service/` runs it on live feeds (`aisgap run`: signals, reload, metrics, alerts),
//! `config/` reads TOML into each stage's own parameters and checks it, `ports` and
//! `watchlist` are what an analyst designates, `problem` is the located complaint they all
//! report, `model` and `time` are the shared vocabulary, `simulate/` generates scenarios with
//! ground truth. `record` is the replay order of events, shared by replay's sort and the
//! service's reorder window; `hashed` the maps by MMSI that every stage looks up at each
//! event. The pure stages never read the clock, a socket, the database or the
//! configuration (`tests/integration/layout.rs` checks it): that is why a replay gives what
//! the service would have given, and why their tests need no I/O.
//!
//! The items re-exported here are each stage's entry points.

pub mod api;
pub mod bytes;
pub mod cli;
pub mod config;
pub mod decode;
pub mod detect;
pub mod engine;
pub mod export;
pub mod hashed;
pub mod model;
pub mod offline;
pub mod ports;
pub mod problem;
pub mod query;
pub mod record;
pub mod report;
pub mod service;
pub mod simulate;
pub mod source;
pub mod store;
pub mod stream_clock;
pub mod time;
pub mod track;
pub mod watchlist;

pub use config::Config;
pub use decode::feed::FeedDecoder;
pub use decode::{DecodeOptions, DecodeStats, NmeaDecoder};
pub use detect::{DetectParams, GapRecord};
pub use engine::{Change, Engine};
pub use model::{AisEvent, Fix, Mmsi, VesselReport};
pub use offline::replay::{replay, ReplaySummary};
pub use ports::{load_ports, Port};
pub use problem::ConfigProblem;
pub use query::{answer, AnswerFormat, Question};
pub use source::{run_source, RawLine, SourceSpec};
pub use store::{Reader, Store};
pub use time::UnixMillis;
pub use track::VesselTable;
pub use watchlist::Watchlist;
