package ferret

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func closeServer(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// Data written before a clean stop is there after a restart on the same folder.
func TestDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := privateTempDir(t)
	ctx := context.Background()
	for i, want := range []int64{0, 1} {
		s, err := Start(dir, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
		if err != nil {
			t.Fatal(err)
		}
		coll := c.Database("d").Collection("c")
		if n, err := coll.CountDocuments(ctx, bson.D{}); err != nil || n != want {
			t.Fatalf("start %d: %d documents, %v", i, n, err)
		}
		if i == 0 {
			if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "x"}}); err != nil {
				t.Fatal(err)
			}
		}
		c.Disconnect(ctx)
		closeServer(t, s)
	}
}

func TestStartRefuses(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	busy := privateTempDir(t)
	ln, err := net.Listen("unix", filepath.Join(busy, "ferretdb.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() }) // not defer: the parallel subtests run after this function returns
	tests := []struct{ name, dir, want string }{
		{"data dir under a file", filepath.Join(file, "data"), "DATA_DIR"},
		{"another process serves the folder", busy, "another process"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Start(tt.dir, io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// A socket left by a process that died does not stop the next start; a long DATA_DIR path, too long
// for a Unix socket, still works.
func TestStartRecovers(t *testing.T) {
	t.Parallel()
	stale := privateTempDir(t)
	ln, err := net.Listen("unix", filepath.Join(stale, "ferretdb.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	long := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 40))
	for _, dir := range []string{stale, long} {
		s, err := Start(dir, io.Discard)
		if err != nil {
			t.Fatalf("Start(%s): %v", dir, err)
		}
		closeServer(t, s)
	}
}

// privateTempDir is a temporary folder only its owner may use, as Start requires (t.TempDir makes
// them 0755 under the usual umask).
func privateTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}
