package main

import (
	"cmp"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/httpapi"
)

// Console tests speak HTML over HTTP: a client that keeps the redirects it gets (so a test sees
// where the console sends it) and the cookies of one browser.

// consoleClient is one browser: its cookies, and the CSRF token of its latest page.
type consoleClient struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

// consoleResponse is a console answer, read whole.
type consoleResponse struct {
	status int
	header http.Header
	body   string
}

// location returns the redirect target's path and query.
func (r *consoleResponse) location() string { return r.header.Get("Location") }

// newConsoleClient returns a browser with no cookies, connecting from a random loopback address
// (so sign-in throttling per address does not mix tests).
func newConsoleClient(t testing.TB, base string) *consoleClient {
	t.Helper()
	jar := newJar()
	hc := &http.Client{Timeout: 30 * time.Second, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				local := &net.TCPAddr{IP: net.IPv4(127, byte(1+rand.IntN(254)), byte(1+rand.IntN(254)), byte(1+rand.IntN(254)))}
				return (&net.Dialer{LocalAddr: local}).DialContext(ctx, network, addr)
			}}}
	return &consoleClient{t: t, base: base, hc: hc}
}

// csrfInput finds a form's CSRF token in a page.
var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// do sends a request; form (may be nil) is sent url-encoded, with the client's CSRF token added
// unless form sets "csrf" itself. Pages' CSRF tokens are remembered.
func (cc *consoleClient) do(method, path string, form url.Values) *consoleResponse {
	cc.t.Helper()
	var body io.Reader
	if form != nil {
		if !form.Has("csrf") {
			form.Set("csrf", cc.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, cc.base+path, body)
	if err != nil {
		cc.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := cc.hc.Do(req)
	if err != nil {
		cc.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		cc.t.Fatal(err)
	}
	if m := csrfInput.FindSubmatch(b); m != nil {
		cc.csrf = string(m[1])
	}
	return &consoleResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (cc *consoleClient) get(path string) *consoleResponse {
	cc.t.Helper()
	return cc.do(http.MethodGet, path, nil)
}

func (cc *consoleClient) post(path string, form url.Values) *consoleResponse {
	cc.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return cc.do(http.MethodPost, path, form)
}

// cookie returns the value of a cookie the client holds for the console.
func (cc *consoleClient) cookie(name string) string {
	u, _ := url.Parse(cc.base + "/console/")
	for _, c := range cc.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie replaces a cookie of the client.
func (cc *consoleClient) setCookie(name, value string) {
	u, _ := url.Parse(cc.base + "/console/")
	cc.hc.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/console"}})
}

// consoleSignIn signs username in through the sign-in form and returns the browser, failing the
// test unless the console answers with its home page (or the password page when one is required).
func consoleSignIn(t testing.TB, base, username, password string) *consoleClient {
	t.Helper()
	cc := newConsoleClient(t, base)
	cc.get("/console/login")
	r := cc.post("/console/login", url.Values{"username": {username}, "password": {password}, "next": {"/console/"}})
	if r.status != http.StatusSeeOther || (r.location() != "/console/" && r.location() != "/console/password") {
		t.Fatalf("console sign-in of %s: %d %s %.300s", username, r.status, r.location(), r.body)
	}
	if cc.cookie("cg_session") == "" {
		t.Fatalf("console sign-in of %s set no session cookie", username)
	}
	cc.get(r.location()) // its CSRF token
	return cc
}

// checkConsoleAccess calls every console route as every role, signed out, with a tampered cookie,
// with the session of a revoked device and after signing out. The console answers a caller
// without a valid session with a redirect (303) to the sign-in page (with ?next= for a GET) instead
// of the API's 401, and a signed-in user whose roles the policy does not name with a localized 403
// page; allowed callers get neither. Every caller carries the CSRF token its page gave it, so only
// the policy decides.
func checkConsoleAccess(t *testing.T, base string, routes []httpapi.Route) {
	callers := map[string]*consoleClient{}
	for _, role := range allRoles {
		username, password, _ := newUser(t, role)
		callers[role] = consoleSignIn(t, base, username, password)
	}
	anonymous := func() *consoleClient {
		cc := newConsoleClient(t, base)
		cc.get("/console/login") // a pre-session cookie and its CSRF token, as a real browser has
		return cc
	}
	callers["none"] = anonymous()
	tampered := anonymous()
	username, password, tk := newUser(t, "supervisor")
	victim := consoleSignIn(t, base, username, password)
	tampered.setCookie("cg_session", victim.cookie("cg_session")[:40]+"AAAAAAAA"+victim.cookie("cg_session")[48:])
	callers["tampered"] = tampered
	var devices struct {
		Items []struct{ ID, Name string }
	}
	get(t, base, "/v1/devices", "Authorization: Bearer "+tk.AccessToken).json(t, &devices)
	for _, d := range devices.Items {
		if strings.HasPrefix(d.ID, "console-") {
			if r := do(t, base, http.MethodDelete, "/v1/devices/"+d.ID, nil, "Authorization: Bearer "+tk.AccessToken); r.status != http.StatusOK {
				t.Fatalf("revoking the console device: %d %s", r.status, r.body)
			}
		}
	}
	callers["revoked-device"] = victim
	out := consoleSignIn(t, base, username, password)
	if r := out.post("/console/logout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("signing out: %d", r.status)
	}
	callers["signed-out"] = out

	// Signing out ends the caller's session, so it goes last.
	slices.SortStableFunc(routes, func(a, b httpapi.Route) int {
		return cmp.Compare(logoutRank(a), logoutRank(b))
	})
	for _, r := range routes {
		want := accessMatrix[r.Method+" "+r.Path]
		for _, name := range append(slices.Clone(allRoles), "none", "tampered", "revoked-device", "signed-out") {
			cc := callers[name]
			t.Run(r.Method+" "+r.Path+" as "+name, func(t *testing.T) {
				cc.t = t
				path := routeParam.ReplaceAllStringFunc(r.Path, exampleParam)
				var resp *consoleResponse
				if r.Method == http.MethodGet {
					resp = cc.get(path)
				} else {
					resp = cc.do(r.Method, path, url.Values{"csrf": {cc.csrf}})
				}
				allowed := slices.Contains(want, "public") || slices.Contains(want, name) ||
					slices.Contains(want, "signed-in") && slices.Contains(allRoles, name)
				valid := slices.Contains(allRoles, name)
				toSignIn := resp.status == http.StatusSeeOther && strings.HasPrefix(resp.location(), "/console/login") &&
					(r.Method != http.MethodGet || strings.HasPrefix(resp.location(), "/console/login?next="))
				denied := toSignIn || resp.status == http.StatusForbidden || resp.status == http.StatusUnauthorized
				if strings.HasSuffix(r.Path, "/logout") && allowed && resp.location() == "/console/login?signed_out=1" {
					denied = false
				}
				switch {
				case allowed && denied:
					t.Errorf("allowed caller got %d %s: %.300s", resp.status, resp.location(), resp.body)
				case !allowed && !valid && !toSignIn:
					t.Errorf("caller without a valid session got %d %s, want 303 to the sign-in page", resp.status, resp.location())
				case !allowed && valid && (resp.status != http.StatusForbidden || !strings.Contains(resp.header.Get("Content-Type"), "text/html")):
					t.Errorf("role without the right got %d %s, want a 403 page", resp.status, resp.header.Get("Content-Type"))
				}
			})
		}
	}
}

func newJar() http.CookieJar {
	j, _ := cookiejar.New(nil)
	return j
}

// logoutRank is 1 for a sign-out route and 0 for any other, to sort sign-outs last.
func logoutRank(r httpapi.Route) int {
	if strings.HasSuffix(r.Path, "/logout") {
		return 1
	}
	return 0
}
