//! Solving a large LP through a small one ("sifting": column and row generation).
//!
//! Why: on the 50,000-section benchmark ~85% of the solve was HiGHS's dual simplex on the whole
//! LP relaxation (34,267 columns × 29,695 rows), although most items' placement is obvious — very
//! hot per byte goes to fast memory, cold goes to flash — and only the items near the density
//! thresholds really compete. So the simplex runs on a *restricted* LP: a core of columns chosen
//! by the caller, and only the rows those columns can violate. Its row duals then price every
//! column left out; columns with a negative reduced cost (and the rows and auxiliary columns they
//! need) are added and the restricted LP re-solved from its previous basis, until no column
//! prices out. At that point the restricted optimum, padded with zeros, is an optimum of the
//! whole LP.
//!
//! Which rows can be left out: a row `terms ≥ l` with `l ≤ 0` and no upper bound ("lazy") holds
//! at zero activity, so it can only be violated through a column with a negative coefficient in
//! it; it joins the restricted LP once such a column does, together with its *auxiliary* columns
//! (the `z`/`w` indicators that let it hold). Every other row is always in.
//!
//! The bound it keeps: whatever happens (rounds cut short by the time limit or the round cap,
//! tolerances), the returned bound is the Lagrangian value of the row duals, clamped to their
//! valid signs, over the *whole* LP: `Σ_i b_i y_i + Σ_j min(0, d_j) u_j` with `d = c − Aᵀy` and
//! `u_j` a bound every optimum respects. By weak duality that is a lower bound on the whole LP's
//! optimum, hence on the ILP's, without trusting that the last round priced everything out.

use std::time::Instant;

use highs::{HighsModelStatus, RowProblem, Sense};
use highs_sys::{HighsInt, Highs_addCols, Highs_addRows, STATUS_ERROR};

use crate::error::SolveError;

/// A column of the LP: objective coefficient, bounds `[0, upper]`, and a bound every optimum
/// respects (`implied_upper`, finite where `upper` is not, for the Lagrangian bound).
pub(crate) struct LpCol {
    pub cost: f64,
    pub upper: f64,
    pub implied_upper: f64,
    /// An indicator that only exists to let lazy rows hold; it joins the restricted LP with the
    /// first of its lazy rows that does.
    pub aux: bool,
}

/// A row `lower ≤ Σ coef · col ≤ upper`.
pub(crate) struct LpRow {
    pub lower: f64,
    pub upper: f64,
    pub terms: Vec<(usize, f64)>,
}

impl LpRow {
    fn lazy(&self) -> bool {
        self.lower <= 0.0 && self.upper == f64::INFINITY
    }
}

/// A whole LP in row form, minimised.
pub(crate) struct Lp {
    pub cols: Vec<LpCol>,
    pub rows: Vec<LpRow>,
}

/// What sifting found.
pub(crate) struct Sifted {
    /// Primal values of every column of the whole LP (zero where never generated).
    pub columns: Vec<f64>,
    /// A lower bound on the whole LP's optimum (see the module documentation).
    pub bound: f64,
    /// Whether the last round priced every column out (then `columns` is optimal).
    pub priced_out: bool,
    pub rounds: usize,
    /// Size of the last restricted LP.
    pub core_columns: usize,
    pub core_rows: usize,
}

/// How a sifting solve ended.
pub(crate) enum Sift {
    Solved(Sifted),
    /// The whole LP is infeasible (proved on the whole LP, not on a restriction).
    Infeasible,
    /// The time limit or another HiGHS status stopped it before any restricted LP was solved.
    Stopped,
}

/// At most this many restricted LPs; after that the last one's plan and bound are returned (the
/// bound stays valid). On the benchmark sifting converges in a handful of rounds.
const MAX_ROUNDS: usize = 40;

/// Reduced costs above `−TOLERANCE × max(1, |c_j|)` count as priced out: HiGHS's own dual
/// feasibility tolerance is 1e-7, and the bound does not depend on this cut-off.
const TOLERANCE: f64 = 1e-7;

