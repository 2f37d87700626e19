// Package ferret runs the embedded MongoDB-compatible database: FerretDB in-process with its SQLite
// handler, files under a data folder, listening on a Unix socket (no TCP port).
package ferret

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// newMu serializes ferretdb.New, which writes a package-level variable of FerretDB's without locking
// (a data race when several servers start at once, as in parallel tests).
var newMu sync.Mutex

// maxSocketPath is the longest Unix socket path the kernel accepts, less a margin.
const maxSocketPath = 100

// Server is a running embedded database.
type Server struct {
	uri     string
	cancel  context.CancelFunc
	done    chan error
	tempDir string // set when the socket lives outside DATA_DIR
	dir     string // the data folder, absolute
}

// Start checks that dataDir is writable and private (group and others have no access: it is refused
// otherwise), makes the process create every file private to its owner (umask 077: the database
// files, their -wal and -shm companions and the socket are created 0600), makes files an older
// version left readable by others private, then starts FerretDB on it. Its log goes to logOut at error
// level only: its default logger is very noisy, and at warning level it dumps the whole response of
// every failed command (a duplicate-key error echoes the key), which must not put stored values in logs. It returns an error when dataDir is not a
// writable folder, when group or others may access it, when another process already serves dataDir, or when FerretDB cannot start.
func Start(dataDir string, logOut io.Writer) (*Server, error) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("DATA_DIR %q: %w", dataDir, err)
	}
	restrictNewFiles()
	if err := checkWritable(dir); err != nil {
		return nil, err
	}
	if err := checkPrivateDir(dir); err != nil {
		return nil, err
	}
	socket := filepath.Join(dir, "ferretdb.sock")
	var tempDir string
	if len(socket) > maxSocketPath {
		// Unix socket paths are limited to about 108 bytes; keep the database files in DATA_DIR
		// and put only the socket in a short private folder.
		tmp, err := os.MkdirTemp("", "caseguide-db")
		if err != nil {
			return nil, fmt.Errorf("creating a folder for the database socket: %w", err)
		}
		tempDir, socket = tmp, filepath.Join(tmp, "s.sock")
	}
	if err := clearStaleSocket(socket); err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelError})).With("component", "ferretdb")
	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{Unix: socket},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    logger,
	})
	newMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("starting the embedded database in %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{uri: f.MongoDBURI(), cancel: cancel, done: make(chan error, 1), tempDir: tempDir, dir: dir}
	go func() { s.done <- f.Run(ctx) }()
	return s, nil
}

// Attach returns the connection string of an embedded server that another process (a running
// service) already serves from dataDir, so command-line tools can work beside it.
// ok is false when no live server listens there.
func Attach(dataDir string) (uri string, ok bool) {
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return "", false
	}
	socket := filepath.Join(dir, "ferretdb.sock")
	conn, err := net.DialTimeout("unix", socket, 500*time.Millisecond)
	if err != nil {
		return "", false
	}
	conn.Close()
	return (&url.URL{Scheme: "mongodb", Host: socket, Path: "/"}).String(), true
}

// DatabaseFile returns the SQLite file that holds database name in dataDir (FerretDB keeps one file
// per database, named after it).
func DatabaseFile(dataDir, name string) string {
	return filepath.Join(dataDir, name+".sqlite")
}

// HasDatabase reports whether dataDir already holds database name, so tools that must not create a
// database can refuse a wrong folder. It returns an error other than "does not exist" from the file system.
func HasDatabase(dataDir, name string) (bool, error) {
	_, err := os.Stat(DatabaseFile(dataDir, name))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// URI returns the connection string of the running server.
func (s *Server) URI() string { return s.uri }

// Close stops the server and waits until it has closed its files, or until ctx ends.
// It returns ctx's error when the server did not stop in time.
func (s *Server) Close(ctx context.Context) error {
	s.cancel()
	select {
	case err := <-s.done:
		if s.tempDir != "" {
			os.RemoveAll(s.tempDir)
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("embedded database: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// checkPrivateDir refuses a data folder that group or others may access (the database files and keys
// hold child data), and makes private any file in it that is not (older versions created the database
// files 0644).
func checkPrivateDir(dir string) error {
	if !checkPrivate {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("DATA_DIR %s: %w", dir, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("DATA_DIR %s is accessible by group or others (mode %04o): it holds child data, so only its owner may use it; run: chmod 700 %s", dir, perm, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("DATA_DIR %s: %w", dir, err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, e.Name()), info.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("making %s private: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	return nil
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR %s cannot be created: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("DATA_DIR %s is not writable: %w", dir, err)
	}
	name := probe.Name()
	probe.Close()
	return os.Remove(name)
}

// clearStaleSocket removes a socket left by a process that is gone, and refuses to start when a
// live process still listens on it.
func clearStaleSocket(socket string) error {
	if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	conn, err := net.DialTimeout("unix", socket, 500*time.Millisecond)
	if err == nil {
		conn.Close()
		return fmt.Errorf("another process is already serving the database at %s: stop it or use another DATA_DIR", socket)
	}
	if err := os.Remove(socket); err != nil {
		return fmt.Errorf("removing the stale socket %s: %w", socket, err)
	}
	return nil
}
