package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The console's worklist lists the oldest overdue steps up to MaxOverdueShown (100), says how many
// more there are and links to all of them (?overdue=all); GET /v1/worklist lists every one.
func TestConsoleWorklistOverdueCap(t *testing.T) {
	t.Parallel()
	base := server(t).base
	org := newOrg(t)
	name, pass, supervisor := org.newUser(t, "supervisor")
	_, _, worker := org.newUser(t, "caseworker")
	for range 30 { // first-contact-safety has three or more steps due within five hours of first contact
		id := uuid.Must(uuid.NewV7()).String()
		c := newCase(id, "Child O.")
		c["opened_at"] = time.Now().Add(-5 * time.Hour).UTC().Format(time.RFC3339)
		if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, c); r.status != http.StatusCreated {
			t.Fatalf("case: %d %s", r.status, r.body)
		}
		if r := post(t, base, http.MethodPost, "/v1/cases/"+id+"/runs", worker.AccessToken,
			map[string]string{"id": uuid.Must(uuid.NewV7()).String(), "protocol_id": "first-contact-safety"}); r.status != http.StatusCreated {
			t.Fatalf("run: %d %s", r.status, r.body)
		}
	}
	var w worklistBody
	get(t, base, "/v1/worklist", "Authorization: Bearer "+supervisor.AccessToken).json(t, &w)
	total := len(w.OverdueSteps)
	if total <= 100 {
		t.Fatalf("%d overdue steps, want more than 100", total)
	}
	cc := consoleSignIn(t, base, name, pass)
	tests := []struct {
		name, path string
		rows       int
		more       bool
	}{
		{"the oldest", "/console/", 100, true},
		{"all", "/console/?overdue=all", total, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			page := cc.get(tc.path)
			if page.status != http.StatusOK {
				t.Fatalf("%d %.300s", page.status, page.body)
			}
			table, _, _ := strings.Cut(page.body[strings.Index(page.body, `<table id="overdue">`):], "</table>")
			if rows := strings.Count(table, "<tr>") - 1; rows != tc.rows {
				t.Errorf("%d overdue rows, want %d", rows, tc.rows)
			}
			more := strconv.Itoa(total-100) + " more overdue steps are not shown"
			if strings.Contains(page.body, more) != tc.more || strings.Contains(page.body, `href="/console/?overdue=all#overdue-h"`) != tc.more {
				t.Errorf("the note %q and its link shown: %v, want %v", more, !tc.more, tc.more)
			}
			if !strings.Contains(page.body, `<h2 id="overdue-h">Overdue protocol steps <span class="badge">`+strconv.Itoa(total)+`</span>`) {
				t.Error("the heading does not count every overdue step")
			}
		})
	}
}