/// The restricted LP and its map to the whole one.
struct Restricted<'a> {
    lp: &'a Lp,
    /// HiGHS's index of each whole-LP column, if generated.
    col: Vec<Option<usize>>,
    /// HiGHS's index of each whole-LP row, if included.
    row: Vec<Option<usize>>,
    /// Whole-LP column of each HiGHS column, and row of each HiGHS row, in HiGHS's order.
    cols: Vec<usize>,
    rows: Vec<usize>,
    /// Rows of each column (the transpose of `lp.rows`).
    by_col: Vec<Vec<(usize, f64)>>,
    /// The choice row of each column: an equality row `Σ x = 1` of unit coefficients.
    choice: Vec<Option<usize>>,
}

impl<'a> Restricted<'a> {
    fn new(lp: &'a Lp) -> Self {
        let mut by_col = vec![Vec::new(); lp.cols.len()];
        for (r, row) in lp.rows.iter().enumerate() {
            for &(c, v) in &row.terms {
                by_col[c].push((r, v));
            }
        }
        let mut choice = vec![None; lp.cols.len()];
        for (r, row) in lp.rows.iter().enumerate() {
            if row.lower == 1.0 && row.upper == 1.0 && row.terms.iter().all(|t| t.1 == 1.0) {
                for &(c, _) in &row.terms {
                    choice[c] = Some(r);
                }
            }
        }
        Restricted {
            lp,
            choice,
            col: vec![None; lp.cols.len()],
            row: vec![None; lp.rows.len()],
            cols: Vec::new(),
            rows: Vec::new(),
            by_col,
        }
    }

    /// Close a set of columns to enter: the lazy rows that the restricted LP could then
    /// violate, and those rows' auxiliary columns, repeatedly. Returns (new rows, new columns),
    /// both not yet in HiGHS.
    ///
    /// A lazy row stays out while it is implied: its least activity over the restricted LP's
    /// columns (auxiliary ones left out) reaches its lower bound. A column that is the only one
    /// of its choice row in the restricted LP counts as fixed at 1, so `z ≥ x[u] − x[v]` with `v`
    /// kept to that one region needs no row; when another column of that choice enters, the
    /// rows of the column that was fixed are looked at again.
    fn closure(&self, entering: Vec<usize>) -> (Vec<usize>, Vec<usize>) {
        let lp = self.lp;
        let mut col_in: Vec<bool> = self.col.iter().map(Option::is_some).collect();
        let mut row_in: Vec<bool> = self.row.iter().map(Option::is_some).collect();
        let (mut new_rows, mut new_cols) = (Vec::new(), Vec::new());
        let mut stack = Vec::new();
        for c in entering {
            if !col_in[c] {
                col_in[c] = true;
                stack.push(c);
            }
        }
        let in_choice =
            |g: usize, col_in: &[bool]| lp.rows[g].terms.iter().filter(|t| col_in[t.0]).count();
        let implied = |r: usize, col_in: &[bool]| {
            let least: f64 = lp.rows[r]
                .terms
                .iter()
                .filter(|&&(c, _)| col_in[c] && !lp.cols[c].aux)
                .map(|&(c, v)| match self.choice[c] {
                    Some(g) if in_choice(g, col_in) == 1 => v,
                    _ => v.min(0.0) * lp.cols[c].upper,
                })
                .sum();
            least >= lp.rows[r].lower
        };
        while !stack.is_empty() {
            // Rows to look at: those of the entering columns, and of the columns that were
            // fixed by their choice row until now.
            let mut candidates = Vec::new();
            for c in std::mem::take(&mut stack) {
                new_cols.push(c);
                candidates.extend(self.by_col[c].iter().map(|&(r, _)| r));
                if let Some(g) = self.choice[c] {
                    for &(other, _) in &lp.rows[g].terms {
                        if other != c && col_in[other] {
                            candidates.extend(self.by_col[other].iter().map(|&(r, _)| r));
                        }
                    }
                }
            }
            candidates.sort_unstable();
            candidates.dedup();
            for r in candidates {
                if row_in[r] || (lp.rows[r].lazy() && implied(r, &col_in)) {
                    continue;
                }
                row_in[r] = true;
                new_rows.push(r);
                for &(a, _) in &lp.rows[r].terms {
                    if lp.cols[a].aux && !col_in[a] {
                        col_in[a] = true;
                        stack.push(a);
                    }
                }
            }
        }
        (new_rows, new_cols)
    }

