#!/usr/bin/env bash
# Installs promtool (Prometheus' rule checker and unit-test runner) into .cache/bin from the Go module proxy, once;
# prints its path. `make test` runs it before pytest (deploy/run/test.sh); tests/deploy/test_observability.py uses it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="$ROOT/.cache"
VERSION="v0.316.0"  # the Go module version of Prometheus 3.16.0; keep it with the prometheus image in docker-compose.yml
BIN="$CACHE_DIR/bin/promtool"
MARKER="$BIN.version"

if [[ -x "$BIN" && -f "$MARKER" && "$(cat "$MARKER")" == "$VERSION" ]]; then
  echo "$BIN"
  exit 0
fi
command -v go >/dev/null || { echo "[promtool] go not found" >&2; exit 1; }
echo "[promtool] building promtool $VERSION from the Go module proxy (several minutes on 2 cores, once)" >&2
mkdir -p "$CACHE_DIR/bin" "$CACHE_DIR/go"
t0=$SECONDS
# -modcacherw: Go makes the module cache read-only, which breaks `rm -rf .cache`. -tags remove_all_sd leaves out the
# service-discovery plugins (cloud SDKs, Kubernetes client) that rule checks and rule tests never use: 3 min 42 s to
# build on 2 cores instead of over an hour under load (the module downloads come on top on a fresh machine).
env CGO_ENABLED=0 GOFLAGS="-mod=mod -modcacherw" GOBIN="$CACHE_DIR/bin.tmp-promtool" \
  GOPATH="$CACHE_DIR/go" GOMODCACHE="$CACHE_DIR/go/pkg/mod" GOCACHE="$CACHE_DIR/go/build" \
  go install -trimpath -tags remove_all_sd "github.com/prometheus/prometheus/cmd/promtool@$VERSION" >&2
mv "$CACHE_DIR/bin.tmp-promtool/promtool" "$BIN"
rmdir "$CACHE_DIR/bin.tmp-promtool"
echo "$VERSION" >"$MARKER"
echo "[promtool] built in $((SECONDS - t0)) s" >&2
echo "$BIN"
