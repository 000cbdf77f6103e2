#!/usr/bin/env bash
# Compares `aisgap decode --summary` with pyais on the same 1,000,000-line file of tag-blocked
# position traffic (the Norwegian Coastal Administration sample, repeated), in one run.
# Creates a throwaway virtualenv with pyais in a temporary directory and removes it afterwards.
#
# Usage: scripts/bench_pyais.sh [LINES]
set -euo pipefail

lines="${1:-1000000}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$repo/../shared/corpora/kystverket/Ais1000Lines.nm4"
if [[ ! -f "$corpus" ]]; then
    echo "missing $corpus: the shared corpora must be checked out next to the repository" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "building aisgap (release)..." >&2
cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin aisgap
aisgap="$repo/target/release/aisgap"

echo "creating a virtualenv with pyais in $work..." >&2
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check pyais
py="$work/venv/bin/python"
pyais_version="$("$py" -c 'import pyais; print(pyais.__version__)')"

feed="$work/feed.nmea"
"$py" - "$corpus" "$feed" "$lines" <<'PY'
import sys
source, target, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [l for l in open(source, "rb").read().split(b"\n") if l]
written = 0
with open(target, "wb") as out:
    while written < wanted:
        for line in lines:
            out.write(line + b"\n")
        written += len(lines)
print(f"{written} lines written to {target}", file=sys.stderr)
PY

echo "decoding with pyais $pyais_version (every message fully decoded)..." >&2
pyais_result="$("$py" - "$feed" <<'PY'
import sys, time
from pyais.stream import FileReaderStream

start = time.perf_counter()
sentences = messages = failed = 0
for message in FileReaderStream(sys.argv[1]):
    sentences += message.frag_cnt
    try:
        message.decode()
        messages += 1
    except Exception:
        failed += 1
elapsed = time.perf_counter() - start
print(f"{sentences} {messages} {failed} {elapsed:.6f}")
PY
)"
read -r py_sentences py_messages py_failed py_secs <<<"$pyais_result"

echo "decoding with aisgap..." >&2
start=$(date +%s.%N)
summary="$("$aisgap" decode --summary "$feed" 2>&1 >/dev/null)"
end=$(date +%s.%N)
ours_secs=$(echo "$end - $start" | bc -l)
ours_sentences=$(sed -n 's/.* lines, \([0-9]*\) sentences, \([0-9]*\) messages.*/\1/p' <<<"$summary")
ours_messages=$(sed -n 's/.* lines, \([0-9]*\) sentences, \([0-9]*\) messages.*/\2/p' <<<"$summary")

py_rate=$(echo "$py_sentences / $py_secs" | bc -l)
ours_rate=$(echo "$ours_sentences / $ours_secs" | bc -l)
printf 'file: %s lines of tag-blocked position traffic (%s)\n' "$lines" "$(du -h "$feed" | cut -f1)"
printf 'pyais %s: %d sentences, %d messages (%d failed) in %.2f s = %.0f sentences/s\n' \
    "$pyais_version" "$py_sentences" "$py_messages" "$py_failed" "$py_secs" "$py_rate"
printf 'aisgap:      %d sentences, %d messages in %.2f s = %.0f sentences/s\n' \
    "$ours_sentences" "$ours_messages" "$ours_secs" "$ours_rate"
printf 'ratio: aisgap is %.1fx pyais\n' "$(echo "$ours_rate / $py_rate" | bc -l)"
