package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// openExisting opens the database of the configuration for a command-line tool: MONGODB_URI, or the
// embedded database in DATA_DIR, attached to the service running there or started for the command.
// Unlike the service it never creates a database: an embedded DATA_DIR without one is an error (a
// tool run from another folder would otherwise make a new ./data and report success). It prints on
// stderr which database it uses. The returned function closes what it opened.
func openExisting(ctx context.Context, cfg config.Config, stderr io.Writer, log *slog.Logger) (*mongodb.DB, func(), error) {
	if cfg.MongoDBURI != "" {
		fmt.Fprintf(stderr, "using MongoDB %s, database %s\n", config.MaskURI(cfg.MongoDBURI), cfg.MongoDBDatabase)
		return openDatabase(ctx, cfg, true, stderr, log)
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("DATA_DIR %q: %w", cfg.DataDir, err)
	}
	file := ferret.DatabaseFile(dir, cfg.MongoDBDatabase)
	ok, err := ferret.HasDatabase(dir, cfg.MongoDBDatabase)
	if err != nil {
		return nil, nil, fmt.Errorf("reading DATA_DIR %s: %w", dir, err)
	}
	if !ok {
		return nil, nil, fmt.Errorf("no database in DATA_DIR %s (%s does not exist): set DATA_DIR (or MONGODB_URI) to the service's; this command never creates a database", dir, file)
	}
	how := "the service is not running: started for this command"
	if _, running := ferret.Attach(dir); running {
		how = "attached to the running service"
	}
	fmt.Fprintf(stderr, "using the embedded database %s (%s)\n", file, how)
	return openDatabase(ctx, cfg, true, stderr, log)
}
