#!/bin/sh
# Finding: --json repeats the message_id on every value's line, and nothing bounded its length: one
# message of under 1 MiB (a 500 KB message_id, 200 one-byte values) printed about 100 MB, and its
# warnings 1 MB lines. Now a message_id (or VIN) longer than 256 bytes makes the message a bad one:
# reported in one short warning, acknowledged and skipped; the next message is printed as usual.
# Exits 1 while the weakness is there.
. "$(dirname "$0")/lib.sh"
for mode in --json ""; do
  hm stream $mode --count 1 > $W/out 2> $W/err & P=$!
  wait_subscribed $W/err || exit 2
  publish_py '[__import__("json").dumps({"version": 2, "application_id": "48aa1779-91c2-468e-97e9-ab112efd53b9", "message_id": "I"*500000, "vin": "V", "data": {"diagnostics": {"odometer": [{"data": 1}]*200}}})]'
  publish "$(msg m2 VIN2)"
  wait $P || { echo "hm stream $mode: exit $?: $(head -c 500 $W/err)"; exit 1; }
  out=$(wc -c < $W/out); err=$(wc -c < $W/err)
  echo "hm stream $mode: one message of about 500 KB printed $out bytes on stdout, $err on stderr"
  [ "$out" -le 4000 ] && [ "$err" -le 4000 ] || exit 1
  grep -q 'message_id of 500000 bytes' $W/err || { echo "no warning: $(cat $W/err)"; exit 1; }
  [ "$(wc -l < $W/out)" -eq 1 ] && grep -q VIN2 $W/out || { echo "the next message is not printed: $(cat $W/out)"; exit 1; }
done
