package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/protocols"
)

// run() starts the whole service from the command line's point of view and stops cleanly on cancel.
func TestRunStartsAndShutsDownCleanly(t *testing.T) {
	t.Parallel()
	env := testEnv(t.TempDir(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, logs := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"api"}, func(k string) string { return env[k] }, logs, io.Discard)
		logs.Close()
	}()
	lines := bufio.NewScanner(out)
	addr := ""
	var seen []string
	for addr == "" && lines.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(lines.Bytes(), &line) == nil {
			seen = append(seen, line.Msg)
			if line.Msg == "listening" {
				addr = line.Addr
			}
		}
	}
	if addr == "" {
		t.Fatalf("no listening line; saw %v; run returned %v", seen, <-done)
	}
	if !strings.Contains(strings.Join(seen, ","), "configuration") {
		t.Errorf("the configuration was not printed at start: %v", seen)
	}
	go io.Copy(io.Discard, out)
	if r := get(t, "http://"+addr, "/readyz"); r.status != 200 {
		t.Fatalf("readyz %d", r.status)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

// A request in flight when shutdown starts still completes; the server stops after it.
func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	hooks := &serveHooks{routes: []func(fiber.Router){func(r fiber.Router) {
		r.Get("/test/slow", func(c *fiber.Ctx) error {
			close(entered)
			<-release
			return c.SendString("finished")
		})
	}}}
	s := startServer(t, testEnv(t.TempDir(), nil), hooks)
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(s.base + "/test/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		result <- string(b)
	}()
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()
	close(release)
	if got := <-result; got != "finished" {
		t.Errorf("in-flight request got %q", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("serve returned %v", err)
	}
	if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
		t.Error("no stopped line in the log")
	}
}

// Restarting on the same database publishes nothing new for unchanged files; a changed file
// becomes the next version and the earlier one stays readable.
func TestRestartPublishesOnlyChangedProtocols(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	env := testEnv(dataDir, nil)
	first := startServer(t, env, nil)
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(first.logs.String(), `"new_versions":5`) {
		t.Fatalf("first start did not publish 5 versions:\n%s", first.logs)
	}

	second := startServer(t, env, nil)
	if err := second.stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(second.logs.String(), `"new_versions":0`) {
		t.Errorf("an unchanged library published new versions:\n%s", second.logs)
	}

	changed := copyLibrary(t)
	file := filepath.Join(changed, "digital-evidence", "protocol.yaml")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), "\ntitle: ", "\ntitle: Revised - ", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	env["PROTOCOLS_DIR"] = changed
	third := startServer(t, env, nil)
	defer third.stop()
	var latest, v1 document
	get(t, third.base, "/v1/protocols/digital-evidence").json(t, &latest)
	get(t, third.base, "/v1/protocols/digital-evidence/versions/1").json(t, &v1)
	if latest.Version != 2 || !strings.HasPrefix(latest.Title, "Revised - ") {
		t.Errorf("latest = version %d %q", latest.Version, latest.Title)
	}
	if v1.Version != 1 || strings.HasPrefix(v1.Title, "Revised") {
		t.Errorf("version 1 = %d %q", v1.Version, v1.Title)
	}
	var other document
	get(t, third.base, "/v1/protocols/child-interview").json(t, &other)
	if other.Version != 1 {
		t.Errorf("an unchanged protocol moved to version %d", other.Version)
	}
}

