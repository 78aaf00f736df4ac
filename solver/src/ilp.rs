//! The default strategy: a presolve that fixes most items, then a veneer-aware 0-1 ILP over the
//! rest, handed to HiGHS: its LP relaxation rounded and polished first, branch and cut only when
//! that plan is not provably within the gap (warm-started with it or the greedy plan).
//!
//! Model (see docs/placement-model.md for the full derivation):
//! * `x[i][r]` binary for each free item and allowed region, `Σ_r x[i][r] = 1`;
//! * `z[e][a] ≥ x[u][a] − Σ_{b reached from a} x[v][b]`, `z ≥ 0`, for a call edge e = u→v with a
//!   non-zero count: summed over `a` this is the total-variation form of "u and v are out of
//!   range", tighter in the LP relaxation than a single `y ≥ x[u][a] − x[v][a]` row;
//! * `w[v][a] ∈ [0, 1]` with the same right-hand sides for every caller of v (count or not):
//!   "a veneer for v lives in region a", charged to a's capacity row;
//! * capacity rows only for regions that could overflow at all.
//!
//! Calls whose ends are fixed by the presolve become constants or single-variable terms, which is
//! what keeps a 50,000-section problem small.

use std::time::Instant;

use highs::{Col, HighsModelStatus, RowProblem, Sense};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::baseline;
use crate::error::{Infeasibility, SolveError};
use crate::eval::{evaluate, violations};
use crate::feasibility::culprit;
use crate::local::Local;
use crate::model::{regions_in, Mask, Prepared, RegionId};
use crate::plan::{IlpStats, Outcome};
use crate::presolve::{presolve, Presolved};
use crate::sift_core::{self, Choice};
use crate::sifting::{self, Lp, LpCol, LpRow, Sift};
use crate::Strategy;

/// Solver settings the ILP needs.
pub(crate) struct IlpSettings {
    pub time_limit: f64,
    pub relative_gap: f64,
    pub presolve_gap_share: f64,
    /// Models with at least this many columns try the rounded LP relaxation before branch and
    /// cut ([`LP_FIRST_MIN_COLUMNS`] outside tests).
    pub lp_first_min_columns: usize,
}

/// (column, coefficient) pairs of a linear expression.
type Terms = Vec<(usize, f64)>;

/// One column of the model: objective coefficient, upper bound (lower bounds are all 0) and
/// whether the MIP requires it to be integral.
struct Column {
    cost: f64,
    upper: f64,
    binary: bool,
}

struct Model<'a, 'p> {
    p: &'a Prepared<'p>,
    pre: &'a Presolved,
    /// In the order HiGHS numbers them.
    cols: Vec<Column>,
    /// `x` columns of each free item: (region, column).
    x: Vec<Vec<(usize, usize)>>,
    /// `z` columns: (column, caller, callee, caller region).
    z: Vec<(usize, usize, usize, usize)>,
    /// `w` columns by (callee, region).
    w: FxHashMap<(usize, usize), usize>,
    constant: f64,
    /// Rows `terms ≥ 0` linking w and z to x.
    ge_rows: Vec<Terms>,
    /// Bytes the fixed items and constant veneers take in each region.
    fixed_bytes: Vec<u64>,
    /// Veneer slots (callee, region) that exist whatever the free items do.
    const_slots: FxHashSet<(usize, usize)>,
    /// For each (callee, capacitated region): the right-hand sides `w ≥ −terms` that say a
    /// veneer is needed, collected before deciding whether `w` needs a column at all.
    needs: FxHashMap<(usize, usize), Vec<Terms>>,
    /// Veneer terms of each region's capacity row.
    capacity_terms: Vec<Terms>,
}

impl<'a, 'p> Model<'a, 'p> {
    fn new(p: &'a Prepared<'p>, pre: &'a Presolved) -> Self {
        Model {
            p,
            pre,
            cols: Vec::new(),
            x: vec![Vec::new(); p.n_items()],
            z: Vec::new(),
            w: FxHashMap::default(),
            constant: 0.0,
            ge_rows: Vec::new(),
            fixed_bytes: vec![0; p.n_regions()],
            const_slots: FxHashSet::default(),
            needs: FxHashMap::default(),
            capacity_terms: vec![Vec::new(); p.n_regions()],
        }
    }

