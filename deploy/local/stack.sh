#!/usr/bin/env bash
# Local no-Docker infrastructure: Apache Kafka 4.x (KRaft, single node) from Maven Central
# and FerretDB v1 (MongoDB wire protocol on SQLite) built from the Go module proxy.
#
# Usage: deploy/local/stack.sh {install|up|down|status|reset|kafka-tool CLASS [ARGS...]}
# See deploy/local/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE_DIR="${WEERBAAR_CACHE_DIR:-$REPO/.cache}"
STATE_DIR="${WEERBAAR_STATE_DIR:-$REPO/.stack}"
mkdir -p "$CACHE_DIR"
CACHE_DIR="$(cd "$CACHE_DIR" && pwd)"
case "$STATE_DIR" in /*) ;; *) STATE_DIR="$PWD/$STATE_DIR" ;; esac

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${WEERBAAR_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${WEERBAAR_KAFKA_CONTROLLER_PORT:-9093}"
MONGO_HOST=127.0.0.1
MONGO_PORT="${WEERBAAR_MONGO_PORT:-27017}"
FERRET_PPROF="${WEERBAAR_FERRETDB_PPROF:-}"  # e.g. 127.0.0.1:6060: Go profiles of the store (make bench)
TIMEOUT="${WEERBAAR_STACK_TIMEOUT:-90}"

KAFKA_LIBS="$CACHE_DIR/kafka/libs"
KAFKA_MARKER="$CACHE_DIR/kafka/.installed"
FERRET_BIN="$CACHE_DIR/bin/ferretdb-weerbaar"
FERRET_MARKER="$CACHE_DIR/bin/.ferretdb-weerbaar.installed"

PID_DIR="$STATE_DIR/pids"
LOG_DIR="$STATE_DIR/logs"
KAFKA_STATE="$STATE_DIR/kafka"
FERRET_DATA="$STATE_DIR/ferretdb"

if [[ -n "${JAVA_HOME:-}" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="java"; fi
PYTHON="${WEERBAAR_PYTHON:-$REPO/.venv/bin/python}"
SASL_MARKER="sasl-scram-v1"  # storage formatted with the SCRAM principals (older state dirs are formatted again)

# broker_py ARGS...: the broker's security settings from the project (python -m weerbaar.broker).
broker_py() {
  [[ -x "$PYTHON" ]] || die "no virtualenv at $PYTHON: run 'make venv' first (the broker's credentials come from it)"
  WEERBAAR_DEV_MODE=true WEERBAAR_CACHE_DIR="$CACHE_DIR" "$PYTHON" -m weerbaar.broker "$@"
}

log() { echo "[stack] $*"; }
die() { echo "[stack] ERROR: $*" >&2; exit 1; }

# Marker put on the Kafka JVM command line so we only ever signal our own process.
kafka_marker() { echo "-Dweerbaar.stack=$STATE_DIR"; }

# Hash of the inputs of an install step; a change triggers a rebuild.
inputs_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------- install

install_kafka() {
  local pom="$HERE/kafka/pom.xml" want
  want="$(inputs_hash "$pom")"
  if [[ -f "$KAFKA_MARKER" && "$(cat "$KAFKA_MARKER")" == "$want" ]] && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
    log "kafka: jars present ($(ls "$KAFKA_LIBS" | wc -l) in ${KAFKA_LIBS#$REPO/})"
    return
  fi
  command -v mvn >/dev/null || die "mvn not found"
  log "kafka: resolving jars from Maven Central (pom: deploy/local/kafka/pom.xml)"
  local t0=$SECONDS tmp="$CACHE_DIR/kafka/libs.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp" "$CACHE_DIR/m2"
  # Run in a scratch copy so Maven's target/ never lands in the repo.
  local work="$CACHE_DIR/kafka/pom-work"
  rm -rf "$work"; mkdir -p "$work"; cp "$pom" "$work/pom.xml"
  (cd "$work" && mvn -B -q dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" \
      -Dmaven.repo.local="$CACHE_DIR/m2") || die "maven dependency resolution failed"
  rm -rf "$work" "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  local versions
  versions="$(ls "$KAFKA_LIBS" | sed -n 's/^\(kafka[-_].*\|connect-.*\)-\([0-9][0-9.]*\)\.jar$/\2/p' | sort -u)"
  [[ "$(echo "$versions" | wc -l)" -eq 1 ]] || die "mixed org.apache.kafka versions in libs: $versions"
  echo "$want" >"$KAFKA_MARKER"
  log "kafka: $(ls "$KAFKA_LIBS" | wc -l) jars, kafka $versions, in $((SECONDS - t0)) s"
}

install_ferretdb() {
  local src="$HERE/ferretdb" want
  # Every Go source of the main module (not its tests), so a new file is covered without editing this list.
  local -a gofiles
  mapfile -t gofiles < <(find "$src" -maxdepth 1 -name '*.go' ! -name '*_test.go' | LC_ALL=C sort)
  want="$(inputs_hash "$src/go.mod" "$src/go.sum" "${gofiles[@]}")"
  if [[ -x "$FERRET_BIN" && -f "$FERRET_MARKER" && "$(cat "$FERRET_MARKER")" == "$want" ]]; then
    log "ferretdb: binary present (${FERRET_BIN#$REPO/})"
    return
  fi
  command -v go >/dev/null || die "go not found"
  log "ferretdb: building from the Go module proxy (takes ~1-2 min on 2 cores)"
  local t0=$SECONDS
  mkdir -p "$CACHE_DIR/bin" "$CACHE_DIR/go"
  # -modcacherw: Go makes the module cache read-only, which breaks `rm -rf .cache`.
  (cd "$src" && env CGO_ENABLED=0 GOFLAGS="-mod=mod -modcacherw" \
      GOPATH="$CACHE_DIR/go" GOMODCACHE="$CACHE_DIR/go/pkg/mod" GOCACHE="$CACHE_DIR/go/build" \
      go build -trimpath -o "$FERRET_BIN.tmp" .) || die "go build of ferretdb-weerbaar failed"
  mv "$FERRET_BIN.tmp" "$FERRET_BIN"
  echo "$want" >"$FERRET_MARKER"
  log "ferretdb: built ${FERRET_BIN#$REPO/} in $((SECONDS - t0)) s"
}

cmd_install() {
  command -v "$JAVA" >/dev/null || die "java not found (set JAVA_HOME)"
  install_kafka
  install_ferretdb
}

# ---------------------------------------------------------------- process helpers

# is_ours NAME PID: the PID is alive and its command line carries our marker.
is_ours() {
  local name="$1" pid="$2" cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  case "$name" in
    kafka)    [[ "$cmd" == *"$(kafka_marker) "* && "$cmd" == *" kafka.Kafka "* ]] ;;
    ferretdb) [[ "$cmd" == *"ferretdb-weerbaar"* && "$cmd" == *"-sqlite-dir $FERRET_DATA "* ]] ;;
    *) return 1 ;;
  esac
}

# running_pid NAME: prints the PID if our process is running, else nothing (returns 1).
running_pid() {
  local f="$PID_DIR/$1.pid" pid
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  if is_ours "$1" "$pid"; then echo "$pid"; return 0; fi
  return 1
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# start_detached NAME CMD...: new session, stdin closed, output to logs, PID file written
# by the process itself right before exec (so the PID is exactly the server's).
start_detached() {
  local name="$1"; shift
  mkdir -p "$PID_DIR" "$LOG_DIR"
  local pidfile="$PID_DIR/$name.pid"
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" \
    </dev/null >>"$LOG_DIR/$name.out" 2>&1 &
  local i
  for i in $(seq 1 50); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
  die "$name: no PID file written"
}

# ferret_ping: OP_MSG {ping: 1, $db: "admin"} over a raw socket; succeeds if ok == 1.
ferret_ping() {
  command -v python3 >/dev/null || { port_open "$MONGO_HOST" "$MONGO_PORT"; return; }
  python3 - "$MONGO_HOST" "$MONGO_PORT" <<'PY' 2>/dev/null
import socket, struct, sys
def cstr(s): return s.encode() + b"\0"
body = b"\x10" + cstr("ping") + struct.pack("<i", 1)
body += b"\x02" + cstr("$db") + struct.pack("<i", 6) + cstr("admin")
doc = struct.pack("<i", len(body) + 5) + body + b"\0"
msg = struct.pack("<I", 0) + b"\0" + doc
hdr = struct.pack("<iiii", 16 + len(msg), 1, 0, 2013)
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
s.sendall(hdr + msg)
buf = b""
while len(buf) < 4 or len(buf) < struct.unpack("<i", buf[:4])[0]:
    chunk = s.recv(65536)
    if not chunk: break
    buf += chunk
ok = b"\x01ok\x00" + struct.pack("<d", 1.0)
sys.exit(0 if struct.unpack("<i", buf[12:16])[0] == 2013 and ok in buf else 1)
PY
}

# kafka_tool CLASS ARGS...: run a Kafka CLI class with the cached jars.
kafka_tool() {
  "$JAVA" -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$HERE/kafka/tools-log4j2.xml" \
    -cp "$KAFKA_LIBS/*" "$@"
}

kafka_ready() {
  port_open "$KAFKA_HOST" "$KAFKA_PORT" || return 1
  # A real metadata round trip (ListTopics) against the broker.
  timeout 30 "$JAVA" -Xms32m -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$HERE/kafka/tools-log4j2.xml" \
    -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA_HOST:$KAFKA_PORT" --command-config "$KAFKA_STATE/admin.properties" --list >/dev/null 2>&1
}

ferret_ready() { port_open "$MONGO_HOST" "$MONGO_PORT" && ferret_ping; }

# wait_ready NAME CHECKFN LOGFILE: poll until ready, or print the log tail and fail.
wait_ready() {
  local name="$1" check="$2" logfile="$3" deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! running_pid "$name" >/dev/null; then
      log "$name: process exited during start-up; last 40 lines of ${logfile#$REPO/}:"
      tail -n 40 "$logfile" 2>/dev/null || true
      exit 1
    fi
    if "$check"; then return 0; fi
    sleep 1
  done
  log "$name: not ready after ${TIMEOUT}s; last 40 lines of ${logfile#$REPO/}:"
  tail -n 40 "$logfile" 2>/dev/null || true
  exit 1
}

# ---------------------------------------------------------------- up

start_ferretdb() {
  local pid
  if pid="$(running_pid ferretdb)"; then
    log "ferretdb: already running (pid $pid)"
    return
  fi
  port_open "$MONGO_HOST" "$MONGO_PORT" && die "ferretdb: port $MONGO_PORT is taken by another process"
  mkdir -p "$FERRET_DATA"
  log "ferretdb: starting on $MONGO_HOST:$MONGO_PORT (data ${FERRET_DATA#$REPO/})"
  start_detached ferretdb "$FERRET_BIN" -listen-addr "$MONGO_HOST:$MONGO_PORT" -sqlite-dir "$FERRET_DATA" -log-level info \
    ${FERRET_PPROF:+-pprof-addr "$FERRET_PPROF"}
}

start_kafka() {
  local pid
  if pid="$(running_pid kafka)"; then
    if [[ -f "$KAFKA_STATE/$SASL_MARKER" ]]; then
      log "kafka: already running (pid $pid)"
      return
    fi
    log "kafka: running without SASL (started before it): restarting it with SASL"
    stop_one kafka
  fi
  port_open "$KAFKA_HOST" "$KAFKA_PORT" && die "kafka: port $KAFKA_PORT is taken by another process"
  port_open "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT" && die "kafka: port $KAFKA_CONTROLLER_PORT is taken by another process"
  mkdir -p "$KAFKA_STATE/data" "$LOG_DIR"
  local props="$KAFKA_STATE/server.properties"
  sed -e "s|@HOST@|$KAFKA_HOST|g" -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
      -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@LOG_DIRS@|$KAFKA_STATE/data|g" \
      "$HERE/kafka/server.properties.in" >"$props"
  (umask 077; broker_py server-props >>"$props"; broker_py client-props weerbaar-admin >"$KAFKA_STATE/admin.properties")
  if [[ -f "$KAFKA_STATE/data/meta.properties" && ! -f "$KAFKA_STATE/$SASL_MARKER" ]]; then
    log "kafka: storage from before SASL (no principals in it): formatting it again, its records are dropped"
    rm -rf "$KAFKA_STATE/data"; mkdir -p "$KAFKA_STATE/data"
  fi
  if [[ ! -f "$KAFKA_STATE/data/meta.properties" ]]; then
    [[ -s "$KAFKA_STATE/cluster.id" ]] || kafka_tool kafka.tools.StorageTool random-uuid >"$KAFKA_STATE/cluster.id"
    log "kafka: formatting storage (cluster id $(cat "$KAFKA_STATE/cluster.id")) with every principal's SCRAM credential"
    local -a scram=()
    local arg
    while IFS= read -r arg; do scram+=(--add-scram "$arg"); done < <(broker_py scram-args)
    kafka_tool kafka.tools.StorageTool format -g -t "$(cat "$KAFKA_STATE/cluster.id")" -c "$props" "${scram[@]}" \
      >>"$LOG_DIR/kafka-format.out" 2>&1 || { tail -n 40 "$LOG_DIR/kafka-format.out"; die "kafka: storage format failed"; }
    touch "$KAFKA_STATE/$SASL_MARKER"
  fi
  log "kafka: starting KRaft broker+controller on $KAFKA_HOST:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  start_detached kafka "$JAVA" -Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
    "$(kafka_marker)" \
    -Dlog4j2.configurationFile="$HERE/kafka/log4j2.xml" -Dkafka.logs.dir="$LOG_DIR" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$props"
}

cmd_up() {
  cmd_install
  local t0=$SECONDS
  start_ferretdb
  start_kafka
  wait_ready ferretdb ferret_ready "$LOG_DIR/ferretdb.out"
  log "ferretdb: ready  mongodb://$MONGO_HOST:$MONGO_PORT/  (pid $(running_pid ferretdb))"
  wait_ready kafka kafka_ready "$LOG_DIR/kafka.log"
  log "kafka: ready     $KAFKA_HOST:$KAFKA_PORT  (pid $(running_pid kafka)), SASL/SCRAM-SHA-512, $(broker_py apply-acls --bootstrap "$KAFKA_HOST:$KAFKA_PORT")"
  log "up in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- down / status / reset

stop_one() {
  local name="$1" f="$PID_DIR/$1.pid" pid i
  [[ -f "$f" ]] || { log "$name: not running"; return 0; }
  pid="$(cat "$f")"
  if ! is_ours "$name" "$pid"; then
    log "$name: stale PID file (pid $pid is not ours), removing"
    rm -f "$f"; return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 200); do
    is_ours "$name" "$pid" || break
    sleep 0.1
  done
  if is_ours "$name" "$pid"; then
    log "$name: still alive after 20 s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do is_ours "$name" "$pid" || break; sleep 0.1; done
  fi
  rm -f "$f"
  log "$name: stopped"
}

cmd_down() {
  # Kafka first: producers/consumers in app code may still be flushing to Mongo.
  stop_one kafka
  stop_one ferretdb
}

cmd_status() {
  local rc=0 pid
  if pid="$(running_pid ferretdb)"; then
    if ferret_ready; then log "ferretdb: running (pid $pid)  mongodb://$MONGO_HOST:$MONGO_PORT/"
    else log "ferretdb: running (pid $pid) but not answering on $MONGO_HOST:$MONGO_PORT"; rc=3; fi
  else log "ferretdb: stopped"; rc=3; fi
  if pid="$(running_pid kafka)"; then
    if [[ ! -f "$KAFKA_STATE/$SASL_MARKER" ]]; then log "kafka: running (pid $pid) without SASL: 'up' restarts it"; rc=3
    elif port_open "$KAFKA_HOST" "$KAFKA_PORT"; then log "kafka: running (pid $pid)  $KAFKA_HOST:$KAFKA_PORT"
    else log "kafka: running (pid $pid) but port $KAFKA_PORT closed"; rc=3; fi
  else log "kafka: stopped"; rc=3; fi
  return "$rc"
}

cmd_reset() {
  cmd_down
  if [[ -d "$STATE_DIR" ]]; then
    log "removing state dir $STATE_DIR (cache kept)"
    rm -rf "$STATE_DIR"
  fi
}

usage() {
  cat <<EOF
usage: ${0##*/} {install|up|down|status|reset|kafka-tool CLASS [ARGS...]}
  install     download Kafka jars and build FerretDB into $CACHE_DIR (idempotent)
  up          install, then start FerretDB ($MONGO_HOST:$MONGO_PORT) and Kafka ($KAFKA_HOST:$KAFKA_PORT); wait until ready
  down        stop the processes started by 'up'
  status      show running/stopped; exit 0 if both are up, else 3
  reset       down, then delete the state dir $STATE_DIR (data and logs)
  kafka-tool  run a Kafka CLI class, e.g. org.apache.kafka.tools.TopicCommand --bootstrap-server $KAFKA_HOST:$KAFKA_PORT
              --command-config $KAFKA_STATE/admin.properties --list (the broker authenticates every client)
env: WEERBAAR_PYTHON WEERBAAR_CACHE_DIR WEERBAAR_STATE_DIR WEERBAAR_KAFKA_PORT WEERBAAR_KAFKA_CONTROLLER_PORT WEERBAAR_MONGO_PORT WEERBAAR_FERRETDB_PPROF WEERBAAR_STACK_TIMEOUT JAVA_HOME
EOF
}

case "${1:-}" in
  install) cmd_install ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  kafka-tool) shift; [[ $# -ge 1 ]] || die "kafka-tool needs a class name"; kafka_tool "$@" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