// copyLibrary copies the shipped protocol library to a temporary folder.
func copyLibrary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, protocols.FS); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestServeRefusesToStart(t *testing.T) {
	t.Parallel()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken := copyLibrary(t)
	if err := os.WriteFile(filepath.Join(broken, "first-contact-safety", "fr.yaml"), []byte("title: Bonjour\nstep.nope.title: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	typoRules := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(typoRules, []byte(`[{"code":"closing_missed","severity":"high","measure":"phase_not_done:clsoing","compare":"above","threshold":0}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"DATA_DIR not writable", map[string]string{"DATA_DIR": filepath.Join(notADir, "data"), "MONGODB_URI": ""}, "DATA_DIR"},
		{"database unreachable", map[string]string{"MONGODB_URI": "mongodb://127.0.0.1:1/?connectTimeoutMS=200", "DB_CONNECT_TIMEOUT": "1s"}, "database"},
		{"invalid protocol library", map[string]string{"PROTOCOLS_DIR": broken}, `first-contact-safety/fr.yaml:2: unknown string id "step.nope.title"`},
		{"invalid configuration", map[string]string{"PORT": "http"}, "PORT"},
		{"interview rule on an unknown phase", map[string]string{"INTERVIEW_RULES_FILE": typoRules}, `"clsoing"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := testEnv(t.TempDir(), tt.env)
			err := run(context.Background(), []string{"api"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run error = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// A BOOTSTRAP_ADMIN_PASSWORD that breaks a rule stops the start before any key or database file is
// written, and the message names the rule.
func TestWeakBootstrapPasswordWritesNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	env := testEnv(dir, map[string]string{"BOOTSTRAP_ADMIN_PASSWORD": "aaaaaaaaaaaaaaaa"})
	err := run(context.Background(), []string{"api"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "too_simple") || !strings.Contains(err.Error(), "BOOTSTRAP_ADMIN_PASSWORD") {
		t.Fatalf("run error = %v, want one naming BOOTSTRAP_ADMIN_PASSWORD and the rule too_simple", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DATA_DIR was created although the configuration was refused: %v", err)
	}
}

func TestValidateCommand(t *testing.T) {
	t.Parallel()
	broken := copyLibrary(t)
	file := filepath.Join(broken, "child-interview", "protocol.yaml")
	b, _ := os.ReadFile(file)
	if err := os.WriteFile(file, []byte(strings.Replace(string(b), "depends_on: [free-recall-account]", "depends_on: [no-such-step]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	incomplete := copyLibrary(t)
	if err := os.Remove(filepath.Join(incomplete, "digital-evidence", "zh.yaml")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    string
	}{
		{"shipped library", []string{"api", "validate"}, false, "5 protocol(s) valid"},
		{"folder of the shipped library", []string{"api", "validate", copyLibrary(t)}, false, "5 protocol(s) valid"},
		{"broken reference", []string{"api", "validate", broken}, true, `/child-interview/protocol.yaml:`},
		{"missing translation fails by default", []string{"api", "validate", incomplete}, true, "no translation into zh"},
		{"missing translation allowed", []string{"api", "validate", "-allow-incomplete", incomplete}, false, "warning: " + incomplete + "/digital-evidence/zh.yaml: file missing: no translation into zh"},
		{"missing translation is an error by default", []string{"api", "validate", incomplete}, true, "error: " + incomplete + "/digital-evidence/zh.yaml: file missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			err := run(context.Background(), tt.args, os.Getenv, &out, io.Discard)
			if (err != nil) != tt.wantErr || !strings.Contains(out.String(), tt.want) {
				t.Errorf("err = %v, output:\n%s", err, out.String())
			}
		})
	}
}

func TestHealthcheckCommand(t *testing.T) {
	t.Parallel()
	base := server(t).base
	if err := run(context.Background(), []string{"api", "healthcheck", base + "/healthz"}, os.Getenv, io.Discard, io.Discard); err != nil {
		t.Errorf("healthcheck of a running server: %v", err)
	}
	err := run(context.Background(), []string{"api", "healthcheck", "http://127.0.0.1:1/healthz"}, os.Getenv, io.Discard, io.Discard)
	if err == nil {
		t.Error("healthcheck of nothing succeeded")
	}
	// Without a URL it asks /readyz on PORT: a process up whose database does not answer is unhealthy.
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer notReady.Close()
	port := notReady.URL[strings.LastIndex(notReady.URL, ":")+1:]
	if err := run(context.Background(), []string{"api", "healthcheck"}, func(k string) string { return map[string]string{"PORT": port}[k] }, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "/readyz answered 503") {
		t.Errorf("healthcheck of a server whose database is down: %v", err)
	}
	if err := run(context.Background(), []string{"api", "frobnicate"}, os.Getenv, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("unknown command error = %v", err)
	}
}

// On the embedded database, every collection gets the index that lets FerretDB's lookups by _id
// search instead of scanning (ferret.Server.IndexIDs), the collections no document reached yet too.
func TestEmbeddedDatabaseIndexesEveryCollection(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("not the embedded database")
	}
	s := server(t)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.dataDir, "caseguide.sqlite")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var collections, indexed int
	if err := db.QueryRow(`SELECT count(*) FROM _ferretdb_collections`).Scan(&collections); err != nil {
		t.Fatal(err)
	}
	err = db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE '%\_caseguide\_id' ESCAPE '\' AND tbl_name IN (SELECT table_name FROM _ferretdb_collections)`).Scan(&indexed)
	if err != nil {
		t.Fatal(err)
	}
	if collections < 21 || indexed != collections {
		t.Fatalf("%d of %d collections have the _id index; want all, at least 21", indexed, collections)
	}
}

// The start's log counts the protocols served, those published earlier (by an editor, or from files
// no longer shipped) included, not only the files read.
func TestStartLogCountsServedProtocols(t *testing.T) {
	t.Parallel()
	env := testEnv(t.TempDir(), nil)
	first := startServer(t, env, nil)
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	fewer := copyLibrary(t)
	if err := os.RemoveAll(filepath.Join(fewer, "digital-evidence")); err != nil {
		t.Fatal(err)
	}
	env["PROTOCOLS_DIR"] = fewer
	second := startServer(t, env, nil)
	defer second.stop()
	var list struct{ Items []any }
	get(t, second.base, "/v1/protocols").json(t, &list)
	if want := fmt.Sprintf(`"protocols":%d`, len(list.Items)); len(list.Items) != 5 || !strings.Contains(second.logs.String(), want) {
		t.Errorf("%d protocols served; the start's log lacks %s:\n%s", len(list.Items), want, second.logs)
	}
}
