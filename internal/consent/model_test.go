package consent

import (
	"testing"
	"time"
)

func TestCoversAndStatus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	until := now.Add(time.Hour)
	past := now.Add(-time.Hour)
	base := Consent{GivenBy: GivenByCaregiver, Purposes: []Purpose{PurposeInformationSharing}, OrganisationIDs: []string{"barnahus"},
		Parts: []Part{PartProfile, PartCaseTypes}, ValidFrom: now.Add(-24 * time.Hour), ValidUntil: &until}
	tests := []struct {
		name   string
		change func(c *Consent)
		org    string
		parts  []Part
		status Status
		covers bool
	}{
		{"covers its parts", nil, "barnahus", []Part{PartProfile}, StatusActive, true},
		{"covers all its parts", nil, "barnahus", []Part{PartCaseTypes, PartProfile}, StatusActive, true},
		{"not a part it lacks", nil, "barnahus", []Part{PartProfile, PartNeeds}, StatusActive, false},
		{"not another organisation", nil, "police", []Part{PartProfile}, StatusActive, false},
		{"not for services only", func(c *Consent) { c.Purposes = []Purpose{PurposeServices} }, "barnahus", []Part{PartProfile}, StatusActive, false},
		{"not once withdrawn", func(c *Consent) { c.Withdrawal = &Withdrawal{At: past} }, "barnahus", []Part{PartProfile}, StatusWithdrawn, false},
		{"not once expired", func(c *Consent) { c.ValidUntil = &past }, "barnahus", []Part{PartProfile}, StatusExpired, false},
		{"not before it starts", func(c *Consent) { c.ValidFrom = until }, "barnahus", []Part{PartProfile}, StatusPending, false},
		{"a legal basis without end", func(c *Consent) { c.GivenBy, c.LegalBasis, c.ValidUntil = "", BasisCourtOrder, nil }, "barnahus", []Part{PartProfile}, StatusActive, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := base.clone()
			if tc.change != nil {
				tc.change(&c)
			}
			if got := c.StatusAt(now); got != tc.status {
				t.Errorf("status %s, want %s", got, tc.status)
			}
			if got := c.Covers(tc.org, tc.parts, now); got != tc.covers {
				t.Errorf("covers %v, want %v", got, tc.covers)
			}
		})
	}
}
