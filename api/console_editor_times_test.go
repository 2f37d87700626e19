package main

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestConsoleEditorPageTimes measures the server time of the draft pages for a draft of the largest
// shipped protocol (child-interview, about 250 strings in six languages): the draft page with its
// text and structure forms, the French translation grid, the previews and the new-draft form, beside
// the API's read of the same draft (GET /v1/authoring/drafts/{id}) in the same rounds, so a busy
// machine slows both alike. Each figure is the median of CONSOLE_TIMES_RUNS rounds (default 1) over
// loopback with a new connection per request. When CONSOLE_TIMES_RUNS is set it fails when a page
// that reads no draft (the new-draft form, a published version's preview) passes 50 ms; the draft
// pages are reported with their ratio to the API's read (the draft's read from the database is most
// of both). The README figures come from
//
//	CONSOLE_TIMES_RUNS=51 go test ./api -run TestConsoleEditorPageTimes -v
func TestConsoleEditorPageTimes(t *testing.T) {
	if os.Getenv("CONSOLE_TIMES_RUNS") == "" {
		t.Parallel() // one quick run, beside the other tests; a measurement runs alone
	}
	base := server(t).base
	runs := envInt("CONSOLE_TIMES_RUNS", 1)
	name, password, tk := newUser(t, "content_editor")
	cc := consoleSignIn(t, base, name, password)
	id := uuid.Must(uuid.NewV7()).String()
	if r := cc.post("/console/drafts", url.Values{"mode": {"published"}, "id": {id}, "protocol_id": {"child-interview"}}); r.status != http.StatusSeeOther {
		t.Fatalf("creating the draft: %d", r.status)
	}
	draft := "/console/drafts/" + id
	pages := []struct {
		path   string
		target bool
	}{{"api", false}, {draft, false}, {draft + "/translations/fr", false}, {draft + "/translations/fr?state=stale", false},
		{draft + "/preview?situation=1&age_band=6_to_11&locale=ar", false},
		{"/console/library/child-interview/preview?situation=1&age_band=12_to_17&needs=interpreter&locale=ru", true}, {"/console/drafts/new", true}}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	took := make([][]time.Duration, len(pages))
	for range runs {
		for i, pg := range pages {
			start := time.Now()
			status := 0
			if pg.path == "api" {
				req, _ := http.NewRequest(http.MethodGet, base+"/v1/authoring/drafts/"+id, nil)
				req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var sink bytes.Buffer
				_, _ = sink.ReadFrom(resp.Body)
				resp.Body.Close()
				status = resp.StatusCode
			} else {
				status = cc.get(pg.path).status
			}
			took[i] = append(took[i], time.Since(start))
			if status != http.StatusOK {
				t.Fatalf("%s: %d", pg.path, status)
			}
		}
	}
	var apiMedian time.Duration
	for i, pg := range pages {
		slices.Sort(took[i])
		median := took[i][len(took[i])/2]
		if i == 0 {
			apiMedian = median
		}
		label := strings.Replace(pg.path, id, "{id}", 1)
		if pg.path == "api" {
			label = "GET /v1/authoring/drafts/{id} (the API, for comparison)"
		}
		t.Logf("%-70s median %8s  p90 %8s  %.1f× the API's read", label, median.Round(10*time.Microsecond),
			took[i][len(took[i])*9/10].Round(10*time.Microsecond), float64(median)/float64(apiMedian))
		if os.Getenv("CONSOLE_TIMES_RUNS") != "" && pg.target && median > 50*time.Millisecond {
			t.Errorf("%s: median %s, above 50 ms", pg.path, median)
		}
	}
}
