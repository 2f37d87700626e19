//go:build scale

package main

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// BenchmarkScale seeds an agency with `api seed` (SCALE_CASES cases, default 100, and SCALE_READS case
// reads each, default 150: about 200 audit entries per case, the five-year proportions), starts the
// built binary on it, and measures in the same run every list, queue and report page, the audit list
// with filters, verification, a caseworker's first sync pull, start-up time and resident memory, each
// list against a read of one case by id (alternating, SCALE_REPS times each, medians):
//
//	go test -tags scale ./api -run '^$' -bench Scale -benchtime 1x -timeout 0
//
// SCALE_DATA_DIR reuses (or keeps) a seeded folder: when it holds a database already, seeding is
// skipped. SCALE_MONGODB_URI runs the service (and the seed) on that MongoDB instead of the embedded
// database. It prints a Markdown table.
func BenchmarkScale(b *testing.B) {
	cases := envInt("SCALE_CASES", 100)
	reads := envInt("SCALE_READS", 150)
	reps := envInt("SCALE_REPS", 11)
	const password = "scale benchmark passphrase"
	dir := os.Getenv("SCALE_DATA_DIR")
	if dir == "" {
		dir = b.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil { // the service refuses a data folder others can read
			b.Fatal(err)
		}
	}
	// SCALE_MONGODB_URI measures on that MongoDB instead of the embedded database; the data folder then
	// keeps the seeded agency's keys, and a folder holding them marks the database as seeded.
	uri := os.Getenv("SCALE_MONGODB_URI")
	env := append(os.Environ(), "DATA_DIR="+dir, "HOST=127.0.0.1", "PORT=0", "LOG_LEVEL=info", "MONGODB_URI="+uri)
	seededMark := filepath.Join(dir, "caseguide.sqlite")
	if uri != "" {
		seededMark = filepath.Join(dir, fieldcrypt.KeyFileName)
	}
	var rows [][]string
	if _, err := os.Stat(seededMark); err != nil {
		cmd := asBinary(env, "seed", "-cases", strconv.Itoa(cases), "-reads", strconv.Itoa(reads), "-password", password, "-workers", strconv.Itoa(envInt("SCALE_WORKERS", 8)))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, os.Stdout), io.MultiWriter(&out, os.Stderr) // progress shows as it goes
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("seed: %v\n%s", err, out.String())
		}
		took := time.Since(t0)
		b.Logf("seed output:\n%s", tail(out.String(), 12))
		entries := 0
		for _, m := range regexp.MustCompile(`audit log of \S+: (\d+) entries`).FindAllStringSubmatch(out.String(), -1) {
			n, _ := strconv.Atoi(m[1])
			entries += n
		}
		rows = append(rows, []string{fmt.Sprintf("seed %d cases (`api seed`, %d audit entries)", cases, entries), fmtDur(took),
			fmt.Sprintf("%.2f cases/s, %.0f audit entries/s", float64(cases)/took.Seconds(), float64(entries)/took.Seconds()), ""})
	}
	srv := startScaleServer(b, env)
	defer srv.stop()
	rows = append(rows, []string{"start-up (process start to listening)", fmtDur(srv.startup), "", ""})

	sup := srv.login(b, "riverside.supervisor1", password)
	aud := srv.login(b, "riverside.auditor1", password)
	adm := srv.login(b, "riverside.admin1", password)
	cw := srv.login(b, "riverside.caseworker1", password)
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	srv.json(b, sup, "/v1/cases?limit=200", &page)
	if len(page.Items) == 0 {
		b.Fatal("no cases listed")
	}
	caseIDs := make([]string, len(page.Items))
	for i, it := range page.Items {
		caseIDs[i] = it.ID
	}
	one := caseIDs[len(caseIDs)/2]
	srv.json(b, sup, "/v1/cases/"+one+"/evidence?limit=50", &page)
	item := page.Items[0].ID
	// A page deep into the list: follow the cursor 10 pages of 20.
	deep := "/v1/cases?limit=20"
	for range 10 {
		srv.json(b, sup, deep, &page)
		if page.NextCursor == nil {
			break
		}
		deep = "/v1/cases?limit=20&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	var me struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		ID string `json:"id"`
	}
	srv.json(b, cw, "/v1/me", &me)
	cwID := cmp.Or(me.User.ID, me.ID)
	since := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))

	byID := func() { srv.get(b, sup, "/v1/cases/"+one) }
	lists := []struct {
		name, token, path string
	}{
		{"case list, first page of 50", sup, "/v1/cases?limit=50"},
		{"case list, page 11 (cursor)", sup, deep},
		{"case list, open only", sup, "/v1/cases?limit=50&status=open"},
		{"case list, type and age band", sup, "/v1/cases?limit=50&case_type=grooming&age_band=12_to_17"},
		{"case list, one caseworker's (as supervisor)", sup, "/v1/cases?limit=50&assignee=" + cwID},
		{"case list, as a caseworker", cw, "/v1/cases?limit=50"},
		{"audit list, first page of 50", aud, "/v1/audit?limit=50"},
		{"audit list, one actor", aud, "/v1/audit?limit=50&actor_id=" + cwID},
		{"audit list, one case", aud, "/v1/audit?limit=50&resource_type=case&resource_id=" + one},
		{"audit list, last hour", aud, "/v1/audit?limit=50&since=" + since},
		{"interview review queue", sup, "/v1/interviews/review-queue?limit=50"},
		{"interview coaching report (the last 12 months)", sup, "/v1/interviews/coaching"},
		{"interview coaching report (the longest period, 36 months)", sup, "/v1/interviews/coaching?from=" + time.Now().UTC().AddDate(0, -35, 0).Format("2006-01")},
		{"interviews of a case", sup, "/v1/cases/" + one + "/interviews"},
		{"runs of a case", sup, "/v1/cases/" + one + "/runs"},
		{"evidence items of a case", sup, "/v1/cases/" + one + "/evidence?limit=50"},
		{"custody events of an item", sup, "/v1/cases/" + one + "/evidence/" + item + "/events"},
		{"users, first page", adm, "/v1/users?limit=50"},
		{"devices", adm, "/v1/devices?all=true"},
		{"evidence verification of a case", sup, "/v1/cases/" + one + "/evidence-verification"},
	}
	for _, l := range lists {
		var listT, idT []time.Duration
		for range reps {
			t0 := time.Now()
			srv.get(b, l.token, l.path)
			listT = append(listT, time.Since(t0))
			t0 = time.Now()
			byID()
			idT = append(idT, time.Since(t0))
		}
		lm, im := median(listT), median(idT)
		rows = append(rows, []string{l.name, fmtDur(lm), fmtDur(im), fmt.Sprintf("%.1f", float64(lm)/float64(im))})
	}
	// Verification of the whole audit log: a few times, against reads by id.
	var vT, idT []time.Duration
	for range 3 {
		t0 := time.Now()
		srv.get(b, aud, "/v1/audit/verify")
		vT = append(vT, time.Since(t0))
		t0 = time.Now()
		byID()
		idT = append(idT, time.Since(t0))
	}
	rows = append(rows, []string{"audit log verification (whole log)", fmtDur(median(vT)), fmtDur(median(idT)), fmt.Sprintf("%.0f", float64(median(vT))/float64(median(idT)))})
	// A caseworker's first sync pull (a fresh device), every page.
	pull := srv.login(b, "riverside.caseworker2", password)
	t0 := time.Now()
	records, pages := 0, 0
	path := "/v1/sync/changes?limit=200"
	for {
		var ch struct {
			Records    []json.RawMessage `json:"records"`
			NextCursor string            `json:"next_cursor"`
			HasMore    bool              `json:"has_more"`
		}
		srv.json(b, pull, path, &ch)
		records += len(ch.Records)
		pages++
		if !ch.HasMore {
			break
		}
		path = "/v1/sync/changes?limit=200&cursor=" + url.QueryEscape(ch.NextCursor)
	}
	took := time.Since(t0)
	t0 = time.Now()
	byID()
	rows = append(rows, []string{fmt.Sprintf("first sync pull of a caseworker (%d records, %d pages)", records, pages), fmtDur(took), fmtDur(time.Since(t0)), ""})
	rss, hwm := srv.memory(b)
	rows = append(rows, []string{"resident memory at the end (peak)", fmt.Sprintf("%d MB (%d MB)", rss/1024, hwm/1024), "", ""})

	var out strings.Builder
	out.WriteString("\n| measure | median | read by id | ratio |\n| --- | ---: | ---: | ---: |\n")
	for _, r := range rows {
		out.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	fmt.Println(out.String())
	b.ReportMetric(float64(rss)/1024, "rss_MB")
	b.ReportMetric(srv.startup.Seconds(), "startup_s")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// binaryServer is the service binary running in another process.
type binaryServer struct {
	cmd     *exec.Cmd
	base    string
	startup time.Duration
	client  *http.Client
}

// asBinary returns a command running this test binary as the service binary with args (see
// runAsBinary), in environment env.
func asBinary(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(env, runAsBinaryEnv+"="+strings.Join(args, argSep))
	return cmd
}

// startScaleServer starts the service (serve) in a process of its own with env and waits for its
// "listening" log line.
func startScaleServer(b *testing.B, env []string) *binaryServer {
	b.Helper()
	cmd := asBinary(env, "serve")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &binaryServer{cmd: cmd, client: &http.Client{Timeout: 10 * time.Minute}}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
			s.startup = time.Since(t0)
			s.base = "http://" + line.Addr
			break
		}
	}
	if s.base == "" {
		cmd.Process.Kill()
		b.Fatal("the service did not start")
	}
	go io.Copy(io.Discard, stdout)
	return s
}

func (s *binaryServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
}

func (s *binaryServer) do(b *testing.B, method, path, token string, body any) []byte {
	b.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, s.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return data
}

func (s *binaryServer) get(b *testing.B, token, path string) []byte {
	return s.do(b, http.MethodGet, path, token, nil)
}

func (s *binaryServer) json(b *testing.B, token, path string, v any) {
	b.Helper()
	if err := json.Unmarshal(s.get(b, token, path), v); err != nil {
		b.Fatal(err)
	}
}

func (s *binaryServer) login(b *testing.B, user, password string) string {
	b.Helper()
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	data := s.do(b, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": user, "password": password, "device_id": "scale-" + user})
	if err := json.Unmarshal(data, &tk); err != nil {
		b.Fatal(err)
	}
	return tk.AccessToken
}

// memory returns the process's resident set and its peak, in kB.
func (s *binaryServer) memory(b *testing.B) (rss, hwm int) {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "VmRSS:" {
			rss, _ = strconv.Atoi(f[1])
		}
		if len(f) >= 2 && f[0] == "VmHWM:" {
			hwm, _ = strconv.Atoi(f[1])
		}
	}
	return rss, hwm
}
