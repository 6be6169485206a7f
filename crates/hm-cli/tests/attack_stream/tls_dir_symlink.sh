#!/bin/bash
# Finding: `hm emulator serve --tls-dir DIR` writes ca.pem, server.pem and client.pem with
# fs::write, which follows symlinks: a ca.pem planted in a shared DIR (README suggests
# /tmp/hm-tls, which anyone can create first) makes the emulator overwrite the symlink's target,
# e.g. the user's ~/.bashrc. Expected: refuse (or replace the link, never its target), and refuse
# a DIR not owned by the user or writable by others. Exits 1 while the weakness is there.
HERE=$(cd "$(dirname "$0")" && pwd)
HM=${HM:-$HERE/../../../../target/debug/hm}
W=$(mktemp -d); trap 'kill $P 2>/dev/null; rm -rf $W' EXIT
echo "precious user data" > $W/precious.txt
mkdir $W/tls && ln -s $W/precious.txt $W/tls/ca.pem
"$HM" emulator serve --port 0 --tls-dir $W/tls > $W/out 2>&1 & P=$!
for i in $(seq 100); do grep -q 'MQTT broker\|error' $W/out && break; sleep 0.1; done
kill $P; wait $P 2>/dev/null
if ! grep -q "precious user data" $W/precious.txt; then
  echo "the symlink's target was overwritten:"; head -2 $W/precious.txt; exit 1
fi
