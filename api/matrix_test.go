package main

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/jwtauth"
)

// who may call each /v1 endpoint. Adding an endpoint without a line here fails TestAccessMatrix.
var accessMatrix = map[string][]string{ // "METHOD /path" -> roles allowed; "public" or "signed-in"
	"GET /v1/locales":                         {"public"},
	"GET /v1/schemas/protocol.schema.json":    {"public"},
	"GET /v1/schemas/translation.schema.json": {"public"},
	"GET /v1/protocols":                       {"public"},
	"GET /v1/protocols/bundle":                {"public"},
	"GET /v1/protocols/:id":                   {"public"},
	"GET /v1/protocols/:id/versions":          {"public"},
	"GET /v1/protocols/:id/versions/:version": {"public"},
	"GET /v1/keys":                            {"public"},
	"POST /v1/auth/login":                     {"public"},
	"POST /v1/auth/refresh":                   {"public"},
	"POST /v1/auth/logout":                    {"signed-in"},
	"GET /v1/me":                              {"signed-in"},
	"POST /v1/me/password":                    {"signed-in"},
	"GET /v1/devices":                         {"signed-in"},
	"DELETE /v1/devices/:id":                  {"signed-in"},
	"GET /v1/organisations":                   {"signed-in"},
	"POST /v1/organisations":                  {"admin"},
	"PATCH /v1/organisations/:id":             {"admin"},
	"GET /v1/users":                           {"admin"},
	"POST /v1/users":                          {"admin"},
	"PATCH /v1/users/:id":                     {"admin"},
	"POST /v1/users/:id/password":             {"admin"},
	"GET /v1/caseworkers":                     {"supervisor"},
	"POST /v1/cases":                          {"caseworker", "supervisor"},
	"GET /v1/cases":                           {"caseworker", "supervisor"},
	"GET /v1/cases/:id":                       {"caseworker", "supervisor"},
	"PATCH /v1/cases/:id":                     {"caseworker", "supervisor"},
	"POST /v1/cases/:id/close":                {"caseworker", "supervisor"},
	"POST /v1/cases/:id/reopen":               {"caseworker", "supervisor"},
	"POST /v1/cases/:id/runs":                 {"caseworker", "supervisor"},
	"GET /v1/cases/:id/runs":                  {"caseworker", "supervisor"},
	"GET /v1/cases/:id/runs/:run":             {"caseworker", "supervisor"},
	"POST /v1/cases/:id/runs/:run/steps":      {"caseworker", "supervisor"},
	"GET /v1/audit":                           {"auditor", "supervisor"},
	"GET /v1/audit/verify":                    {"auditor", "supervisor"},
	"GET /v1/audit/checkpoints":               {"auditor", "supervisor"},
	"POST /v1/audit/checkpoints":              {"auditor", "supervisor"},
	"POST /v1/audit/verify-jobs":              {"auditor", "supervisor"},
	"GET /v1/audit/verify-jobs/:id":           {"auditor", "supervisor"},

	// interviews
	"POST /v1/cases/:id/interviews":                    {"caseworker", "supervisor"},
	"GET /v1/cases/:id/interviews":                     {"caseworker", "supervisor"},
	"GET /v1/cases/:id/interviews/:interview":          {"caseworker", "supervisor"},
	"PATCH /v1/cases/:id/interviews/:interview":        {"caseworker", "supervisor"},
	"POST /v1/cases/:id/interviews/:interview/log":     {"caseworker", "supervisor"},
	"POST /v1/cases/:id/interviews/:interview/submit":  {"caseworker", "supervisor"},
	"POST /v1/cases/:id/interviews/:interview/review":  {"supervisor"},
	"POST /v1/cases/:id/interviews/:interview/addenda": {"caseworker", "supervisor"},
	"GET /v1/interviews/review-queue":                  {"supervisor"},
	"GET /v1/interviews/coaching":                      {"caseworker", "supervisor"},
	"GET /v1/worklist":                                 {"supervisor"},

	// retention and erasure
	"POST /v1/cases/:id/erasure-requests":   {"supervisor"},
	"GET /v1/erasure-requests":              {"supervisor", "admin"},
	"GET /v1/erasure-requests/:id":          {"supervisor", "admin"},
	"POST /v1/erasure-requests/:id/confirm": {"admin"},
	"POST /v1/erasure-requests/:id/reject":  {"admin"},
	"GET /v1/retention/due":                 {"supervisor", "admin"},
	// working across agencies: flags, services and outcomes, appointments, time standards, statistics
	"POST /v1/cases/:id/flags":               {"caseworker", "supervisor"},
	"GET /v1/cases/:id/flags":                {"caseworker", "supervisor"},
	"POST /v1/cases/:id/flags/:flag/resolve": {"caseworker", "supervisor"},
	"POST /v1/cases/:id/services":            {"caseworker", "supervisor"},
	"GET /v1/cases/:id/services":             {"caseworker", "supervisor"},
	"GET /v1/cases/:id/services/:service":    {"caseworker", "supervisor"},
	"PATCH /v1/cases/:id/services/:service":  {"caseworker", "supervisor"},
	"POST /v1/cases/:id/appointments":        {"caseworker", "supervisor"},
	"GET /v1/cases/:id/appointments":         {"caseworker", "supervisor"},
	"GET /v1/cases/:id/time-standards":       {"caseworker", "supervisor"},
	"POST /v1/appointments":                  {"caseworker", "supervisor"},
	"GET /v1/appointments":                   {"caseworker", "supervisor"},
	"GET /v1/appointments/:id":               {"caseworker", "supervisor"},
	"PATCH /v1/appointments/:id":             {"caseworker", "supervisor"},
	"GET /v1/actions":                        {"caseworker", "supervisor"},
	"GET /v1/reports/period":                 {"supervisor", "auditor"},
	// working across agencies: consents and referrals
	"POST /v1/cases/:id/consents":                     {"caseworker", "supervisor"},
	"GET /v1/cases/:id/consents":                      {"caseworker", "supervisor"},
	"POST /v1/cases/:id/consents/:consent/withdrawal": {"caseworker", "supervisor"},
	"POST /v1/cases/:id/referrals":                    {"caseworker", "supervisor"},
	"GET /v1/cases/:id/referrals":                     {"caseworker", "supervisor"},
	"GET /v1/cases/:id/referrals/:referral":           {"caseworker", "supervisor"},
	"POST /v1/cases/:id/referrals/:referral/cancel":   {"caseworker", "supervisor"},
	"POST /v1/cases/:id/referrals/:referral/withdraw": {"caseworker", "supervisor"},
	"GET /v1/referrals":                               {"supervisor"},
	"GET /v1/referrals/:id":                           {"caseworker", "supervisor"},
	"POST /v1/referrals/:id/accept":                   {"supervisor"},
	"POST /v1/referrals/:id/decline":                  {"supervisor"},
	"POST /v1/referrals/:id/start":                    {"caseworker", "supervisor"},
	"POST /v1/referrals/:id/complete":                 {"caseworker", "supervisor"},
	"GET /v1/cases/:id/assignments":                   {"caseworker", "supervisor"},
	// evidence
	"POST /v1/cases/:id/evidence":                     {"caseworker", "supervisor"},
	"GET /v1/cases/:id/evidence":                      {"caseworker", "supervisor"},
	"GET /v1/cases/:id/evidence-verification":         {"caseworker", "supervisor"},
	"GET /v1/cases/:id/evidence/:item":                {"caseworker", "supervisor"},
	"POST /v1/cases/:id/evidence/:item/events":        {"caseworker", "supervisor"},
	"GET /v1/cases/:id/evidence/:item/events":         {"caseworker", "supervisor"},
	"GET /v1/cases/:id/evidence/:item/verify":         {"caseworker", "supervisor"},
	"GET /v1/cases/:id/evidence/:item/case-uco":       {"caseworker", "supervisor"},
	"GET /v1/cases/:id/evidence/:item/custody-record": {"caseworker", "supervisor"},
	"GET /v1/sync/changes":                            {"caseworker", "supervisor"},
	"POST /v1/sync/push":                              {"caseworker", "supervisor"},
	"GET /v1/sync/status":                             {"signed-in"},
	// authoring
	"GET /v1/authoring/drafts":                                {"content_editor"},
	"POST /v1/authoring/drafts":                               {"content_editor"},
	"POST /v1/authoring/drafts/import":                        {"content_editor"},
	"GET /v1/authoring/drafts/:id":                            {"content_editor"},
	"PUT /v1/authoring/drafts/:id":                            {"content_editor"},
	"GET /v1/authoring/drafts/:id/files":                      {"content_editor"},
	"GET /v1/authoring/drafts/:id/diff":                       {"content_editor"},
	"GET /v1/authoring/drafts/:id/translations/:locale":       {"content_editor"},
	"PATCH /v1/authoring/drafts/:id/translations/:locale":     {"content_editor"},
	"GET /v1/authoring/drafts/:id/translations/:locale/xliff": {"content_editor"},
	"PUT /v1/authoring/drafts/:id/translations/:locale/xliff": {"content_editor"},
	"POST /v1/authoring/drafts/:id/submit":                    {"content_editor"},
	"POST /v1/authoring/drafts/:id/approve":                   {"content_editor"},
	"POST /v1/authoring/drafts/:id/return":                    {"content_editor"},
	"POST /v1/authoring/drafts/:id/publish":                   {"content_editor"},
	"GET /v1/authoring/protocols/:id/versions":                {"content_editor"},
	"GET /v1/authoring/protocols/:id/versions/:version/files": {"content_editor"},
	"GET /v1/authoring/protocols/:id/diff":                    {"content_editor"},
	"GET /v1/authoring/protocols/:id/usage":                   {"content_editor"},
	"POST /v1/authoring/protocols/:id/retire":                 {"content_editor"},

	// the console (checkConsoleAccess: a caller without a session is sent to the sign-in page, a
	// role without the right gets a 403 page)
	"GET /":                     {"public"},
	"GET /console/assets/:name": {"public"},
	"GET /console/login":        {"public"},
	"POST /console/login":       {"public"},
	"POST /console/logout":      {"signed-in"},
	"GET /console/password":     {"signed-in"},
	"POST /console/password":    {"signed-in"},
	"POST /console/language":    {"signed-in"},
	"GET /console/":             {"signed-in"},
	"GET /console/cases/:case/interviews/:interview":          {"supervisor"},
	"POST /console/cases/:case/interviews/:interview/review":  {"supervisor"},
	"POST /console/cases/:case/interviews/:interview/addenda": {"supervisor"},
	"GET /console/coaching":                                   {"supervisor"},
	"GET /console/cases":                                      {"supervisor", "caseworker"},
	"GET /console/cases/:case":                                {"supervisor", "caseworker"},
	"POST /console/cases/:case/close":                         {"supervisor", "caseworker"},
	"POST /console/cases/:case/reopen":                        {"supervisor", "caseworker"},
	"POST /console/cases/:case/assign":                        {"supervisor"},
	"POST /console/cases/:case/unassign":                      {"supervisor"},
	"POST /console/cases/:case/evidence/:item/verify":         {"supervisor", "caseworker"},
	"GET /console/cases/:case/evidence/:item/case-uco":        {"supervisor", "caseworker"},
	"GET /console/cases/:case/evidence/:item/custody-record":  {"supervisor", "caseworker"},
	// the console's content editor, administrator and auditor pages
	"GET /console/library":             {"content_editor"},
	"GET /console/library/:id":         {"content_editor"},
	"GET /console/drafts":              {"content_editor"},
	"GET /console/users":               {"admin"},
	"POST /console/users":              {"admin"},
	"GET /console/users/:id":           {"admin"},
	"POST /console/users/:id":          {"admin"},
	"POST /console/users/:id/password": {"admin"},
	"GET /console/devices":             {"admin"},
	"POST /console/devices/:id/revoke": {"admin"},
	"GET /console/audit":               {"auditor", "supervisor"},
	"GET /console/audit/verify":        {"auditor", "supervisor"},
	// the referral inbox (working across agencies)
	"GET /console/referrals": {"supervisor"},
	// the console's pages for working across agencies (internal/console/care*.go)
	"GET /console/referrals/:id":                                 {"supervisor"},
	"POST /console/referrals/:id/accept":                         {"supervisor"},
	"POST /console/referrals/:id/decline":                        {"supervisor"},
	"POST /console/cases/:case/flags":                            {"supervisor", "caseworker"},
	"POST /console/cases/:case/flags/:flag/resolve":              {"supervisor", "caseworker"},
	"POST /console/cases/:case/consents":                         {"supervisor", "caseworker"},
	"POST /console/cases/:case/consents/:consent/withdraw":       {"supervisor", "caseworker"},
	"POST /console/cases/:case/services":                         {"supervisor", "caseworker"},
	"POST /console/cases/:case/services/:service/update":         {"supervisor", "caseworker"},
	"POST /console/cases/:case/appointments":                     {"supervisor", "caseworker"},
	"POST /console/cases/:case/appointments/:appointment/status": {"supervisor", "caseworker"},
	"POST /console/cases/:case/referrals":                        {"supervisor", "caseworker"},
	"GET /console/calendar":                                      {"supervisor", "caseworker"},
	"GET /console/reports":                                       {"supervisor", "auditor"},
	"GET /console/reports/period.csv":                            {"supervisor", "auditor"},
	// sign-in with the OpenID Connect provider (404 on a server without one, as the shared one)
	"GET /console/login/oidc":          {"public"},
	"GET /console/login/oidc/callback": {"public"},

	// the content editors' draft pages (internal/console/editor_draft.go)
	"GET /console/drafts/new":                             {"content_editor"},
	"POST /console/drafts":                                {"content_editor"},
	"GET /console/drafts/:id":                             {"content_editor"},
	"POST /console/drafts/:id/text":                       {"content_editor"},
	"POST /console/drafts/:id/source":                     {"content_editor"},
	"POST /console/drafts/:id/submit":                     {"content_editor"},
	"POST /console/drafts/:id/approve":                    {"content_editor"},
	"POST /console/drafts/:id/return":                     {"content_editor"},
	"POST /console/drafts/:id/publish":                    {"content_editor"},
	"GET /console/drafts/:id/translations/:locale":        {"content_editor"},
	"POST /console/drafts/:id/translations/:locale":       {"content_editor"},
	"GET /console/drafts/:id/translations/:locale/xliff":  {"content_editor"},
	"POST /console/drafts/:id/translations/:locale/xliff": {"content_editor"},
	"GET /console/drafts/:id/preview":                     {"content_editor"},
	"GET /console/library/:id/preview":                    {"content_editor"},
}

