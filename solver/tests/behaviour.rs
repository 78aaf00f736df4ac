//! Behaviour of each strategy, the constraints, infeasibility explanations and bad input.

mod common;

use common::{add, call, code, problem, FLASH, ITCM, OCRAM};
use hotlink_solver::flexram::{choose_split, splits, FlexramNeeds, FlexramPart, FlexramSplit};
use hotlink_solver::{
    assess, propagate_ram_only, ram_only_chain, solve, solve_exact, ForcedReason, Infeasibility,
    InputError, ItemId, ItemKind, Plan, Problem, RamOnly, RegionId, SolveError, SolveOptions,
    Strategy,
};

fn run(p: &Problem, strategy: Strategy) -> Result<Plan, SolveError> {
    solve(
        p,
        &SolveOptions {
            strategy,
            ..SolveOptions::default()
        },
    )
}

fn region_of(plan: &Plan, item: ItemId) -> RegionId {
    plan.placements[item.index()].region
}

#[test]
fn ilp_keeps_a_hot_caller_and_callee_together_where_greedy_pays_veneers() {
    // ITCM holds two of the three (plus a veneer). `a` is the hottest per byte, but its 1000
    // calls to `c` cost veneer cycles unless both share a region; the optimum puts a+c in ITCM,
    // greedy a+b.
    let mut p = problem(216, 0, 1 << 20);
    let a = add(&mut p, code("a", 100, 1000.0));
    let b = add(&mut p, code("b", 100, 990.0));
    let c = add(&mut p, code("c", 100, 900.0));
    call(&mut p, a, c, 1000);
    p.veneer.cycles = 20.0;
    let greedy = run(&p, Strategy::Greedy).unwrap();
    let ilp = run(&p, Strategy::Ilp).unwrap();
    let exact = solve_exact(&p).unwrap();
    assert_eq!(region_of(&greedy, b), ITCM);
    assert_eq!(region_of(&ilp, a), ITCM);
    assert_eq!(region_of(&ilp, c), ITCM);
    assert_eq!(region_of(&ilp, b), FLASH);
    assert!(ilp.cycles_after.total < greedy.cycles_after.total);
    assert!((ilp.cycles_after.total - exact.cycles_after.total).abs() < 1e-6);
    assert!(ilp.veneers.is_empty(), "a and c share ITCM");
    assert_eq!(greedy.veneers.len(), 1, "greedy pays for a → c");
}

#[test]
fn veneer_bytes_are_charged_to_the_callers_region() {
    // ITCM of 104 bytes: the 100-byte hot caller fits, but its call to a flash callee needs an
    // 8-byte veneer in ITCM (rounded to 104 + 8 > 104), so it must go to OCRAM instead.
    let mut p = problem(104, 1000, 1 << 20);
    let hot = add(&mut p, code("hot", 100, 1000.0));
    let big = add(&mut p, code("big", 2000, 0.0));
    call(&mut p, hot, big, 0);
    for s in Strategy::ALL {
        let plan = run(&p, s).unwrap();
        assert_ne!(region_of(&plan, hot), ITCM, "{s}");
        let used = &plan.regions[ITCM.index()];
        assert!(used.used <= used.budget, "{s}");
    }
    p.regions[0].budget = 108;
    let plan = run(&p, Strategy::Ilp).unwrap();
    assert_eq!(region_of(&plan, hot), ITCM);
    assert_eq!(plan.regions[ITCM.index()].veneer_bytes, 8);
    assert_eq!(plan.veneers[0].callee, big);
    assert_eq!(plan.veneers[0].region, ITCM);
}

#[test]
fn gnu_fill_takes_link_order_and_the_fastest_region_with_room() {
    let mut p = problem(150, 150, 1 << 20);
    let cold = add(&mut p, code("cold_first", 100, 0.0));
    let hot = add(&mut p, code("hot_second", 100, 500.0));
    let plan = run(&p, Strategy::GnuFill).unwrap();
    assert_eq!(region_of(&plan, cold), ITCM);
    assert_eq!(region_of(&plan, hot), OCRAM);
}

