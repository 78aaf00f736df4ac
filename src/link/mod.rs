//! hotlink's built-in static linker for Cortex-M firmware (ARM ELF, Thumb-2).
//!
//! Stages, as in the `wild` linker: [`script`] parses GNU ld scripts, [`args`] the ld command line.
pub mod script;
