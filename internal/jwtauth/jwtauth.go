// Package jwtauth issues and verifies the service's own access tokens: short-lived JWTs signed with
// Ed25519 (JWS algorithm "EdDSA"), carrying the user, organisation, roles, device and session.
//
// Verification accepts exactly one algorithm (EdDSA), one key (matched by its key id) and one token
// type ("at+jwt", RFC 9068), so "none", HMAC and key-confusion tokens and JWTs signed for another
// purpose are all refused. Verification failures are reported as ErrExpired or ErrInvalid (compare
// with errors.Is); the HTTP layer turns them into 401 responses.
package jwtauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Leeway is the clock skew tolerated when checking exp, iat and nbf.
const Leeway = 30 * time.Second

// TokenType is the JWT "typ" header of access tokens (RFC 9068). Verify refuses any other type.
const TokenType = "at+jwt"

// maxTokenLen bounds the size of a token Verify will parse (a real token is well under 1 KiB).
const maxTokenLen = 8 << 10

// maxVerified bounds how many verified tokens a Signer remembers (see Verify): about 2 MiB at most.
const maxVerified = 10_000

// ErrExpired reports a token whose signature and claims are valid except that it has expired:
// the client should refresh it. Every other failure is ErrInvalid.
var ErrExpired = errors.New("jwtauth: access token expired")

// ErrInvalid reports a token that is malformed, signed with another algorithm or key, of another
// type, or whose issuer, audience, times or required claims are wrong.
var ErrInvalid = errors.New("jwtauth: access token invalid")

// Claims are the contents of an access token. The JSON claim names are given in brackets.
type Claims struct {
	Subject   string    // user id (sub)
	OrgID     string    // organisation id (org)
	Roles     []string  // role names (roles)
	DeviceID  string    // device the user signed in from (dev)
	SessionID string    // refresh-token family id, used to revoke a sign-in (sid)
	IssuedAt  time.Time // (iat)
	ExpiresAt time.Time // (exp)
	ID        string    // random token id (jti)
	Issuer    string    // (iss)
	Audience  string    // (aud)
}

// tokenClaims is the wire form of Claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	OrgID     string   `json:"org,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	DeviceID  string   `json:"dev,omitempty"`
	SessionID string   `json:"sid,omitempty"`
}

// Signer issues and verifies access tokens with one Ed25519 key. It is safe for concurrent use.
type Signer struct {
	key      ed25519.PrivateKey
	pub      ed25519.PublicKey
	keyID    string
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	parser   *jwt.Parser

	mu       sync.Mutex
	verified map[[sha256.Size]byte]*tokenClaims // tokens whose signature and claims held, by SHA-256
}

// NewSigner returns a Signer that issues tokens signed with key under keyID, for issuer and audience,
// valid for ttl. now is the clock (nil means time.Now). It returns an error when the key is not a
// valid Ed25519 private key, when keyID, issuer or audience is empty, or when ttl is not positive.
func NewSigner(key ed25519.PrivateKey, keyID, issuer, audience string, ttl time.Duration, now func() time.Time) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("jwtauth: private key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	if keyID == "" || issuer == "" || audience == "" {
		return nil, errors.New("jwtauth: key id, issuer and audience are required")
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("jwtauth: token lifetime %v is not positive", ttl)
	}
	if now == nil {
		now = time.Now
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("jwtauth: cannot derive the public key")
	}
	return &Signer{
		key: key, pub: pub, keyID: keyID, issuer: issuer, audience: audience, ttl: ttl, now: now,
		verified: map[[sha256.Size]byte]*tokenClaims{},
		// Claims are checked by Verify itself, so that an expired token is told apart from a
		// token that is also wrong in another way (the library joins all claim errors into one).
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
			jwt.WithStrictDecoding(),
			jwt.WithoutClaimsValidation(),
		),
	}, nil
}

// KeyID returns the signer's key id (the "kid" header of its tokens).
func (s *Signer) KeyID() string { return s.keyID }

// Issue signs an access token for c. Subject is required; OrgID, Roles, DeviceID and SessionID are
// copied; IssuedAt, ExpiresAt, Issuer and Audience are set by the signer and a random ID is set when
// c.ID is empty. It returns the token and its expiry time, or an error when Subject is empty or
// signing fails.
func (s *Signer) Issue(c Claims) (string, time.Time, error) {
	if c.Subject == "" {
		return "", time.Time{}, errors.New("jwtauth: subject is required")
	}
	if c.ID == "" {
		c.ID = randomID()
	}
	// NumericDate has second precision: compute the times the token will actually carry.
	iat := s.now().UTC().Truncate(time.Second)
	exp := iat.Add(s.ttl).Truncate(time.Second)
	tc := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   c.Subject,
			Audience:  jwt.ClaimStrings{s.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(iat),
			ID:        c.ID,
		},
		OrgID:     c.OrgID,
		Roles:     c.Roles,
		DeviceID:  c.DeviceID,
		SessionID: c.SessionID,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, tc)
	tok.Header["kid"] = s.keyID
	tok.Header["typ"] = TokenType
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("jwtauth: signing: %w", err)
	}
	return signed, exp, nil
}

