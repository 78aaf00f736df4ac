//! Checks that the target runs the ELF a profile will be attributed to: a profile of other code
//! is worse than none, because every later step trusts its addresses.
//!
//! A few words are compared, read through the probe: the start of the lowest load segment (the
//! boot header or vector table) and the code at the entry point (the start of `.text`).

use super::target::Target;
use crate::sim::Image;

/// Bytes compared at each place.
const COMPARED: usize = 16;

/// The places compared: (address, the ELF's bytes there).
fn places(image: &Image) -> Vec<(u32, Vec<u8>)> {
    let mut out = Vec::new();
    let mut segments: Vec<_> = image
        .segments
        .iter()
        .filter(|s| !s.data.is_empty())
        .collect();
    segments.sort_by_key(|s| s.paddr);
    if let Some(first) = segments.first() {
        out.push((
            first.paddr,
            first.data[..first.data.len().min(COMPARED)].to_vec(),
        ));
    }
    let entry = image.entry & !3;
    if let Some(s) = segments
        .iter()
        .find(|s| (s.paddr..s.paddr + s.data.len() as u32).contains(&entry))
    {
        let at = (entry - s.paddr) as usize;
        let bytes = s.data[at..(at + COMPARED).min(s.data.len())].to_vec();
        if out.iter().all(|(a, _)| *a != entry) {
            out.push((entry, bytes));
        }
    }
    out
}

/// `Ok` when the target holds `image`'s bytes at the compared places; otherwise a message that
/// says where they differ and what to do (`program` names the command that programs it).
pub fn image_matches(
    target: &mut dyn Target,
    image: &Image,
    path: &str,
    program: &str,
) -> Result<(), String> {
    for (address, want) in places(image) {
        let words = want.len().div_ceil(4);
        let mut got = vec![0u32; words];
        target
            .read_block(address & !3, &mut got)
            .map_err(|e| format!("cannot read {address:#010x} to check the image: {e}"))?;
        let got: Vec<u8> = got.iter().flat_map(|w| w.to_le_bytes()).collect();
        if got[..want.len()] != want[..] {
            return Err(format!(
                "the target does not run {path}: the {} bytes at {address:#010x} differ \
                 (target {:02x?}, ELF {:02x?}); program it first ({program}) or pass the ELF it \
                 runs",
                want.len(),
                &got[..want.len().min(8)],
                &want[..want.len().min(8)]
            ));
        }
    }
    Ok(())
}