    /// Add rows (with their entries in columns already in HiGHS) and then columns (with their
    /// entries in every included row) to the HiGHS model, each in one batch: HiGHS rebuilds its
    /// column-wise matrix on every row addition, so adding rows one at a time was quadratic
    /// (10% of the benchmark's samples in `HighsSparseMatrix::addRows`).
    fn extend(
        &mut self,
        model: &mut highs::Model,
        rows: &[usize],
        cols: &[usize],
    ) -> Result<(), SolveError> {
        let mut batch = Batch::default();
        for &r in rows {
            let row = &self.lp.rows[r];
            batch.push(row.lower, row.upper, None);
            for &(c, v) in &row.terms {
                if let Some(h) = self.col[c] {
                    batch.entry(h, v);
                }
            }
            self.row[r] = Some(self.rows.len());
            self.rows.push(r);
        }
        batch.add(model)?;
        let mut batch = Batch::default();
        for &c in cols {
            let col = &self.lp.cols[c];
            batch.push(0.0, col.upper, Some(col.cost));
            for &(r, v) in &self.by_col[c] {
                if let Some(h) = self.row[r] {
                    batch.entry(h, v);
                }
            }
            self.col[c] = Some(self.cols.len());
            self.cols.push(c);
        }
        batch.add(model)
    }

    /// Row duals over the whole LP (zero for rows not included), clamped to the signs a
    /// minimisation allows, so that any use of them gives a valid bound.
    fn duals(&self, solved: &highs::SolvedModel) -> Vec<f64> {
        let solution = solved.get_solution();
        let mut y = vec![0.0; self.lp.rows.len()];
        for (k, &r) in self.rows.iter().enumerate() {
            let row = &self.lp.rows[r];
            let mut v = solution.dual_rows()[k];
            if row.lower == f64::NEG_INFINITY {
                v = v.min(0.0);
            }
            if row.upper == f64::INFINITY {
                v = v.max(0.0);
            }
            y[r] = v;
        }
        y
    }
}

/// Reduced costs `c − Aᵀy` of every column of the whole LP.
fn reduced_costs(lp: &Lp, y: &[f64]) -> Vec<f64> {
    let mut d: Vec<f64> = lp.cols.iter().map(|c| c.cost).collect();
    for (row, &yr) in lp.rows.iter().zip(y) {
        if yr != 0.0 {
            for &(c, v) in &row.terms {
                d[c] -= v * yr;
            }
        }
    }
    d
}

/// The Lagrangian lower bound of the whole LP for row duals `y` with valid signs.
fn lagrangian_bound(lp: &Lp, y: &[f64], d: &[f64]) -> f64 {
    let rows: f64 = lp
        .rows
        .iter()
        .zip(y)
        .map(|(row, &yr)| match yr {
            v if v > 0.0 => v * row.lower,
            v if v < 0.0 => v * row.upper,
            _ => 0.0,
        })
        .sum();
    let cols: f64 = lp
        .cols
        .iter()
        .zip(d)
        .map(|(c, &dj)| if dj < 0.0 { dj * c.implied_upper } else { 0.0 })
        .sum();
    rows + cols
}

/// Rows or columns to hand to HiGHS in one call, in compressed sparse form.
#[derive(Default)]
struct Batch {
    lower: Vec<f64>,
    upper: Vec<f64>,
    cost: Vec<f64>,
    starts: Vec<HighsInt>,
    index: Vec<HighsInt>,
    value: Vec<f64>,
}

impl Batch {
    fn push(&mut self, lower: f64, upper: f64, cost: Option<f64>) {
        self.starts.push(self.index.len() as HighsInt);
        self.lower.push(lower);
        self.upper.push(upper);
        self.cost.extend(cost);
    }

    fn entry(&mut self, at: usize, value: f64) {
        self.index.push(at as HighsInt);
        self.value.push(value);
    }

