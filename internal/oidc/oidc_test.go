package oidc

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

const testAudience = "caseguide-mobile"

// signingKey is a private key with the key id and algorithm its tokens carry.
type signingKey struct {
	key any
	kid string
	alg jose.SignatureAlgorithm
}

// testIssuer is an OpenID provider running in the test process: it serves discovery and a JWKS
// holding the public halves of its keys, over TLS (so only its own client can reach it).
type testIssuer struct {
	srv       *httptest.Server
	ed, rsa   signingKey
	jwksCalls atomic.Int64
	// discoveredIssuer is the issuer the discovery document names (normally the server's URL).
	discoveredIssuer string
}

// newTestIssuer starts a test provider; it stops when the test ends.
func newTestIssuer(t *testing.T, discoveredIssuer string) *testIssuer {
	t.Helper()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ti := &testIssuer{
		ed:  signingKey{key: edKey, kid: "ed-1", alg: jose.EdDSA},
		rsa: signingKey{key: rsaKey, kid: "rsa-1", alg: jose.RS256},
	}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: edKey.Public(), KeyID: ti.ed.kid, Algorithm: string(jose.EdDSA), Use: "sig"},
		{Key: rsaKey.Public(), KeyID: ti.rsa.kid, Algorithm: string(jose.RS256), Use: "sig"},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(t, w, map[string]any{
			"issuer":                                ti.discoveredIssuer,
			"jwks_uri":                              ti.srv.URL + "/jwks",
			"authorization_endpoint":                ti.srv.URL + "/authorize",
			"token_endpoint":                        ti.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256", "EdDSA"},
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		ti.jwksCalls.Add(1)
		writeJSON(t, w, jwks)
	})
	ti.srv = httptest.NewUnstartedServer(mux)
	// The test with an untrusted certificate makes the server log a handshake error: keep it quiet.
	ti.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	ti.srv.StartTLS()
	t.Cleanup(ti.srv.Close)
	ti.discoveredIssuer = discoveredIssuer
	if ti.discoveredIssuer == "" {
		ti.discoveredIssuer = ti.srv.URL
	}
	return ti
}

func writeJSON(t *testing.T, w http.ResponseWriter, v any) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Error(err)
	}
}

// claims returns the claims of a valid token for the issuer, to edit.
func (ti *testIssuer) claims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":                ti.srv.URL,
		"aud":                testAudience,
		"sub":                "idp-user-42",
		"iat":                now.Unix(),
		"exp":                now.Add(5 * time.Minute).Unix(),
		"preferred_username": "a.jones",
		"org_id":             "org-7",
		"roles":              []string{"caseworker", "supervisor"},
		"realm_access":       map[string]any{"roles": []string{"offline_access", "auditor"}},
	}
}

// sign signs claims with k, naming k's key id.
func sign(t *testing.T, k signingKey, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned returns claims as a token with alg "none".
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT","kid":"ed-1"}`)) + "." + enc(payload) + "."
}

