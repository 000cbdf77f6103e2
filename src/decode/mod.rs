//! Decoding: raw input lines and export rows -> typed AIS events.

pub mod csv;
