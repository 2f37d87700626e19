package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/seed"
)

// The seed command fills a fresh database with an agency the service then serves: a seeded
// supervisor signs in, lists the organisation's cases, finds the interviews the plan left waiting
// for review in the queue, and the audit log and every case's custody chains verify through the API.
// Seeding again without -force is refused and changes nothing.
func TestSeedCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := testEnv(dir, nil)
	getenv := func(k string) string { return env[k] }
	const cases, password = 4, "seeded agency passphrase"
	var out, errs bytes.Buffer
	// seedCommand as run calls it for "api seed", with the tests' cheap password hashes.
	args := []string{"-cases", strconv.Itoa(cases), "-seed", "7", "-reads", "3", "-password", password}
	if err := seedCommand(context.Background(), args, getenv, &out, &errs, testPasswords); err != nil {
		t.Fatalf("seed: %v\n%s\n%s", err, out.String(), errs.String())
	}
	for _, want := range []string{"riverside.supervisor1", "harbour-police.caseworker1", "riverside.auditor1", "cases 4/4 (100%)", "verified"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("seed output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), password) {
		t.Error("the seed printed a password it was given")
	}
	m := regexp.MustCompile(`audit log of default: (\d+) entries`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no audit count for default in:\n%s", out.String())
	}
	seededEntries, _ := strconv.Atoi(m[1])

	t.Run("refused without -force", func(t *testing.T) {
		var out2 bytes.Buffer
		err := run(context.Background(), append([]string{"api", "seed"}, args...), getenv, &out2, &out2)
		if err == nil || !strings.Contains(err.Error(), "-force") {
			t.Errorf("second seed: %v", err)
		}
	})

	// What the plan put in organisation "default".
	plan := seed.NewPlan(cases, 7, time.Now())
	var ids []string
	queued := 0
	for i := range cases {
		c := plan.Case(i)
		if c.Org != 0 {
			continue
		}
		ids = append(ids, c.ID)
		if c.Session && (c.SessionEnd == "submitted" || c.SessionEnd == "resubmitted") {
			queued++
		}
	}

	srv := startServer(t, env, nil)
	t.Cleanup(func() { srv.stop() })
	sup := login(t, srv.base, "riverside.supervisor1", password, "seed-test-console")
	auth := "Authorization: Bearer " + sup.AccessToken

	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	get(t, srv.base, "/v1/cases?limit=200", auth).json(t, &list)
	if len(list.Items) != len(ids) {
		t.Fatalf("case list has %d cases, the plan put %d in the organisation", len(list.Items), len(ids))
	}
	for i, c := range list.Items {
		if !slices.Contains(ids, c.ID) {
			t.Errorf("listed case %d (%s) is not one the plan made", i, c.ID)
		}
		var rep struct {
			OK    bool `json:"ok"`
			Items []struct {
				Events int `json:"events"`
			} `json:"items"`
		}
		r := get(t, srv.base, "/v1/cases/"+c.ID+"/evidence-verification", auth)
		r.json(t, &rep)
		if r.status != http.StatusOK || !rep.OK || len(rep.Items) == 0 || rep.Items[0].Events != seed.EventsPerItem {
			t.Errorf("evidence of case %s: %d %s", c.ID, r.status, r.body)
		}
	}
	var q struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	get(t, srv.base, "/v1/interviews/review-queue?limit=200", auth).json(t, &q)
	if len(q.Items) != queued {
		t.Errorf("review queue has %d sessions, the plan left %d waiting", len(q.Items), queued)
	}
	var verify struct {
		LastSeq int  `json:"last_seq"`
		OK      bool `json:"ok"`
	}
	r := get(t, srv.base, "/v1/audit/verify", auth)
	r.json(t, &verify)
	if r.status != http.StatusOK || !verify.OK || verify.LastSeq < seededEntries {
		t.Errorf("audit verification: %d %s (seeded %d entries)", r.status, r.body, seededEntries)
	}
}
