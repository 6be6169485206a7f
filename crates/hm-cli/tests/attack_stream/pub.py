#!/usr/bin/env python3
"""Minimal MQTT 3.1.1 publisher over plain TCP: pub.py PORT TOPIC QOS < payloads as JSON list of str (latin-1 bytes)."""
import socket, sys, json, struct
def rl(n):
    out = b""
    while True:
        b = n % 128; n //= 128
        out += bytes([b | (128 if n else 0)])
        if not n: return out
def s(b): return struct.pack(">H", len(b)) + b
port, topic, qos = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3])
payloads = json.load(sys.stdin)
c = socket.create_connection(("127.0.0.1", port))
v = s(b"MQTT") + bytes([4, 2]) + struct.pack(">H", 60) + s(b"attack-pub")
c.sendall(bytes([0x10]) + rl(len(v)) + v); c.recv(4)
for i, p in enumerate(payloads):
    p = p.encode("utf-8", "surrogateescape") if isinstance(p, str) else bytes(p)
    var = s(topic) + (struct.pack(">H", i + 1) if qos else b"")
    body = var + p
    c.sendall(bytes([0x30 | (qos << 1)]) + rl(len(body)) + body)
    if qos: c.recv(4)
c.sendall(b"\xe0\x00"); c.close()
