package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// codeIssuer is a local OpenID Connect provider that also runs the authorization code flow with
// PKCE, as an agency's provider would: /authorize signs in the user named by login_hint (a real
// provider would show its own sign-in form) and sends the browser back with a one-time code;
// /token checks the code (once only), the redirect URI and the PKCE verifier and answers with a
// signed ID token carrying the nonce it was given (test_nonce replaces it, to test the check).
type codeIssuer struct {
	url    string
	mu     sync.Mutex
	grants map[string]*codeGrant
	user   string // who /authorize signs in when there is no login_hint ("": nobody, access_denied)
}

// signInAs makes /authorize sign username in when the request names nobody (a browser test's
// provider, whose sign-in form the test does not fill).
func (iss *codeIssuer) signInAs(username string) {
	iss.mu.Lock()
	iss.user = username
	iss.mu.Unlock()
}

type codeGrant struct {
	clientID, redirect, challenge, nonce, username string
	used                                           bool
}

func startCodeIssuer(t *testing.T) *codeIssuer {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	iss := &codeIssuer{grants: map[string]*codeGrant{}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	iss.url = srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks",
			"authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"EdDSA"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "code_challenge_methods_supported": []string{"S256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: string(jose.EdDSA), Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil || back.Host == "" {
			http.Error(w, "bad redirect_uri", http.StatusBadRequest)
			return
		}
		answer := url.Values{"state": {q.Get("state")}}
		iss.mu.Lock()
		if q.Get("login_hint") == "" {
			q.Set("login_hint", iss.user)
		}
		iss.mu.Unlock()
		switch {
		case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
			q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid"):
			answer.Set("error", "invalid_request")
		case q.Get("login_hint") == "":
			answer.Set("error", "access_denied")
		default:
			nonce := q.Get("nonce")
			if v := q.Get("test_nonce"); v != "" {
				nonce = v
			}
			code := rand.Text()
			iss.mu.Lock()
			iss.grants[code] = &codeGrant{clientID: q.Get("client_id"), redirect: back.String(), challenge: q.Get("code_challenge"),
				nonce: nonce, username: q.Get("login_hint")}
			iss.mu.Unlock()
			answer.Set("code", code)
		}
		back.RawQuery = answer.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		clientID, _, _ := r.BasicAuth()
		if clientID == "" {
			clientID = r.FormValue("client_id")
		}
		iss.mu.Lock()
		g, ok := iss.grants[r.FormValue("code")]
		fresh := ok && !g.used
		if ok {
			g.used = true // a code is good once, even when this exchange fails
		}
		iss.mu.Unlock()
		sum := sha256.Sum256([]byte(r.FormValue("code_verifier")))
		w.Header().Set("Content-Type", "application/json")
		if !fresh || r.FormValue("grant_type") != "authorization_code" || g.clientID != clientID || g.redirect != r.FormValue("redirect_uri") ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		now := time.Now()
		idToken, err := josejwt.Signed(signer).Claims(map[string]any{"iss": srv.URL, "aud": g.clientID, "sub": "idp-" + g.username,
			"preferred_username": g.username, "nonce": g.nonce, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"realm_access": map[string]any{"roles": []string{"supervisor"}}}).Serialize()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": "opaque", "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
	})
	return iss
}

// toProvider starts a sign-in with the provider in cc (GET /console/login/oidc), follows the
// console's redirect to the provider as username (extra authorize parameters added) and returns
// the path and query of the console callback the provider sends the browser back to.
func toProvider(t *testing.T, cc *consoleClient, iss *codeIssuer, username string, extra url.Values) string {
	t.Helper()
	r := cc.get("/console/login/oidc?next=/console/cases")
	auth, err := url.Parse(r.location())
	if r.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(r.location(), iss.url+"/authorize?") {
		t.Fatalf("starting the sign-in: %d %q", r.status, r.location())
	}
	q := auth.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" || q.Get("code_challenge") == "" {
		t.Fatalf("the authorization request lacks PKCE S256, state or nonce: %s", auth.RawQuery)
	}
	if username != "" {
		q.Set("login_hint", username)
	}
	for k, v := range extra {
		q[k] = v
	}
	auth.RawQuery = q.Encode()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(auth.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, cc.base+"/console/login/oidc/callback?") {
		t.Fatalf("the provider sent the browser to %q", back)
	}
	return strings.TrimPrefix(back, cc.base)
}