    fn column(&mut self, upper: f64, binary: bool) -> usize {
        self.cols.push(Column {
            cost: 0.0,
            upper,
            binary,
        });
        self.cols.len() - 1
    }

    fn charge(&mut self, col: usize, weight: f64) {
        self.cols[col].cost += weight;
    }

    fn xv(&self, i: usize, r: usize) -> Option<usize> {
        self.x[i].iter().find(|&&(q, _)| q == r).map(|&(_, c)| c)
    }

    fn capacitated(&self, r: usize) -> bool {
        self.pre.capacitated & (1 << r) != 0
    }

    /// Record the row `w[v][a] + terms ≥ 0`: a veneer for `v` is needed in region `a` when
    /// `−terms` is 1. Only capacitated regions need it, and slots that exist anyway are already
    /// charged.
    fn veneer_row(&mut self, v: usize, a: usize, terms: Terms) {
        if self.capacitated(a) && !self.const_slots.contains(&(v, a)) {
            self.needs.entry((v, a)).or_default().push(terms);
        }
    }

    /// Turn the recorded veneer needs into capacity terms. A slot needed by a single row
    /// `w ≥ x` is exactly `x`, so the capacity row takes `x` directly and `w` gets no column or
    /// row: most slots are of this kind (one free caller of a callee fixed in flash).
    fn finish_veneers(&mut self) {
        let vb = self.p.veneer_bytes as f64;
        let mut needs: Vec<_> = std::mem::take(&mut self.needs).into_iter().collect();
        needs.sort_unstable_by_key(|(key, _)| *key);
        for ((v, a), rows) in needs {
            if let [row] = rows.as_slice() {
                if let [(x, coef)] = row.as_slice() {
                    if *coef == -1.0 {
                        self.capacity_terms[a].push((*x, vb));
                        continue;
                    }
                }
            }
            let w = self.column(1.0, false);
            self.w.insert((v, a), w);
            self.capacity_terms[a].push((w, vb));
            for mut terms in rows {
                terms.push((w, 1.0));
                self.ge_rows.push(terms);
            }
        }
    }

    /// Veneer slots that exist whatever the free items do: both ends fixed out of range, or a
    /// fixed caller whose callee cannot be anywhere in reach.
    fn constant_slots(&mut self) {
        let p = self.p;
        for e in &p.edges {
            let (u, v) = (e.caller.index(), e.callee.index());
            let Some(a) = self.pre.fixed[u] else { continue };
            let always = match self.pre.fixed[v] {
                Some(b) => !p.reaches(a, b),
                None => p.allowed[v] & p.reach[a] == 0,
            };
            if always {
                self.const_slots.insert((v, a));
            }
        }
        for &(_, a) in &self.const_slots {
            self.fixed_bytes[a] += p.veneer_bytes;
        }
    }

    fn constant_veneer(&mut self, count: u64) {
        self.constant += count as f64 * self.p.problem.veneer.cycles;
    }

