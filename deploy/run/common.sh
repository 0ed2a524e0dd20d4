# Shared by the run scripts: paths, backend choice, service process control.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${WEERBAAR_STATE_DIR:-$ROOT/.stack}"
BIN="$ROOT/.venv/bin"
SERVICES=(intake triage notify reporting)
declare -A PORTS=([intake]=8081 [triage]=8082 [notify]=8083 [reporting]=8084)

log() { echo "[weerbaar] $*"; }

# make run / make up / make test are development: the services use this checkout's generated keys (.cache/dev-keys)
# and say so (a warning at start, /readyz, /metrics). Production sets WEERBAAR_DEV_MODE=false (the services' default)
# and real keys; without them a service refuses to start.
export WEERBAAR_DEV_MODE="${WEERBAAR_DEV_MODE:-true}"

# docker | local | external: WEERBAAR_STACK wins; otherwise docker when an engine answers, else local.
backend() {
  if [[ -n "${WEERBAAR_STACK:-}" ]]; then echo "$WEERBAAR_STACK"; return; fi
  if command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1; then echo docker; else echo local; fi
}

service_pid_file() { echo "$STATE_DIR/pids/svc-$1.pid"; }

service_running() {
  local f pid
  f="$(service_pid_file "$1")"
  [[ -f "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "services.$1"
}

any_service_running() {
  local svc
  for svc in "${SERVICES[@]}"; do service_running "$svc" && return 0; done
  return 1
}

start_services() {
  mkdir -p "$STATE_DIR/pids" "$STATE_DIR/logs"
  local svc
  for svc in "${SERVICES[@]}"; do
    if service_running "$svc"; then log "$svc already running"; continue; fi
    # No subshell: it would hold the caller's stdout open. stdin from /dev/null, output to the log only.
    cd "$ROOT"
    setsid nohup "$BIN/python" -m "services.$svc" >>"$STATE_DIR/logs/$svc.log" 2>&1 </dev/null &
    echo $! >"$(service_pid_file "$svc")"
    log "$svc started (port ${PORTS[$svc]}, log $STATE_DIR/logs/$svc.log)"
  done
}

stop_services() {
  local svc pid f i
  for svc in "${SERVICES[@]}"; do
    f="$(service_pid_file "$svc")"
    if service_running "$svc"; then
      pid="$(cat "$f")"
      kill -TERM "$pid" 2>/dev/null || true
      for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && { log "$svc did not stop in 20 s, killing"; kill -KILL "$pid" 2>/dev/null || true; }
      log "$svc stopped"
    fi
    rm -f "$f"
  done
}
