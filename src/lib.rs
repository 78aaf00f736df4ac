//! hotlink: profile-guided code placement and linking for Cortex-M7 i.MX RT parts.
//!
//! Each pipeline stage is a module: [`board`] describes the hardware, [`inventory`] reads what is
//! inside objects, archives and images, and [`cli`] is the thin command-line layer over them.

pub mod board;
pub mod cli;
pub mod sim;
pub mod units;
