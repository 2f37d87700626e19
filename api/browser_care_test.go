package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// At tablet width, a Barnahus supervisor opens a referral from the inbox and accepts it, lands on
// the new case (profile shared, care sections shown), raises a flag there, records a consent and
// sends a referral through the case page's forms (one sharing what the consent does not cover comes
// back at the parts field); then opens the calendar and the reports page with its charts. Every
// page passes the accessibility check.
func TestBrowserReferralAcceptAndReports(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 768, 1024)
	p := newSharingParties(t)
	p.consent(t, "profile", "case_types")
	ref := p.refer(t, "referral", "profile", "case_types")
	name, password, sup := p.to.newUser(t, "supervisor")
	_, _, worker := p.to.newUser(t, "caseworker")
	for i := range 5 { // five more children, so that the report's charts have bars
		if r := post(t, tb.base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(newUUID(), "Child "+string(rune('A'+i)))); r.status != http.StatusCreated {
			t.Fatalf("case: %d %s", r.status, r.body)
		}
	}

	tb.signIn(name, password)
	tb.open("/console/referrals")
	tb.axe()
	tb.do("opening the referral", chromedp.Click(chromedp.CSS(`#referrals a[href="/console/referrals/`+ref.ID+`"]`)), chromedp.WaitVisible(chromedp.CSS("#accept-form")))
	tb.axe()
	tb.screenshot("referral")
	tb.fill("#reference_number", "BH-2026-1")
	tb.submit("#accept", "#flags-h")
	if path := tb.path(); !strings.HasPrefix(path, "/console/cases/") {
		t.Fatalf("after accepting: %s: %s", path, tb.text("main"))
	}
	if got := tb.text("#profile"); !strings.Contains(got, "Child T.") || !strings.Contains(got, "BH-2026-1") {
		t.Errorf("the new case's profile: %q", got)
	}
	tb.fill("#flag-reason", "Child fears the examination room")
	tb.submit("#raise-flag", "#case-flags")
	if got := tb.text("#case-flags"); !strings.Contains(got, "Child fears the examination room") {
		t.Errorf("the flags after raising one: %q", got)
	}
	tb.axe()

	// through the case page's forms: a consent to share the profile with the sending organisation,
	// then a referral to it; sharing the needs too, which the consent does not cover, comes back at
	// the parts field
	caseID := strings.TrimPrefix(tb.path(), "/console/cases/")
	tb.fill("#consent-giver", "legal_guardian")
	tb.do("ticking the purpose and the part", chromedp.Click(chromedp.CSS("#consent-purpose-information_sharing")), chromedp.Click(chromedp.CSS("#consent-part-profile")))
	tb.fill("#consent-org-1", p.from.id)
	tb.submit("#record-consent", "#consents")
	if got := tb.text("#consents"); !strings.Contains(got, p.from.id) {
		t.Errorf("the consents after recording one: %q", got)
	}
	tb.axe()
	tb.fill("#referral-to", p.from.id)
	tb.fill("#referral-service", "therapy")
	tb.do("ticking the parts", chromedp.Click(chromedp.CSS("#referral-part-profile")), chromedp.Click(chromedp.CSS("#referral-part-needs")))
	tb.submit("#send-referral", "#referral-parts-error")
	tb.axe()
	tb.do("unticking the needs", chromedp.Click(chromedp.CSS("#referral-part-needs")))
	tb.submit("#send-referral", "#flags-h")
	var sent struct {
		Items []struct {
			ToOrgID string `json:"to_org_id"`
		} `json:"items"`
	}
	get(t, tb.base, "/v1/cases/"+caseID+"/referrals", bearer(sup)).json(t, &sent)
	if len(sent.Items) != 1 || sent.Items[0].ToOrgID != p.from.id {
		t.Errorf("the referrals sent from the case page: %+v", sent.Items)
	}

	tb.open("/console/calendar")
	tb.axe()
	tb.open("/console/reports")
	var charts int
	tb.eval(`document.querySelectorAll("svg.chart").length`, &charts)
	if charts < 3 {
		t.Errorf("%d charts on the reports page", charts)
	}
	if got := tb.text("#children"); got != "6" {
		t.Errorf("children served shown as %q, want 6", got)
	}
	tb.axe()
	tb.screenshot("reports")
}
