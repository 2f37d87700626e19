package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// A supervisor finds a submitted interview on the worklist, returns it with a comment on a
// checklist item and an overall one; the interviewer resubmits it through the API; the supervisor
// then approves it. Every page passes the accessibility check.
func TestBrowserSupervisorReturnsThenApproves(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 1024, 768)
	o := newWorklistOrg(t)
	base := tb.base
	review := "/console/cases/" + o.assigned + "/interviews/" + o.submitted

	tb.signIn(o.supervisorName, o.supervisorPass)
	if got := tb.text("#reviews"); !strings.Contains(got, "Suggestive prompts") {
		t.Errorf("the worklist's review row does not name the flag: %q", got)
	}
	tb.axe()
	tb.screenshot("worklist")

	tb.do("following the review link", chromedp.Click(chromedp.CSS(`#reviews a[href="`+review+`"]`)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
	if p := tb.path(); p != review {
		t.Fatalf("the review link leads to %s", p)
	}
	var kinds []string
	tb.eval(`[...document.querySelectorAll("#timeline li")].map(li => li.className)`, &kinds)
	if strings.Join(kinds, " ") != "invitation invitation cued_invitation directive option_posing suggestive wellbeing break" {
		t.Errorf("timeline entries %v, want the prompts, the wellbeing check and the break in time order", kinds)
	}
	if got := tb.text("#timeline"); !strings.Contains(got, "Suggestive") || !strings.Contains(got, "Break") {
		t.Errorf("the timeline names its entries only by colour: %q", got)
	}
	tb.axe()
	tb.screenshot("interview-review")

	var firstItem string
	tb.eval(`document.querySelector('#review-form textarea[name^="item."]').id`, &firstItem)
	tb.fill(`[id="`+firstItem+`"]`, "Say how the ground rules were practised.")
	tb.fill("#comment", "Please ask open questions before specific ones.")
	tb.do("choosing return", chromedp.Click(chromedp.CSS("#decision-return")))
	tb.submit("#send-review", "main h1")
	if p := tb.path(); p != "/console/?notice=returned" {
		t.Fatalf("after returning: %s: %s", p, tb.text("main"))
	}
	if got := tb.text("#returned"); got == "" {
		t.Error("the returned interview is not on the worklist")
	}

	path := "/v1/cases/" + o.assigned + "/interviews/" + o.submitted
	var s sessionBody
	get(t, base, path, "Authorization: Bearer "+o.worker.AccessToken).json(t, &s)
	if s.Status != "returned" {
		t.Fatalf("status after the console's return: %s", s.Status)
	}
	var returned struct {
		Reviews []reviewBody `json:"reviews"`
	}
	get(t, base, path, "Authorization: Bearer "+o.worker.AccessToken).json(t, &returned)
	if n := len(returned.Reviews); n != 1 || returned.Reviews[0].Comment != "Please ask open questions before specific ones." || len(returned.Reviews[0].ItemComments) != 1 {
		t.Fatalf("the interviewer sees the review %+v", returned.Reviews)
	}
	sessionCall(t, base, http.MethodPost, path+"/submit", o.worker.AccessToken, map[string]any{"version": s.Version}, 200)

	tb.open(review)
	if got := tb.text("main"); !strings.Contains(got, "Please ask open questions before specific ones.") || !strings.Contains(got, "resubmitted") {
		t.Errorf("the review page lacks the earlier review or the new status: %q", got)
	}
	tb.fill("#comment", "Good use of invitations.")
	tb.do("choosing approve", chromedp.Click(chromedp.CSS("#decision-approve")))
	tb.submit("#send-review", "main h1")
	if p := tb.path(); p != "/console/?notice=approved" {
		t.Fatalf("after approving: %s: %s", p, tb.text("main"))
	}
	get(t, base, path, "Authorization: Bearer "+o.worker.AccessToken).json(t, &s)
	if s.Status != "approved" {
		t.Fatalf("status after the console's approval: %s", s.Status)
	}
	tb.open("/console/coaching?interviewer=" + o.worker.User.ID)
	tb.axe()
	tb.screenshot("coaching")
	tb.open("/console/cases")
	if got := tb.text("#cases"); !strings.Contains(got, "Under 6 years") {
		t.Errorf("the case list does not name the age band: %q", got)
	}
	tb.axe()
	tb.open("/console/cases/" + o.assigned)
	if got := tb.text("main"); !strings.Contains(got, "Child W.") {
		t.Errorf("the case page does not show the child's pseudonym: %q", got)
	}
	tb.axe()
	tb.open(review)
	tb.fill("#addendum-text", "The interpreter's name was corrected in the file.")
	tb.submit("#add-addendum", "#addenda")
	if got := tb.text("#addenda"); !strings.Contains(got, "interpreter's name was corrected") {
		t.Errorf("addenda %q", got)
	}
	tb.axe()
}

// In Arabic, chosen with the language picker and remembered for the user, the worklist lays out
// right to left at tablet width, with nothing wider than the screen.
func TestBrowserArabicWorklistRightToLeft(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 768, 1024)
	o := newWorklistOrg(t)
	tb.signIn(o.supervisorName, o.supervisorPass)
	tb.do("choosing Arabic", chromedp.SetValue(chromedp.CSS("#lang-picker"), "ar"))
	tb.submit(`form[action="/console/language"] button`, "main h1")

	var layout struct {
		Lang, Dir, Direction string
		Overflow             bool
	}
	tb.eval(`({lang: document.documentElement.lang, dir: document.documentElement.dir,
		direction: getComputedStyle(document.querySelector("main")).direction,
		overflow: document.documentElement.scrollWidth > window.innerWidth + 1})`, &layout)
	if layout.Lang != "ar" || layout.Dir != "rtl" || layout.Direction != "rtl" {
		t.Fatalf("Arabic page: lang %q dir %q, computed direction %q", layout.Lang, layout.Dir, layout.Direction)
	}
	if layout.Overflow {
		t.Error("the Arabic worklist is wider than a tablet's screen")
	}
	if h := tb.text("main h1"); h != "قائمة العمل" {
		t.Errorf("heading %q, want the Arabic title", h)
	}
	var th struct{ Right, TableRight float64 }
	tb.eval(`(() => { const th = document.querySelector("#reviews th"); return {right: th.getBoundingClientRect().right,
		tableRight: th.closest("table").getBoundingClientRect().right}; })()`, &th)
	if th.Right < th.TableRight-2 {
		t.Errorf("the first column is not at the right edge: %v of %v", th.Right, th.TableRight)
	}
	tb.axe()
	tb.screenshot("worklist-ar")

	other := newTab(t, 768, 1024) // the choice is the user's: another browser gets it too
	other.signIn(o.supervisorName, o.supervisorPass)
	var lang string
	other.eval(`document.documentElement.lang`, &lang)
	if lang != "ar" {
		t.Errorf("the language choice was not remembered: %q", lang)
	}
}