var allRoles = []string{"caseworker", "supervisor", "content_editor", "admin", "auditor"}

// TestAccessMatrix calls every /v1 endpoint as every role, without a token, and with an expired, a
// tampered and a revoked-device token, and checks that exactly the allowed callers get through.
// The console's routes are walked by checkConsoleAccess (console_test.go) with browser sessions.
func TestAccessMatrix(t *testing.T) {
	t.Parallel()
	s := server(t)
	base := s.base

	var routes, consoleRoutes []httpapi.Route
	for _, r := range sharedRoutes {
		if r.Method != http.MethodHead {
			routes = append(routes, r)
		}
	}
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		seen[key] = true
		want, ok := accessMatrix[key]
		if !ok {
			t.Errorf("%s is not in the access matrix of this test", key)
			continue
		}
		if got := policyOf(r); !slices.Equal(got, want) {
			t.Errorf("%s: the server allows %v, the matrix says %v", key, got, want)
		}
	}
	for key := range accessMatrix {
		if !seen[key] {
			t.Errorf("the matrix lists %s, which the server does not serve", key)
		}
	}

	routes = slices.DeleteFunc(routes, func(r httpapi.Route) bool {
		if !strings.HasPrefix(r.Path, "/v1/") {
			consoleRoutes = append(consoleRoutes, r)
			return true
		}
		return false
	})
	checkConsoleAccess(t, base, consoleRoutes)

	callers := map[string]string{"none": ""}
	for _, role := range allRoles {
		_, _, tk := newUser(t, role)
		callers[role] = tk.AccessToken
	}
	username, password, victim := newUser(t, "supervisor")
	other := login(t, base, username, password, "second-"+username)
	if r := do(t, base, http.MethodDelete, "/v1/devices/phone-"+username, nil, "Authorization: Bearer "+other.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoking: %d %s", r.status, r.body)
	}
	callers["revoked-device"] = victim.AccessToken
	callers["tampered"] = tamper(victim.AccessToken)
	callers["expired"] = expiredToken(t, s.dataDir, victim.User.ID)

	// Logout ends the caller's session, so it goes last; the other calls run concurrently (t.Run may
	// be called from several goroutines), so that the ~800 requests do not wait for each other's
	// audit commits one by one.
	type call struct {
		route  httpapi.Route
		caller string
	}
	var calls, logouts []call
	for _, r := range routes {
		for name := range callers {
			if strings.HasSuffix(r.Path, "/logout") {
				logouts = append(logouts, call{r, name})
			} else {
				calls = append(calls, call{r, name})
			}
		}
	}
	check := func(c call) {
		r, name, token := c.route, c.caller, callers[c.caller]
		want := accessMatrix[r.Method+" "+r.Path]
		t.Run(r.Method+" "+r.Path+" as "+name, func(t *testing.T) {
			path := routeParam.ReplaceAllStringFunc(r.Path, exampleParam)
			var body any
			if r.Method != http.MethodGet && r.Method != http.MethodDelete {
				body = "{}"
			}
			resp := post(t, base, r.Method, path, token, body)
			allowed := slices.Contains(want, "public") || slices.Contains(want, name) ||
				slices.Contains(want, "signed-in") && slices.Contains(allRoles, name)
			valid := slices.Contains(allRoles, name)
			switch {
			case allowed && (resp.status == 401 || resp.status == 403):
				t.Errorf("allowed caller got %d: %s", resp.status, resp.body)
			case !allowed && !valid && resp.status != 401:
				t.Errorf("caller without a valid token got %d, want 401", resp.status)
			case !allowed && valid && resp.status != 403:
				t.Errorf("role without the right got %d, want 403", resp.status)
			}
		})
	}
	work := make(chan call)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for c := range work {
				check(c)
			}
		})
	}
	for _, c := range calls {
		work <- c
	}
	close(work)
	wg.Wait()
	for _, c := range logouts {
		check(c)
	}
}

