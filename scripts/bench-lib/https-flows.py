#!/usr/bin/env python3
# A real HTTPS client for the live benchmarks: N short connections one after
# another, GAP seconds apart, from SRC to HOST:PORT, each a TLS handshake
# (Python's ssl, OpenSSL underneath; the certificate is not verified: the
# server is the benchmark's own), one GET and close. Prints
# "src_port send_us" for each (wall clock just before connect()), as
# open-flows.py does, so latency.mjs matches each to its alert; a connection
# that fails is printed too (it still sent a SYN the agent must see).
#
#   python3 scripts/bench-lib/https-flows.py N GAP HOST PORT SRC
import socket
import ssl
import sys
import time

n, gap = int(sys.argv[1]), float(sys.argv[2])
host, port, src = sys.argv[3], int(sys.argv[4]), sys.argv[5]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
failed = 0
for _ in range(n):
    s = socket.socket()
    s.settimeout(5)
    s.bind((src, 0))
    sport = s.getsockname()[1]
    sent = time.time_ns() // 1000
    try:
        s.connect((host, port))
        t = ctx.wrap_socket(s, server_hostname='bench.example')
        t.sendall(b'GET / HTTP/1.0\r\nHost: bench.example\r\n\r\n')
        t.recv(4096)
        t.close()
    except OSError:
        failed += 1
        s.close()
    print(sport, sent, flush=True)
    time.sleep(gap)
print(f'https-flows: {n} connections, {failed} failed', file=sys.stderr)