    fn build(&mut self) {
        let p = self.p;
        let vc = p.problem.veneer.cycles;
        self.constant_slots();
        for i in 0..p.n_items() {
            match self.pre.fixed[i] {
                Some(r) => {
                    self.constant += p.cost(i, r);
                    self.fixed_bytes[r] += p.bytes[i];
                }
                None => {
                    let min = regions_in(p.allowed[i])
                        .map(|r| p.cost(i, r))
                        .fold(f64::INFINITY, f64::min);
                    self.constant += min;
                    for r in regions_in(p.allowed[i]) {
                        let col = self.column(1.0, true);
                        self.x[i].push((r, col));
                        self.charge(col, p.cost(i, r) - min);
                    }
                }
            }
        }
        for e in &p.edges {
            let (u, v, count) = (e.caller.index(), e.callee.index(), e.count);
            let weight = count as f64 * vc;
            match (self.pre.fixed[u], self.pre.fixed[v]) {
                (Some(a), Some(b)) => {
                    if !p.reaches(a, b) {
                        self.constant_veneer(count);
                    }
                }
                (Some(a), None) => {
                    let out: Mask = p.allowed[v] & !p.reach[a];
                    if out == 0 {
                        continue;
                    }
                    if out == p.allowed[v] {
                        self.constant_veneer(count);
                        continue;
                    }
                    let terms: Terms = regions_in(out)
                        .filter_map(|b| self.xv(v, b))
                        .map(|x| (x, -1.0))
                        .collect();
                    for &(x, _) in &terms {
                        self.charge(x, weight);
                    }
                    self.veneer_row(v, a, terms);
                }
                (None, Some(b)) => {
                    for a in regions_in(p.allowed[u]) {
                        if p.reaches(a, b) {
                            continue;
                        }
                        let Some(x) = self.xv(u, a) else { continue };
                        self.charge(x, weight);
                        self.veneer_row(v, a, vec![(x, -1.0)]);
                    }
                }
                (None, None) => {
                    for a in regions_in(p.allowed[u]) {
                        let within: Mask = p.allowed[v] & p.reach[a];
                        if within == p.allowed[v] {
                            continue;
                        }
                        let Some(xu) = self.xv(u, a) else { continue };
                        // terms of  -(x[u][a] - Σ_{b within} x[v][b])
                        let mut terms = vec![(xu, -1.0)];
                        terms.extend(
                            regions_in(within)
                                .filter_map(|b| self.xv(v, b))
                                .map(|x| (x, 1.0)),
                        );
                        if within == 0 {
                            self.charge(xu, weight);
                        } else if weight > 0.0 {
                            let z = self.column(f64::INFINITY, false);
                            self.z.push((z, u, v, a));
                            self.charge(z, weight);
                            let mut row = terms.clone();
                            row.push((z, 1.0));
                            self.ge_rows.push(row);
                        }
                        self.veneer_row(v, a, terms);
                    }
                }
            }
        }
        self.finish_veneers();
    }

    /// The capacity rows: (region, room left by the fixed items, merged terms). A column may be
    /// charged both for its item's bytes and for veneers, so coefficients are summed per column.
    fn capacity_rows(&self) -> Vec<(usize, u64, Terms)> {
        let p = self.p;
        regions_in(self.pre.capacitated)
            .map(|r| {
                let mut coef: FxHashMap<usize, f64> = FxHashMap::default();
                for (i, xs) in self.x.iter().enumerate() {
                    for &(q, col) in xs {
                        if q == r && p.bytes[i] > 0 {
                            *coef.entry(col).or_default() += p.bytes[i] as f64;
                        }
                    }
                }
                for &(col, c) in &self.capacity_terms[r] {
                    *coef.entry(col).or_default() += c;
                }
                let mut terms: Terms = coef.into_iter().collect();
                terms.sort_unstable_by_key(|&(col, _)| col);
                (r, p.budget(r).saturating_sub(self.fixed_bytes[r]), terms)
            })
            .collect()
    }

    /// The LP relaxation in row form: assignment rows, the `≥ 0` rows linking `z`/`w` to `x`,
    /// capacity rows. `z` and `w` never exceed 1 at an optimum (each is pushed down to the
    /// largest of right-hand sides made of `x`s), which the sifting bound relies on.
    fn lp(&self, capacity: &[(usize, u64, Terms)]) -> Lp {
        let cols = self
            .cols
            .iter()
            .map(|c| LpCol {
                cost: c.cost,
                upper: c.upper,
                implied_upper: 1.0,
                aux: !c.binary,
            })
            .collect();
        let mut rows: Vec<LpRow> = self
            .x
            .iter()
            .filter(|xs| !xs.is_empty())
            .map(|xs| LpRow {
                lower: 1.0,
                upper: 1.0,
                terms: xs.iter().map(|&(_, c)| (c, 1.0)).collect(),
            })
            .collect();
        rows.extend(self.ge_rows.iter().map(|terms| LpRow {
            lower: 0.0,
            upper: f64::INFINITY,
            terms: terms.clone(),
        }));
        rows.extend(capacity.iter().map(|(_, room, terms)| LpRow {
            lower: f64::NEG_INFINITY,
            upper: *room as f64,
            terms: terms.clone(),
        }));
        Lp { cols, rows }
    }

