# Shared by the bench scripts (sourced, not run).

# wait_http URL SECONDS: wait until URL answers 2xx, or fail the script.
wait_http() {
	local url=$1 tries=$(($2 * 5))
	for _ in $(seq 1 "$tries"); do
		curl -sf "$url" >/dev/null && return 0
		sleep 0.2
	done
	echo "not ready after $2 s: $url" >&2
	exit 1
}
