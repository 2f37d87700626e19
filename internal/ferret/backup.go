package ferret

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// BackupFormat names the layout of a backup file: a gzip-compressed tar holding manifest.json, then
// the SQLite file of the database.
const BackupFormat = "caseguide-embedded-backup/1"

// maxBackupDatabase bounds what Restore writes (a backup bigger than this is not one of ours).
const maxBackupDatabase = 64 << 30

// Manifest describes a backup.
type Manifest struct {
	Format    string    `json:"format"`
	Database  string    `json:"database"` // the MongoDB database name (FerretDB's file <name>.sqlite)
	CreatedAt time.Time `json:"created_at"`
	Bytes     int64     `json:"bytes"`  // size of the SQLite file
	SHA256    string    `json:"sha256"` // of the SQLite file, hex
}

// Backup writes a consistent copy of database name of the embedded database in dataDir to w (see
// BackupFormat), also while a service works on it, in this process or another. SQLite's VACUUM INTO
// copies the database inside one read transaction, so the copy holds exactly the transactions
// committed when it began: every write acknowledged before Backup was called, none half done. The
// copy is made in a private folder inside dataDir, checked with SQLite's integrity check, and
// removed afterwards. Encryption keys are not part of it. It returns an error when dataDir holds no
// such database, or when copying, checking or writing fails.
func Backup(ctx context.Context, dataDir, name string, w io.Writer) (Manifest, error) {
	src := DatabaseFile(dataDir, name)
	if ok, err := HasDatabase(dataDir, name); err != nil {
		return Manifest{}, err
	} else if !ok {
		return Manifest{}, fmt.Errorf("no database %s to back up", src)
	}
	tmp, err := os.MkdirTemp(dataDir, ".backup-")
	if err != nil {
		return Manifest{}, fmt.Errorf("creating a private folder for the copy: %w", err)
	}
	defer os.RemoveAll(tmp)
	snapshot := filepath.Join(tmp, name+".sqlite")

	db, err := openSQLite(src)
	if err != nil {
		return Manifest{}, err
	}
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, snapshot)
	db.Close()
	if err != nil {
		return Manifest{}, fmt.Errorf("copying %s: %w", src, err)
	}
	if err := checkIntegrity(ctx, snapshot); err != nil {
		return Manifest{}, err
	}
	f, err := os.Open(snapshot)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return Manifest{}, fmt.Errorf("reading the copy: %w", err)
	}
	m := Manifest{Format: BackupFormat, Database: name, CreatedAt: time.Now().UTC(), Bytes: size, SHA256: hex.EncodeToString(h.Sum(nil))}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Manifest{}, err
	}
	manifest, _ := json.MarshalIndent(m, "", "  ")
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for _, part := range []struct {
		name string
		size int64
		r    io.Reader
	}{{"manifest.json", int64(len(manifest)), bytes.NewReader(manifest)}, {name + ".sqlite", size, f}} {
		if err := tw.WriteHeader(&tar.Header{Name: part.name, Mode: 0o600, Size: part.size, ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
			return Manifest{}, fmt.Errorf("writing the backup: %w", err)
		}
		if _, err := io.Copy(tw, part.r); err != nil {
			return Manifest{}, fmt.Errorf("writing the backup: %w", err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close()); err != nil {
		return Manifest{}, fmt.Errorf("writing the backup: %w", err)
	}
	return m, nil
}

// Restore fills dataDir, which must be empty or absent (it is created private), from a backup
// written by Backup, as database name (the backup's own name when name is ""). The database file is
// written 0600, its checksum and SQLite's integrity check must pass; on any failure nothing is left
// in dataDir. It returns the backup's manifest, or an error when dataDir is not empty, the backup is
// not one (wrong format, checksum, truncated) or writing fails.
func Restore(r io.Reader, dataDir, name string) (Manifest, error) {
	restrictNewFiles()
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Manifest{}, fmt.Errorf("DATA_DIR %s cannot be created: %w", dataDir, err)
	}
	if err := checkPrivateDir(dataDir); err != nil {
		return Manifest{}, err
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return Manifest{}, fmt.Errorf("DATA_DIR %s: %w", dataDir, err)
	}
	if len(entries) > 0 {
		return Manifest{}, fmt.Errorf("DATA_DIR %s is not empty (%d entries, %s first): restore only into an empty folder", dataDir, len(entries), entries[0].Name())
	}
	m, err := restoreInto(r, dataDir, name)
	if err != nil {
		if entries, _ := os.ReadDir(dataDir); len(entries) > 0 {
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dataDir, e.Name()))
			}
		}
		return Manifest{}, err
	}
	return m, nil
}

func restoreInto(r io.Reader, dataDir, name string) (Manifest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return Manifest{}, fmt.Errorf("not a backup (%s): %w", BackupFormat, err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "manifest.json" || hdr.Size > 1<<20 {
		return Manifest{}, fmt.Errorf("not a backup (%s): no manifest first", BackupFormat)
	}
	var m Manifest
	if err := json.NewDecoder(tr).Decode(&m); err != nil || m.Format != BackupFormat || m.Database == "" {
		return Manifest{}, fmt.Errorf("not a backup (%s): manifest %+v, %v", BackupFormat, m, err)
	}
	if name == "" {
		name = m.Database
	}
	hdr, err = tr.Next()
	if err != nil || hdr.Name != m.Database+".sqlite" || hdr.Size != m.Bytes || hdr.Size > maxBackupDatabase {
		return Manifest{}, fmt.Errorf("the backup holds no database file %s.sqlite of %d bytes", m.Database, m.Bytes)
	}
	target := DatabaseFile(dataDir, name)
	f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Manifest{}, err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), tr)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return Manifest{}, fmt.Errorf("writing %s: %w", target, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.SHA256 {
		return Manifest{}, fmt.Errorf("the backup is damaged: the database's SHA-256 is %s, its manifest says %s", got, m.SHA256)
	}
	if err := checkIntegrity(context.Background(), target); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// openSQLite opens an SQLite file as FerretDB does (waiting up to 10 s for a lock).
func openSQLite(file string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", file, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checkIntegrity runs SQLite's integrity check on file.
func checkIntegrity(ctx context.Context, file string) error {
	db, err := openSQLite(file)
	if err != nil {
		return err
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return fmt.Errorf("checking %s: %w", file, err)
	}
	if result != "ok" {
		return fmt.Errorf("the copy %s fails SQLite's integrity check: %s", file, result)
	}
	return nil
}
