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
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver FerretDB itself uses
)

const idExpr = `_ferretdb_sjson->'$._id'`

// keptDB is the keeper's own connection to one database file, and which file (inode) it opened.
type keptDB struct {
	db   *sql.DB
	file os.FileInfo
}

func keepIDIndexes(ctx context.Context, dir string, every time.Duration, logger *slog.Logger) {
	open := map[string]keptDB{}
	defer func() {
		for _, kept := range open {
			_ = kept.db.Close()
		}
	}()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		closeDropped(open, logger)
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			kept, ok := open[file]
			if !ok {
				var err error
				if kept, err = openKept(file); err != nil {
					logger.Warn("id index keeper cannot open", "file", file, "error", err)
					continue
				}
				open[file] = kept
			}
			if err := indexTables(ctx, kept.db, file, logger); err != nil && ctx.Err() == nil {
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

// openKept opens file and connects at once. The file is identified first: should it be replaced in between, the
// next tick finds another file than the one recorded and closes this handle, never the other way round.
func openKept(file string) (keptDB, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return keptDB{}, err
	}
	// mode=rw: a file removed meanwhile is not created again (empty) by this open.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		return keptDB{}, err
	}
	db.SetMaxOpenConns(1)
	if err = db.Ping(); err != nil {
		_ = db.Close()
		return keptDB{}, err
	}
	return keptDB{db: db, file: fi}, nil
}

// closeDropped closes the connections to files that are gone (dropDatabase closes FerretDB's own connections, then
// removes the .sqlite file) or that are another file now (dropped and created again between two ticks).
//
// While the keeper holds a connection, FerretDB's close is not the last one, so SQLite keeps the -wal and -shm files;
// and the keeper's close comes after the .sqlite file is gone, when SQLite never checkpoints nor deletes them (the
// database "has moved": the WAL might belong to a new file of that name). So for a file that is gone the keeper
// removes them itself. For a file created again they belong to the new database now (SQLite discards a WAL next to
// an empty database file) and stay.
func closeDropped(open map[string]keptDB, logger *slog.Logger) {
	for file, kept := range open {
		fi, err := os.Stat(file)
		if err == nil && os.SameFile(fi, kept.file) {
			continue
		}
		if err = kept.db.Close(); err != nil {
			logger.Warn("id index keeper cannot close a dropped database", "file", file, "error", err)
		}
		delete(open, file)
		if _, err = os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
			logger.Debug("id index keeper let go of a replaced database file", "file", filepath.Base(file))
			continue
		}
		for _, leftover := range []string{file + "-wal", file + "-shm"} {
			if err = os.Remove(leftover); err != nil && !errors.Is(err, fs.ErrNotExist) {
				logger.Warn("id index keeper cannot remove a dropped database's file", "file", leftover, "error", err)
			}
		}
		logger.Debug("id index keeper closed a dropped database", "file", filepath.Base(file))
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
