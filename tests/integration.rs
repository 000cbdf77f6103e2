//! The one integration-test binary: each topic is a module under tests/integration/.

#[path = "integration/simulate.rs"]
mod simulate;