#[test]
fn any_best_fit_places_largest_first_into_the_ram_region_with_most_space() {
    let mut p = problem(100, 300, 1 << 20);
    let small = add(&mut p, code("small", 40, 900.0));
    let large = add(&mut p, code("large", 200, 10.0));
    let plan = run(&p, Strategy::AnyBestFit).unwrap();
    assert_eq!(region_of(&plan, large), OCRAM);
    // After `large`, OCRAM has 100 free and ITCM 100: ties go to the lower region index.
    assert_eq!(region_of(&plan, small), ITCM);
}

#[test]
fn greedy_ranks_by_savings_per_byte() {
    let mut p = problem(100, 0, 1 << 20);
    let dense = add(&mut p, code("dense", 40, 100.0));
    let heavy = add(&mut p, code("heavy", 100, 200.0));
    let plan = run(&p, Strategy::Greedy).unwrap();
    assert_eq!(region_of(&plan, dense), ITCM);
    assert_eq!(region_of(&plan, heavy), FLASH);
}

#[test]
fn xip_moves_only_what_the_constraints_force() {
    let mut p = problem(1000, 1000, 1 << 20);
    let hot = add(&mut p, code("hot", 100, 1000.0));
    let mut driver = code("flexspi_erase", 100, 5.0);
    driver.ram_only = Some(RamOnly::Root {
        reason: "flash driver".into(),
    });
    let driver = add(&mut p, driver);
    let plan = run(&p, Strategy::Xip).unwrap();
    assert_eq!(region_of(&plan, hot), FLASH);
    assert_ne!(region_of(&plan, driver), FLASH);
    assert_eq!(plan.moved().count(), 1);
    assert!(plan.forced.iter().any(|f| f.item == driver
        && matches!(&f.reason, ForcedReason::RamOnly { chain } if chain == &vec![driver])));
}

#[test]
fn pinned_and_excluded_items_stay_put_in_every_strategy() {
    let mut p = problem(300, 300, 1 << 20);
    let mut pinned = code("vector_table_helper", 100, 0.0);
    pinned.pinned = Some(ITCM);
    let pinned = add(&mut p, pinned);
    let mut excluded = code("hot_but_excluded", 100, 10_000.0);
    excluded.excluded = true;
    let excluded = add(&mut p, excluded);
    let free = add(&mut p, code("free", 100, 50.0));
    call(&mut p, free, excluded, 10);
    for s in Strategy::ALL {
        let plan = run(&p, s).unwrap();
        assert_eq!(region_of(&plan, pinned), ITCM, "{s}");
        assert_eq!(region_of(&plan, excluded), FLASH, "{s}");
        assert!(assess(&p, &plan.assignment())
            .unwrap()
            .violations
            .is_empty());
    }
}

#[test]
fn ram_only_closure_is_propagated_with_a_reference_chain() {
    let mut p = problem(1000, 1000, 1 << 20);
    let mut root = code("flash_program", 64, 1.0);
    root.ram_only = Some(RamOnly::Root {
        reason: "--ram-only flash_*".into(),
    });
    let root = add(&mut p, root);
    let helper = add(&mut p, code("wait_busy", 32, 1.0));
    let memcpy = add(&mut p, code("memcpy", 128, 1.0));
    let unrelated = add(&mut p, code("main", 64, 1.0));
    let refs = [(root, helper), (helper, memcpy), (unrelated, memcpy)];
    assert_eq!(propagate_ram_only(&mut p, &refs).unwrap(), 2);
    assert_eq!(ram_only_chain(&p, memcpy), vec![root, helper, memcpy]);
    assert!(p.items[unrelated.index()].ram_only.is_none());
    for s in Strategy::ALL {
        let plan = run(&p, s).unwrap();
        for i in [root, helper, memcpy] {
            assert_ne!(region_of(&plan, i), FLASH, "{s}");
        }
    }
    assert!(matches!(
        propagate_ram_only(&mut p, &[(root, ItemId(99))]),
        Err(InputError::UnknownItem { .. })
    ));
}

