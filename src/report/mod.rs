//! Reports an analyst can hand on: self-contained HTML pages (and their CSV) built from the
//! store.

pub mod encounter;
pub mod html;
pub mod tally;
pub mod trip;
