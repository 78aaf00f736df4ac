//! hotlink's built-in static linker for Cortex-M firmware (ARM ELF, Thumb-2).
//!
//! Stages, as in the `wild` linker: [`script`] parses GNU ld scripts and [`args`] the ld command
//! line; [`load`] reads objects and archives; [`resolve`] builds the symbol table, extracts archive
//! members and finds live sections.
pub mod args;
pub mod load;
pub mod resolve;
pub mod script;
