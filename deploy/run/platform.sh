#!/usr/bin/env bash
# Bring the whole platform up or down: broker + store (docker, local or external) and the four services.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

infra_up() {
  case "$(backend)" in
    docker) log "backend: docker compose"; "$BIN/weerbaar" keys dev >/dev/null; "$BIN/weerbaar" token --role admin >/dev/null
            # Kafka's SASL settings and SCRAM users, each container's broker login (.cache/dev-kafka/compose)
            "$BIN/python" -m weerbaar.broker compose-files >/dev/null
            docker compose -f "$ROOT/docker-compose.yml" up -d --build --wait ;;
    local) log "backend: local (Kafka from Maven Central, FerretDB from the Go module proxy)"
           "$ROOT/deploy/local/stack.sh" up ;;
    external) log "backend: external (kafka ${WEERBAAR_KAFKA_BOOTSTRAP:-localhost:9092}," \
                  "store ${WEERBAAR_MONGODB_URI:-mongodb://localhost:27017})" ;;
    *) echo "WEERBAAR_STACK must be docker, local or external" >&2; exit 2 ;;
  esac
}

infra_down() {
  case "$(backend)" in
    docker) docker compose -f "$ROOT/docker-compose.yml" down ;;
    local) "$ROOT/deploy/local/stack.sh" down ;;
    *) ;;
  esac
}

up() {
  infra_up
  if [[ "$(backend)" != docker ]]; then
    "$BIN/weerbaar" topics
    start_services
  fi
  "$BIN/weerbaar" wait-ready --timeout "${WEERBAAR_READY_TIMEOUT:-120}"
}

down() {
  stop_services
  infra_down
}

urls() {
  local dashboard_token
  dashboard_token="$("$BIN/weerbaar" token --role bzk --org BZK --ttl 43200 2>/dev/null || true)"
  cat <<URLS
[weerbaar] ready:
  intake     http://127.0.0.1:8081/docs    (POST /v1/incidents, GET /v1/cases/{id})
  triage     http://127.0.0.1:8082/readyz
  notify     http://127.0.0.1:8083/readyz
  reporting  http://127.0.0.1:8084/v1/reports/summary?group_by=role,gender
  dashboard  http://127.0.0.1:8084/dashboard?access_token=${dashboard_token}
  metrics    http://127.0.0.1:808{1,2,3,4}/metrics
URLS
}

FOLLOW_PID=""
run() {
  trap 'echo; log "stopping"; [[ -n "$FOLLOW_PID" ]] && kill "$FOLLOW_PID" 2>/dev/null; down; exit 0' INT TERM
  up
  "$BIN/weerbaar" demo --count "${WEERBAAR_DEMO_COUNT:-25}"
  urls
  log "following logs (Ctrl-C stops everything)"
  if [[ "$(backend)" == docker ]]; then
    docker compose -f "$ROOT/docker-compose.yml" logs -f &
  else
    tail -q -n 0 -F "$STATE_DIR"/logs/{intake,triage,notify,reporting}.log &
  fi
  FOLLOW_PID=$!
  wait "$FOLLOW_PID"
}

status() {
  local svc
  for svc in "${SERVICES[@]}"; do
    if service_running "$svc"; then echo "$svc: running (pid $(cat "$(service_pid_file "$svc")"))"
    else echo "$svc: stopped"; fi
  done
  [[ "$(backend)" == local ]] && "$ROOT/deploy/local/stack.sh" status || true
}

case "${1:-}" in
  up) up; urls ;;
  down) down ;;
  run) run ;;
  status) status ;;
  *) echo "usage: $0 up|down|run|status" >&2; exit 2 ;;
esac
