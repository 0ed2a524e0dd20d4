// Command ferretdb-weerbaar runs an embedded FerretDB v1 (MongoDB wire protocol on
// SQLite or PostgreSQL) for the local no-Docker stack (deploy/local/stack.sh).
//
// It uses the embeddable package github.com/FerretDB/FerretDB/ferretdb instead of
// `go install .../cmd/ferretdb`, whose proxy build panics on a missing version.txt.
// The embedded API starts no telemetry reporter, no debug HTTP server (:8088) and
// writes no state file; only the SQLite directory is written.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // -pprof-addr: CPU profiles of the store for `make bench` (docs/performance.md)
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP listen address")
	sqliteDir := flag.String("sqlite-dir", "", "directory for SQLite databases (created if missing); used unless -postgresql-url is set")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL (switches to the postgresql handler)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn, error")
	pprofAddr := flag.String("pprof-addr", "", "serve Go's /debug/pprof on this address (off when empty)")
	flag.Parse()

	var sqliteIndexDir string
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "bad -log-level: %v\n", err)
		os.Exit(2)
	}
	// lazyHandler (lazylog.go): FerretDB's per-statement With(args) is formatted only for a record that is written.
	logger := slog.New(newLazyHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}), lvl))
	slog.SetDefault(logger)

	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Logger:   logger,
	}

	if *pgURL != "" {
		cfg.Handler = "postgresql"
		cfg.PostgreSQLURL = *pgURL
	} else {
		if *sqliteDir == "" {
			fmt.Fprintln(os.Stderr, "one of -sqlite-dir or -postgresql-url is required")
			os.Exit(2)
		}
		dir, err := filepath.Abs(*sqliteDir)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bad -sqlite-dir: %v\n", err)
			os.Exit(2)
		}
		if err = os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintf(os.Stderr, "cannot create -sqlite-dir: %v\n", err)
			os.Exit(1)
		}
		// FerretDB wants an existing directory URI with a trailing slash; it adds busy_timeout, journal_mode(wal)
		// and auto_vacuum(none) to these pragmas. synchronous(normal): in WAL mode a commit no longer waits for an
		// fsync (only checkpoints do); a power loss or OS crash may lose the last commits, never consistency.
		cfg.Handler = "sqlite"
		cfg.SQLiteURL = "file:" + strings.TrimSuffix(dir, "/") + "/?_pragma=synchronous(normal)"
		sqliteIndexDir = dir
	}

	if *pprofAddr != "" {
		go func() {
			if err := http.ListenAndServe(*pprofAddr, nil); err != nil {
				logger.Error("pprof server stopped", "error", err)
			}
		}()
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	f, err := ferretdb.New(cfg)
	if err != nil {
		logger.Error("cannot start FerretDB", "error", err)
		os.Exit(1)
	}

	// The keeper starts once FerretDB has opened every database file (and recovered a WAL left behind): a keeper
	// connection that runs into that recovery made FerretDB's start fail with "database is locked (261)".
	keeperDone := make(chan struct{})
	if sqliteIndexDir != "" {
		go func() {
			defer close(keeperDone)
			keepIDIndexes(ctx, sqliteIndexDir, time.Second, logger)
		}()
	} else {
		close(keeperDone)
	}

	logger.Info("ferretdb-weerbaar listening", "addr", *listen, "handler", cfg.Handler, "uri", "mongodb://"+*listen+"/")

	if err = f.Run(ctx); err != nil {
		logger.Error("FerretDB stopped with error", "error", err)
		os.Exit(1)
	}
	// Exit only after the keeper has closed its connections: the last connection of a database checkpoints its WAL
	// and removes the -wal and -shm files, which otherwise stay and must be recovered at the next start.
	<-keeperDone

	logger.Info("ferretdb-weerbaar stopped")
}
