#!/bin/bash
# Finding: --key (also --cert/--ca) is read with fs::read whatever it is: /dev/zero is read until
# memory runs out (6 GB RSS in 4 s here; capped below with ulimit -v 1.5 GB, it ends
# with "out of memory"), a FIFO with no writer blocks
# forever. Expected: a clear `bad_local_input` error (exit 3) at once, like for a directory.
# No broker needed. Exits 1 while the weakness is there.
HERE=$(cd "$(dirname "$0")" && pwd)
HM=${HM:-$HERE/../../../../target/debug/hm}
W=$(mktemp -d); trap 'rm -rf $W' EXIT
mkfifo $W/fifo; : > $W/cert.pem
export HM_APPLICATION_ID=48aa1779-91c2-468e-97e9-ab112efd53b9 HM_MQTT_URL=mqtts://127.0.0.1:1 \
  HM_MQTT_CERT_FILE=$W/cert.pem HM_MQTT_CA_FILE=$W/cert.pem
fail=0
for key in /dev/zero $W/fifo; do
  (ulimit -v 1500000; timeout 10 "$HM" stream --key "$key" > $W/out 2>&1); rc=$?
  if [ $rc -ne 3 ] || grep -q "out of memory" $W/out; then echo "--key $key: exit $rc (124 = still running after 10 s): $(head -c 300 $W/out)"; fail=1; fi
done
exit $fail