#[test]
fn ram_only_overflow_names_bytes_and_chain() {
    let mut p = problem(64, 64, 1 << 20);
    let mut root = code("flash_erase", 40, 1.0);
    root.ram_only = Some(RamOnly::Root {
        reason: "flash driver".into(),
    });
    let root = add(&mut p, root);
    let helper = add(&mut p, code("__aeabi_uidiv", 44, 1.0));
    let memcpy = add(&mut p, code("memcpy", 60, 1.0));
    propagate_ram_only(&mut p, &[(root, helper), (helper, memcpy)]).unwrap();
    let err = run(&p, Strategy::Ilp).unwrap_err();
    let SolveError::Infeasible(inf) = &err else {
        panic!("expected infeasible, got {err}")
    };
    let Infeasibility::Overflow {
        region_names,
        over_by,
        items,
        ..
    } = inf.as_ref()
    else {
        panic!("expected overflow, got {inf}")
    };
    assert_eq!(region_names, &vec!["ITCM".to_string(), "OCRAM".to_string()]);
    assert_eq!(*over_by, 40 + 44 + 60 - 128);
    assert_eq!(items[0].item, memcpy);
    assert_eq!(items[0].ram_only_chain, vec![root, helper, memcpy]);
    let text = err.to_string();
    assert!(text.contains("over by 16 bytes"), "{text}");
    assert!(
        text.contains("flash_erase -> __aeabi_uidiv -> memcpy"),
        "{text}"
    );
    // Every strategy reports the same explanation.
    for s in Strategy::ALL {
        assert_eq!(run(&p, s).unwrap_err(), err);
    }
}

#[test]
fn conflicting_constraints_and_oversized_items_are_explained() {
    let mut p = problem(100, 100, 1000);
    let mut item = code("flash_write", 10, 1.0);
    item.ram_only = Some(RamOnly::Root {
        reason: "flash driver".into(),
    });
    item.pinned = Some(FLASH);
    add(&mut p, item);
    let err = run(&p, Strategy::Ilp).unwrap_err();
    assert!(
        matches!(&err, SolveError::Infeasible(i) if matches!(i.as_ref(), Infeasibility::NoRegion { reasons, .. } if reasons.len() == 3)),
        "{err}"
    );

    let mut p = problem(100, 100, 1000);
    add(&mut p, code("huge_table", 5000, 1.0));
    let err = run(&p, Strategy::Greedy).unwrap_err();
    assert!(
        matches!(&err, SolveError::Infeasible(i) if matches!(i.as_ref(), Infeasibility::ItemTooLarge { budget: 1000, .. })),
        "{err}"
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let base = {
        let mut p = problem(100, 100, 1000);
        let a = add(&mut p, code("a", 10, 1.0));
        call(&mut p, a, a, 1);
        p
    };
    type Mutation = Box<dyn Fn(&mut Problem)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "nan cost",
            Box::new(|p| p.items[0].cost[0] = Some(f64::NAN)),
        ),
        (
            "negative cost",
            Box::new(|p| p.items[0].cost[1] = Some(-1.0)),
        ),
        ("alignment 3", Box::new(|p| p.items[0].align = 3)),
        ("alignment 0", Box::new(|p| p.items[0].align = 0)),
        (
            "unknown region",
            Box::new(|p| p.items[0].current = RegionId(7)),
        ),
        (
            "unknown pin",
            Box::new(|p| p.items[0].pinned = Some(RegionId(3))),
        ),
        (
            "short cost",
            Box::new(|p| p.items[0].cost.pop().map(drop).unwrap_or(())),
        ),
        ("no current cost", Box::new(|p| p.items[0].cost[2] = None)),
        (
            "edge to nowhere",
            Box::new(|p| p.edges[0].callee = ItemId(5)),
        ),
        ("no regions", Box::new(|p| p.regions.clear())),
        (
            "reach shape",
            Box::new(|p| p.veneer.reach.pop().map(drop).unwrap_or(())),
        ),
        ("reach diagonal", Box::new(|p| p.veneer.reach[1][1] = false)),
        (
            "veneer cycles",
            Box::new(|p| p.veneer.cycles = f64::INFINITY),
        ),
        (
            "duplicate region",
            Box::new(|p| p.regions[1].name = "ITCM".into()),
        ),
        ("huge size", Box::new(|p| p.items[0].size = u64::MAX)),
    ];
    for (what, mutate) in cases {
        let mut p = base.clone();
        mutate(&mut p);
        for s in Strategy::ALL {
            assert!(
                matches!(run(&p, s), Err(SolveError::Input(_))),
                "{what} with {s}"
            );
        }
        assert!(
            matches!(solve_exact(&p), Err(SolveError::Input(_))),
            "{what}"
        );
    }
    let bad_gap = SolveOptions {
        relative_gap: f64::NAN,
        ..SolveOptions::default()
    };
    assert!(matches!(solve(&base, &bad_gap), Err(SolveError::Input(_))));
    let bad_time = SolveOptions {
        time_limit_seconds: 0.0,
        ..SolveOptions::default()
    };
    assert!(matches!(solve(&base, &bad_time), Err(SolveError::Input(_))));
    assert!(assess(&base, &[RegionId(9)]).is_err());
    assert!(assess(&base, &[]).is_err());
}

