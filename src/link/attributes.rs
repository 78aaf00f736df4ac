//! `.ARM.attributes` (the ARM build attributes, AAELF "Build attributes"): the floating-point
//! argument-passing ABI of every input object must agree, or calls between them pass floats in
//! the wrong registers.
//!
//! Read by hand: the `object` crate exposes the section but not its contents. Layout: a format
//! byte `A`, then vendor subsections (u32 length, NUL-terminated vendor name); the `aeabi` one
//! holds sub-subsections (ULEB tag, u32 length) whose attributes are ULEB tag/value pairs, with a
//! few tags carrying NUL-terminated strings instead.

use super::resolve::Resolved;

/// Tag_ABI_VFP_args: 0 base (core registers), 1 VFP registers, 2 toolchain-specific, 3 both.
const TAG_ABI_VFP_ARGS: u64 = 28;
/// Tag_ABI_FP_number_model: 0 means the object uses no floating point at all.
const TAG_ABI_FP_NUMBER_MODEL: u64 = 23;
const TAG_FILE: u64 = 1;

/// The attributes this check needs from one object's `.ARM.attributes`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FpAbi {
    pub vfp_args: u64,
    pub fp_number_model: u64,
}

fn uleb(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn skip_string(data: &[u8], at: &mut usize) -> Option<()> {
    let len = data.get(*at..)?.iter().position(|&b| b == 0)?;
    *at += len + 1;
    Some(())
}

fn u32_at(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Reads the file-scope FP attributes. `Err` describes where the section is malformed.
pub fn parse(data: &[u8]) -> Result<FpAbi, String> {
    let mut abi = FpAbi::default();
    if data.first() != Some(&b'A') {
        return Err("does not start with format version `A`".into());
    }
    let mut at = 1;
    while at < data.len() {
        let len = u32_at(data, at).ok_or(format!("truncated subsection length at {at:#x}"))?;
        let end = at
            .checked_add(len)
            .filter(|&e| e <= data.len() && len >= 5)
            .ok_or(format!("subsection at {at:#x} has bad length {len}"))?;
        let mut p = at + 4;
        let vendor_start = p;
        skip_string(&data[..end], &mut p).ok_or(format!("unterminated vendor name at {at:#x}"))?;
        if &data[vendor_start..p - 1] == b"aeabi" {
            while p < end {
                let sub_start = p;
                let tag = uleb(&data[..end], &mut p).ok_or("truncated tag")?;
                let sub_len = u32_at(data, p).ok_or("truncated length")?;
                let sub_end = sub_start
                    .checked_add(sub_len)
                    .filter(|&e| e <= end && e > p + 3)
                    .ok_or(format!(
                        "attribute block at {sub_start:#x} has bad length {sub_len}"
                    ))?;
                p += 4;
                if tag == TAG_FILE {
                    read_attributes(&data[..sub_end], &mut p, &mut abi)
                        .ok_or(format!("truncated attribute in block at {sub_start:#x}"))?;
                }
                p = sub_end;
            }
        }
        at = end;
    }
    Ok(abi)
}

fn read_attributes(data: &[u8], p: &mut usize, abi: &mut FpAbi) -> Option<()> {
    while *p < data.len() {
        let tag = uleb(data, p)?;
        match tag {
            // Tag_CPU_raw_name, Tag_CPU_name, Tag_conformance: strings.
            4 | 5 | 67 => skip_string(data, p)?,
            // Tag_compatibility: a flag, then a vendor name.
            32 => {
                uleb(data, p)?;
                skip_string(data, p)?;
            }
            // Tag_also_compatible_with: a tag/value pair as a NUL-terminated blob.
            65 => skip_string(data, p)?,
            // Above 32, odd tags are strings and even tags numbers; below, all numbers.
            t if t > 32 && t % 2 == 1 => skip_string(data, p)?,
            t => {
                let v = uleb(data, p)?;
                if t == TAG_ABI_VFP_ARGS {
                    abi.vfp_args = v;
                } else if t == TAG_ABI_FP_NUMBER_MODEL {
                    abi.fp_number_model = v;
                }
            }
        }
    }
    Some(())
}

fn describe(vfp_args: u64) -> &'static str {
    match vfp_args {
        0 => "passes floating-point arguments in core registers (-mfloat-abi=soft or softfp)",
        1 => "passes floating-point arguments in FPU registers (-mfloat-abi=hard)",
        _ => "uses a toolchain-specific floating-point calling convention",
    }
}

/// Checks that every object that uses floating point agrees on how FP arguments are passed, as
/// GNU ld does (objects without floating point, or marked compatible with both, are ignored).
pub fn check_fp_abi(r: &Resolved) -> Result<(), String> {
    let mut first: Option<(usize, u64)> = None;
    for (oi, o) in r.objects.iter().enumerate() {
        let Some(s) = o
            .sections
            .iter()
            .find(|s| s.sh_type == object::elf::SHT_ARM_ATTRIBUTES.0)
        else {
            continue;
        };
        let abi =
            parse(&s.data).map_err(|e| format!("{}: malformed .ARM.attributes: {e}", o.origin))?;
        if abi.fp_number_model == 0 || abi.vfp_args == 3 {
            continue;
        }
        match first {
            None => first = Some((oi, abi.vfp_args)),
            Some((fi, v)) if v != abi.vfp_args => {
                return Err(format!(
                    "floating-point ABI mismatch: {} {}, but {} {}; build every object and \
                     library with the same -mfloat-abi (and pick the matching newlib/libgcc \
                     multilib directory, e.g. thumb/v7e-m+dp/hard)",
                    r.objects[fi].origin,
                    describe(v),
                    o.origin,
                    describe(abi.vfp_args)
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `.ARM.attributes` section with an `aeabi` file block holding `attrs`.
    fn section(attrs: &[u8]) -> Vec<u8> {
        let mut file = vec![1u8];
        file.extend_from_slice(&((attrs.len() + 5) as u32).to_le_bytes());
        file.extend_from_slice(attrs);
        let mut out = vec![b'A'];
        out.extend_from_slice(&((file.len() + 4 + 6) as u32).to_le_bytes());
        out.extend_from_slice(b"aeabi\0");
        out.extend_from_slice(&file);
        out
    }

    #[test]
    fn reads_the_fp_tags_between_strings() {
        // Tag_CPU_name "7E-M", Tag_CPU_arch 13, Tag_ABI_FP_number_model 3, Tag_ABI_VFP_args 1,
        // Tag_compatibility 0 "", Tag_conformance "2.09".
        let attrs = [
            5, b'7', b'E', b'-', b'M', 0, 6, 13, 23, 3, 28, 1, 32, 0, 0, 67, b'2', b'.', b'0',
            b'9', 0,
        ];
        assert_eq!(
            parse(&section(&attrs)).unwrap(),
            FpAbi {
                vfp_args: 1,
                fp_number_model: 3
            }
        );
        assert_eq!(parse(&section(&[6, 13])).unwrap(), FpAbi::default());
    }

    #[test]
    fn malformed_sections_are_errors_not_panics() {
        assert!(parse(b"").is_err());
        assert!(parse(b"B").is_err());
        let good = section(&[23, 3, 28, 1]);
        for cut in 2..good.len() {
            assert!(parse(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = good.clone();
        bad[1] = 0xff;
        assert!(parse(&bad).is_err());
        // A value whose ULEB never ends.
        let endless = section(&[28, 0x80, 0x80]);
        assert!(parse(&endless).is_err());
    }
}