func (ti *testIssuer) config() Config {
	return Config{IssuerURL: ti.srv.URL, Audience: testAudience, OrgClaim: "org_id"}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "")
	_, strangerEd, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stranger := signingKey{key: strangerEd, kid: "ed-1", alg: jose.EdDSA}   // a key id the JWKS holds
	unknownKid := signingKey{key: strangerEd, kid: "ed-9", alg: jose.EdDSA} // a key id it does not hold
	hmac := signingKey{key: []byte(strings.Repeat("k", 32)), kid: "ed-1", alg: jose.HS256}
	edit := func(f func(map[string]any)) map[string]any {
		c := ti.claims()
		f(c)
		return c
	}
	wantID := Identity{
		Subject: "idp-user-42", Username: "a.jones", OrgID: "org-7",
		Roles: []string{"caseworker", "supervisor"}, Issuer: ti.srv.URL,
	}
	with := func(f func(*Identity)) Identity {
		id := wantID
		f(&id)
		return id
	}

	tests := []struct {
		name    string
		cfg     func(*Config)
		token   string
		want    Identity
		wantErr error
		// notExpired: the error must not wrap ErrExpired.
		notExpired bool
	}{
		{name: "valid, Ed25519", token: sign(t, ti.ed, ti.claims()), want: wantID},
		{name: "valid, RSA", token: sign(t, ti.rsa, ti.claims()), want: wantID},
		{
			name:  "nested roles claim",
			cfg:   func(c *Config) { c.RolesClaim = "realm_access.roles" },
			token: sign(t, ti.ed, ti.claims()),
			want:  with(func(id *Identity) { id.Roles = []string{"auditor"} }),
		},
		{
			name:  "claim named with dots",
			cfg:   func(c *Config) { c.RolesClaim = "https://caseguide.example/roles" },
			token: sign(t, ti.ed, edit(func(c map[string]any) { c["https://caseguide.example/roles"] = []string{"admin"} })),
			want:  with(func(id *Identity) { id.Roles = []string{"admin"} }),
		},
		{
			name: "unknown and repeated roles dropped",
			token: sign(t, ti.ed, edit(func(c map[string]any) {
				c["roles"] = []any{"superuser", "auditor", "Admin", 7, "caseworker", "auditor", "content_editor"}
			})),
			want: with(func(id *Identity) { id.Roles = []string{"caseworker", "content_editor", "auditor"} }),
		},
		{
			name:  "roles as a space-separated string",
			token: sign(t, ti.ed, edit(func(c map[string]any) { c["roles"] = "admin root" })),
			want:  with(func(id *Identity) { id.Roles = []string{"admin"} }),
		},
		{
			name:  "no roles",
			token: sign(t, ti.ed, edit(func(c map[string]any) { delete(c, "roles") })),
			want:  with(func(id *Identity) { id.Roles = nil }),
		},
		{
			name:  "numeric organisation in a nested claim",
			cfg:   func(c *Config) { c.OrgClaim = "agency.id" },
			token: sign(t, ti.ed, edit(func(c map[string]any) { c["agency"] = map[string]any{"id": 9007199254740993} })),
			want:  with(func(id *Identity) { id.OrgID = "9007199254740993" }),
		},
		{
			name:  "default organisation",
			cfg:   func(c *Config) { c.OrgClaim, c.DefaultOrgID = "", "org-default" },
			token: sign(t, ti.ed, edit(func(c map[string]any) { delete(c, "org_id") })),
			want:  with(func(id *Identity) { id.OrgID = "org-default" }),
		},
		{
			name:  "other username claim",
			cfg:   func(c *Config) { c.UsernameClaim = "email" },
			token: sign(t, ti.ed, edit(func(c map[string]any) { c["email"] = "aj@agency.example" })),
			want:  with(func(id *Identity) { id.Username = "aj@agency.example" }),
		},
		{
			name:  "audience list including ours",
			token: sign(t, ti.ed, edit(func(c map[string]any) { c["aud"] = []string{"other", testAudience} })),
			want:  wantID,
		},
		{name: "wrong audience", token: sign(t, ti.ed, edit(func(c map[string]any) { c["aud"] = "other-app" })), wantErr: ErrInvalid},
		{name: "expired", token: sign(t, ti.ed, edit(func(c map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
		})), wantErr: ErrExpired},
		{name: "no expiry", token: sign(t, ti.ed, edit(func(c map[string]any) { delete(c, "exp") })), wantErr: ErrInvalid, notExpired: true},
		{name: "not yet valid", token: sign(t, ti.ed, edit(func(c map[string]any) {
			c["nbf"] = time.Now().Add(time.Hour).Unix()
		})), wantErr: ErrInvalid},
		{name: "issuer mismatch", token: sign(t, ti.ed, edit(func(c map[string]any) { c["iss"] = "https://evil.example" })), wantErr: ErrInvalid},
		{name: "signed by a key not in the JWKS, known key id", token: sign(t, stranger, ti.claims()), wantErr: ErrInvalid},
		{name: "signed by a key not in the JWKS, unknown key id", token: sign(t, unknownKid, ti.claims()), wantErr: ErrInvalid},
		{name: "alg none", token: unsigned(t, ti.claims()), wantErr: ErrInvalid},
		{name: "alg HS256", token: sign(t, hmac, ti.claims()), wantErr: ErrInvalid},
		{name: "tampered payload", token: tamper(t, sign(t, ti.ed, ti.claims())), wantErr: ErrInvalid},
		{name: "no subject", token: sign(t, ti.ed, edit(func(c map[string]any) { delete(c, "sub") })), wantErr: ErrInvalid},
		{name: "no organisation", token: sign(t, ti.ed, edit(func(c map[string]any) { delete(c, "org_id") })), wantErr: ErrInvalid},
		{name: "empty organisation", token: sign(t, ti.ed, edit(func(c map[string]any) { c["org_id"] = "" })), wantErr: ErrInvalid},
		{name: "garbage", token: "not-a-token", wantErr: ErrInvalid},
		{name: "too long", token: strings.Repeat("a", maxTokenLen+1), wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ti.config()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			v, err := NewVerifier(t.Context(), cfg, ti.srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Verify(t.Context(), tt.token)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want %v (and %v)", err, tt.wantErr, ErrInvalid)
				}
				if tt.notExpired && errors.Is(err, ErrExpired) {
					t.Fatalf("err = %v wraps %v", err, ErrExpired)
				}
				t.Logf("err = %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("identity = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// tamper turns the token's subject into another user's, keeping header and signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = []byte(strings.Replace(string(payload), "idp-user-42", "idp-user-43", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestVerifierFetchesKeysOnce(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "")
	v, err := NewVerifier(t.Context(), ti.config(), ti.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := v.Verify(t.Context(), sign(t, ti.ed, ti.claims())); err != nil {
			t.Fatal(err)
		}
	}
	if n := ti.jwksCalls.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1 (cached)", n)
	}
}

func TestNewVerifierRejects(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "")
	mismatched := newTestIssuer(t, "https://other-issuer.example")
	tests := []struct {
		name   string
		cfg    func(*Config)
		client *http.Client
	}{
		{name: "no issuer", cfg: func(c *Config) { c.IssuerURL = "" }},
		{name: "no audience", cfg: func(c *Config) { c.Audience = "" }},
		{name: "no organisation source", cfg: func(c *Config) { c.OrgClaim = "" }},
		{name: "both organisation sources", cfg: func(c *Config) { c.DefaultOrgID = "org-1" }},
		{name: "plain http issuer", cfg: func(c *Config) { c.IssuerURL = "http://idp.example" }},
		{name: "not a URL", cfg: func(c *Config) { c.IssuerURL = "idp.example" }},
		{name: "discovery names another issuer", cfg: func(c *Config) { c.IssuerURL = mismatched.srv.URL }, client: mismatched.srv.Client()},
		{name: "no discovery document", cfg: func(c *Config) { c.IssuerURL = ti.srv.URL + "/nowhere" }},
		{name: "untrusted TLS certificate", client: &http.Client{Timeout: time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ti.config()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			client := tt.client
			if client == nil {
				client = ti.srv.Client()
			}
			v, err := NewVerifier(t.Context(), cfg, client)
			if err == nil || v != nil {
				t.Fatal("NewVerifier succeeded")
			}
			t.Logf("err = %v", err)
		})
	}
}

func TestNewVerifierHonoursContext(t *testing.T) {
	t.Parallel()
	ti := newTestIssuer(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := NewVerifier(ctx, ti.config(), ti.srv.Client()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
