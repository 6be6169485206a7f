#!/bin/sh
# Finding: --json repeats the message_id on every value's line, and nothing bounds its length: one
# message of under 1 MiB (a 500 KB message_id, 200 one-byte values) prints about 100 MB. Expected:
# output in proportion to the message (e.g. an over-long message_id reported as a bad message, or
# cut). Exits 1 while the weakness is there.
. "$(dirname "$0")/lib.sh"
hm stream --json --count 1 > $W/out 2> $W/err & P=$!
wait_subscribed $W/err || exit 2
publish_py '[__import__("json").dumps({"version": 2, "application_id": "48aa1779-91c2-468e-97e9-ab112efd53b9", "message_id": "I"*500000, "vin": "V", "data": {"diagnostics": {"odometer": [{"data": 1}]*200}}})]'
wait $P
size=$(wc -c < $W/out)
echo "one message of about 500 KB printed $size bytes"
[ "$size" -le 4000000 ]
