package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/jwtauth"
)

const backupUsage = `usage: api backup -o FILE   copy the embedded database in DATA_DIR to FILE (also while the service runs)
       api restore FILE     fill an empty DATA_DIR from FILE
The keys are not in the backup: keep DATA_DIR/field-keys and DATA_DIR/jwt-ed25519.pem (or FIELD_KEYS and
JWT_PRIVATE_KEY_FILE) apart; without the field keys every encrypted field of the backup is lost.
With MONGODB_URI, use mongodump/mongorestore or your provider's backups instead.`

// keysReminder is printed after a backup and a restore.
var keysReminder = fmt.Sprintf("The keys are not in the backup: keep %s and %s (or FIELD_KEYS and JWT_PRIVATE_KEY_FILE) apart, safely; without the field keys every encrypted field is lost.", fieldcrypt.KeyFileName, jwtauth.KeyFileName)

// backupCommand writes a consistent backup of the embedded database of DATA_DIR to the file named by
// -o (created 0600; an existing file is refused), through ferret.Backup, while the service runs or
// not. It returns an error for bad usage, MONGODB_URI set (MongoDB has its own tools), a DATA_DIR
// without a database, or a failed copy (the partial file is removed).
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "backup file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return errors.New(backupUsage)
	}
	cfg, dir, err := embeddedConfig(getenv, stderr)
	if err != nil {
		return err
	}
	if ok, err := ferret.HasDatabase(dir, cfg.MongoDBDatabase); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("no database in DATA_DIR %s (%s does not exist)", dir, ferret.DatabaseFile(dir, cfg.MongoDBDatabase))
	}
	f, err := os.OpenFile(*out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup file: %w", err)
	}
	m, err := ferret.Backup(ctx, dir, cfg.MongoDBDatabase, f)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(*out)
		return fmt.Errorf("backup of %s: %w", dir, err)
	}
	fmt.Fprintf(stdout, "backed up database %s of %s (%d bytes, sha256 %s) to %s at %s\n%s\n",
		m.Database, dir, m.Bytes, m.SHA256, *out, m.CreatedAt.Format("2006-01-02T15:04:05Z"), keysReminder)
	return nil
}

// restoreCommand fills an empty DATA_DIR from a backup file (ferret.Restore). It returns an error for
// bad usage, MONGODB_URI set, a DATA_DIR that is not empty, or a file that is not an intact backup.
func restoreCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		return errors.New(backupUsage)
	}
	cfg, dir, err := embeddedConfig(getenv, stderr)
	if err != nil {
		return err
	}
	f, err := os.Open(args[0])
	if err != nil {
		return fmt.Errorf("backup file: %w", err)
	}
	defer f.Close()
	m, err := ferret.Restore(f, dir, cfg.MongoDBDatabase)
	if err != nil {
		return fmt.Errorf("restore into %s: %w", dir, err)
	}
	fmt.Fprintf(stdout, "restored database %s, backed up at %s, into %s\nBefore starting the service, put this database's keys back: %s and %s into %s (mode 0600), or set FIELD_KEYS and JWT_PRIVATE_KEY_FILE. %s\n",
		m.Database, m.CreatedAt.Format("2006-01-02T15:04:05Z"), dir, fieldcrypt.KeyFileName, jwtauth.KeyFileName, dir, keysReminder)
	return nil
}

// embeddedConfig loads the configuration of a command that works on the embedded database's files,
// and returns DATA_DIR made absolute. It returns an error for an invalid configuration or when
// MONGODB_URI is set.
func embeddedConfig(getenv func(string) string, stderr io.Writer) (config.Config, string, error) {
	cfg, err := config.Load(nil, getenv, stderr)
	if err != nil {
		return cfg, "", fmt.Errorf("configuration: %w", err)
	}
	if cfg.MongoDBURI != "" {
		return cfg, "", errors.New("MONGODB_URI is set: back up and restore MongoDB with mongodump and mongorestore (or your provider's backups, such as Atlas's); these commands work on the embedded database in DATA_DIR")
	}
	dir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return cfg, "", fmt.Errorf("DATA_DIR %q: %w", cfg.DataDir, err)
	}
	return cfg, dir, nil
}