    /// Hand the batch to HiGHS: columns when costs were given, rows otherwise.
    fn add(&self, model: &mut highs::Model) -> Result<(), SolveError> {
        if self.lower.is_empty() {
            return Ok(());
        }
        let (n, nz) = (self.lower.len() as HighsInt, self.index.len() as HighsInt);
        let columns = !self.cost.is_empty();
        // SAFETY: the pointer is the live model's; every array holds as many entries as the
        // counts passed say (one bound, start and — for columns — cost per row or column, `nz`
        // indices and values), and the indices name rows or columns HiGHS already has (they
        // come from `Restricted::row` / `Restricted::col`).
        let status = unsafe {
            let (lo, up) = (self.lower.as_ptr(), self.upper.as_ptr());
            let (st, ix, va) = (
                self.starts.as_ptr(),
                self.index.as_ptr(),
                self.value.as_ptr(),
            );
            if columns {
                Highs_addCols(
                    model.as_mut_ptr(),
                    n,
                    self.cost.as_ptr(),
                    lo,
                    up,
                    nz,
                    st,
                    ix,
                    va,
                )
            } else {
                Highs_addRows(model.as_mut_ptr(), n, lo, up, nz, st, ix, va)
            }
        };
        if status == STATUS_ERROR {
            let what = if columns { "columns" } else { "rows" };
            return Err(SolveError::Backend(format!("HiGHS refused to add {what}")));
        }
        Ok(())
    }
}

fn backend(e: highs::HighsStatus) -> SolveError {
    SolveError::Backend(format!("{e:?}"))
}

