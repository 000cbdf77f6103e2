#!/usr/bin/env bash
# Opens the trips that `aisgap export --format parquet` writes with DuckDB and tallies them by
# port, vessel and month in SQL; the result must equal `aisgap query tally --by
# port,vessel,month` (trips,
# high-confidence trips and estimated barrels of every group with trips; open calls come from
# the port visits, which this export does not hold). Exits non-zero on any difference.
# Creates a throwaway virtualenv with the duckdb package in a temporary directory and removes
# it afterwards; fails when pip cannot install it.
#
# Usage: scripts/duckdb_tally.sh [DB]
#   DB      a database to tally [default: a replay of samples/scenario.nmea]
#   AISGAP  the aisgap binary to use [default: a release build of this checkout]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ -n "${AISGAP:-}" ]]; then
    aisgap="$AISGAP"
else
    echo "building aisgap (release)..." >&2
    cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin aisgap
    aisgap="$repo/target/release/aisgap"
fi

db="${1:-}"
if [[ -z "$db" ]]; then
    db="$work/sample.db"
    echo "replaying samples/scenario.nmea into $db..." >&2
    "$aisgap" replay --config "$repo/samples/aisgap.toml" --db "$db" \
        "$repo/samples/scenario.nmea" >/dev/null 2>"$work/replay.log" ||
        { cat "$work/replay.log" >&2; exit 1; }
fi

"$aisgap" export --db "$db" --what trips --format parquet --out "$work/trips" >&2
"$aisgap" query tally --db "$db" --by port,vessel,month --format json >"$work/tally.json"

echo "creating a virtualenv with duckdb in $work..." >&2
python3 -m venv "$work/venv"
if ! "$work/venv/bin/pip" install --quiet --disable-pip-version-check duckdb >"$work/pip.log" 2>&1; then
    cat "$work/pip.log" >&2
    echo "duckdb_tally: pip could not install the duckdb package" >&2
    exit 1
fi

"$work/venv/bin/python" - "$work/trips" "$work/tally.json" <<'PY'
import json, math, sys
import duckdb

trips, tally_file = sys.argv[1], sys.argv[2]
con = duckdb.connect()
# Months are UTC months, as aisgap counts them.
con.execute("SET TimeZone = 'UTC'")
query = f"""
SELECT port,
       mmsi,
       strftime(dark_from, '%Y-%m')                 AS month,
       count(*)                                     AS trips,
       count(*) FILTER (WHERE confidence = 'high')  AS high_confidence,
       sum(coalesce(est_barrels, 0))                AS est_barrels
FROM read_parquet('{trips}/*.parquet')
GROUP BY port, mmsi, month
ORDER BY port, mmsi, month
"""
duck = [tuple(r) for r in con.execute(query).fetchall()]
ours = [
    (r["port"], r["mmsi"], r["month"], r["trips"], r["high_confidence"], r["est_barrels"])
    for r in json.load(open(tally_file))
    if r["trips"] > 0
]
print(f"duckdb {duckdb.__version__}: {len(duck)} groups; aisgap query tally: {len(ours)} groups with trips")
for row in duck:
    print("  %-12s %9d %s  trips %3d  high %3d  est_barrels %.0f" % row)

def same(a, b):
    return a[:5] == b[:5] and math.isclose(a[5], b[5], rel_tol=1e-9, abs_tol=1e-6)

if len(duck) != len(ours) or not all(same(d, o) for d, o in zip(duck, ours)):
    print("DIFFERENT: duckdb", duck, "aisgap", ours, file=sys.stderr)
    sys.exit(1)
if not duck:
    print("no trips to tally: nothing was compared", file=sys.stderr)
    sys.exit(1)
print("same tally")
PY
