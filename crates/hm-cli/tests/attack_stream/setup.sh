#!/bin/sh
# Attack harness: own CA, Mosquitto with a mutual-TLS listener (for hm stream) and a plain
# loopback listener (for the hostile publisher pub.py). Usage: . ./setup.sh DIR TLSPORT PLAINPORT
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
/usr/sbin/mosquitto -c mosq.conf > mosq.log 2>&1 &
echo $! > mosq.pid
sleep 0.5
