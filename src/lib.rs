//! hotlink: profile-guided code placement and linking for Cortex-M7 i.MX RT parts.
//!
//! Each pipeline stage is a module: [`board`] describes the hardware, [`inventory`] reads what is
//! inside objects, archives and images, and [`cli`] is the thin command-line layer over them.

pub mod board;
pub mod capture;
pub mod cli;
pub mod fsutil;
pub mod heat;
pub mod inventory;
pub mod itm;
pub mod link;
pub mod linkmap;
pub mod measure;
pub mod optimize;
pub mod plan;
pub mod planner;
pub mod profile;
pub mod report;
pub mod rustnames;
pub mod sim;
pub mod simrun;
pub mod units;
pub mod unwind;
pub mod versioned;
