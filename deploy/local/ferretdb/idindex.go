package main

// FerretDB 1.24.2 (SQLite) looks documents up by `_ferretdb_sjson->'$._id' = ?`, but creates the unique _id index
// on `_ferretdb_sjson->"_id"`. SQLite matches index expressions textually, so no lookup by _id ever uses the index:
// each one scans and JSON-parses the whole table (EXPLAIN QUERY PLAN: "SCAN"; 33 ms for a miss among 178 cases).
// keepIDIndexes adds, to every collection table, an index on the exact expression FerretDB queries by
// ("SEARCH ... USING INDEX"). It only adds indexes: FerretDB's own metadata, tables and indexes stay as they are,
// and dropping a collection drops its table with this index.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses
)

const idExpr = `_ferretdb_sjson->'$._id'`

func keepIDIndexes(ctx context.Context, dir string, every time.Duration, logger *slog.Logger) {
	open := map[string]*sql.DB{}
	defer func() {
		for _, db := range open {
			_ = db.Close()
		}
	}()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			db, ok := open[file]
			if !ok {
				var err error
				db, err = sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
				if err != nil {
					logger.Warn("id index keeper cannot open", "file", file, "error", err)
					continue
				}
				db.SetMaxOpenConns(1)
				open[file] = db
			}
			if err := indexTables(ctx, db, file, logger); err != nil && ctx.Err() == nil {
				logger.Debug("id index keeper will retry", "file", file, "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// indexTables asks SQLite, every tick, which collection tables lack the index: a collection that is dropped and
// created again keeps its table name but loses the index, so nothing is remembered between ticks.
func indexTables(ctx context.Context, db *sql.DB, file string, logger *slog.Logger) error {
	rows, err := db.QueryContext(ctx, `SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m
			WHERE m.type = 'index' AND m.tbl_name = c.table_name AND m.name = c.table_name || '__id_path')`)
	if err != nil {
		return err // a database FerretDB has not set up yet
	}
	var tables []string
	for rows.Next() {
		var table string
		if err = rows.Scan(&table); err != nil {
			_ = rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	_ = rows.Close()
	for _, table := range tables {
		if strings.ContainsRune(table, '"') {
			continue
		}
		stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS "%s__id_path" ON "%s" (%s)`, table, table, idExpr)
		if _, err = db.ExecContext(ctx, stmt); err != nil {
			return err
		}
		logger.Debug("id index ensured", "file", filepath.Base(file), "table", table)
	}
	return nil
}
