package ferret

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// A backup restores into an empty folder to the same documents; a damaged or foreign file, or a
// folder that is not empty, is refused and leaves nothing behind.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := privateTempDir(t)
	s, err := Start(src, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	coll := c.Database("d").Collection("c")
	for i := range 20 {
		if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: i}, {Key: "v", Value: strings.Repeat("x", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	var backup bytes.Buffer
	m, err := Backup(ctx, src, "d", &backup) // while the server runs
	c.Disconnect(ctx)
	closeServer(t, s)
	if err != nil || m.Database != "d" || m.Bytes == 0 {
		t.Fatalf("Backup: %+v %v", m, err)
	}

	damaged := bytes.Clone(backup.Bytes())
	damaged[len(damaged)/2] ^= 0xff
	full := privateTempDir(t)
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		dir  string
		want string
	}{
		{"damaged", damaged, filepath.Join(t.TempDir(), "a"), ""},
		{"not a backup", []byte("hello"), filepath.Join(t.TempDir(), "b"), "not a backup"},
		{"folder not empty", backup.Bytes(), full, "not empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Restore(bytes.NewReader(tt.data), tt.dir, "")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore: %v, want an error mentioning %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(tt.dir); tt.dir != full && len(entries) != 0 {
				t.Errorf("a failed restore left %v", entries)
			}
		})
	}

	dst := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(bytes.NewReader(backup.Bytes()), dst, ""); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(DatabaseFile(dst, "d")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("restored file: %v %v", st, err)
	}
	s, err = Start(dst, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer closeServer(t, s)
	c, err = mongo.Connect(options.Client().ApplyURI(s.URI()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	if n, err := c.Database("d").Collection("c").CountDocuments(ctx, bson.D{}); err != nil || n != 20 {
		t.Fatalf("restored: %d documents, %v", n, err)
	}
}
