package main

import (
	"net/http"
	"strings"
	"testing"
)

// The supervisors' referral inbox in the console lists what the organisation received (service,
// sender, urgency, parts, status, consent) in the page's language, linked from the navigation; a
// bad status answers its 400 page; another organisation's supervisor sees none of it.
func TestConsoleReferralInbox(t *testing.T) {
	t.Parallel()
	base := server(t).base
	p := newSharingParties(t)
	p.consent(t, "profile")
	ref := p.refer(t, "referral", "profile")
	name, password, _ := p.to.newUser(t, "supervisor")
	supervisor := consoleSignIn(t, base, name, password)
	if !strings.Contains(supervisor.get("/console/").body, `href="/console/referrals"`) {
		t.Error("the supervisor's navigation lacks the referral inbox")
	}
	tests := []struct {
		name, path string
		status     int
		want       []string
	}{
		{"list", "/console/referrals", http.StatusOK, []string{`id="referrals"`, ref.ID, p.from.id, "Child protection assessment", "The child’s profile", "sent", "Valid"}},
		{"in French", "/console/referrals?lang=fr", http.StatusOK, []string{"Évaluation de protection de l’enfance", "envoyée", "Valable"}},
		{"by status", "/console/referrals?status=completed", http.StatusOK, []string{`id="no-referrals"`}},
		{"a bad status", "/console/referrals?status=lost", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			supervisor.t = t
			r := supervisor.get(tt.path)
			if r.status != tt.status {
				t.Fatalf("%d %.1000s", r.status, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	otherName, otherPassword, _ := newOrg(t).newUser(t, "supervisor")
	if r := consoleSignIn(t, base, otherName, otherPassword).get("/console/referrals"); r.status != http.StatusOK || strings.Contains(r.body, ref.ID) {
		t.Errorf("another organisation's inbox: %d, holds the referral: %v", r.status, strings.Contains(r.body, ref.ID))
	}
}
