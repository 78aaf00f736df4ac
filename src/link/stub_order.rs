//! The order GNU ld gives the veneers inside one stub section, reproduced so that images with
//! veneers are byte-identical to GNU ld's.
//!
//! GNU ld (binutils 2.40, `bfd/elf32-arm.c`) keeps every stub in one BFD hash table keyed by a
//! *stub name*, and assigns each stub its offset in its stub section while traversing that
//! table (`arm_build_one_stub`: a stub without an offset gets the current end of its section).
//! The order inside a stub section is therefore the table's traversal order, which follows
//! from:
//!
//! - the stub name (`elf32_arm_stub_name`): `"%08x_%s+%x_%d"` of group id, symbol name, addend
//!   and stub type for a call to a global symbol, `"%08x_%x:%x+%x_%d"` with the target
//!   section's id and the symbol's index for a local one. The group id is the BFD section id
//!   of the stub group's `link_sec`, the last code input section of the group (the stub
//!   section is placed right after it); the addend of a REL relocation is 0; the type of a
//!   Thumb-2 long branch (`ldr.w pc, [pc, #-0]`, what M-profile cores get) is
//!   `arm_stub_long_branch_thumb2_only`, number 22 in the `DEF_STUBS` list;
//! - the string hash of `bfd/hash.c` (`bfd_hash_hash`, on a 64-bit host's `unsigned long`);
//! - the table: 4051 buckets (`DEFAULT_SIZE`, ld without `--hash-size`), a new entry goes to
//!   the front of its bucket's chain, traversal walks the buckets in index order; past 3/4
//!   full the table grows to the next prime of `higher_prime_number`'s list and rehashes,
//!   moving each run of equal hashes to the front of its new chain.
//!
//! BFD section ids count every section BFD creates, from 0x10 (ids below are its standard
//! sections): the ARM back end's four linker sections (`.glue_7`, `.glue_7t`,
//! `.vfp11_veneer`, `.v4_bx`) come first, then each input file's sections in load order
//! ([`bfd_section_ordinals`] says which ELF sections become BFD sections). An archive opened
//! through `-l` (or while `-Bstatic`) has its first member read once to check its
//! architecture (`ld/ldfile.c`), which uses ids for that member's sections then; the member is
//! cached, so if it is later extracted it keeps them. All this was checked against GNU ld 2.40
//! by linking programs with 40 veneers in one stub section (only one group id in thousands
//! gives a particular order of 40) while adding objects and archives before them
//! (`tests/link_veneer_order.rs`).

use object::elf;

/// The id BFD gives the first section of the first input file.
pub const FIRST_INPUT_SECTION_ID: u32 = 0x10 + 4;

/// `arm_stub_long_branch_thumb2_only`'s number in GNU ld's stub type enumeration.
const STUB_LONG_BRANCH_THUMB2_ONLY: u32 = 22;

/// `DEFAULT_SIZE` of `bfd/hash.c`.
const DEFAULT_TABLE_SIZE: u64 = 4051;

/// The primes `higher_prime_number` grows a table to.
const PRIMES: &[u64] = &[
    31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287,
    1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689, 268435399,
    536870909, 1073741789, 2147483647, 4294967291,
];

/// What a veneer branches to, as GNU ld names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StubSymbol {
    /// A global or weak symbol, by name.
    Global(String),
    /// A local symbol: the BFD id of its section and its index in the object's symbol table.
    Local { section_id: u32, index: u32 },
}

/// The stub hash table key of a Thumb-2 long-branch veneer in the stub group whose last code
/// section has BFD id `group_id`.
pub fn stub_name(group_id: u32, symbol: &StubSymbol) -> String {
    let t = STUB_LONG_BRANCH_THUMB2_ONLY;
    match symbol {
        StubSymbol::Global(name) => format!("{group_id:08x}_{name}+0_{t}"),
        StubSymbol::Local { section_id, index } => {
            format!("{group_id:08x}_{section_id:x}:{index:x}+0_{t}")
        }
    }
}

/// `bfd_hash_hash`: each byte is added with itself shifted left by 17 and the sum mixed with
/// itself shifted right by 2; the length is folded in the same way at the end.
pub fn bfd_hash(name: &[u8]) -> u64 {
    let mix = |hash: u64, c: u64| {
        let h = hash.wrapping_add(c.wrapping_add(c << 17));
        h ^ (h >> 2)
    };
    let hash = name.iter().fold(0u64, |h, &c| mix(h, u64::from(c)));
    mix(hash, name.len() as u64)
}

/// The order in which GNU ld's table walks entries inserted with these hashes (given in
/// insertion order): insertion indices in traversal order.
pub fn traversal_order(hashes: &[u64]) -> Vec<usize> {
    let mut size = DEFAULT_TABLE_SIZE;
    // Each bucket's chain, front first.
    let mut buckets: Vec<Vec<usize>> = vec![Vec::new(); size as usize];
    for (i, &h) in hashes.iter().enumerate() {
        buckets[(h % size) as usize].insert(0, i);
        if (i as u64) < size * 3 / 4 {
            continue;
        }
        let Some(&bigger) = PRIMES.iter().find(|&&p| p > size) else {
            continue;
        };
        let mut grown: Vec<Vec<usize>> = vec![Vec::new(); bigger as usize];
        for chain in &buckets {
            let mut rest = &chain[..];
            while let Some(&first) = rest.first() {
                let run = rest
                    .iter()
                    .take_while(|&&e| hashes[e] == hashes[first])
                    .count();
                grown[(hashes[first] % bigger) as usize].splice(0..0, rest[..run].iter().copied());
                rest = &rest[run..];
            }
        }
        buckets = grown;
        size = bigger;
    }
    buckets.into_iter().flatten().collect()
}

