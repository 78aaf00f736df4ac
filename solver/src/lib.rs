//! hotlink-solver: the placement model and its solvers.
//!
//! Pure computation, no I/O: the `hotlink` crate turns boards, inventories and profiles into a
//! placement model and hands it here.
