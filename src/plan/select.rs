//! Which dirty partitions a run takes: `--partition` glob, `--shard K/N`, `--max-partitions`.

use crate::error::{Error, Result};
use globset::{GlobBuilder, GlobMatcher};
use std::str::FromStr;

/// This worker's deterministic share of the dirty partitions: partition `p` belongs to
/// shard `fnv1a(p) % count`, so a partition keeps its shard whatever else is dirty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not a shard; write K/N with 0 <= K < N, e.g. 0/4");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl Shard {
    pub fn owns(&self, partition: &str) -> bool {
        self.of(partition) == self.index
    }

    pub fn of(&self, partition: &str) -> u32 {
        (fnv1a(partition.as_bytes()) % self.count as u64) as u32
    }
}

/// FNV-1a: stable across platforms and releases, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    filter: Option<(String, GlobMatcher)>,
    pub shard: Option<Shard>,
    pub max_partitions: Option<usize>,
}

impl Selection {
    /// `filter` is a glob over partition paths, e.g. `dt=2024-03-*/hour=0?`; `*` does not cross `/`.
    pub fn new(
        filter: Option<&str>,
        shard: Option<Shard>,
        max_partitions: Option<usize>,
    ) -> Result<Self> {
        let filter = filter
            .map(|f| {
                GlobBuilder::new(f)
                    .literal_separator(true)
                    .build()
                    .map(|g| (f.to_string(), g.compile_matcher()))
                    .map_err(|e| Error::Usage(format!("--partition {f:?}: {e}")))
            })
            .transpose()?;
        Ok(Selection {
            filter,
            shard,
            max_partitions,
        })
    }

    /// Whether a dirty partition is taken, given how many were taken before it; else why not.
    pub fn decide(&self, partition: &str, already_chosen: usize) -> Result<(bool, Option<String>)> {
        if let Some((text, glob)) = &self.filter
            && !glob.is_match(partition)
        {
            return Ok((false, Some(format!("does not match --partition {text}"))));
        }
        if let Some(shard) = self.shard
            && !shard.owns(partition)
        {
            return Ok((
                false,
                Some(format!(
                    "belongs to shard {}/{}",
                    shard.of(partition),
                    shard.count
                )),
            ));
        }
        if let Some(max) = self.max_partitions
            && already_chosen >= max
        {
            return Ok((false, Some(format!("over --max-partitions {max}"))));
        }
        Ok((true, None))
    }
}
