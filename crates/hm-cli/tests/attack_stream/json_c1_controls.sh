#!/bin/sh
# Finding: with --json, a VIN holding DEL (U+007F) or a C1 control (U+009B, the 8-bit CSI) is
# printed as `\u{7f}` / `\u{9b}`: escape_controls() runs over the JSON text, and that is not a
# JSON escape, so the line is not valid JSON. Exits 1 while the weakness is there.
. "$(dirname "$0")/lib.sh"
hm stream --json --count 2 > $W/out 2> $W/err & P=$!
wait_subscribed $W/err || exit 2
publish "$(msg b1 'VIN\u009b31mX')" "$(msg b2 'VIN\u007fX')"
wait $P
python3 - $W/out <<'P'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
bad = []
for l in lines:
    try:
        json.loads(l)
    except ValueError as e:
        bad.append((l, str(e)))
for l, e in bad:
    print("not JSON:", e, ":", l)
sys.exit(1 if bad or len(lines) != 2 else 0)
P