    /// The model as a HiGHS problem; with `integral` false, its LP relaxation.
    fn problem(&self, capacity: &[(usize, u64, Terms)], integral: bool) -> RowProblem {
        let lp = self.lp(capacity);
        let mut pb = RowProblem::default();
        let cols: Vec<Col> = self
            .cols
            .iter()
            .map(|c| pb.add_column_with_integrality(c.cost, 0.0..=c.upper, integral && c.binary))
            .collect();
        for row in &lp.rows {
            pb.add_row(
                row.lower..=row.upper,
                row.terms.iter().map(|&(c, v)| (cols[c], v)),
            );
        }
        pb
    }

    /// The sifting core: each free item's plausible regions at density-threshold prices, and
    /// its uncapacitated regions (flash), with which the restricted LP is always feasible.
    /// Also returned alone, as sifting's fallback should the restricted LP be infeasible anyway.
    fn core(&self, free: &[usize], capacity: &[(usize, u64, Terms)]) -> (Vec<bool>, Vec<bool>) {
        let items: Vec<Choice> = free
            .iter()
            .map(|&i| Choice {
                bytes: self.p.bytes[i] as f64,
                columns: &self.x[i],
            })
            .collect();
        let cost: Vec<f64> = self.cols.iter().map(|c| c.cost).collect();
        let mut room = vec![None; self.p.n_regions()];
        for &(r, left, _) in capacity {
            room[r] = Some(left as f64);
        }
        let mut core = sift_core::core(&items, &cost, &room);
        let mut fallback = vec![false; self.cols.len()];
        for &i in free {
            for &(r, c) in &self.x[i] {
                if !self.capacitated(r) {
                    fallback[c] = true;
                    core[c] = true;
                }
            }
        }
        (core, fallback)
    }

    fn rows(&self, capacity: &[(usize, u64, Terms)]) -> usize {
        self.x.iter().filter(|xs| !xs.is_empty()).count() + self.ge_rows.len() + capacity.len()
    }

    /// Column values for a complete assignment, used as HiGHS's starting incumbent.
    fn hint(&self, assign: &[RegionId]) -> Vec<f64> {
        let p = self.p;
        let mut cols = vec![0.0; self.cols.len()];
        for (i, xs) in self.x.iter().enumerate() {
            for &(r, col) in xs {
                cols[col] = f64::from(u8::from(assign[i].index() == r));
            }
        }
        for &(col, u, v, a) in &self.z {
            let crossing = assign[u].index() == a && !p.reaches(a, assign[v].index());
            cols[col] = f64::from(u8::from(crossing));
        }
        for (&(v, a), &col) in &self.w {
            let needed = p.callers[v].iter().any(|&k| {
                let u = p.edges[k as usize].caller.index();
                assign[u].index() == a && !p.reaches(a, assign[v].index())
            });
            cols[col] = f64::from(u8::from(needed));
        }
        cols
    }

    /// The assignment that puts each free item where its columns are largest.
    fn rounded(&self, cols: Option<&[f64]>) -> Vec<RegionId> {
        (0..self.p.n_items())
            .map(|i| match self.pre.fixed[i] {
                Some(r) => RegionId(r as u16),
                None => {
                    let best = self.x[i]
                        .iter()
                        .max_by(|a, b| {
                            let va = cols.map_or(0.0, |c| c[a.1]);
                            let vb = cols.map_or(0.0, |c| c[b.1]);
                            va.total_cmp(&vb)
                        })
                        .map_or(0, |&(r, _)| r);
                    RegionId(best as u16)
                }
            })
            .collect()
    }
}

/// Set a HiGHS option, naming it in the error.
fn option<V: highs::HighsOptionValue>(
    model: &mut highs::Model,
    name: &str,
    value: V,
) -> Result<(), SolveError> {
    model
        .try_set_option(name, value)
        .map_err(|e| SolveError::Backend(format!("setting {name}: {e:?}")))
}

/// HiGHS's options for the LP relaxation and the restricted LPs of sifting.
fn lp_options(m: &mut highs::Model) -> Result<(), SolveError> {
    option(m, "output_flag", false)?;
    // HiGHS's presolve would start each sifting round from scratch, and on the whole LP it
    // removed a few dozen of 30,000 rows: the presolve above took what this model offers.
    option(m, "presolve", "off")?;
    // No scaling: on the benchmark HiGHS's scaling cost about a fifth of the whole-LP solve
    // (CPU 1.91-2.11 s scaled against 1.50-1.60 s unscaled, interleaved runs) for the same
    // optimum and plan.
    option(m, "simplex_scale_strategy", 0)
}

