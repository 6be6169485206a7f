# Shared by the attack reproducers: starts Mosquitto (own CA) and gives helpers.
HERE=$(cd "$(dirname "$0")" && pwd)
HM=${HM:-$HERE/../../../../target/debug/hm}
APP=48aa1779-91c2-468e-97e9-ab112efd53b9
TOPIC=live/level13/$APP
W=$(mktemp -d)
# Two free loopback ports, chosen by the kernel.
set -- $(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
TP=$1; PP=$2
trap 'kill $(cat $W/mosq.pid) 2>/dev/null; rm -rf $W' EXIT
sh "$HERE/setup.sh" "$W" $TP $PP || exit 2
export HM_APPLICATION_ID=$APP HM_MQTT_URL=mqtts://127.0.0.1:$TP HM_MQTT_ENVIRONMENT=live \
  HM_MQTT_CERT_FILE=$W/client.pem HM_MQTT_KEY_FILE=$W/client.key HM_MQTT_CA_FILE=$W/ca.pem
# msg ID VIN [DATA-JSON]: one MQTT V2 message (python string literal escapes allowed in VIN)
msg() { python3 - "$@" <<'P'
import json, sys
mid, vin = sys.argv[1], sys.argv[2].encode().decode('unicode_escape')
data = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {"diagnostics": {"odometer": [{"data": {"value": 1, "unit": "kilometers"}, "timestamp": "2026-01-01T00:00:00Z"}]}}
print(json.dumps({"version": 2, "application_id": "48aa1779-91c2-468e-97e9-ab112efd53b9", "message_id": mid, "vin": vin, "data": data}, ensure_ascii=False))
P
}
# publish PAYLOAD...: QoS 1 on the application's topic
publish() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@" | python3 "$HERE/pub.py" $PP $TOPIC 1; }
# wait_subscribed FILE: until hm stream says it receives
wait_subscribed() { for i in $(seq 600); do grep -q 'receiving\|subscribed' "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "never subscribed: $(cat $1)"; return 1; }
# hm ARGS...: hm, ended after 120 s at most so that a weakness makes the reproducer fail, not hang
hm() { timeout 120 "$HM" "$@"; }
# publish_py EXPR: QoS 1 publish of the Python list of str EXPR (for payloads too large for argv)
publish_py() { python3 -c "import json; print(json.dumps($1))" | python3 "$HERE/pub.py" $PP $TOPIC 1; }
