//! Property tests on small random problems: every plan of every strategy respects every budget and
//! constraint, the exact solver is never beaten, and the ILP agrees with it within the gap.

mod common;

use common::{add, call, code, problem, FLASH, ITCM, OCRAM};
use hotlink_solver::{
    assess, solve, solve_exact, Edge, Item, ItemId, ItemKind, Padding, Problem, RamOnly, RegionId,
    SolveError, SolveOptions, Strategy as Placer,
};
use proptest::prelude::*;

fn item_strategy() -> impl Strategy<Value = Item> {
    (
        1u64..120,
        prop::sample::select(vec![1u64, 2, 4, 8]),
        0.0f64..1000.0,
        prop::sample::select(vec![FLASH, FLASH, FLASH, ITCM, OCRAM]),
        0u8..16,
    )
        .prop_map(|(size, align, heat, current, flags)| {
            let data = flags & 1 != 0 && flags & 2 != 0;
            Item {
                name: format!("s{size}_{align}"),
                size,
                align,
                kind: if data {
                    ItemKind::Rodata
                } else {
                    ItemKind::Code
                },
                current,
                cost: vec![
                    (!data || current == ITCM).then_some(heat),
                    Some(heat * 3.0),
                    Some(heat * 10.0),
                ],
                pinned: (flags == 4).then_some(current),
                ram_only: (flags == 5 || flags == 6).then(|| RamOnly::Root {
                    reason: "test".into(),
                }),
                excluded: flags == 7,
            }
        })
}

fn problem_strategy(max_items: usize) -> impl Strategy<Value = Problem> {
    (
        prop::collection::vec(item_strategy(), 1..=max_items),
        prop::collection::vec((0usize..64, 0usize..64, 0u64..2000), 0..16),
        0u64..300,
        0u64..400,
        prop::bool::ANY,
        0.0f64..30.0,
        // Off-diagonal reach bits (ITCM→OCRAM, …): 0 is the i.MX RT model.
        prop::sample::select(vec![0u8, 0, 0, 0b000001, 0b100100, 0b111111, 0b010010]),
    )
        .prop_map(
            |(items, edges, itcm, ocram, worst_case, veneer_cycles, reach)| {
                let mut p = problem(itcm, ocram, 100_000);
                p.padding = if worst_case {
                    Padding::WorstCase
                } else {
                    Padding::AlignUp
                };
                p.veneer.cycles = veneer_cycles;
                let off_diagonal = [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)];
                for (bit, (from, to)) in off_diagonal.into_iter().enumerate() {
                    p.veneer.reach[from][to] = reach & (1 << bit) != 0;
                }
                let n = items.len();
                p.items = items;
                p.edges = edges
                    .into_iter()
                    .map(|(u, v, count)| Edge {
                        caller: ItemId((u % n) as u32),
                        callee: ItemId((v % n) as u32),
                        count,
                    })
                    .collect();
                p
            },
        )
}

