//! Reports an analyst hands on: self-contained HTML files (and their CSV) built from the store.

pub mod tally;