#[test]
fn data_without_an_itcm_cost_never_lands_in_itcm() {
    let mut p = problem(1000, 1000, 1 << 20);
    let mut table = code("lookup_table", 64, 1000.0);
    table.kind = ItemKind::Rodata;
    table.cost[ITCM.index()] = None;
    let table = add(&mut p, table);
    for s in Strategy::ALL {
        let plan = run(&p, s).unwrap();
        assert_ne!(region_of(&plan, table), ITCM, "{s}");
    }
}

#[test]
fn plan_round_trips_through_json() {
    let mut p = problem(200, 200, 1 << 20);
    let a = add(&mut p, code("a", 100, 10.0));
    let b = add(&mut p, code("b", 100, 5.0));
    call(&mut p, a, b, 3);
    let plan = run(&p, Strategy::Ilp).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plan);
    assert!(json.contains("\"strategy\":\"ilp\""));
    let pjson = serde_json::to_string(&p).unwrap();
    assert_eq!(serde_json::from_str::<Problem>(&pjson).unwrap(), p);
    assert!(plan.gap.is_some_and(|g| g <= 1e-3));
    assert!(plan.ilp.is_some());
}

#[test]
fn strategy_names_parse_and_print() {
    for s in Strategy::ALL {
        assert_eq!(s.to_string().parse::<Strategy>().unwrap(), s);
    }
    let err = "best".parse::<Strategy>().unwrap_err();
    assert!(err.to_string().contains("gnu-fill"));
}

#[test]
fn presolve_fixes_cold_items_without_loss() {
    let mut p = problem(4096, 8192, 1 << 24);
    let mut ids = Vec::new();
    for k in 0..400u32 {
        let heat = if k % 20 == 0 {
            1000.0 + f64::from(k)
        } else {
            0.0
        };
        ids.push(add(
            &mut p,
            code(&format!("f{k}"), 64 + u64::from(k % 7) * 16, heat),
        ));
    }
    for k in 0..399 {
        let count = if k % 20 == 0 { 50 } else { 0 };
        call(&mut p, ids[k], ids[k + 1], count);
    }
    let plan = solve(
        &p,
        &SolveOptions {
            relative_gap: 0.0,
            ..SolveOptions::default()
        },
    )
    .unwrap();
    let stats = plan.ilp.as_ref().unwrap();
    assert!(stats.fixed_cold >= 340, "{stats:?}");
    assert_eq!(stats.fixed_bounded, 0);
    assert!(plan.gap.unwrap() < 1e-6, "{:?}", plan.gap);
    // Every hot item fits in ITCM (20 × ≤160 bytes + veneers), so all of them go there.
    for (k, id) in ids.iter().enumerate() {
        if k % 20 == 0 {
            assert_eq!(region_of(&plan, *id), ITCM, "f{k}");
        }
    }
}