// withQuery returns path with query parameter k set to v.
func withQuery(t *testing.T, path, k, v string) string {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// listed returns the number of items GET path lists for the admin.
func listed(t *testing.T, base, path, token string) int {
	t.Helper()
	var list struct{ Items []json.RawMessage }
	get(t, base, path, "Authorization: Bearer "+token).json(t, &list)
	return len(list.Items)
}

// With an OpenID Connect provider configured, the sign-in page offers it; the authorization code
// flow with PKCE signs a user in whose username the provider vouches for, with a console session
// like the password form's (a revocable "Web console" device). A bad or reused state, a replayed
// code, a wrong nonce, a refusal by the provider and a user unknown here each show the sign-in page
// with their reason and create nothing.
func TestConsoleSignInWithProvider(t *testing.T) {
	t.Parallel()
	iss := startCodeIssuer(t)
	s := startServer(t, testEnv(t.TempDir(), map[string]string{"OIDC_ISSUER_URL": iss.url, "OIDC_AUDIENCE": "caseguide-app",
		"OIDC_ROLES_CLAIM": "realm_access.roles", "OIDC_DEFAULT_ORG": "default", "OIDC_PROVIDER_NAME": "Agency Login"}), nil)
	t.Cleanup(func() { s.stop() })
	admin := login(t, s.base, "admin", adminPassword, "oidc-admin").AccessToken
	for _, u := range []struct {
		name     string
		disabled bool
	}{{"oidc.supervisor", false}, {"oidc.replay", false}, {"oidc.disabled", true}, {"oidc.newcomer", false}} {
		r := post(t, s.base, http.MethodPost, "/v1/users", admin, map[string]any{"username": u.name, "display_name": "Provider User",
			"roles": []string{"supervisor"}, "password": "a password nobody uses 42"})
		if r.status != http.StatusCreated {
			t.Fatalf("creating %s: %d %s", u.name, r.status, r.body)
		}
		if u.disabled {
			var created struct {
				ID      string
				Version int64
			}
			r.json(t, &created)
			if r := post(t, s.base, http.MethodPatch, "/v1/users/"+created.ID, admin, map[string]any{"disabled": true, "version": created.Version}); r.status != http.StatusOK {
				t.Fatalf("disabling: %d %s", r.status, r.body)
			}
		}
	}

	t.Run("the sign-in page offers the provider", func(t *testing.T) {
		cc := newConsoleClient(t, s.base)
		if r := cc.get("/console/login"); !strings.Contains(r.body, `id="sign-in-oidc"`) || !strings.Contains(r.body, "Sign in with Agency Login") {
			t.Errorf("no provider button: %.2000s", r.body)
		}
	})

	t.Run("a known user signs in, and an admin can revoke the session", func(t *testing.T) {
		cc := newConsoleClient(t, s.base)
		devicesBefore := listed(t, s.base, "/v1/devices?all=true", admin)
		r := cc.get(toProvider(t, cc, iss, "oidc.supervisor", nil))
		if r.status != http.StatusOK || r.header.Get("Refresh") != "0; url=/console/cases" || cc.cookie("cg_session") == "" {
			t.Fatalf("callback: %d refresh %q: %.500s", r.status, r.header.Get("Refresh"), r.body)
		}
		if !strings.Contains(r.body, `href="/console/cases"`) {
			t.Errorf("the continue page links elsewhere: %.2000s", r.body)
		}
		if r := cc.get("/console/cases"); r.status != http.StatusOK || !strings.Contains(r.body, "oidc.supervisor") {
			t.Fatalf("signed in through the provider, /console/cases answers %d %s", r.status, r.location())
		}
		var devices struct {
			Items []struct{ ID, Name, UserID string }
		}
		get(t, s.base, "/v1/devices?all=true", "Authorization: Bearer "+admin).json(t, &devices)
		if len(devices.Items) != devicesBefore+1 {
			t.Fatalf("devices %d, want %d", len(devices.Items), devicesBefore+1)
		}
		var console string
		for _, d := range devices.Items {
			if strings.HasPrefix(d.ID, "console-") && d.Name == "Web console" {
				console = d.ID
			}
		}
		if console == "" {
			t.Fatalf("no console device among %+v", devices.Items)
		}
		if r := do(t, s.base, http.MethodDelete, "/v1/devices/"+console, nil, "Authorization: Bearer "+admin); r.status != http.StatusOK {
			t.Fatalf("revoking: %d %s", r.status, r.body)
		}
		if r := cc.get("/console/cases"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), "/console/login") {
			t.Errorf("after the revocation: %d %s", r.status, r.location())
		}
	})

	t.Run("a user with a password an admin set becomes a provider user", func(t *testing.T) {
		var users struct {
			Items []struct{ ID, Username string }
		}
		get(t, s.base, "/v1/users", "Authorization: Bearer "+admin).json(t, &users)
		for _, u := range users.Items {
			if u.Username == "oidc.newcomer" {
				if r := post(t, s.base, http.MethodPost, "/v1/users/"+u.ID+"/password", admin, map[string]string{"password": "set by the admin 42"}); r.status != http.StatusOK {
					t.Fatalf("reset: %d %s", r.status, r.body)
				}
			}
		}
		cc := newConsoleClient(t, s.base)
		if r := cc.get(toProvider(t, cc, iss, "oidc.newcomer", nil)); r.status != http.StatusOK || r.header.Get("Refresh") != "0; url=/console/cases" {
			t.Fatalf("callback: %d refresh %q (no password page for a provider user)", r.status, r.header.Get("Refresh"))
		}
		if r := cc.get("/console/cases"); r.status != http.StatusOK {
			t.Errorf("/console/cases: %d %s", r.status, r.location())
		}
		if r := post(t, s.base, http.MethodPost, "/v1/auth/login", "", map[string]string{"username": "oidc.newcomer", "password": "set by the admin 42", "device_id": "x"}); r.status != http.StatusUnauthorized {
			t.Errorf("the password the admin set still signs in: %d", r.status)
		}
	})

	t.Run("a callback is good once", func(t *testing.T) {
		cc := newConsoleClient(t, s.base)
		callback := toProvider(t, cc, iss, "oidc.replay", nil)
		if r := cc.get(callback); r.status != http.StatusOK {
			t.Fatalf("first use: %d %.300s", r.status, r.body)
		}
		again := newConsoleClient(t, s.base)
		if r := again.get(callback); r.status != http.StatusBadRequest || !strings.Contains(r.body, "could not be finished") || again.cookie("cg_session") != "" {
			t.Errorf("replayed callback: %d %.300s", r.status, r.body)
		}
	})

	failures := []struct {
		name     string
		username string
		extra    url.Values
		tamper   func(t *testing.T, cc *consoleClient, callback string) string
		replay   bool // the callback carries a code another browser's sign-in already used
		status   int
		says     string
	}{
		{name: "bad state", username: "oidc.supervisor", status: http.StatusBadRequest, says: "could not be finished",
			tamper: func(t *testing.T, _ *consoleClient, cb string) string {
				return withQuery(t, cb, "state", "forged-state")
			}},
		{name: "callback in another browser", username: "oidc.supervisor", status: http.StatusBadRequest, says: "could not be finished",
			tamper: func(t *testing.T, cc *consoleClient, cb string) string {
				u, _ := url.Parse(cc.base + "/console/login/oidc")
				cc.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "cg_oidc", Value: "another browser's", Path: "/console/login/oidc"}})
				return cb
			}},
		{name: "replayed code", username: "oidc.supervisor", replay: true, status: http.StatusUnauthorized, says: "did not confirm who you are"},
		{name: "wrong nonce", username: "oidc.supervisor", extra: url.Values{"test_nonce": {"not-the-one-sent"}},
			status: http.StatusUnauthorized, says: "did not confirm who you are"},
		{name: "the provider refuses", username: "", status: http.StatusUnauthorized, says: "did not confirm who you are"},
		{name: "unknown user", username: "oidc.stranger", status: http.StatusForbidden, says: "no active account with your user name"},
		{name: "disabled user", username: "oidc.disabled", status: http.StatusForbidden, says: "no active account with your user name"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			users, devices := listed(t, s.base, "/v1/users", admin), listed(t, s.base, "/v1/devices?all=true", admin)
			cc := newConsoleClient(t, s.base)
			callback := toProvider(t, cc, iss, tt.username, tt.extra)
			if tt.replay {
				first := newConsoleClient(t, s.base)
				used := toProvider(t, first, iss, "oidc.supervisor", nil)
				if r := first.get(used); r.status != http.StatusOK {
					t.Fatalf("the code's first use: %d", r.status)
				}
				u, _ := url.Parse(used)
				callback = withQuery(t, callback, "code", u.Query().Get("code"))
				devices++ // that first sign-in's device
			} else if tt.tamper != nil {
				callback = tt.tamper(t, cc, callback)
			}
			r := cc.get(callback)
			if r.status != tt.status || !strings.Contains(r.body, tt.says) || !strings.Contains(r.body, `id="login-error"`) {
				t.Errorf("got %d, want %d saying %q: %.3000s", r.status, tt.status, tt.says, r.body)
			}
			if cc.cookie("cg_session") != "" {
				t.Error("a session cookie was set")
			}
			if n := listed(t, s.base, "/v1/users", admin); n != users {
				t.Errorf("users %d, want %d", n, users)
			}
			if n := listed(t, s.base, "/v1/devices?all=true", admin); n != devices {
				t.Errorf("devices %d, want %d", n, devices)
			}
		})
	}
}

// Without a provider configured, the sign-in page has no provider button and its routes answer 404.
func TestConsoleSignInWithoutProvider(t *testing.T) {
	t.Parallel()
	cc := newConsoleClient(t, server(t).base)
	if r := cc.get("/console/login"); r.status != http.StatusOK || strings.Contains(r.body, "sign-in-oidc") {
		t.Errorf("sign-in page: %d, provider button shown", r.status)
	}
	for _, path := range []string{"/console/login/oidc", "/console/login/oidc/callback?state=x&code=y"} {
		if r := cc.get(path); r.status != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, r.status)
		}
	}
}
