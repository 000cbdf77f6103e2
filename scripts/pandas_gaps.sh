#!/usr/bin/env bash
# The dark periods of a MarineCadastre CSV the way an analyst finds them first with pandas: read
# the CSV, sort by vessel and time, take each vessel's time differences and keep those of 6 h
# or more. The baseline `cargo bench --bench speed` measures `aisgap replay` of the same CSV
# against.
#
# Prints one line: `rows=N gaps=G seconds=S` (S: the pandas work alone, from reading the file
# to the gap list; the caller times the whole process, interpreter start included).
# Installs pandas into a throwaway virtualenv (reused across runs; remove it at will) and exits
# 3, saying why, when pip cannot install it (no network, no venv module).
#
# Usage: scripts/pandas_gaps.sh FILE.csv
#   AISGAP_VENV   the virtualenv's folder [default: target/pandas-venv of this checkout]
set -euo pipefail

csv="${1:?usage: scripts/pandas_gaps.sh FILE.csv}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${AISGAP_VENV:-$repo/target/pandas-venv}"
py="$venv/bin/python"

if ! "$py" -c 'import pandas' 2>/dev/null; then
    echo "creating a virtualenv with pandas in $venv..." >&2
    if ! python3 -m venv "$venv" >&2 ||
        ! "$venv/bin/pip" install --quiet --disable-pip-version-check pandas >&2; then
        echo "pandas could not be installed into $venv (pip install pandas failed: no network or no package index?)" >&2
        exit 3
    fi
fi

"$py" - "$csv" <<'PY'
import sys, time
import pandas as pd

start = time.perf_counter()
fixes = pd.read_csv(sys.argv[1], usecols=["MMSI", "BaseDateTime", "LAT", "LON"],
                    parse_dates=["BaseDateTime"])
fixes = fixes.sort_values(["MMSI", "BaseDateTime"])
silence = fixes.groupby("MMSI")["BaseDateTime"].diff()
gaps = fixes[silence >= pd.Timedelta(hours=6)]
elapsed = time.perf_counter() - start
print(f"rows={len(fixes)} gaps={len(gaps)} seconds={elapsed:.3f}")
PY
