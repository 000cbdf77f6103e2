//! Counters flattened to dotted names (`decode.rejects.bad_checksum`), the form the store's
//! ingest table keeps them in, from any serialisable record of counts.

use serde::Serialize;

/// Counters of any serialisable record, flattened to `prefix.field -> value`: nested records
/// (the reject counts) and maps (messages by type) give dotted names, and whatever is not a
/// count is left out.
pub fn flatten_counters<T: Serialize>(prefix: &str, record: &T) -> Vec<(String, u64)> {
    let mut counters = Vec::new();
    flatten(
        prefix,
        &serde_json::to_value(record).unwrap_or_default(),
        &mut counters,
    );
    counters
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, u64)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                flatten(&format!("{prefix}.{key}"), value, out);
            }
        }
        serde_json::Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                out.push((prefix.to_string(), n));
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::decode::DecodeStats;

    #[test]
    fn nested_counts_get_dotted_names() {
        let mut stats = DecodeStats {
            lines: 3,
            ..DecodeStats::default()
        };
        stats.by_type[5] = 2;
        stats.rejects.bad_checksum = 1;
        let counters = stats.counters();
        for (name, value) in [
            ("decode.lines", 3),
            ("decode.by_type.5", 2),
            ("decode.rejects.bad_checksum", 1),
        ] {
            assert!(
                counters.contains(&(name.to_string(), value)),
                "{name} in {counters:?}"
            );
        }
        assert!(!counters.iter().any(|(name, _)| name == "decode.by_type.1"));
    }
}
