"""A slow but steady reader, as a user's client is: a small receive buffer
(SO_RCVBUF, which node:net and Bun cannot set), all of its data sent at once
from a thread, and recv() of at most RECV bytes every INTERVAL seconds. It
never half-closes. Once every byte is back it waits up to LINGER seconds for
the server's FIN. Prints one JSON line: bytes read, how the reading ended
("complete", "eof" before the end, or the error), whether every byte read
matched, and whether the FIN came after the last byte.

usage: slow_reader.py HOST PORT BYTES RCVBUF RECV INTERVAL LINGER
"""
import json
import random
import socket
import sys
import threading
import time

host, port, total, rcvbuf, recv_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
interval, linger = float(sys.argv[6]), float(sys.argv[7])
data = random.Random(7).randbytes(total)
sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
sock.connect((host, port))
send_error = []


def send():
    try:
        sock.sendall(data)
    except OSError as error:
        send_error.append(repr(error))


threading.Thread(target=send, daemon=True).start()
received = bytearray()
end = "complete"
while len(received) < total:
    time.sleep(interval)
    try:
        chunk = sock.recv(recv_size)
    except OSError as error:
        end = repr(error)
        break
    if not chunk:
        end = "eof"
        break
    received += chunk
fin = False
if end == "complete":
    sock.settimeout(linger)
    try:
        fin = sock.recv(1) == b""
    except OSError:
        fin = False
print(json.dumps({
    "read": len(received),
    "end": end,
    "exact": bytes(received) == data[: len(received)],
    "fin": fin,
    "sendError": send_error[0] if send_error else None,
}))