// routeParam matches a route's path parameters (":id", ":run", ":item", ...).
var routeParam = regexp.MustCompile(`:[a-z_]+`)

// exampleParam gives a well-formed value for a path parameter: a version number for ":version", a
// UUID (of no record) for every other, so each request reaches its handler's access check.
func exampleParam(param string) string {
	if param == ":version" {
		return "1"
	}
	return "00000000-0000-7000-8000-00000000000" + strconv.Itoa(len(param)%10)
}

func policyOf(r httpapi.Route) []string {
	switch {
	case r.Public:
		return []string{"public"}
	case len(r.Roles) == 0:
		return []string{"signed-in"}
	}
	out := make([]string, len(r.Roles))
	for i, role := range r.Roles {
		out[i] = string(role)
	}
	return out
}

// tamper changes one character of the token's payload, keeping the signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	p := []byte(parts[1])
	if p[10] == 'A' {
		p[10] = 'B'
	} else {
		p[10] = 'A'
	}
	parts[1] = string(p)
	return strings.Join(parts, ".")
}

// expiredToken signs, with the server's own key, a token that expired an hour ago.
func expiredToken(t *testing.T, dataDir, userID string) string {
	t.Helper()
	key, keyID, err := jwtauth.LoadOrCreateKey(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jwtauth.NewSigner(key, keyID, "caseguide", "caseguide", 15*time.Minute, func() time.Time { return time.Now().Add(-2 * time.Hour) })
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := signer.Issue(jwtauth.Claims{Subject: userID, OrgID: "default", Roles: []string{"admin"}, DeviceID: "d", SessionID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
