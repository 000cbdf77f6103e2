//! The work behind each CLI command, as library functions that take their arguments and
//! writers, so that tests run them without a process.

pub mod decode;
