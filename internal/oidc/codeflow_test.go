package oidc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// codeProvider is a provider with a token endpoint: it answers every code with answer(form), after
// recording the form it was sent.
type codeProvider struct {
	srv    *httptest.Server
	key    signingKey
	mu     sync.Mutex
	form   url.Values
	answer func(p *codeProvider, form url.Values) (int, map[string]any)
}

func newCodeProvider(t *testing.T) *codeProvider {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cp := &codeProvider{key: signingKey{key: key, kid: "ed-1", alg: jose.EdDSA}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(t, w, map[string]any{"issuer": cp.srv.URL, "jwks_uri": cp.srv.URL + "/jwks",
			"authorization_endpoint": cp.srv.URL + "/authorize", "token_endpoint": cp.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"EdDSA"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(t, w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "ed-1", Algorithm: string(jose.EdDSA), Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		form := r.PostForm
		if id, _, ok := r.BasicAuth(); ok {
			form.Set("basic_client_id", id)
		}
		cp.mu.Lock()
		cp.form = form
		answer := cp.answer
		cp.mu.Unlock()
		status, body := answer(cp, form)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		writeJSON(t, w, body)
	})
	cp.srv = httptest.NewServer(mux) // plain HTTP on loopback, which Config allows
	t.Cleanup(cp.srv.Close)
	return cp
}

// idToken returns an ID token answer for the provider with the nonce and audience given.
func idToken(t *testing.T, cp *codeProvider, nonce, aud string) map[string]any {
	t.Helper()
	now := time.Now()
	return map[string]any{"access_token": "opaque", "token_type": "Bearer", "expires_in": 300,
		"id_token": sign(t, cp.key, map[string]any{"iss": cp.srv.URL, "aud": aud, "sub": "idp-7", "preferred_username": "a.jones",
			"nonce": nonce, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "roles": []string{"supervisor"}})}
}

// The authorization URL asks for a code with PKCE S256, the state, the nonce and the openid scope.
func TestCodeFlowAuthURL(t *testing.T) {
	t.Parallel()
	cp := newCodeProvider(t)
	v, err := NewVerifier(context.Background(), Config{IssuerURL: cp.srv.URL, Audience: testAudience, DefaultOrgID: "default"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	flow, err := NewCodeFlow(v, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChallenge()
	u, err := url.Parse(flow.AuthURL("http://127.0.0.1:1/console/login/oidc/callback", ch))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(ch.Verifier))
	q := u.Query()
	want := map[string]string{"response_type": "code", "client_id": testAudience, "state": ch.State, "nonce": ch.Nonce,
		"code_challenge_method": "S256", "code_challenge": base64.RawURLEncoding.EncodeToString(sum[:]),
		"redirect_uri": "http://127.0.0.1:1/console/login/oidc/callback"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if !strings.HasPrefix(u.String(), cp.srv.URL+"/authorize?") || !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("authorization URL %s", u)
	}
	if a, b := NewChallenge(), NewChallenge(); a.State == b.State || a.Nonce == b.Nonce || a.Verifier == b.Verifier || len(a.Verifier) < 43 {
		t.Error("challenges are not fresh random values")
	}
}

// Exchange sends the code with the PKCE verifier, verifies the ID token and checks its nonce.
func TestCodeFlowExchange(t *testing.T) {
	t.Parallel()
	ch := Challenge{State: "s", Nonce: "the-nonce", Verifier: "the-verifier-of-at-least-forty-three-characters-long"}
	tests := []struct {
		name    string
		answer  func(p *codeProvider, form url.Values) (int, map[string]any)
		wantErr error
	}{
		{"a good code", func(p *codeProvider, _ url.Values) (int, map[string]any) {
			return 200, idToken(t, p, "the-nonce", "console-client")
		}, nil},
		{"another nonce", func(p *codeProvider, _ url.Values) (int, map[string]any) {
			return 200, idToken(t, p, "another-nonce", "console-client")
		}, ErrInvalid},
		{"no nonce", func(p *codeProvider, _ url.Values) (int, map[string]any) {
			return 200, idToken(t, p, "", "console-client")
		}, ErrInvalid},
		{"another audience", func(p *codeProvider, _ url.Values) (int, map[string]any) {
			return 200, idToken(t, p, "the-nonce", "another-client")
		}, ErrInvalid},
		{"the code is refused", func(*codeProvider, url.Values) (int, map[string]any) {
			return 400, map[string]any{"error": "invalid_grant"}
		}, ErrExchange},
		{"no ID token", func(*codeProvider, url.Values) (int, map[string]any) {
			return 200, map[string]any{"access_token": "opaque", "token_type": "Bearer"}
		}, ErrExchange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cp := newCodeProvider(t)
			cp.answer = tt.answer
			v, err := NewVerifier(context.Background(), Config{IssuerURL: cp.srv.URL, Audience: "console-client", DefaultOrgID: "default"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			flow, err := NewCodeFlow(v, "", "a-secret")
			if err != nil {
				t.Fatal(err)
			}
			id, err := flow.Exchange(context.Background(), "http://127.0.0.1:1/cb", "the-code", ch)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			cp.mu.Lock()
			form := cp.form
			cp.mu.Unlock()
			if form.Get("code") != "the-code" || form.Get("code_verifier") != ch.Verifier || form.Get("redirect_uri") != "http://127.0.0.1:1/cb" ||
				form.Get("grant_type") != "authorization_code" || (form.Get("basic_client_id") != "console-client" && form.Get("client_id") != "console-client") {
				t.Errorf("the token endpoint was sent %v", form)
			}
			if tt.wantErr == nil && (id.Username != "a.jones" || id.OrgID != "default" || id.Subject != "idp-7" || len(id.Roles) != 1) {
				t.Errorf("identity %+v", id)
			}
		})
	}
}
