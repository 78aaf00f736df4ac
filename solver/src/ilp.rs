//! The default strategy: a presolve that fixes most items, then a veneer-aware 0-1 ILP over the
//! rest, built with good_lp and solved by HiGHS, warm-started with the greedy plan.
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

use good_lp::solvers::highs::highs;
use good_lp::{constraint, variable, Expression, ProblemVariables, SolverModel, Variable};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::baseline;
use crate::error::{Infeasibility, SolveError};
use crate::eval::{evaluate, violations};
use crate::feasibility::culprit;
use crate::model::{regions_in, Mask, Prepared, RegionId};
use crate::plan::{IlpStats, Outcome};
use crate::presolve::{presolve, Presolved};
use crate::Strategy;

/// Solver settings the ILP needs.
pub(crate) struct IlpSettings {
    pub time_limit: f64,
    pub relative_gap: f64,
    pub presolve_gap_share: f64,
}

/// (variable, coefficient) pairs of a linear expression.
type Terms = Vec<(Variable, f64)>;

/// A linear expression under construction: (variable, coefficient) pairs plus a constant.
#[derive(Default)]
struct Lin {
    terms: Vec<(Variable, f64)>,
}

impl Lin {
    fn expr(&self) -> Expression {
        let mut e = Expression::with_capacity(self.terms.len());
        for &(v, c) in &self.terms {
            e.add_mul(c, v);
        }
        e
    }
}

struct Model<'a, 'p> {
    p: &'a Prepared<'p>,
    pre: &'a Presolved,
    vars: ProblemVariables,
    /// Number of columns so far: good_lp hands them to HiGHS in creation order.
    columns: usize,
    /// `x` columns of each free item: (region, variable, column).
    x: Vec<Vec<(usize, Variable, usize)>>,
    /// `z` columns: (variable, column, caller, callee, caller region).
    z: Vec<(Variable, usize, usize, usize, usize)>,
    /// `w` columns by (callee, region).
    w: FxHashMap<(usize, usize), (Variable, usize)>,
    objective: Lin,
    constant: f64,
    /// Rows `lhs ≥ 0` linking w and z to x.
    ge_rows: Vec<Lin>,
    /// Bytes the fixed items and constant veneers take in each region.
    fixed_bytes: Vec<u64>,
    /// Veneer slots (callee, region) that exist whatever the free items do.
    const_slots: FxHashSet<(usize, usize)>,
    /// For each (callee, capacitated region): the right-hand sides `w ≥ −terms` that say a
    /// veneer is needed, collected before deciding whether `w` needs a column at all.
    needs: FxHashMap<(usize, usize), Vec<Terms>>,
    /// Veneer terms of each region's capacity row.
    capacity_terms: Vec<Vec<(Variable, f64)>>,
}

impl<'a, 'p> Model<'a, 'p> {
    fn new(p: &'a Prepared<'p>, pre: &'a Presolved) -> Self {
        Model {
            p,
            pre,
            vars: ProblemVariables::new(),
            columns: 0,
            x: vec![Vec::new(); p.n_items()],
            z: Vec::new(),
            w: FxHashMap::default(),
            objective: Lin::default(),
            constant: 0.0,
            ge_rows: Vec::new(),
            fixed_bytes: vec![0; p.n_regions()],
            const_slots: FxHashSet::default(),
            needs: FxHashMap::default(),
            capacity_terms: vec![Vec::new(); p.n_regions()],
        }
    }

    fn column(&mut self, def: good_lp::VariableDefinition) -> (Variable, usize) {
        let v = self.vars.add(def);
        self.columns += 1;
        (v, self.columns - 1)
    }

    fn xv(&self, i: usize, r: usize) -> Option<Variable> {
        self.x[i]
            .iter()
            .find(|&&(q, _, _)| q == r)
            .map(|&(_, v, _)| v)
    }

    fn capacitated(&self, r: usize) -> bool {
        self.pre.capacitated & (1 << r) != 0
    }

