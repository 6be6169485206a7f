#!/bin/sh
# Attack harness: own CA, Mosquitto with a mutual-TLS listener (for hm stream) and a plain
# loopback listener (for the hostile publisher pub.py). Usage: sh setup.sh DIR TLSPORT PLAINPORT;
# returns once Mosquitto listens on both.
set -e
D=$1; TP=$2; PP=$3
mkdir -p "$D"; cd "$D"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=attack-ca 2>/dev/null
for n in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > $n.ext
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2 -extfile $n.ext 2>/dev/null
done
chmod 755 "$D"; chmod 644 server.key
cat > mosq.conf <<C
per_listener_settings false
allow_anonymous true
persistence false
listener $TP 127.0.0.1
cafile $D/ca.pem
certfile $D/server.pem
keyfile $D/server.key
require_certificate true
listener $PP 127.0.0.1
C
${MOSQUITTO:-/usr/sbin/mosquitto} -c mosq.conf > mosq.log 2>&1 &
echo $! > mosq.pid
# Ready once both listeners accept connections (or fail naming Mosquitto's log).
python3 - $TP $PP $! <<'P'
import os, socket, sys, time
ports, pid = [int(p) for p in sys.argv[1:3]], int(sys.argv[3])
for _ in range(600):
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("mosquitto exited: " + open("mosq.log").read())
    try:
        for port in ports:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit("mosquitto does not listen after 30 s: " + open("mosq.log").read())
P