/// Which sections of an ELF object BFD turns into sections (`bfd_section_from_shdr`), numbered
/// in the order it creates them. `headers` holds each section header's (type, link, info).
/// Every section but these becomes one: the null section, symbol tables, the section-name and
/// symbol string tables, and relocation sections that apply to a section through the symbol
/// table (BFD attaches those to their target). A relocation section placed before its target
/// creates the target first.
pub fn bfd_section_ordinals(
    headers: &[(elf::SectionType, u32, u32)],
    shstrndx: u32,
) -> Vec<Option<u32>> {
    let symtab = headers.iter().position(|h| h.0 == elf::SHT_SYMTAB);
    let symstr = symtab.map(|s| headers[s].1 as usize);
    let is_reloc = |i: usize| matches!(headers[i].0, elf::SHT_REL | elf::SHT_RELA);
    let attached = |i: usize| {
        let (_, link, info) = headers[i];
        is_reloc(i)
            && Some(link as usize) == symtab
            && info != 0
            && (info as usize) < headers.len()
            && !is_reloc(info as usize)
    };
    let makes_section = |i: usize| {
        i != 0
            && i != shstrndx as usize
            && Some(i) != symstr
            && !matches!(headers[i].0, elf::SHT_SYMTAB | elf::SHT_SYMTAB_SHNDX)
            && !attached(i)
    };
    let mut ordinals = vec![None; headers.len()];
    let mut next = 0;
    let mut create = |i: usize, ordinals: &mut Vec<Option<u32>>| {
        if makes_section(i) && ordinals[i].is_none() {
            ordinals[i] = Some(next);
            next += 1;
        }
    };
    for (i, &(_, _, info)) in headers.iter().enumerate() {
        if attached(i) {
            create(info as usize, &mut ordinals);
        }
        create(i, &mut ordinals);
    }
    ordinals
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GNU ld 2.40's order for the veneers of `tests/firmware/build/teensy`'s ITCM section
    /// (group id 0x1c2: libc's `lib_a-mlock.o(.text)`), read from its image.
    #[test]
    fn orders_as_gnu_ld_did() {
        let names = ["fixture_fail", "_init", "_Z10make_shapemm"];
        let hashes: Vec<u64> = names
            .iter()
            .map(|n| bfd_hash(stub_name(0x1c2, &StubSymbol::Global(n.to_string())).as_bytes()))
            .collect();
        let order: Vec<&str> = traversal_order(&hashes)
            .into_iter()
            .map(|i| names[i])
            .collect();
        assert_eq!(order, ["_Z10make_shapemm", "_init", "fixture_fail"]);
    }

    #[test]
    fn names_global_and_local_targets() {
        assert_eq!(
            stub_name(0x1fa, &StubSymbol::Global("main".into())),
            "000001fa_main+0_22"
        );
        let local = StubSymbol::Local {
            section_id: 0x4c,
            index: 0x1b,
        };
        assert_eq!(stub_name(0x19, &local), "00000019_4c:1b+0_22");
    }

    #[test]
    fn equal_buckets_walk_newest_first_and_growth_rehashes() {
        // Same bucket (4051 apart): the later insertion is walked first.
        assert_eq!(traversal_order(&[5, 5 + 4051, 3]), vec![2, 1, 0]);
        // Up to 3038 entries the table keeps 4051 buckets; the 3039th grows it to 4093.
        for (n, size) in [(3038u64, 4051u64), (3039, 4093)] {
            let hashes: Vec<u64> = (0..n).map(|i| i * 7 + 1).collect();
            let mut expected: Vec<usize> = (0..n as usize).collect();
            expected.sort_by_key(|&i| hashes[i] % size);
            assert_eq!(traversal_order(&hashes), expected, "{n} entries");
        }
        // Rehashing moves a chain's entries one by one to the front: equal new buckets reverse.
        let a = 1u64;
        let b = 1 + 4051 * 4093;
        let mut hashes = vec![a, b];
        hashes.extend((0..3037u64).map(|i| 2 + i * 7));
        let order = traversal_order(&hashes);
        let (pa, pb) = (
            order.iter().position(|&i| i == 0),
            order.iter().position(|&i| i == 1),
        );
        assert!(
            pa < pb,
            "after growth the older entry comes first: {pa:?} {pb:?}"
        );
    }

    #[test]
    fn counts_sections_as_bfd_does() {
        // null, .text, .rel.text, .data, .symtab, .strtab, .shstrtab
        let headers = [
            (elf::SHT_NULL, 0, 0),
            (elf::SHT_PROGBITS, 0, 0),
            (elf::SHT_REL, 4, 1),
            (elf::SHT_PROGBITS, 0, 0),
            (elf::SHT_SYMTAB, 5, 2),
            (elf::SHT_STRTAB, 0, 0),
            (elf::SHT_STRTAB, 0, 0),
        ];
        assert_eq!(
            bfd_section_ordinals(&headers, 6),
            vec![None, Some(0), None, Some(1), None, None, None]
        );
        // A relocation section before its target creates the target first.
        let headers = [
            (elf::SHT_NULL, 0, 0),
            (elf::SHT_REL, 4, 3),
            (elf::SHT_PROGBITS, 0, 0),
            (elf::SHT_PROGBITS, 0, 0),
            (elf::SHT_SYMTAB, 5, 2),
            (elf::SHT_STRTAB, 0, 0),
        ];
        assert_eq!(
            bfd_section_ordinals(&headers, 0),
            vec![None, None, Some(1), Some(0), None, None]
        );
    }
}
