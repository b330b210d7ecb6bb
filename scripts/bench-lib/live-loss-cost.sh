# Sections d) and e) of scripts/bench-live (issue 15 parts 2 and 4), sourced
# by it: they use its namespaces, broker, policy, background capture and
# helpers (wait_for, cpu_of, json, pids).

# An HTTPS server on $server:443 in the gateway namespace, once.
https_server() {
  [ -f "$work/https.pid" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=bench.example \
    -keyout "$work/https-key.pem" -out "$work/https-cert.pem" >/dev/null 2>&1
  ip netns exec "$ns_gw" openssl s_server -accept "$server:443" -cert "$work/https-cert.pem" \
    -key "$work/https-key.pem" -www -quiet >/dev/null 2>&1 &
  pids+=($!)
  echo $! >"$work/https.pid"
  sleep 1
}

# loss NAME [egress run options...]: unseen HTTPS connections during the background.
loss() {
  local name=$1 d="$work/loss-$1"
  shift
  mkdir -p "$d"
  https_server
  node "$lib/alert-sub.mjs" --url "$broker" --gateway "loss-$name" --out "$d/alerts.txt" >"$d/sub.json" 2>"$d/sub.err" &
  local sub=$!
  pids+=("$sub")
  wait_for "$d/sub.err" subscribed
  "${egress[@]}" run --interface veth-gw --tcpdump "$work/tcpdump-gw" --broker "$broker" --gateway "loss-$name" \
    --policy "$work/policy.yaml" --data-dir "$d/data" --no-http --quiet --stats-interval 1 "$@" \
    >"$d/agent.out" 2>"$d/agent.err" &
  local agent=$!
  pids+=("$agent")
  wait_for "$d/agent.err" 'capturing on'
  wait_for "$d/agent.err" 'connected to'
  ip netns exec "$ns_ctl" tcpreplay --pps "$pps" --loop 0 --preload-pcap -q -i veth-ctl "$work/background.pcap" >"$d/tcpreplay.out" 2>&1 &
  local tr=$!
  pids+=("$tr")
  sleep 5
  local t0 t1 cpu0 cpu1
  cpu0=$(cpu_of "$agent")
  t0=$(date +%s%6N)
  ip netns exec "$ns_ctl" python3 "$lib/https-flows.py" "$conns" 0.02 "$server" 443 "$client" >"$d/sent.txt" 2>"$d/client.err"
  t1=$(date +%s%6N)
  cpu1=$(cpu_of "$agent")
  sleep 3
  kill -INT "$tr"
  wait "$tr" || true
  kill -TERM "$agent"
  wait "$agent" || true
  sleep 0.5
  kill -TERM "$sub"
  wait "$sub" || true
  echo "-- $name ($*): $(cat "$d/client.err")"
  node "$lib/latency.mjs" "$d/sent.txt" "$d/alerts.txt" "$client" "$server" 443 | sed 's/^/   /'
  awk -v s="$t0" -v e="$t1" -v srv="$server" '$1 >= s && $1 <= e && $5 != srv { n++ }
    END { printf "   background: %.0f alerts/s at the subscriber while the client ran (%.1f s)\n", n / ((e - s) / 1e6), (e - s) / 1e6 }' "$d/alerts.txt"
  echo "   agent CPU while the client ran: $(awk -v a="$cpu0" -v b="$cpu1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.0f%% of one core", 100 * (b - a) / ((e - s) / 1e6) }')"
  json "$d/sub.json" '`   agent saw ${s.agent.packets} packets, ${s.agent.alerts} alerts; kernel drops ${s.agent.kernel_drops}`'
  echo "   capture gaps logged: $(grep -c 'capture gap:' "$d/agent.err" || true)$(grep -m3 'capture gap:' "$d/agent.err" | sed 's/^.*capture gap:/;/' | tr -d '\n')"
  echo "   tcpreplay: $(grep -Eo 'Actual: [0-9]+ packets' "$d/tcpreplay.out" | head -1) at $(grep -Eo '[0-9.]+ pps' "$d/tcpreplay.out" | head -1)"
}

# cost: one agent, the background at 0, 500, 5,000 and 20,000 packets/s, $cost_seconds s each.
cost() {
  local d="$work/cost"
  mkdir -p "$d"
  "${egress[@]}" run --interface veth-gw --tcpdump "$work/tcpdump-gw" --broker "$broker" --gateway cost \
    --policy "$work/policy.yaml" --data-dir "$d/data" --no-http --quiet >"$d/agent.out" 2>"$d/agent.err" &
  local agent=$!
  pids+=("$agent")
  wait_for "$d/agent.err" 'capturing on'
  wait_for "$d/agent.err" 'connected to'
  local tcpdump
  tcpdump=$(grep -Eo 'tcpdump pid [0-9]+' "$d/agent.err" | grep -Eo '[0-9]+$')
  sleep 10
  echo "   packets/s | agent CPU | tcpdump CPU | agent RSS | load average (1 min)"
  local rate tr a0 a1 p0 p1 t0 t1 rss
  for rate in 0 500 5000 20000; do
    tr=""
    if [ "$rate" -gt 0 ]; then
      ip netns exec "$ns_ctl" tcpreplay --pps "$rate" --loop 0 --preload-pcap -q -i veth-ctl "$work/background.pcap" >"$d/tcpreplay-$rate.out" 2>&1 &
      tr=$!
      pids+=("$tr")
      sleep 5
    fi
    a0=$(cpu_of "$agent")
    p0=$(cpu_of "$tcpdump")
    t0=$(date +%s.%N)
    sleep "$cost_seconds"
    a1=$(cpu_of "$agent")
    p1=$(cpu_of "$tcpdump")
    t1=$(date +%s.%N)
    rss=$(awk '/^VmRSS/ { printf "%.0f MB", $2 / 1024 }' "/proc/$agent/status")
    awk -v r="$rate" -v a0="$a0" -v a1="$a1" -v p0="$p0" -v p1="$p1" -v s="$t0" -v e="$t1" -v rss="$rss" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
      'BEGIN { w = e - s; printf "   %9d | %7.1f %% | %9.1f %% | %9s | %s\n", r, 100 * (a1 - a0) / w, 100 * (p1 - p0) / w, rss, load }'
    if [ -n "$tr" ]; then
      kill -INT "$tr"
      wait "$tr" || true
    fi
  done
  kill -TERM "$agent"
  wait "$agent" || true
}