#[test]
fn flexram_registers_match_the_reference_encodings() {
    let rt1062 = FlexramPart::known("MIMXRT1062").unwrap();
    assert_eq!((rt1062.banks, rt1062.rom_ocram_banks), (16, 0));
    let all_itcm = FlexramSplit {
        itcm_banks: 16,
        dtcm_banks: 0,
        ocram_banks: 0,
    };
    let regs = all_itcm.registers(&rt1062);
    assert_eq!(regs.gpr17, 0xFFFF_FFFF);
    assert_eq!(regs.gpr14, 0x000A_0000, "512 KiB ITCM is code 10");
    assert_eq!(regs.gpr16_set, 1 << 2);
    let default = FlexramSplit {
        itcm_banks: 4,
        dtcm_banks: 4,
        ocram_banks: 8,
    };
    let regs = default.registers(&rt1062);
    assert_eq!(regs.gpr14, 0x0088_0000, "128 KiB each is code 8");
    assert_eq!(regs.gpr17 & 0xFFFF, 0x5555, "OCRAM in banks 0-7");
    assert_eq!(regs.gpr17 >> 16, 0xFFAA);
    let rt1176 = FlexramPart::known("imxrt1176").unwrap();
    let regs = all_itcm.registers(&rt1176);
    assert_eq!((regs.gpr17, regs.gpr18), (0xFFFF, Some(0xFFFF)));
    assert!(FlexramPart::known("STM32H7").is_none());
}

#[test]
fn flexram_split_keeps_boot_rom_banks_and_picks_the_best_score() {
    let rt1052 = FlexramPart::known("MIMXRT1052").unwrap();
    let needs = FlexramNeeds {
        itcm_bytes: 0,
        dtcm_bytes: 64 * 1024,
        ocram_bytes: 0,
    };
    let all = splits(&rt1052, &needs);
    assert!(!all.is_empty());
    assert!(all.iter().all(|s| s.ocram_banks >= 1 && s.dtcm_banks >= 2));
    assert!(all
        .iter()
        .all(|s| s.itcm_banks.count_ones() <= 1 && s.dtcm_banks.count_ones() <= 1));
    // Score: more ITCM is better; the largest ITCM that leaves DTCM 64K and a ROM bank is 8 banks.
    let (best, _) = choose_split(&rt1052, &needs, |s| Ok(-f64::from(s.itcm_banks))).unwrap();
    assert_eq!(best.itcm_banks, 8);
    // Equal scores: the most DTCM wins, then the most ITCM (RT1052: 8 + 4 + 4 with the ROM bank).
    let (tie, _) = choose_split(&rt1052, &needs, |_| Ok(1.0)).unwrap();
    assert_eq!((tie.dtcm_banks, tie.itcm_banks), (8, 4));
    let impossible = FlexramNeeds {
        itcm_bytes: 512 * 1024,
        dtcm_bytes: 32 * 1024,
        ocram_bytes: 0,
    };
    assert!(choose_split(&rt1052, &impossible, |_| Ok(0.0)).is_err());
    assert!(choose_split(&rt1052, &needs, |_| Err("nope".into())).is_err());
}

#[test]
fn packing_infeasibility_beyond_the_byte_totals_is_reported() {
    // 3 × 60 B of ram-only code, 100 B in each RAM region: the totals fit, no packing does.
    let mut p = problem(100, 100, 1 << 20);
    for name in ["isr_a", "isr_b", "isr_c"] {
        let mut item = code(name, 60, 1.0);
        item.ram_only = Some(RamOnly::Root {
            reason: "runs during flash writes".into(),
        });
        add(&mut p, item);
    }
    let packing = |r: Result<Plan, SolveError>| matches!(r, Err(SolveError::Infeasible(i)) if matches!(i.as_ref(), Infeasibility::Packing { items } if items.len() == 3));
    assert!(packing(run(&p, Strategy::Ilp)));
    assert!(packing(solve_exact(&p)));
    for s in [
        Strategy::Xip,
        Strategy::GnuFill,
        Strategy::AnyBestFit,
        Strategy::Greedy,
    ] {
        assert!(
            matches!(run(&p, s), Err(SolveError::StrategyFailed { strategy, .. }) if strategy == s),
            "{s}"
        );
    }
}
