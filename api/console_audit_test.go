package main

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The auditors' console pages: the audit log with filters and paging, its verification explained,
// and the deployment's log for auditors of DEPLOYMENT_AUDIT_ORG ("default" in the tests).

var consoleNextAuditPage = regexp.MustCompile(`href="(/console/audit\?[^"]*after=\d+)" id="next-page"`)

func TestConsoleAuditLog(t *testing.T) {
	t.Parallel()
	base := server(t).base
	auditorName, auditorPassword, auditorTk := newUser(t, "auditor")
	auditor := consoleSignIn(t, base, auditorName, auditorPassword)
	supervisorName, supervisorPassword, _ := newUser(t, "supervisor")
	supervisor := consoleSignIn(t, base, supervisorName, supervisorPassword)

	page := auditor.get("/console/audit")
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="audit-entries"`) || !strings.Contains(page.body, "auth.login") {
		t.Fatalf("audit page: %d %.1500s", page.status, page.body)
	}
	if !strings.Contains(page.body, `href="/console/audit?log=deployment"`) {
		t.Error("an auditor of the deployment's organisation sees no link to the deployment's log")
	}
	tests := []struct {
		name   string
		cc     *consoleClient
		query  url.Values
		status int
		want   []string
		reject []string
	}{
		{"filtered by actor and action", auditor, url.Values{"actor_id": {auditorTk.User.ID}, "action": {"auth.login"}}, http.StatusOK,
			[]string{"<code>auth.login</code>", auditorTk.User.ID}, []string{"<code>audit.read</code>"}},
		{"a day range", auditor, url.Values{"since": {"2020-01-01"}, "until": {"2999-12-31"}}, http.StatusOK, []string{`id="audit-entries"`}, nil},
		{"nothing before 2000", auditor, url.Values{"until": {"1999-12-31"}}, http.StatusOK, []string{"No entries match."}, nil},
		{"a bad date", auditor, url.Values{"since": {"yesterday"}}, http.StatusBadRequest, []string{`id="since-error"`, "year-month-day"}, nil},
		{"a bad cursor", auditor, url.Values{"after": {"-3"}}, http.StatusBadRequest, []string{"field-error"}, nil},
		{"a page size too large", auditor, url.Values{"limit": {"500"}}, http.StatusBadRequest, []string{`id="limit-error"`}, nil},
		{"too long an actor", auditor, url.Values{"actor_id": {strings.Repeat("a", 65)}}, http.StatusBadRequest, []string{`id="actor_id-error"`}, nil},
		{"an unknown log", auditor, url.Values{"log": {"everything"}}, http.StatusBadRequest, nil, nil},
		{"the deployment's log", auditor, url.Values{"log": {"deployment"}}, http.StatusOK, []string{"Deployment audit log"}, nil},
		{"a supervisor reads their organisation's", supervisor, nil, http.StatusOK, []string{`id="audit-entries"`}, []string{"log=deployment"}},
		{"a supervisor may not read the deployment's", supervisor, url.Values{"log": {"deployment"}}, http.StatusForbidden, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cc.t = t
			r := tt.cc.get("/console/audit?" + tt.query.Encode())
			if r.status != tt.status {
				t.Fatalf("%d %.800s", r.status, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.reject {
				if strings.Contains(r.body, w) {
					t.Errorf("page shows %q", w)
				}
			}
		})
	}

	// Reading the log in the console is recorded as through the API.
	auditor.t = t
	// Pages of two of the auditor's own entries (its sign-in and the reads so far), in order.
	var seqs []int
	cell := regexp.MustCompile(`<tr><td>([0-9,]+)</td>`)
	for path := "/console/audit?action=audit.read&limit=2&actor_id=" + auditorTk.User.ID; path != "" && len(seqs) < 6; {
		r := auditor.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %.500s", path, r.status, r.body)
		}
		rows := cell.FindAllStringSubmatch(r.body, -1)
		if len(rows) > 2 {
			t.Fatalf("%d rows on a page of 2", len(rows))
		}
		for _, m := range rows {
			n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, n)
		}
		path = ""
		if m := consoleNextAuditPage.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if len(seqs) < 4 || !slices.IsSorted(seqs) || slices.Compact(slices.Clone(seqs))[len(seqs)-1] != seqs[len(seqs)-1] {
		t.Errorf("paging the auditor's reads gave %v", seqs)
	}

	var entries struct {
		Items []struct {
			DeviceID string `json:"device_id"`
		}
	}
	get(t, base, "/v1/audit?actor_id="+auditorTk.User.ID+"&action=audit.read&limit=200", "Authorization: Bearer "+auditorTk.AccessToken).json(t, &entries)
	console := 0
	for _, e := range entries.Items {
		if strings.HasPrefix(e.DeviceID, "console-") {
			console++
		}
	}
	if console < 3 {
		t.Errorf("%d audit.read entries from the console, want one per page read", console)
	}
}

func TestConsoleAuditVerify(t *testing.T) {
	t.Parallel()
	base := server(t).base
	auditorName, auditorPassword, _ := newUser(t, "auditor")
	auditor := consoleSignIn(t, base, auditorName, auditorPassword)
	for _, path := range []string{"/console/audit/verify", "/console/audit/verify?log=deployment"} {
		t.Run(path, func(t *testing.T) {
			auditor.t = t
			r := auditor.get(path)
			if r.status != http.StatusOK || !strings.Contains(r.body, "Intact") || !strings.Contains(r.body, "every hash recomputed") {
				t.Fatalf("%d %.1500s", r.status, r.body)
			}
			if !strings.Contains(path, "deployment") && !regexp.MustCompile(`id="last-hash">[0-9a-f]{64}<`).MatchString(r.body) {
				t.Error("no newest hash shown")
			}
		})
	}
	supervisorName, supervisorPassword, _ := newUser(t, "supervisor")
	supervisor := consoleSignIn(t, base, supervisorName, supervisorPassword)
	if r := supervisor.get("/console/audit/verify?log=deployment"); r.status != http.StatusForbidden {
		t.Errorf("a supervisor verifying the deployment's log: %d", r.status)
	}
	if r := supervisor.get("/console/audit/verify"); r.status != http.StatusOK {
		t.Errorf("a supervisor verifying their organisation's log: %d", r.status)
	}
}
