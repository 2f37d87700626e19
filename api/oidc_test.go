package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// A local OpenID Connect provider in the test process: discovery and a JWKS with one Ed25519 key.
func startTestIssuer(t *testing.T) (url string, sign func(claims map[string]any) string) {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks",
			"authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"EdDSA"}, "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: "k1", Algorithm: string(jose.EdDSA), Use: "sig"}}})
	})
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, func(claims map[string]any) string {
		tok, err := josejwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// With an external identity provider configured, its tokens sign users in, with roles mapped from a
// claim and the audience checked.
func TestExternalIdentityProvider(t *testing.T) {
	t.Parallel()
	issuer, sign := startTestIssuer(t)
	s := startServer(t, testEnv(t.TempDir(), map[string]string{"OIDC_ISSUER_URL": issuer, "OIDC_AUDIENCE": "caseguide-app",
		"OIDC_ROLES_CLAIM": "realm_access.roles", "OIDC_DEFAULT_ORG": "default"}), nil)
	defer s.stop()
	claims := func(aud string, exp time.Duration, roles ...string) map[string]any {
		return map[string]any{"iss": issuer, "aud": aud, "sub": "idp-42", "preferred_username": "s.idp",
			"iat": time.Now().Unix(), "exp": time.Now().Add(exp).Unix(), "realm_access": map[string]any{"roles": roles}}
	}
	supervisor := sign(claims("caseguide-app", 5*time.Minute, "supervisor", "offline_access"))
	tests := []struct {
		name, method, path, token string
		body                      any
		want                      int
	}{
		{"supervisor lists cases", http.MethodGet, "/v1/cases", supervisor, nil, 200},
		{"supervisor creates a case", http.MethodPost, "/v1/cases", supervisor, newCase(uuid.Must(uuid.NewV7()).String(), "Child O."), 201},
		{"not an admin", http.MethodGet, "/v1/users", supervisor, nil, 403},
		{"admin role from the provider", http.MethodGet, "/v1/users", sign(claims("caseguide-app", 5*time.Minute, "admin")), nil, 200},
		{"unknown roles give nothing", http.MethodGet, "/v1/cases", sign(claims("caseguide-app", 5*time.Minute, "superuser")), nil, 403},
		{"wrong audience", http.MethodGet, "/v1/cases", sign(claims("another-app", 5*time.Minute, "supervisor")), nil, 401},
		{"expired", http.MethodGet, "/v1/cases", sign(claims("caseguide-app", -5*time.Minute, "supervisor")), nil, 401},
	}
	for _, tt := range tests {
		r := post(t, s.base, tt.method, tt.path, tt.token, tt.body)
		if r.status != tt.want {
			t.Errorf("%s: %d, want %d: %s", tt.name, r.status, tt.want, r.body)
		}
	}
}
