#!/usr/bin/env bash
# chaos.sh: the failure scenarios of DESIGN.md routing rules 11-13, run
# against a built spillway binary and its mock, on 127.0.0.1 only, each
# bounded in requests and time. For each scenario it prints the requests
# sent, how many succeeded, the failures by status (000 = no answer before
# the client's own timeout) and how many were lost (no usage record).
#
#   go build -o spillway ./cmd/spillway && scripts/chaos.sh ./spillway
set -euo pipefail

bin=$(realpath "${1:-./spillway}")
work=$(mktemp -d)
# Processes start inside $(...) subshells, so their pids go to a file.
cleanup() {
  [ -f "$work/pids" ] && while read -r p; do kill "$p" 2>/dev/null || true; done <"$work/pids"
  sleep 0.2
  [ -n "${CHAOS_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

key=sk-chaos-client
admin=sk-chaos-admin

# mock NAME FLAGS...: starts a mock on a free port, prints its URL.
mock() {
  local name=$1; shift
  "$bin" mock --listen 127.0.0.1:0 --name "$name" "$@" >"$work/$name.url" 2>"$work/$name.log" &
  echo $! >>"$work/pids"
  for _ in $(seq 50); do [ -s "$work/$name.url" ] && break; sleep 0.1; done
  head -n1 "$work/$name.url" | grep -o 'http://[0-9.:]*'
}

# closed: a URL nothing listens on.
closed() { echo "http://127.0.0.1:$((20000 + RANDOM % 20000))"; }

# gateway NAME CONFIG-DEPLOYMENTS [ROUTING]: starts serve on a free port,
# prints its URL.
gateway() {
  local name=$1 deps=$2 routing=${3:-}
  cat >"$work/$name.yaml" <<EOF
listen: 127.0.0.1:0
store: sqlite://$work/$name.db
admin_token: $admin
keys: [{key: $key, name: chaos}]
routing: {retries: 1, failure_threshold: 3, circuit_open: 20s$routing}
limits: {shutdown_grace: 2s}
deployments:
$deps
EOF
  SPILLWAY_SECRET_KEY=$(printf '%064d' 7) "$bin" serve --config "$work/$name.yaml" >"$work/$name.out" 2>&1 &
  echo $! >>"$work/pids"
  echo $! >"$work/$name.pid"
  local url=""
  for _ in $(seq 100); do
    url=$(grep -o 'serving on http://[0-9.:]*' "$work/$name.out" 2>/dev/null | tail -n1 | cut -d' ' -f3 || true)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "gateway $name did not start:" >&2; cat "$work/$name.out" >&2; exit 1; }
  echo "$url"
}

dep() { # dep ID ENDPOINT [EXTRA]
  echo "  - {id: $1, model: gpt-4o, provider: azure, endpoint: $2, api_key: k${3:-}}"
}

# load URL N PARALLEL TIMEOUT BODY: sends N chat requests, writes one
# status per line to $work/statuses.
load() {
  local url=$1 n=$2 par=$3 timeout=$4 body=$5
  seq "$n" | xargs -P "$par" -I{} curl -s -o /dev/null -w '%{http_code}\n' -m "$timeout" \
    -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$body" "$url/v1/chat/completions" >"$work/statuses" || true
}

# records URL: the usage records the gateway wrote, once the writer's
# batches have landed (the count stops moving).
records() {
  local prev=-1 n=0
  for _ in $(seq 30); do
    n=$(curl -s -H "Authorization: Bearer $admin" "$1/admin/v1/usage" | grep -o '"requests": *[0-9]*' | head -n1 | grep -o '[0-9]*$' || true)
    n=${n:-0}
    [ "$n" = "$prev" ] && [ "$n" != 0 ] && break
    prev=$n
    sleep 1
  done
  echo "$n"
}

report() { # report SCENARIO RECORDS
  local sent ok failed lost
  sent=$(wc -l <"$work/statuses")
  ok=$(grep -c '^200$' "$work/statuses" || true)
  failed=$({ grep -v '^200$' "$work/statuses" || true; } | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=" "}')
  lost=$((sent - ${2:-$sent}))
  printf '%-44s sent %4d  ok %4d  failed %-28s lost %d\n' "$1" "$sent" "$ok" "${failed:-none}" "$lost"
}

chat='{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":16}'
stream='{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}],"max_tokens":200}'

echo "spillway chaos: $("$bin" version 2>/dev/null || echo "$bin")"

# 1. One deployment hangs; clients give up after 2 s. The hung one is
#    noticed after its first abandoned waits (slow_threshold 1s) and the
#    rest go to the healthy one.
ok=$(mock ok); hung=$(mock hung --fail hang)
gw=$(gateway hung "$(dep ok "$ok")
$(dep hung "$hung")" ", slow_threshold: 1s")
load "$gw" 60 4 2 "$chat"
report "one of two deployments hangs, 2 s clients" "$(records "$gw")"

# 2. Every upstream refuses connections: 502 while trying, then 503 with
#    Retry-After once the circuits are open; never 429.
gw=$(gateway down "$(dep a "$(closed)")
$(dep b "$(closed)")")
load "$gw" 30 2 5 "$chat"
report "every upstream refuses connections" "$(records "$gw")"

# 3. The upstream rejects the gateway's key: 502 upstream_auth_failed.
strict=$(mock strict --require-key the-right-key)
gw=$(gateway auth "$(dep a "$strict")")
load "$gw" 20 2 5 "$chat"
report "the upstream rejects the gateway's key" "$(records "$gw")"

# 4. One deployment resets mid-body 30% of the time: JSON answers are read
#    whole first, so those are retried on the other.
flaky=$(mock flaky --fail reset-mid-stream:0.3); ok2=$(mock ok2)
gw=$(gateway flaky "$(dep flaky "$flaky")
$(dep ok2 "$ok2")")
load "$gw" 100 4 10 "$chat"
report "one deployment resets mid-body 30%" "$(records "$gw")"

# 5. Slow streams across a shutdown with a 2 s grace: each stream still
#    running is cut with an in-band error event, and recorded.
slow=$(mock slow --fail slow:tps=2)
gw=$(gateway shutdown "$(dep slow "$slow")")
for i in $(seq 10); do
  curl -s -N -m 20 -H "Authorization: Bearer $key" -H 'Content-Type: application/json' -d "$stream" "$gw/v1/chat/completions" >"$work/stream.$i" 2>/dev/null &
done
sleep 2 # every stream under way
pid=$(cat "$work/shutdown.pid")
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait # the streams' curls
: >"$work/statuses"
for i in $(seq 10); do
  if grep -q 'stream_interrupted' "$work/stream.$i"; then echo 499 >>"$work/statuses"
  elif grep -q '\[DONE\]' "$work/stream.$i"; then echo 200 >>"$work/statuses"
  else echo 000 >>"$work/statuses"; fi
done
cut=$(grep -c 'stream cut at shutdown' "$work/shutdown.out" || true)
cp "$work/shutdown.out" "$work/shutdown.first"
: >"$work/shutdown.out"
gw=$(gateway shutdown "$(dep slow "$slow")") # the same store, to count
report "10 slow streams across a 2 s shutdown grace" "$(records "$gw")"
echo "  (499 = cut with the in-band error event; $cut 'stream cut at shutdown' log lines)"