    /// Record the row `w[v][a] + terms ≥ 0`: a veneer for `v` is needed in region `a` when
    /// `−terms` is 1. Only capacitated regions need it, and slots that exist anyway are already
    /// charged.
    fn veneer_row(&mut self, v: usize, a: usize, terms: Vec<(Variable, f64)>) {
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
            let (w, col) = self.column(variable().clamp(0.0, 1.0));
            self.w.insert((v, a), (w, col));
            self.capacity_terms[a].push((w, vb));
            for mut terms in rows {
                terms.push((w, 1.0));
                self.ge_rows.push(Lin { terms });
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
                        let (v, col) = self.column(variable().binary());
                        self.x[i].push((r, v, col));
                        let excess = p.cost(i, r) - min;
                        if excess > 0.0 {
                            self.objective.terms.push((v, excess));
                        }
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
                    let terms: Vec<(Variable, f64)> = regions_in(out)
                        .filter_map(|b| self.xv(v, b))
                        .map(|x| (x, -1.0))
                        .collect();
                    if weight > 0.0 {
                        self.objective
                            .terms
                            .extend(terms.iter().map(|&(x, _)| (x, weight)));
                    }
                    self.veneer_row(v, a, terms);
                }
                (None, Some(b)) => {
                    for a in regions_in(p.allowed[u]) {
                        if p.reaches(a, b) {
                            continue;
                        }
                        let Some(x) = self.xv(u, a) else { continue };
                        if weight > 0.0 {
                            self.objective.terms.push((x, weight));
                        }
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
                            if weight > 0.0 {
                                self.objective.terms.push((xu, weight));
                            }
                        } else if weight > 0.0 {
                            let (z, col) = self.column(variable().min(0.0));
                            self.z.push((z, col, u, v, a));
                            self.objective.terms.push((z, weight));
                            let mut row = terms.clone();
                            row.push((z, 1.0));
                            self.ge_rows.push(Lin { terms: row });
                        }
                        self.veneer_row(v, a, terms);
                    }
                }
            }
        }
        self.finish_veneers();
    }

    /// Column values for a complete assignment, used as HiGHS's starting incumbent.
    fn hint(&self, assign: &[RegionId]) -> Vec<f64> {
        let p = self.p;
        let mut cols = vec![0.0; self.columns];
        for (i, xs) in self.x.iter().enumerate() {
            for &(r, _, col) in xs {
                cols[col] = f64::from(u8::from(assign[i].index() == r));
            }
        }
        for &(_, col, u, v, a) in &self.z {
            let crossing = assign[u].index() == a && !p.reaches(a, assign[v].index());
            cols[col] = f64::from(u8::from(crossing));
        }
        for (&(v, a), &(_, col)) in &self.w {
            let needed = p.callers[v].iter().any(|&k| {
                let u = p.edges[k as usize].caller.index();
                assign[u].index() == a && !p.reaches(a, assign[v].index())
            });
            cols[col] = f64::from(u8::from(needed));
        }
        cols
    }
}