/// Minimise `lp` by sifting from the columns marked in `core` (the rest are priced in as
/// needed), within `time_limit` seconds. `configure` sets HiGHS's options on each restricted LP
/// (the time limit is set here).
pub(crate) fn solve(
    lp: &Lp,
    core: &[bool],
    fallback: &[bool],
    time_limit: f64,
    configure: impl Fn(&mut highs::Model) -> Result<(), SolveError>,
) -> Result<Sift, SolveError> {
    let start = Instant::now();
    let mut rmp = Restricted::new(lp);
    let mut model = RowProblem::default()
        .try_optimise(Sense::Minimise)
        .map_err(backend)?;
    configure(&mut model)?;
    // Rows that are always in, then the core's closure (rows first, so columns can name them).
    let always: Vec<usize> = (0..lp.rows.len()).filter(|&r| !lp.rows[r].lazy()).collect();
    rmp.extend(&mut model, &always, &[])?;
    let (rows, cols) = rmp.closure((0..lp.cols.len()).filter(|&c| core[c]).collect());
    rmp.extend(&mut model, &rows, &cols)?;
    let mut rounds = 0;
    let mut last: Option<Sifted> = None;
    loop {
        rounds += 1;
        let remaining = (time_limit - start.elapsed().as_secs_f64()).max(0.01);
        model
            .try_set_option("time_limit", remaining)
            .map_err(|e| SolveError::Backend(format!("setting time_limit: {e:?}")))?;
        let solved = model.try_solve().map_err(backend)?;
        let entering: Vec<usize> = match solved.status() {
            HighsModelStatus::Optimal => {
                let y = rmp.duals(&solved);
                let d = reduced_costs(lp, &y);
                let bound = lagrangian_bound(lp, &y, &d);
                let mut columns = vec![0.0; lp.cols.len()];
                for (&c, &v) in rmp.cols.iter().zip(solved.get_solution().columns()) {
                    columns[c] = v;
                }
                let entering: Vec<usize> = (0..lp.cols.len())
                    .filter(|&c| {
                        rmp.col[c].is_none() && d[c] < -TOLERANCE * lp.cols[c].cost.abs().max(1.0)
                    })
                    .collect();
                let sifted = Sifted {
                    columns,
                    bound,
                    priced_out: entering.is_empty(),
                    rounds,
                    core_columns: rmp.cols.len(),
                    core_rows: rmp.rows.len(),
                };
                if entering.is_empty() || rounds >= MAX_ROUNDS {
                    return Ok(Sift::Solved(sifted));
                }
                last = Some(sifted);
                entering
            }
            HighsModelStatus::Infeasible | HighsModelStatus::UnboundedOrInfeasible => {
                if rmp.cols.len() == lp.cols.len() {
                    return Ok(Sift::Infeasible);
                }
                // A restriction can be infeasible where the whole LP is not: add the columns
                // the caller says make it feasible, and if that was done already, everything.
                let missing = |c: &usize| rmp.col[*c].is_none();
                let rescue: Vec<usize> = (0..lp.cols.len())
                    .filter(|&c| fallback[c])
                    .filter(missing)
                    .collect();
                if rescue.is_empty() {
                    (0..lp.cols.len()).filter(missing).collect()
                } else {
                    rescue
                }
            }
            _ => return Ok(last.map_or(Sift::Stopped, Sift::Solved)),
        };
        let (rows, cols) = rmp.closure(entering);
        model = highs::Model::from(solved);
        rmp.extend(&mut model, &rows, &cols)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use highs::Col;

    /// A random assignment LP with knapsack rows: `n` items, each with one column per region
    /// (assignment row `= 1`), a lazy linking row per call with an auxiliary penalty column, and
    /// a capacity row per fast region.
    fn random_lp(n: usize, seed: u64) -> Lp {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let regions = 3;
        let mut cols = Vec::new();
        let mut rows = Vec::new();
        let mut x = Vec::new();
        let mut bytes = Vec::new();
        for _ in 0..n {
            let heat = (next() % 1000) as f64;
            let size = 8 + next() % 200;
            bytes.push(size as f64);
            let first = cols.len();
            for r in 0..regions {
                let factor = [0.0, 1.5, 3.0 + (next() % 8) as f64][r];
                cols.push(LpCol {
                    cost: heat * factor,
                    upper: 1.0,
                    implied_upper: 1.0,
                    aux: false,
                });
            }
            x.push(first);
            rows.push(LpRow {
                lower: 1.0,
                upper: 1.0,
                terms: (first..first + regions).map(|c| (c, 1.0)).collect(),
            });
        }
        for _ in 0..2 * n {
            let (u, v) = ((next() as usize) % n, (next() as usize) % n);
            if u == v {
                continue;
            }
            for a in 0..regions {
                let z = cols.len();
                cols.push(LpCol {
                    cost: (next() % 50) as f64,
                    upper: f64::INFINITY,
                    implied_upper: 1.0,
                    aux: true,
                });
                rows.push(LpRow {
                    lower: 0.0,
                    upper: f64::INFINITY,
                    terms: vec![(x[u] + a, -1.0), (x[v] + a, 1.0), (z, 1.0)],
                });
            }
        }
        let total: f64 = bytes.iter().sum();
        for (r, share) in [(0usize, 0.1), (1, 0.25)] {
            rows.push(LpRow {
                lower: f64::NEG_INFINITY,
                upper: (total * share).floor(),
                terms: (0..n).map(|i| (x[i] + r, bytes[i])).collect(),
            });
        }
        Lp { cols, rows }
    }

    fn quiet(m: &mut highs::Model) -> Result<(), SolveError> {
        m.try_set_option("output_flag", false)
            .map_err(|e| SolveError::Backend(format!("{e:?}")))?;
        m.try_set_option("presolve", "off")
            .map_err(|e| SolveError::Backend(format!("{e:?}")))
    }

    /// The whole LP solved directly by HiGHS: its optimum.
    fn direct(lp: &Lp) -> f64 {
        let mut pb = RowProblem::default();
        let cols: Vec<Col> = lp
            .cols
            .iter()
            .map(|c| pb.add_column(c.cost, 0.0..=c.upper))
            .collect();
        for row in &lp.rows {
            pb.add_row(
                row.lower..=row.upper,
                row.terms.iter().map(|&(c, v)| (cols[c], v)),
            );
        }
        let mut m = pb.try_optimise(Sense::Minimise).unwrap();
        quiet(&mut m).unwrap();
        let solved = m.try_solve().unwrap();
        assert_eq!(solved.status(), HighsModelStatus::Optimal);
        solved.objective_value()
    }

    fn objective(lp: &Lp, x: &[f64]) -> f64 {
        lp.cols.iter().zip(x).map(|(c, v)| c.cost * v).sum()
    }

    /// Worst violation of any row or column bound by `x`.
    fn violation(lp: &Lp, x: &[f64]) -> f64 {
        let rows = lp.rows.iter().map(|row| {
            let a: f64 = row.terms.iter().map(|&(c, v)| v * x[c]).sum();
            (row.lower - a).max(a - row.upper).max(0.0)
        });
        let cols = lp
            .cols
            .iter()
            .zip(x)
            .map(|(c, &v)| (-v).max(v - c.upper).max(0.0));
        rows.chain(cols).fold(0.0, f64::max)
    }

    /// From a core of one column per item (the slowest region, feasible but far from optimal),
    /// sifting reaches the whole LP's optimum: same objective,
    /// a feasible point of the whole LP, a bound equal to it, on small and medium instances.
    #[test]
    fn sifting_reaches_the_whole_lp_optimum() {
        for (n, seed) in [(12, 1u64), (40, 7), (150, 99), (600, 12345), (2000, 4242)] {
            let lp = random_lp(n, seed);
            let want = direct(&lp);
            let mut core = vec![false; lp.cols.len()];
            for row in lp.rows.iter().filter(|r| r.lower == 1.0) {
                core[row.terms[2].0] = true;
            }
            let Sift::Solved(s) = solve(&lp, &core, &core, 60.0, quiet).unwrap() else {
                panic!("n={n}: not solved");
            };
            let scale = want.abs().max(1.0);
            assert!(s.priced_out, "n={n}: stopped after {} rounds", s.rounds);
            assert!(
                s.rounds > 1,
                "n={n}: the core alone was optimal, test too easy"
            );
            let got = objective(&lp, &s.columns);
            assert!((got - want).abs() <= 1e-6 * scale, "n={n}: {got} vs {want}");
            assert!(
                violation(&lp, &s.columns) <= 1e-6,
                "n={n}: infeasible point"
            );
            assert!(
                s.bound <= want + 1e-6 * scale,
                "n={n}: bound {} > {want}",
                s.bound
            );
            assert!(
                s.bound >= want - 1e-5 * scale,
                "n={n}: bound {} weak",
                s.bound
            );
        }
    }

    /// After one round on a poor core, far from converged, the bound is still below the optimum: the Lagrangian value is valid for any duals.
    #[test]
    fn bound_is_valid_before_convergence() {
        let lp = random_lp(300, 5);
        let want = direct(&lp);
        let mut rmp = Restricted::new(&lp);
        let mut model = RowProblem::default().try_optimise(Sense::Minimise).unwrap();
        quiet(&mut model).unwrap();
        let always: Vec<usize> = (0..lp.rows.len()).filter(|&r| !lp.rows[r].lazy()).collect();
        rmp.extend(&mut model, &always, &[]).unwrap();
        // One column per item, the most expensive: a poor core, far from optimal.
        let worst: Vec<usize> = lp
            .rows
            .iter()
            .filter(|r| r.lower == 1.0)
            .map(|r| r.terms[2].0)
            .collect();
        let (rows, cols) = rmp.closure(worst);
        rmp.extend(&mut model, &rows, &cols).unwrap();
        let solved = model.try_solve().unwrap();
        assert_eq!(solved.status(), HighsModelStatus::Optimal);
        let y = rmp.duals(&solved);
        let d = reduced_costs(&lp, &y);
        let bound = lagrangian_bound(&lp, &y, &d);
        assert!(
            solved.objective_value() > want + 1.0,
            "core not restrictive"
        );
        assert!(
            bound <= want + 1e-6 * want.abs().max(1.0),
            "{bound} > {want}"
        );
    }

    /// An LP whose restriction is infeasible (the core's only columns overfill a region) but
    /// whose whole is feasible is still solved; a wholly infeasible one is reported so.
    #[test]
    fn infeasible_core_and_infeasible_lp() {
        let lp = random_lp(50, 3);
        let mut core = vec![false; lp.cols.len()];
        for row in lp.rows.iter().filter(|r| r.lower == 1.0) {
            core[row.terms[0].0] = true; // everything in region 0, 10% capacity: infeasible
        }
        let Sift::Solved(s) = solve(&lp, &core, &core, 60.0, quiet).unwrap() else {
            panic!("not solved");
        };
        assert!(s.priced_out);
        assert!((objective(&lp, &s.columns) - direct(&lp)).abs() <= 1e-6 * direct(&lp).max(1.0));

        let mut bad = random_lp(20, 3);
        for row in bad.rows.iter_mut().filter(|r| r.lower == f64::NEG_INFINITY) {
            row.upper = -1.0;
        }
        let core = vec![true; bad.cols.len()];
        assert!(matches!(
            solve(&bad, &core, &core, 60.0, quiet).unwrap(),
            Sift::Infeasible
        ));
    }
}