fn backend(e: highs::HighsStatus) -> SolveError {
    SolveError::Backend(format!("{e:?}"))
}

/// Run the ILP strategy.
///
/// The LP relaxation comes first: rounded to its largest columns, repaired and polished by
/// single moves ([`Local`]), it usually lands within the gap of its own bound, and then no MIP
/// is run at all. Otherwise HiGHS's branch and cut gets the model, warm-started with the better
/// of that plan and the greedy one.
pub(crate) fn solve(p: &Prepared, settings: &IlpSettings) -> Result<Outcome, SolveError> {
    let start = Instant::now();
    let pre = presolve(p, settings.relative_gap * settings.presolve_gap_share);
    let trivial_bound: f64 = (0..p.n_items())
        .map(|i| {
            regions_in(p.allowed[i])
                .map(|r| p.cost(i, r))
                .fold(f64::INFINITY, f64::min)
        })
        .sum();

    let mut model = Model::new(p, &pre);
    model.build();
    let free: Vec<usize> = (0..p.n_items())
        .filter(|&i| pre.fixed[i].is_none())
        .collect();
    let mut stats = IlpStats {
        fixed_by_constraints: pre.fixed_by_constraints,
        fixed_cold: pre.fixed_cold,
        fixed_bounded: pre.fixed_bounded,
        presolve_loss_bound: pre.loss_bound,
        free_items: free.len(),
        columns: model.cols.len(),
        rows: 0,
        status: String::from("not run: nothing left to decide"),
        used_solver_solution: false,
    };
    if model.cols.is_empty() {
        let assign = model.rounded(None);
        let total = evaluate(p, &assign).total();
        return Ok(Outcome {
            assign,
            lower_bound: Some(total),
            solve_seconds: start.elapsed().as_secs_f64(),
            ilp: Some(stats),
        });
    }
    let capacity = model.capacity_rows();
    if capacity
        .iter()
        .any(|&(r, _, _)| model.fixed_bytes[r] > p.budget(r))
    {
        return Err(packing_error(p, &pre));
    }
    stats.rows = model.rows(&capacity);
    // Lower bound on the total cycles from a bound on the model's objective.
    let total_bound =
        |objective: f64| (objective + model.constant - pre.loss_bound).max(trivial_bound);
    let valid_total = |a: &[RegionId]| {
        let e = evaluate(p, a);
        violations(p, a, &e).is_empty().then(|| e.total())
    };
    let within_gap = |total: f64, bound: f64| total - bound <= settings.relative_gap * total;
    let remaining = || (settings.time_limit - start.elapsed().as_secs_f64()).max(0.01);
    use HighsModelStatus as S;

    // The LP relaxation, on models large enough for branch and cut to be slow. HiGHS's
    // presolve is off: the presolve above already took what this model offers (HiGHS's removes
    // a few dozen of 30,000 rows on the benchmark), and in a MIP its dual fixing scans the dense
    // capacity rows once per column, which took half the time.
    let mut lower_bound = trivial_bound;
    let mut best: Option<(f64, Vec<RegionId>)> = None;
    let mut sifted = String::new();
    if model.cols.len() >= settings.lp_first_min_columns {
        let lp = model.lp(&capacity);
        let (core, fallback) = model.core(&free, &capacity);
        match sifting::solve(&lp, &core, &fallback, remaining(), lp_options)? {
            Sift::Solved(s) => {
                lower_bound = total_bound(s.bound);
                sifted = format!(
                    " (sifting: {} rounds{}, last LP {} × {} of {} × {})",
                    s.rounds,
                    if s.priced_out {
                        ""
                    } else {
                        ", stopped before every column priced out"
                    },
                    s.core_columns,
                    s.core_rows,
                    lp.cols.len(),
                    lp.rows.len()
                );
                let mut local = Local::new(p, &model.rounded(Some(&s.columns)));
                if local.repair(&free) {
                    local.improve(&free, IMPROVE_PASSES);
                    let assign = local.assignment();
                    best = valid_total(&assign).map(|t| (t, assign));
                }
            }
            Sift::Infeasible => return Err(packing_error(p, &pre)),
            Sift::Stopped => {}
        }
    }
    if let Some((total, assign)) = best.take() {
        if within_gap(total, lower_bound) {
            stats.status = format!("LP relaxation rounded within the gap{sifted}");
            stats.used_solver_solution = true;
            return Ok(Outcome {
                assign,
                lower_bound: Some(lower_bound),
                solve_seconds: start.elapsed().as_secs_f64(),
                ilp: Some(stats),
            });
        }
        best = Some((total, assign));
    }

    // The MIP, warm-started with the better of the rounded plan and the greedy one (the latter
    // with the presolve's decisions applied, as the model requires).
    let greedy = baseline::run(p, Strategy::Greedy).ok().and_then(|mut a| {
        for (i, r) in pre.fixed.iter().enumerate() {
            if let Some(r) = *r {
                a[i] = RegionId(r as u16);
            }
        }
        valid_total(&a).map(|t| (t, a))
    });
    let warm = match (best, greedy) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    let mut mip = model
        .problem(&capacity, true)
        .try_optimise(Sense::Minimise)
        .map_err(backend)?;
    let gap = settings.relative_gap * (1.0 - settings.presolve_gap_share);
    option(&mut mip, "output_flag", false)?;
    option(&mut mip, "time_limit", remaining())?;
    option(&mut mip, "mip_rel_gap", gap)?;
    option(&mut mip, "mip_abs_gap", (gap * trivial_bound).max(0.0))?;
    // HiGHS presolve rules 13–16 (parallel rows and columns, sparsify, probing, enumeration) find
    // almost nothing in this model, whose structure the presolve above already exploited, yet
    // took most of HiGHS's presolve time on the 50,000-section benchmark.
    const PRESOLVE_RULES_OFF: i32 = (1 << 13) | (1 << 14) | (1 << 15) | (1 << 16);
    option(&mut mip, "presolve_rule_off", PRESOLVE_RULES_OFF)?;
    if let Some((_, a)) = &warm {
        // A rejected hint only costs HiGHS its head start.
        let _ = mip.try_set_solution(Some(&model.hint(a)), None, None, None);
    }
    let solved = mip.try_solve().map_err(backend)?;
    let status = solved.status();
    stats.status = format!("{status:?}");
    if matches!(status, S::Infeasible | S::UnboundedOrInfeasible) && warm.is_none() {
        return Err(packing_error(p, &pre));
    }
    if let Ok(b) = solved.double_info_value(c"mip_dual_bound") {
        if b.is_finite() {
            lower_bound = lower_bound.max(total_bound(b));
        }
    }
    let has_solution = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
    let candidate = has_solution
        .then(|| model.rounded(Some(solved.get_solution().columns())))
        .and_then(|a| valid_total(&a).map(|t| (t, a)));
    // Keep whichever of HiGHS's incumbent and the warm start is valid and cheaper.
    let (assign, used_solver) = match (candidate, warm) {
        (Some((s, a)), Some((ws, _))) if s <= ws => (a, true),
        (Some((_, a)), None) => (a, true),
        (_, Some((_, a))) => (a, false),
        (None, None) => return Err(packing_error(p, &pre)),
    };
    stats.used_solver_solution = used_solver;
    Ok(Outcome {
        assign,
        lower_bound: Some(lower_bound),
        solve_seconds: start.elapsed().as_secs_f64(),
        ilp: Some(stats),
    })
}

