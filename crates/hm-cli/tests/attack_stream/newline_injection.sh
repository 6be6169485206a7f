#!/bin/sh
# Finding: a newline in a VIN (stdout) or in a bad message's message_id (stderr) forges whole
# output lines; escape_controls() escapes every control character but '\n'. Exits 1 while the
# weakness is there.
. "$(dirname "$0")/lib.sh"
hm stream --count 1 > $W/out 2> $W/err & P=$!
wait_subscribed $W/err || exit 2
publish '{"message_id":"bad\nFORGEDVIN  diagnostics.odometer  999 kilometers  -","vin":1}' \
  "$(msg a1 'VIN1\nFORGEDVIN  diagnostics.odometer  999 kilometers  2026-01-01T00:00:00Z')"
wait $P
fail=0
if grep -q '^FORGEDVIN' $W/out; then echo "stdout has a forged line:"; cat $W/out; fail=1; fi
if grep -q '^FORGEDVIN' $W/err; then echo "stderr has a forged line:"; cat $W/err; fail=1; fi
[ "$(wc -l < $W/out)" -eq 1 ] || { echo "one value, $(wc -l < $W/out) lines"; fail=1; }
exit $fail
