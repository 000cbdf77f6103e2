#!/usr/bin/env bash
# Counts the messages of each AIS type in corpus files with pyais, an independent decoder, for
# the expectations of tests/integration/counts_by_type.rs. Creates a throwaway virtualenv with
# pyais in a temporary directory and removes it afterwards.
#
# Usage: scripts/pyais_counts.sh FILE...   (e.g. ../shared/corpora/simpleais/sample.ais)
set -euo pipefail

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check pyais
"$work/venv/bin/python" - "$@" <<'PY'
import collections, re, sys
import pyais
from pyais.stream import IterMessages

# The sentence of each line, without what logs put before (times, tag blocks) or after it.
sentence = re.compile(rb'![A-Za-z0-9=]{2}VD[MO],[^*]*\*[0-9A-Fa-f]{2}')
print(f"pyais {pyais.__version__}")
for path in sys.argv[1:]:
    found = [m.group(0) for m in map(sentence.search, open(path, 'rb').read().split(b'\n')) if m]
    by_type = collections.Counter()
    for message in IterMessages(found):
        try:
            by_type[message.decode().msg_type] += 1
        except Exception:
            pass
    counts = ", ".join(f"({t}, {n})" for t, n in sorted(by_type.items()))
    print(f"{path}: {sum(by_type.values())} messages: [{counts}]")
PY