/// Run the ILP strategy.
pub(crate) fn solve(p: &Prepared, settings: &IlpSettings) -> Result<Outcome, SolveError> {
    let start = Instant::now();
    let pre = presolve(p, settings.relative_gap * settings.presolve_gap_share);
    let warm = baseline::run(p, Strategy::Greedy).ok().map(|mut a| {
        for (i, r) in pre.fixed.iter().enumerate() {
            if let Some(r) = *r {
                a[i] = RegionId(r as u16);
            }
        }
        a
    });
    let trivial_bound: f64 = (0..p.n_items())
        .map(|i| {
            regions_in(p.allowed[i])
                .map(|r| p.cost(i, r))
                .fold(f64::INFINITY, f64::min)
        })
        .sum();

    let mut model = Model::new(p, &pre);
    model.build();
    let free_items = pre.fixed.iter().filter(|f| f.is_none()).count();
    let mut stats = IlpStats {
        fixed_by_constraints: pre.fixed_by_constraints,
        fixed_cold: pre.fixed_cold,
        fixed_bounded: pre.fixed_bounded,
        presolve_loss_bound: pre.loss_bound,
        free_items,
        columns: model.columns,
        rows: 0,
        status: String::from("not run: nothing left to decide"),
        used_solver_solution: false,
    };
    let hint = warm.as_ref().map(|a| model.hint(a));
    let Model {
        vars,
        objective,
        ge_rows,
        x,
        capacity_terms,
        fixed_bytes,
        constant,
        columns,
        ..
    } = model;
    let fixed_assign = |cols: Option<&[f64]>| -> Vec<RegionId> {
        (0..p.n_items())
            .map(|i| match pre.fixed[i] {
                Some(r) => RegionId(r as u16),
                None => {
                    let best = x[i]
                        .iter()
                        .max_by(|a, b| {
                            let va = cols.map_or(0.0, |c| c[a.2]);
                            let vb = cols.map_or(0.0, |c| c[b.2]);
                            va.total_cmp(&vb)
                        })
                        .map_or(0, |&(r, _, _)| r);
                    RegionId(best as u16)
                }
            })
            .collect()
    };

    if columns == 0 {
        let assign = fixed_assign(None);
        let total = evaluate(p, &assign).total();
        return Ok(Outcome {
            assign,
            lower_bound: Some(total),
            solve_seconds: start.elapsed().as_secs_f64(),
            ilp: Some(stats),
        });
    }

    let mut problem = vars.minimise(objective.expr()).using(highs);
    let mut rows = 0;
    for xs in x.iter().filter(|xs| !xs.is_empty()) {
        let mut e = Expression::with_capacity(xs.len());
        for &(_, v, _) in xs {
            e.add_mul(1.0, v);
        }
        problem.add_constraint(constraint::eq(e, 1.0));
        rows += 1;
    }
    for row in &ge_rows {
        problem.add_constraint(constraint::geq(row.expr(), 0.0));
        rows += 1;
    }
    for r in regions_in(pre.capacitated) {
        let budget = p.budget(r);
        if fixed_bytes[r] > budget {
            return Err(packing_error(p, &pre));
        }
        let mut e = Expression::default();
        for (i, xs) in x.iter().enumerate() {
            for &(q, v, _) in xs {
                if q == r && p.bytes[i] > 0 {
                    e.add_mul(p.bytes[i] as f64, v);
                }
            }
        }
        for &(v, coef) in &capacity_terms[r] {
            e.add_mul(coef, v);
        }
        problem.add_constraint(constraint::leq(e, (budget - fixed_bytes[r]) as f64));
        rows += 1;
    }
    stats.rows = rows;

    let mut highs_model = problem
        .try_into_inner()
        .map_err(|e| SolveError::Backend(e.to_string()))?;
    let remaining = (settings.time_limit - start.elapsed().as_secs_f64()).max(0.01);
    let abs_gap =
        (settings.relative_gap * (1.0 - settings.presolve_gap_share) * trivial_bound).max(0.0);
    let options: [(&str, f64); 3] = [
        ("time_limit", remaining),
        (
            "mip_rel_gap",
            settings.relative_gap * (1.0 - settings.presolve_gap_share),
        ),
        ("mip_abs_gap", abs_gap),
    ];
    for (name, value) in options {
        highs_model
            .try_set_option(name, value)
            .map_err(|e| SolveError::Backend(format!("setting {name}: {e:?}")))?;
    }
    highs_model
        .try_set_option("output_flag", false)
        .map_err(|e| SolveError::Backend(format!("setting output_flag: {e:?}")))?;
    // HiGHS presolve rules 13–16 (parallel rows and columns, sparsify, probing, enumeration) find
    // almost nothing in this model, whose structure the presolve above already exploited, yet
    // took most of HiGHS's presolve time on the 50,000-section benchmark.
    const PRESOLVE_RULES_OFF: i32 = (1 << 13) | (1 << 14) | (1 << 15) | (1 << 16);
    highs_model
        .try_set_option("presolve_rule_off", PRESOLVE_RULES_OFF)
        .map_err(|e| SolveError::Backend(format!("setting presolve_rule_off: {e:?}")))?;
    if let Some(h) = &hint {
        // A rejected hint only costs HiGHS its head start.
        let _ = highs_model.try_set_solution(Some(h), None, None, None);
    }
    let solved = highs_model
        .try_solve()
        .map_err(|e| SolveError::Backend(format!("{e:?}")))?;
    let status = solved.status();
    stats.status = format!("{status:?}");
    use highs::HighsModelStatus as S;
    if matches!(status, S::Infeasible | S::UnboundedOrInfeasible) && warm.is_none() {
        return Err(packing_error(p, &pre));
    }
    let dual_bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite());
    let has_solution = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
    let candidate = has_solution.then(|| {
        let sol = solved.get_solution();
        fixed_assign(Some(sol.columns()))
    });

    // Keep whichever of HiGHS's incumbent and the warm start is valid and cheaper.
    let score = |a: &Vec<RegionId>| {
        let e = evaluate(p, a);
        violations(p, a, &e).is_empty().then(|| e.total())
    };
    let solver_pick = candidate.and_then(|a| score(&a).map(|s| (s, a)));
    let warm_pick = warm.and_then(|a| score(&a).map(|s| (s, a)));
    let (assign, used_solver) = match (solver_pick, warm_pick) {
        (Some((s, a)), Some((ws, _))) if s <= ws => (a, true),
        (Some((_, a)), None) => (a, true),
        (_, Some((_, a))) => (a, false),
        (None, None) => return Err(packing_error(p, &pre)),
    };
    stats.used_solver_solution = used_solver;
    let lower_bound = dual_bound
        .map(|b| b + constant - pre.loss_bound)
        .map_or(trivial_bound, |b| b.max(trivial_bound));
    Ok(Outcome {
        assign,
        lower_bound: Some(lower_bound),
        solve_seconds: start.elapsed().as_secs_f64(),
        ilp: Some(stats),
    })
}

fn packing_error(p: &Prepared, pre: &Presolved) -> SolveError {
    let mut free: Vec<usize> = (0..p.n_items())
        .filter(|&i| pre.fixed[i].is_none())
        .collect();
    free.sort_unstable_by_key(|&i| std::cmp::Reverse(p.bytes[i]));
    SolveError::from(Infeasibility::Packing {
        items: free.into_iter().take(10).map(|i| culprit(p, i)).collect(),
    })
}
