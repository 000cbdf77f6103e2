//! Reports an analyst can hand on: self-contained HTML pages built from the store.

pub mod html;
pub mod trip;
