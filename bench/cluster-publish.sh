#!/usr/bin/env bash
# cluster-publish.sh: durable sends through one edge on a 3-node JetStream
# cluster (R3), the cluster counterpart of `natter-bench publish`.
#
# Starts three clustered nats-servers, a `natter history` replica (which
# creates the stream with --replicas 3, as in a real deployment the
# archive runs beside the edges) and one `natter edge`, all on loopback,
# then runs `natter-bench publish` against the edge and prints its table.
#
#   make build bin/nats-server && go build -o bin/natter-bench ./cmd/natter-bench
#   bench/cluster-publish.sh [extra natter-bench publish flags]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BASE=${BASE:-25150}
OUT=${OUT:-bench/results}

dir=$(mktemp -d /tmp/natter-r3.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

routes=""
for i in 1 2 3; do routes+="nats://127.0.0.1:$((BASE + 10 + i)) "; done
urls=""
for i in 1 2 3; do
	mkdir -p "$dir/n$i"
	cat >"$dir/n$i/nats.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((BASE + i))
http: 127.0.0.1:$((BASE + 20 + i))
max_payload: 1MB
jetstream { store_dir: "$dir/n$i/js" }
cluster { name: natter, listen: 127.0.0.1:$((BASE + 10 + i)), routes: [$(echo $routes | sed 's/ /, /g')] }
CONF
	bin/nats-server -c "$dir/n$i/nats.conf" >"$dir/n$i/log" 2>&1 &
	pids+=($!)
	urls+="${urls:+,}nats://127.0.0.1:$((BASE + i))"
done
for i in 1 2 3; do wait_http "http://127.0.0.1:$((BASE + 20 + i))/healthz?js-enabled-only=true" 20; done

secret=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
export NATTER_JWT_SECRET="$secret"
bin/natter history --nats "$urls" --replicas 3 --addr "127.0.0.1:$((BASE + 31))" --data "$dir/history" >"$dir/history.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$((BASE + 31))/readyz" 60
bin/natter edge --nats "$urls" --replicas 3 --addr "127.0.0.1:$((BASE + 30))" --rate 1000000 --burst 1000000 --queue 65536 >"$dir/edge.log" 2>&1 &
edge=$!
pids+=($edge)
wait_http "http://127.0.0.1:$((BASE + 30))/readyz" 60
echo "R3 cluster up (logs in $dir); stream: $(curl -s "http://127.0.0.1:$((BASE + 21))/jsz?streams=true&config=true" | grep -o '"num_replicas": *[0-9]*' | head -1)"

bin/natter-bench publish --url "ws://127.0.0.1:$((BASE + 30))/ws" --jwt-secret "$secret" --pid "$edge" --out "$OUT" "$@"