/// Models with fewer columns go straight to branch and cut: there it takes well under a second
/// and closes the gap further than the rounded LP (on the `big` fixture, 1,792 free sections,
/// the MIP's plan is 0.005% cheaper), so plans of firmware this size are unchanged. The
/// 50,000-section benchmark has 34,267 columns.
pub(crate) const LP_FIRST_MIN_COLUMNS: usize = 20_000;

/// Passes of single-item improvement after rounding the LP; each pass is linear in the free
/// items and their calls, and on the benchmark the second pass already finds almost nothing.
const IMPROVE_PASSES: usize = 4;

fn packing_error(p: &Prepared, pre: &Presolved) -> SolveError {
    let mut free: Vec<usize> = (0..p.n_items())
        .filter(|&i| pre.fixed[i].is_none())
        .collect();
    free.sort_unstable_by_key(|&i| std::cmp::Reverse(p.bytes[i]));
    SolveError::from(Infeasibility::Packing {
        items: free.into_iter().take(10).map(|i| culprit(p, i)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VeneerModel;
    use crate::model::{Edge, Item, ItemId, ItemKind, Padding, Problem, Region, RegionKind};

    /// A few hundred sections with calls between them, tight ITCM and OCRAM budgets.
    fn problem() -> Problem {
        problem_of(300, 0x2545_f491, 4096)
    }

    /// `n` sections (a third never run), `3n` calls into the first fifth, ITCM of `itcm` bytes
    /// and OCRAM of twice that, from `seed`.
    fn problem_of(n: u32, seed: u64, itcm: u64) -> Problem {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let items: Vec<Item> = (0..n)
            .map(|i| {
                let heat = if i % 3 == 0 {
                    0.0
                } else {
                    1e6 / f64::from(i + 1)
                };
                Item {
                    name: format!("f{i}"),
                    size: 8 + next() % 400,
                    align: 4,
                    kind: ItemKind::Code,
                    current: RegionId(2),
                    cost: vec![
                        Some(heat),
                        Some(2.5 * heat),
                        Some((3 + next() % 10) as f64 * heat),
                    ],
                    pinned: None,
                    ram_only: None,
                    excluded: false,
                }
            })
            .collect();
        let edges = (0..3 * n)
            .map(|_| Edge {
                caller: ItemId((next() % u64::from(n)) as u32),
                callee: ItemId((next() % u64::from(n / 5)) as u32),
                count: next() % 2000,
            })
            .collect();
        let region = |name: &str, kind, budget| Region {
            name: name.into(),
            kind,
            budget,
        };
        Problem {
            regions: vec![
                region("ITCM", RegionKind::Itcm, itcm),
                region("OCRAM", RegionKind::Ocram, 2 * itcm),
                region("FLASH", RegionKind::Xip, 1 << 20),
            ],
            items,
            edges,
            veneer: VeneerModel::same_region_only(3, 6.0),
            padding: Padding::AlignUp,
        }
    }

    /// The rounded-LP path, forced on a small model, returns a valid plan whose cost is within
    /// the requested gap of the bound it reports; that bound is below the greedy plan's cost and
    /// the rounded plan is no worse than greedy.
    #[test]
    fn rounded_lp_is_valid_and_within_its_bound() {
        let problem = problem();
        let p = Prepared::new(&problem).unwrap();
        let settings = |lp_first_min_columns| IlpSettings {
            time_limit: 30.0,
            relative_gap: 1e-3,
            presolve_gap_share: 0.5,
            lp_first_min_columns,
        };
        let lp = solve(&p, &settings(0)).unwrap();
        let e = evaluate(&p, &lp.assign);
        assert!(violations(&p, &lp.assign, &e).is_empty());
        let bound = lp.lower_bound.unwrap();
        assert!(
            e.total() - bound <= 1e-3 * e.total() + 1e-6,
            "{} vs {bound}",
            e.total()
        );
        let greedy = evaluate(&p, &baseline::run(&p, Strategy::Greedy).unwrap()).total();
        assert!(
            bound <= greedy + 1e-6,
            "bound {bound} above greedy's {greedy}"
        );
        assert!(
            e.total() <= greedy + 1e-6,
            "{} worse than greedy {greedy}",
            e.total()
        );
        let status = lp.ilp.unwrap().status;
        assert!(
            status.starts_with("LP relaxation rounded within the gap") || status == "Optimal",
            "{status}"
        );
    }

    fn settings(lp_first_min_columns: usize) -> IlpSettings {
        IlpSettings {
            time_limit: 30.0,
            relative_gap: 1e-3,
            presolve_gap_share: 0.5,
            lp_first_min_columns,
        }
    }

    /// The whole LP relaxation solved directly by HiGHS (the route before sifting): its optimum.
    fn whole_lp(model: &Model, capacity: &[(usize, u64, Terms)]) -> f64 {
        let mut lp = model
            .problem(capacity, false)
            .try_optimise(Sense::Minimise)
            .unwrap();
        lp_options(&mut lp).unwrap();
        let lp = lp.try_solve().unwrap();
        assert_eq!(lp.status(), HighsModelStatus::Optimal);
        lp.objective_value()
    }

    /// On random placement problems, small and medium, sifting from the density core reaches
    /// the whole LP's optimum (same objective, a bound equal to it, every column priced out),
    /// and the plan rounded from it is valid and within the gap of the whole LP's bound.
    #[test]
    fn sifting_equals_the_whole_lp_relaxation() {
        for (n, seed, itcm) in [(300, 0x2545_f491, 4096), (600, 77, 5000)] {
            let problem = problem_of(n, seed, itcm);
            let p = Prepared::new(&problem).unwrap();
            let pre = presolve(&p, 5e-4);
            let mut model = Model::new(&p, &pre);
            model.build();
            let capacity = model.capacity_rows();
            let want = whole_lp(&model, &capacity);
            let free: Vec<usize> = (0..p.n_items())
                .filter(|&i| pre.fixed[i].is_none())
                .collect();
            let (core, fallback) = model.core(&free, &capacity);
            assert!(
                core.iter().filter(|&&c| c).count() < model.cols.len(),
                "n={n}: the core is the whole model"
            );
            let lp = model.lp(&capacity);
            let Sift::Solved(s) = sifting::solve(&lp, &core, &fallback, 30.0, lp_options).unwrap()
            else {
                panic!("n={n}: sifting did not solve");
            };
            let tol = 1e-6 * want.abs().max(1.0);
            let got: f64 = lp
                .cols
                .iter()
                .zip(&s.columns)
                .map(|(c, v)| c.cost * v)
                .sum();
            assert!(s.priced_out, "n={n}: not priced out in {} rounds", s.rounds);
            assert!(
                (got - want).abs() <= tol,
                "n={n}: sifted {got} vs whole {want}"
            );
            assert!(
                s.bound <= want + tol && s.bound >= want - 10.0 * tol,
                "n={n}: bound {} vs {want}",
                s.bound
            );

            // The whole solve through the sifting route: a valid plan within its gap, whose
            // bound is the whole LP's.
            let out = solve(&p, &settings(0)).unwrap();
            let e = evaluate(&p, &out.assign);
            assert!(
                violations(&p, &out.assign, &e).is_empty(),
                "n={n}: budget broken"
            );
            let bound = out.lower_bound.unwrap();
            let lp_bound = (want + model.constant - pre.loss_bound).max(0.0);
            let status = out.ilp.unwrap().status;
            if status.starts_with("LP relaxation rounded within the gap (sifting") {
                // Returned from the LP: its bound is the whole LP's, the plan within the gap.
                assert!(
                    (bound - lp_bound).abs() <= tol,
                    "n={n}: {bound} vs {lp_bound}"
                );
                assert!(e.total() - bound <= 1e-3 * e.total() + tol, "n={n}: gap");
            } else {
                // Branch and cut took over: its bound can only be tighter.
                assert!(
                    bound >= lp_bound - tol,
                    "n={n}: {status}: {bound} < {lp_bound}"
                );
            }
        }
    }

    /// On problems small enough to solve exactly, the bound the sifting route reports is below
    /// the true optimum, its plan is valid and no better than the optimum, and within the gap.
    #[test]
    fn sifting_bound_is_below_the_exact_optimum() {
        for seed in 1..=12u64 {
            let mut problem = problem_of(40, seed * 7919, 300);
            // Keep at most MAX_EXACT_FREE_ITEMS items free: pin the rest where they are.
            for (k, item) in problem.items.iter_mut().enumerate() {
                if k >= crate::exact::MAX_EXACT_FREE_ITEMS {
                    item.pinned = Some(RegionId(2));
                }
            }
            let p = Prepared::new(&problem).unwrap();
            let exact = evaluate(&p, &crate::exact::solve(&p).unwrap()).total();
            let out = solve(&p, &settings(0)).unwrap();
            let e = evaluate(&p, &out.assign);
            assert!(violations(&p, &out.assign, &e).is_empty(), "seed {seed}");
            let bound = out.lower_bound.unwrap();
            let tol = 1e-6 * exact.max(1.0);
            assert!(
                bound <= exact + tol,
                "seed {seed}: bound {bound} above optimum {exact}"
            );
            assert!(
                e.total() >= exact - tol,
                "seed {seed}: plan beats the optimum"
            );
        }
    }
}
