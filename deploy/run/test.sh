#!/usr/bin/env bash
# make test: start a real broker and store if none is running, run pytest, stop only what this script started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

started_stack=0
paused_services=0
cleanup() {
  if [[ $paused_services == 1 ]]; then
    log "starting the platform's services again"
    start_services && "$BIN/weerbaar" wait-ready --timeout "${WEERBAAR_READY_TIMEOUT:-120}" \
      || log "the platform's services did not come back ready: see .stack/logs, or make down && make up"
  fi
  if [[ $started_stack == 1 ]]; then "$ROOT/deploy/local/stack.sh" down || true; fi
}
trap cleanup EXIT

# The tests run their own copy of every service on the same topics. Services that `make up` started would consume
# the tests' events too and handle each twice (a second decision, a second notification): pause them meanwhile.
if any_service_running; then
  log "pausing the platform's services (make up) while the tests run their own"
  paused_services=1
  stop_services
fi

case "$(backend)" in
  local)
    if ! "$ROOT/deploy/local/stack.sh" status >/dev/null 2>&1; then
      "$ROOT/deploy/local/stack.sh" up
      started_stack=1
    fi
    export WEERBAAR_KAFKA_BOOTSTRAP="${WEERBAAR_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
    export WEERBAAR_MONGODB_URI="${WEERBAAR_MONGODB_URI:-mongodb://127.0.0.1:27017}"
    export WEERBAAR_LOCAL_STACK="$ROOT/deploy/local/stack.sh"
    ;;
  docker) log "docker: tests start Kafka and MongoDB with testcontainers" ;;
  external) log "external: tests use WEERBAAR_KAFKA_BOOTSTRAP / WEERBAAR_MONGODB_URI" ;;
esac

"$ROOT/deploy/run/ensure-chromium.sh" || log "chromium could not be installed: the dashboard test will fail"
"$ROOT/deploy/observability/promtool.sh" >/dev/null || log "promtool could not be built: the alert rule tests will fail"
mkdir -p "$ROOT/.artifacts"
cd "$ROOT"
"$BIN/pytest" "$@"