// Verify checks token and returns its claims. The algorithm must be exactly EdDSA, the key id and
// type headers must be this signer's, the signature must verify, iss and aud must match, sub, jti,
// iat and exp must be present, and iat, nbf and exp must hold at the current time within Leeway.
// It returns an error wrapping ErrExpired when the only problem is that the token has expired,
// and an error wrapping ErrInvalid for every other failure.
//
// A token that passed is remembered by its SHA-256 (up to maxVerified of them) so that its next uses
// skip parsing and the signature check, which were most of what authenticating a request cost; its
// claims are checked again every time, so it still expires.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: token is longer than %d bytes", ErrInvalid, maxTokenLen)
	}
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	tc, known := s.verified[sum]
	s.mu.Unlock()
	if !known {
		tc = new(tokenClaims)
		_, err := s.parser.ParseWithClaims(token, tc, func(t *jwt.Token) (any, error) {
			if kid, _ := t.Header["kid"].(string); kid != s.keyID {
				return nil, fmt.Errorf("unknown key id %q", kid)
			}
			if typ, _ := t.Header["typ"].(string); typ != TokenType {
				return nil, fmt.Errorf("token type %q is not %q", typ, TokenType)
			}
			return s.pub, nil
		})
		if err != nil {
			return Claims{}, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if err := s.checkClaims(tc); err != nil {
		if known {
			s.mu.Lock()
			delete(s.verified, sum)
			s.mu.Unlock()
		}
		return Claims{}, err
	}
	if !known {
		s.remember(sum, tc)
	}
	return Claims{
		Subject:   tc.Subject,
		OrgID:     tc.OrgID,
		Roles:     slices.Clone(tc.Roles),
		DeviceID:  tc.DeviceID,
		SessionID: tc.SessionID,
		IssuedAt:  tc.IssuedAt.UTC(),
		ExpiresAt: tc.ExpiresAt.UTC(),
		ID:        tc.ID,
		Issuer:    tc.Issuer,
		Audience:  s.audience,
	}, nil
}

// remember adds a verified token. When the cache is full it first forgets expired tokens, and all of
// them when none has expired.
func (s *Signer) remember(sum [sha256.Size]byte, tc *tokenClaims) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.verified) >= maxVerified {
		now := s.now()
		for k, v := range s.verified {
			if !now.Before(v.ExpiresAt.Add(Leeway)) {
				delete(s.verified, k)
			}
		}
		if len(s.verified) >= maxVerified {
			clear(s.verified)
		}
	}
	s.verified[sum] = tc
}

// checkClaims validates the registered claims of a token whose signature has been verified.
// Expiry is checked last so that ErrExpired means the token was otherwise valid.
func (s *Signer) checkClaims(tc *tokenClaims) error {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	now := s.now()
	switch {
	case tc.Issuer != s.issuer:
		return invalid("issuer %q is not %q", tc.Issuer, s.issuer)
	case !slices.Contains(tc.Audience, s.audience):
		return invalid("audience %q does not include %q", []string(tc.Audience), s.audience)
	case tc.Subject == "":
		return invalid("no subject")
	case tc.ID == "":
		return invalid("no token id")
	case tc.IssuedAt == nil:
		return invalid("no issue time")
	case tc.ExpiresAt == nil:
		return invalid("no expiry time")
	case tc.IssuedAt.After(now.Add(Leeway)):
		return invalid("issued in the future (%v)", tc.IssuedAt.Time)
	case tc.NotBefore != nil && tc.NotBefore.After(now.Add(Leeway)):
		return invalid("not valid before %v", tc.NotBefore.Time)
	case !tc.ExpiresAt.After(tc.IssuedAt.Time):
		return invalid("expires before it is issued")
	case !now.Before(tc.ExpiresAt.Add(Leeway)):
		return fmt.Errorf("%w at %v", ErrExpired, tc.ExpiresAt.Time)
	}
	return nil
}

// PublicJWK returns the verification key as a JSON Web Key (RFC 8037 OKP/Ed25519) with its key id,
// for publishing in a JWKS document.
func (s *Signer) PublicJWK() map[string]any {
	return map[string]any{
		"kty": "OKP",
		"crv": "Ed25519",
		"x":   base64.RawURLEncoding.EncodeToString(s.pub),
		"kid": s.keyID,
		"alg": jwt.SigningMethodEdDSA.Alg(),
		"use": "sig",
	}
}

// randomID returns 128 random bits, base64url-encoded.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error (it crashes the program instead).
	return base64.RawURLEncoding.EncodeToString(b[:])
}
