//! Hash maps for the lookups at every event (by MMSI, by pair, by cell), written to checkpoints
//! in key order: a checkpoint reads exactly as it did when these maps were B-trees, and two
//! runs over the same input write the same bytes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::Mmsi;

/// Multiplies the key into 64 bits. MMSIs, pair keys and grid cells are never chosen to collide by anyone
/// who could gain from it (a sender only picks its own MMSI), so SipHash's protection is not
/// worth its cost at every fix.
#[derive(Clone, Copy, Default)]
pub struct SpreadHasher(u64);

impl Hasher for SpreadHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn write_i32(&mut self, n: i32) {
        self.write_u64(u64::from(n as u32));
    }
}

pub type Spread = BuildHasherDefault<SpreadHasher>;

/// Per-vessel state of a detector.
pub type MmsiMap<V> = HashMap<Mmsi, V, Spread>;

/// Vessels looked up at every event (the watched ones, those with an open gap). Walked only
/// where the order does not matter, or after sorting.
pub type MmsiSet = HashSet<Mmsi, Spread>;

/// `#[serde(with = "in_key_order")]`: the map as a B-tree would write it, read back into a
/// hash map.
pub mod in_key_order {
    use super::*;

    pub fn serialize<K, V, H, S>(map: &HashMap<K, V, H>, serializer: S) -> Result<S::Ok, S::Error>
    where
        K: Ord + Serialize,
        V: Serialize,
        S: Serializer,
    {
        let sorted: BTreeMap<&K, &V> = map.iter().collect();
        sorted.serialize(serializer)
    }

    pub fn deserialize<'de, K, V, H, D>(deserializer: D) -> Result<HashMap<K, V, H>, D::Error>
    where
        K: Ord + Hash + Deserialize<'de>,
        V: Deserialize<'de>,
        H: BuildHasher + Default,
        D: Deserializer<'de>,
    {
        let sorted = BTreeMap::<K, V>::deserialize(deserializer)?;
        Ok(sorted.into_iter().collect())
    }
}

/// The keys of the entries that pass, in key order: what a B-tree's iteration gave, for the
/// walks whose order decides the order of the changes written.
pub fn sorted_keys<K: Ord + Copy, V, H>(
    map: &HashMap<K, V, H>,
    keep: impl Fn(&V) -> bool,
) -> Vec<K> {
    let mut keys: Vec<K> = map
        .iter()
        .filter(|(_, v)| keep(v))
        .map(|(k, _)| *k)
        .collect();
    keys.sort_unstable();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Default)]
    struct Held {
        #[serde(with = "in_key_order")]
        map: MmsiMap<u32>,
    }

    #[test]
    fn a_hashed_map_writes_what_a_b_tree_wrote_and_reads_it_back() {
        let keys = [445_000_003u32, 273_000_001, 445_000_001, 1];
        let mut held = Held::default();
        let mut tree = BTreeMap::new();
        for (i, k) in keys.iter().enumerate() {
            held.map.insert(Mmsi(*k), i as u32);
            tree.insert(Mmsi(*k), i as u32);
        }
        let text = serde_json::to_string(&held).unwrap();
        assert_eq!(
            text,
            format!("{{\"map\":{}}}", serde_json::to_string(&tree).unwrap())
        );
        let back: Held = serde_json::from_str(&text).unwrap();
        assert_eq!(back.map, held.map);
        assert_eq!(
            sorted_keys(&held.map, |v| *v != 2),
            [Mmsi(1), Mmsi(273_000_001), Mmsi(445_000_003)]
        );
    }
}
