//! Byte sizes as people write them: `32K`, `0x8000`, `1M`, `4096`.
//!
//! Board files, budgets on the command line (`--budget ITCM=16K`) and reports all speak in these.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A size or address in bytes that parses from and prints to the human forms used in board
/// files and on the command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub u64);

impl Bytes {
    /// Parses `4096`, `0x1000`, `4K`, `4KB`, `4KiB`, `1M`, `1MiB`, `1G` (binary multiples), with
    /// optional `_` separators.
    pub fn parse(text: &str) -> Result<Bytes, String> {
        let cleaned: String = text.trim().chars().filter(|c| *c != '_').collect();
        let upper = cleaned.to_ascii_uppercase();
        let (digits, multiplier) = [
            ("KIB", 1u64 << 10),
            ("MIB", 1 << 20),
            ("GIB", 1 << 30),
            ("KB", 1 << 10),
            ("MB", 1 << 20),
            ("GB", 1 << 30),
            ("K", 1 << 10),
            ("M", 1 << 20),
            ("G", 1 << 30),
        ]
        .iter()
        .find_map(|(suffix, mult)| upper.strip_suffix(suffix).map(|d| (d, *mult)))
        .unwrap_or((upper.as_str(), 1));
        let value = if let Some(hex) = digits.strip_prefix("0X") {
            u64::from_str_radix(hex, 16)
        } else {
            digits.parse::<u64>()
        }
        .map_err(|_| format!("`{text}` is not a size (examples: 4096, 0x1000, 32K, 1M)"))?;
        value
            .checked_mul(multiplier)
            .map(Bytes)
            .ok_or_else(|| format!("`{text}` is too large"))
    }
}

impl fmt::Display for Bytes {
    /// Prints the shortest exact form: `32K`, `1M`, or plain bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v != 0 && v % (1 << 20) == 0 {
            write!(f, "{}M", v >> 20)
        } else if v != 0 && v % (1 << 10) == 0 {
            write!(f, "{}K", v >> 10)
        } else {
            write!(f, "{v}")
        }
    }
}

impl std::str::FromStr for Bytes {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Bytes::parse(s)
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(n) => Ok(Bytes(n)),
            Raw::Text(t) => Bytes::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Bytes;

    #[test]
    fn parses_human_sizes() {
        assert_eq!(Bytes::parse("4096"), Ok(Bytes(4096)));
        assert_eq!(Bytes::parse("0x8000"), Ok(Bytes(0x8000)));
        assert_eq!(Bytes::parse("32K"), Ok(Bytes(32 * 1024)));
        assert_eq!(Bytes::parse("32kib"), Ok(Bytes(32 * 1024)));
        assert_eq!(Bytes::parse("1_536K"), Ok(Bytes(1536 * 1024)));
        assert_eq!(Bytes::parse("8M"), Ok(Bytes(8 << 20)));
        assert!(Bytes::parse("12Q").is_err());
        assert!(Bytes::parse("").is_err());
        assert!(Bytes::parse("99999999999999G").is_err());
    }

    #[test]
    fn prints_shortest_exact_form() {
        assert_eq!(Bytes(32 * 1024).to_string(), "32K");
        assert_eq!(Bytes(8 << 20).to_string(), "8M");
        assert_eq!(Bytes(1000).to_string(), "1000");
        assert_eq!(Bytes(0).to_string(), "0");
    }
}