// At tablet width, a supervisor opens a case page with a protocol run, interviews and an evidence
// item, assigns a second caseworker with the picker and verifies the item's chain; the page fits
// the screen and every page passes the accessibility check.
func TestBrowserSupervisorCasePage(t *testing.T) {
	t.Parallel()
	tb := newTab(t, 768, 1024)
	o := newWorklistOrg(t)
	otherName, _, other := o.org.newUser(t, "caseworker")
	page := "/console/cases/" + o.assigned

	tb.signIn(o.supervisorName, o.supervisorPass)
	tb.open(page)
	for sel, want := range map[string]string{"#runs-h + div": "overdue", "#interviews": "Suggestive prompts", "#item-" + o.item: "seal S-9"} {
		if got := tb.text(sel); !strings.Contains(got, want) {
			t.Errorf("%s shows %q, want %q in it", sel, got, want)
		}
	}
	var overflow bool
	tb.eval(`document.documentElement.scrollWidth > window.innerWidth + 1`, &overflow)
	if overflow {
		t.Error("the case page is wider than a tablet's screen")
	}
	tb.axe()
	tb.screenshot("case-page")

	tb.do("choosing a caseworker", chromedp.SetValue(chromedp.CSS("#caseworker_id"), other.User.ID))
	tb.submit("#assign", "#caseworkers")
	if p := tb.path(); p != page {
		t.Fatalf("after assigning: %s: %s", p, tb.text("main"))
	}
	if got := tb.text("#caseworkers"); !strings.Contains(got, "Test "+otherName) {
		t.Errorf("caseworkers after assigning: %q", got)
	}
	var k struct {
		CaseworkerIDs []string `json:"caseworker_ids"`
	}
	get(t, tb.base, "/v1/cases/"+o.assigned, "Authorization: Bearer "+o.supervisor.AccessToken).json(t, &k)
	if !slices.Contains(k.CaseworkerIDs, other.User.ID) {
		t.Errorf("the case's caseworkers %v lack the one assigned in the console", k.CaseworkerIDs)
	}

	tb.submit(`form[action="`+page+`/evidence/`+o.item+`/verify"] button`, "#verify-result")
	if got := tb.text("#verify-result"); !strings.Contains(got, "The chain holds") {
		t.Errorf("verification result %q", got)
	}
	if got := tb.text("#verify-lines"); !strings.Contains(got, "custody events were checked") {
		t.Errorf("the verification is not explained: %q", got)
	}
	tb.axe()
	tb.screenshot("evidence-verify")
}