fn options(strategy: Placer, gap: f64) -> SolveOptions {
    SolveOptions {
        strategy,
        relative_gap: gap,
        ..SolveOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn every_plan_of_every_strategy_respects_every_constraint(p in problem_strategy(10)) {
        for s in Placer::ALL {
            match solve(&p, &options(s, 1e-3)) {
                Ok(plan) => {
                    let a = assess(&p, &plan.assignment()).unwrap();
                    prop_assert!(a.violations.is_empty(), "{s}: {:?}", a.violations);
                    for (r, usage) in plan.regions.iter().enumerate() {
                        prop_assert!(usage.used <= usage.budget, "{s} region {r}");
                        prop_assert_eq!(usage.used, a.used[r]);
                    }
                    for (i, item) in p.items.iter().enumerate() {
                        let region = plan.placements[i].region;
                        if let Some(pin) = item.pinned {
                            prop_assert_eq!(region, pin);
                        }
                        if item.excluded {
                            prop_assert_eq!(region, item.current);
                        }
                        if item.ram_only.is_some() {
                            prop_assert_ne!(region, FLASH);
                        }
                    }
                    prop_assert!((plan.cycles_after.total - a.cycles.total).abs() <= 1e-6 * a.cycles.total.max(1.0));
                }
                Err(SolveError::Infeasible(_)) | Err(SolveError::StrategyFailed { .. }) => {}
                Err(e) => prop_assert!(false, "{s}: unexpected error {e}"),
            }
        }
    }

    #[test]
    fn ilp_agrees_with_the_exact_solver(p in problem_strategy(8)) {
        let exact = solve_exact(&p);
        for gap in [0.0, 1e-3, 0.05] {
            let ilp = solve(&p, &options(Placer::Ilp, gap));
            match (&exact, ilp) {
                (Ok(exact), Ok(ilp)) => {
                    let best = exact.cycles_after.total;
                    let got = ilp.cycles_after.total;
                    let tol = 1e-6 * best.max(1.0);
                    prop_assert!(got >= best - tol, "ILP {got} beat the exact optimum {best}");
                    prop_assert!(got <= best * (1.0 + gap) + tol, "gap {gap}: ILP {got} vs exact {best}");
                    let lb = ilp.lower_bound.unwrap();
                    prop_assert!(lb <= best + tol, "lower bound {lb} above the optimum {best}");
                    prop_assert!(ilp.gap.unwrap() <= gap + 1e-6, "reported gap {:?}", ilp.gap);
                }
                (Err(SolveError::Infeasible(_)), Err(SolveError::Infeasible(_))) => {}
                (e, i) => prop_assert!(false, "exact {:?} vs ilp {:?}", e.as_ref().map(|p| p.cycles_after), i.map(|p| p.cycles_after)),
            }
        }
    }

    #[test]
    fn no_strategy_beats_the_exact_optimum(p in problem_strategy(8)) {
        if let Ok(exact) = solve_exact(&p) {
            for s in Placer::ALL {
                if let Ok(plan) = solve(&p, &options(s, 1e-3)) {
                    prop_assert!(plan.cycles_after.total >= exact.cycles_after.total * (1.0 - 1e-9) - 1e-9, "{s}");
                }
            }
        }
    }
}

#[test]
fn an_empty_problem_gives_an_empty_plan() {
    let p = problem(0, 0, 0);
    for s in Placer::ALL {
        let plan = solve(&p, &options(s, 1e-3)).unwrap();
        assert!(plan.placements.is_empty() && plan.veneers.is_empty());
        assert_eq!(plan.cycles_after.total, 0.0);
    }
    assert!(solve_exact(&p).unwrap().placements.is_empty());
}

#[test]
fn exact_refuses_large_problems() {
    let mut p = problem(1000, 1000, 100_000);
    let mut previous = None;
    for k in 0..20 {
        let id = add(&mut p, code(&format!("f{k}"), 8, 1.0));
        if let Some(prev) = previous {
            call(&mut p, prev, id, 5);
        }
        previous = Some(id);
    }
    assert!(matches!(
        solve_exact(&p),
        Err(SolveError::TooLargeForExact { free: 20, .. })
    ));
    // The ILP handles it, and every item fits in ITCM.
    let plan = solve(&p, &SolveOptions::default()).unwrap();
    assert!(plan.placements.iter().all(|pl| pl.region == RegionId(0)));
}

/// The random problems above must mostly be feasible and leave real choices, or the agreement
/// property would hold vacuously.
#[test]
fn random_problems_are_mostly_feasible_and_not_trivial() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = problem_strategy(8);
    let (mut feasible, mut with_veneers, mut moved_to_ram) = (0, 0, 0);
    for _ in 0..200 {
        let p = strategy.new_tree(&mut runner).unwrap().current();
        if let Ok(plan) = solve_exact(&p) {
            feasible += 1;
            with_veneers += usize::from(!plan.veneers.is_empty());
            moved_to_ram += usize::from(plan.moved().any(|m| m.region != FLASH));
        }
    }
    assert!(feasible >= 100, "only {feasible} of 200 feasible");
    assert!(with_veneers >= 20, "only {with_veneers} plans with veneers");
    assert!(
        moved_to_ram >= 50,
        "only {moved_to_ram} plans move code to RAM"
    );
}
