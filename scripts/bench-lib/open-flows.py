#!/usr/bin/env python3
# Opens N TCP connections one after another, GAP seconds apart, from SRC to
# HOST:PORT, and prints "src_port send_us" for each: the wall clock just
# before connect() (the SYN leaves right after). Each connection is a new
# flow for the agent; the benchmark matches them to their alerts.
#
#   python3 scripts/bench-lib/open-flows.py N GAP HOST PORT SRC
import socket
import sys
import time

n, gap = int(sys.argv[1]), float(sys.argv[2])
host, port, src = sys.argv[3], int(sys.argv[4]), sys.argv[5]
for _ in range(n):
    s = socket.socket()
    s.bind((src, 0))
    sent = time.time_ns() // 1000
    s.connect((host, port))
    print(s.getsockname()[1], sent)
    s.close()
    time.sleep(gap)
