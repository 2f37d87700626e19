package jwtauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "https://api.example.test"
	testAudience = "caseguide-api"
	testTTL      = 15 * time.Minute
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// newKey returns a fresh Ed25519 key and its id.
func newKey(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key, KeyID(pub)
}

// newSigner returns a signer for the test issuer and audience whose clock reads now.
func newSigner(t *testing.T, key ed25519.PrivateKey, kid, issuer, audience string, now time.Time) *Signer {
	t.Helper()
	s, err := NewSigner(key, kid, issuer, audience, testTTL, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleClaims() Claims {
	return Claims{
		Subject:   "user-1",
		OrgID:     "org-1",
		Roles:     []string{"caseworker", "supervisor"},
		DeviceID:  "device-1",
		SessionID: "session-1",
	}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	key, kid := newKey(t)
	now := t0.Add(123 * time.Millisecond) // sub-second part is dropped from token times
	s := newSigner(t, key, kid, testIssuer, testAudience, now)
	tok, exp, err := s.Issue(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(testTTL); !exp.Equal(want) {
		t.Errorf("expiresAt = %v, want %v", exp, want)
	}
	got, err := s.Verify(tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if got.ID == "" {
		t.Error("no jti")
	}
	want := sampleClaims()
	want.IssuedAt, want.ExpiresAt, want.ID, want.Issuer, want.Audience = t0, exp, got.ID, testIssuer, testAudience
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claims = %+v\nwant %+v", got, want)
	}

	// The header and payload use the documented names.
	parts := strings.Split(tok, ".")
	var header, payload map[string]any
	decodeSegment(t, parts[0], &header)
	decodeSegment(t, parts[1], &payload)
	if header["alg"] != "EdDSA" || header["kid"] != kid || header["typ"] != "at+jwt" {
		t.Errorf("header = %v", header)
	}
	for _, name := range []string{"sub", "org", "roles", "dev", "sid", "iat", "exp", "jti", "iss", "aud"} {
		if _, ok := payload[name]; !ok {
			t.Errorf("payload has no %q: %v", name, payload)
		}
	}

	// Two tokens never share a jti.
	tok2, _, err := s.Issue(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	if c2, err := s.Verify(tok2); err != nil || c2.ID == got.ID {
		t.Errorf("second token: id %q (first %q), err %v", c2.ID, got.ID, err)
	}
}

func TestVerifyExpiry(t *testing.T) {
	t.Parallel()
	key, kid := newKey(t)
	tok, exp, err := newSigner(t, key, kid, testIssuer, testAudience, t0).Issue(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		want error
	}{
		{"just issued", t0, nil},
		{"within leeway after expiry", exp.Add(Leeway - time.Second), nil},
		{"expired", exp.Add(Leeway), ErrExpired},
		{"long expired", exp.Add(24 * time.Hour), ErrExpired},
		{"issued in the future beyond leeway", t0.Add(-Leeway - time.Second), ErrInvalid},
		{"issued in the future within leeway", t0.Add(-Leeway + time.Second), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := newSigner(t, key, kid, testIssuer, testAudience, tt.at).Verify(tok)
			checkErr(t, err, tt.want)
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	key, kid := newKey(t)
	s := newSigner(t, key, kid, testIssuer, testAudience, t0)
	good, _, err := s.Issue(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	pub := key.Public().(ed25519.PublicKey)

	otherKey, otherKid := newKey(t)
	issue := func(s *Signer) string {
		t.Helper()
		tok, _, err := s.Issue(sampleClaims())
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	later := t0.Add(time.Hour) // every token issued at t0 has expired by then

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"empty", "", ErrInvalid},
		{"garbage", "not.a.token", ErrInvalid},
		{"two segments", parts[0] + "." + parts[1], ErrInvalid},
		{"too long", good + strings.Repeat("A", maxTokenLen), ErrInvalid},
		{"tampered payload", parts[0] + "." + tamperPayload(t, parts[1]) + "." + parts[2], ErrInvalid},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flipBit(t, parts[2]), ErrInvalid},
		{"signature removed", parts[0] + "." + parts[1] + ".", ErrInvalid},
		{"wrong issuer", issue(newSigner(t, key, kid, "https://evil.example", testAudience, t0)), ErrInvalid},
		{"wrong audience", issue(newSigner(t, key, kid, testIssuer, "other-api", t0)), ErrInvalid},
		{"other key, other kid", issue(newSigner(t, otherKey, otherKid, testIssuer, testAudience, t0)), ErrInvalid},
		{"other key, same kid", issue(newSigner(t, otherKey, kid, testIssuer, testAudience, t0)), ErrInvalid},
		{"same key, unknown kid", issue(newSigner(t, key, "other-kid", testIssuer, testAudience, t0)), ErrInvalid},
		{"alg none", craft(t, jwt.SigningMethodNone, kid, TokenType, jwt.UnsafeAllowNoneSignatureType), ErrInvalid},
		{"alg HS256 keyed with the public key", craft(t, jwt.SigningMethodHS256, kid, TokenType, []byte(pub)), ErrInvalid},
		{"alg HS256 keyed with the public key as base64url", craft(t, jwt.SigningMethodHS256, kid, TokenType, []byte(base64.RawURLEncoding.EncodeToString(pub))), ErrInvalid},
		{"wrong type", craft(t, jwt.SigningMethodEdDSA, kid, "JWT", key), ErrInvalid},
		{"no type", craft(t, jwt.SigningMethodEdDSA, kid, "", key), ErrInvalid},
		{"missing subject", craftClaims(t, key, kid, func(c jwt.MapClaims) { delete(c, "sub") }), ErrInvalid},
		{"missing jti", craftClaims(t, key, kid, func(c jwt.MapClaims) { delete(c, "jti") }), ErrInvalid},
		{"missing exp", craftClaims(t, key, kid, func(c jwt.MapClaims) { delete(c, "exp") }), ErrInvalid},
		{"missing iat", craftClaims(t, key, kid, func(c jwt.MapClaims) { delete(c, "iat") }), ErrInvalid},
		{"nbf in the future", craftClaims(t, key, kid, func(c jwt.MapClaims) { c["nbf"] = t0.Add(time.Hour).Unix() }), ErrInvalid},
		{"audience list without ours", craftClaims(t, key, kid, func(c jwt.MapClaims) { c["aud"] = []string{"a", "b"} }), ErrInvalid},
		{"audience list with ours", craftClaims(t, key, kid, func(c jwt.MapClaims) { c["aud"] = []string{"a", testAudience} }), nil},
		{"expired and wrong issuer is invalid, not expired", craftClaims(t, key, kid, func(c jwt.MapClaims) {
			c["iss"] = "https://evil.example"
			c["exp"] = t0.Add(-time.Hour).Unix()
			c["iat"] = t0.Add(-2 * time.Hour).Unix()
		}), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.Verify(tt.token)
			t.Logf("err = %v", err)
			checkErr(t, err, tt.want)
		})
	}

	// A forged token is invalid, never "expired", even once its expiry has passed.
	t.Run("expired forgery", func(t *testing.T) {
		t.Parallel()
		verifier := newSigner(t, key, kid, testIssuer, testAudience, later)
		for _, tok := range []string{
			parts[0] + "." + parts[1] + "." + flipBit(t, parts[2]),
			issue(newSigner(t, otherKey, kid, testIssuer, testAudience, t0)),
		} {
			_, err := verifier.Verify(tok)
			checkErr(t, err, ErrInvalid)
		}
	})
}

func TestNewSignerRejectsBadArguments(t *testing.T) {
	t.Parallel()
	key, kid := newKey(t)
	tests := []struct {
		name                  string
		key                   ed25519.PrivateKey
		kid, issuer, audience string
		ttl                   time.Duration
	}{
		{"short key", key[:10], kid, testIssuer, testAudience, testTTL},
		{"no kid", key, "", testIssuer, testAudience, testTTL},
		{"no issuer", key, kid, "", testAudience, testTTL},
		{"no audience", key, kid, testIssuer, "", testTTL},
		{"zero ttl", key, kid, testIssuer, testAudience, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewSigner(tt.key, tt.kid, tt.issuer, tt.audience, tt.ttl, nil); err == nil {
				t.Error("NewSigner succeeded")
			}
		})
	}
	s, err := NewSigner(key, kid, testIssuer, testAudience, testTTL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Issue(Claims{}); err == nil {
		t.Error("Issue without subject succeeded")
	}
}

func TestPublicJWK(t *testing.T) {
	t.Parallel()
	key, kid := newKey(t)
	jwk := newSigner(t, key, kid, testIssuer, testAudience, t0).PublicJWK()
	if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" || jwk["kid"] != kid || jwk["alg"] != "EdDSA" {
		t.Errorf("jwk = %v", jwk)
	}
	x, err := base64.RawURLEncoding.DecodeString(jwk["x"].(string))
	if err != nil || !ed25519.PublicKey(x).Equal(key.Public()) {
		t.Errorf("x does not decode to the public key: %v", err)
	}
	if _, ok := jwk["d"]; ok {
		t.Error("JWK leaks the private key")
	}
	if _, err := json.Marshal(jwk); err != nil {
		t.Error(err)
	}
}

// checkErr fails unless err is nil when want is nil, or wraps want (and not the other sentinel).
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("err = %v, want nil", err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("err = %v, want %v", err, want)
	case errors.Is(err, ErrExpired) && errors.Is(err, ErrInvalid):
		t.Errorf("err = %v is both expired and invalid", err)
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// tamperPayload rewrites the payload to make the user an admin of another organisation.
func tamperPayload(t *testing.T, seg string) string {
	t.Helper()
	var c map[string]any
	decodeSegment(t, seg, &c)
	c["roles"] = []string{"admin"}
	c["org"] = "org-2"
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func flipBit(t *testing.T, seg string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	return base64.RawURLEncoding.EncodeToString(b)
}

// validClaims returns the claims of a valid token issued at t0, as a map to edit.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer, "aud": testAudience, "sub": "user-1", "org": "org-1",
		"roles": []string{"admin"}, "jti": "j1", "iat": t0.Unix(), "exp": t0.Add(testTTL).Unix(),
	}
}

// craft signs valid claims with any method, key id and type, bypassing the Signer.
func craft(t *testing.T, method jwt.SigningMethod, kid, typ string, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, validClaims())
	tok.Header["kid"] = kid
	if typ == "" {
		delete(tok.Header, "typ")
	} else {
		tok.Header["typ"] = typ
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// craftClaims signs edited valid claims correctly (EdDSA, right kid and type).
func craftClaims(t *testing.T, key ed25519.PrivateKey, kid string, edit func(jwt.MapClaims)) string {
	t.Helper()
	c := validClaims()
	edit(c)
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = kid
	tok.Header["typ"] = TokenType
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRemembersTokensThatPassed(t *testing.T) {
	t.Parallel()
	key, kid := newKey(t)
	now := t0
	s, err := NewSigner(key, kid, testIssuer, testAudience, testTTL, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok, exp, err := s.Issue(sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	remembered := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.verified)
	}
	first, err := s.Verify(tok)
	if err != nil || remembered() != 1 {
		t.Fatalf("first Verify = %v, %d remembered", err, remembered())
	}
	first.Roles[0] = "admin" // a caller changing its copy changes nothing remembered
	again, err := s.Verify(tok)
	if err != nil || again.Roles[0] != "caseworker" || again.Subject != "user-1" || remembered() != 1 {
		t.Fatalf("second Verify = %+v, %v, %d remembered", again, err, remembered())
	}
	tampered := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")]
	if _, err := s.Verify(tampered); !errors.Is(err, ErrInvalid) || remembered() != 1 {
		t.Fatalf("Verify of a tampered token = %v, %d remembered", err, remembered())
	}
	now = exp.Add(Leeway)
	if _, err := s.Verify(tok); !errors.Is(err, ErrExpired) || remembered() != 0 {
		t.Fatalf("Verify of a remembered token after expiry = %v, %d remembered; want ErrExpired and forgotten", err, remembered())
	}
}

func TestVerifyBoundsWhatItRemembers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		expires time.Time // of the tokens filling the cache
		want    int       // remembered after one more token
	}{
		{"full of expired tokens: they are forgotten", t0.Add(-time.Hour), 1},
		{"full of valid tokens: all are forgotten", t0.Add(time.Hour), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, kid := newKey(t)
			s := newSigner(t, key, kid, testIssuer, testAudience, t0)
			for i := range maxVerified {
				s.verified[sha256.Sum256([]byte(strconv.Itoa(i)))] = &tokenClaims{RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(tt.expires)}}
			}
			tok, _, err := s.Issue(sampleClaims())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Verify(tok); err != nil || len(s.verified) != tt.want {
				t.Fatalf("Verify = %v with %d remembered, want %d", err, len(s.verified), tt.want)
			}
		})
	}
}
