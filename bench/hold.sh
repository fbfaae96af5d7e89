#!/usr/bin/env bash
# hold.sh: many idle connections on one machine, held for a while.
#
# Starts one nats-server (JetStream) and EDGES `natter edge` processes on
# it, then one `natter-bench idle` per edge (each with a child process that
# holds CONNS connections, bound to 127.0.0.2-9, joined to 2 rooms, pinging
# every 30 s) and keeps them connected for HOLD. Every minute it prints each
# edge's RSS; at the end each bench prints its connections, failures,
# server-side closes and RSS per connection, and writes its JSON to
# OUT/hold-edge<i>/.
#
#   make build bin/nats-server && go build -o bin/natter-bench ./cmd/natter-bench
#   EDGES=5 CONNS=15000 HOLD=10m bench/hold.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
EDGES=${EDGES:-5}
CONNS=${CONNS:-15000}
HOLD=${HOLD:-10m}
OUT=${OUT:-bench/results}
BASE=${BASE:-25100} # edges listen on BASE+1..BASE+EDGES, NATS on BASE

dir=$(mktemp -d /tmp/natter-hold.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

secret=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
bin/nats-server -a 127.0.0.1 -p "$BASE" -js -sd "$dir/js" >"$dir/nats.log" 2>&1 &
pids+=($!)
sleep 1
edge_pids=()
for i in $(seq 1 "$EDGES"); do
	NATTER_JWT_SECRET="$secret" bin/natter edge --nats "nats://127.0.0.1:$BASE" \
		--addr "127.0.0.1:$((BASE + i))" --rate 1000 --burst 1000 \
		--max-conns 0 --max-conns-per-ip 0 >"$dir/edge$i.log" 2>&1 &
	pids+=($!)
	edge_pids+=($!)
done
for i in $(seq 1 "$EDGES"); do wait_http "http://127.0.0.1:$((BASE + i))/readyz" 20; done
echo "edges up: ${edge_pids[*]} (logs in $dir)"

bench_pids=()
for i in $(seq 1 "$EDGES"); do
	bin/natter-bench idle --url "ws://127.0.0.1:$((BASE + i))/ws" --jwt-secret "$secret" \
		--pid "${edge_pids[$((i - 1))]}" --conns "$CONNS" --procs 1 --idle-wait "$HOLD" \
		--out "$OUT/hold-edge$i" >"$dir/bench$i.log" 2>&1 &
	bench_pids+=($!)
done

start=$(date +%s)
while kill -0 "${bench_pids[@]}" 2>/dev/null; do
	line="t=$(($(date +%s) - start))s rss_mib:"
	for p in "${edge_pids[@]}"; do
		line+=" $(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$p/status" 2>/dev/null || echo gone)"
	done
	echo "$line"
	sleep 60
done
for i in $(seq 1 "$EDGES"); do
	wait "${bench_pids[$((i - 1))]}" || echo "bench $i failed"
	echo "--- edge $i"
	tail -3 "$dir/bench$i.log"
done
