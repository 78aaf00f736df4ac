//! Builders shared by the integration tests: an i.MX RT-like three-region problem.

use hotlink_solver::{
    Edge, Item, ItemId, ItemKind, Padding, Problem, Region, RegionId, RegionKind, VeneerModel,
};

pub const ITCM: RegionId = RegionId(0);
pub const OCRAM: RegionId = RegionId(1);
pub const FLASH: RegionId = RegionId(2);

/// ITCM / OCRAM / FLASH with the given budgets and a 4-cycle, 8-byte veneer.
pub fn problem(itcm: u64, ocram: u64, flash: u64) -> Problem {
    Problem {
        regions: vec![
            Region {
                name: "ITCM".into(),
                kind: RegionKind::Itcm,
                budget: itcm,
            },
            Region {
                name: "OCRAM".into(),
                kind: RegionKind::Ocram,
                budget: ocram,
            },
            Region {
                name: "FLASH".into(),
                kind: RegionKind::Xip,
                budget: flash,
            },
        ],
        items: Vec::new(),
        edges: Vec::new(),
        veneer: VeneerModel::same_region_only(3, 4.0),
        padding: Padding::AlignUp,
    }
}

/// A code item currently in flash whose run costs `heat` cycles in ITCM, 3× in OCRAM and 10× in
/// flash.
pub fn code(name: &str, size: u64, heat: f64) -> Item {
    Item {
        name: name.into(),
        size,
        align: 4,
        kind: ItemKind::Code,
        current: FLASH,
        cost: vec![Some(heat), Some(3.0 * heat), Some(10.0 * heat)],
        pinned: None,
        ram_only: None,
        excluded: false,
    }
}

pub fn add(p: &mut Problem, item: Item) -> ItemId {
    p.items.push(item);
    ItemId(p.items.len() as u32 - 1)
}

pub fn call(p: &mut Problem, caller: ItemId, callee: ItemId, count: u64) {
    p.edges.push(Edge {
        caller,
        callee,
        count,
    });
}
