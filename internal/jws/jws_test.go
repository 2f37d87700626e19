package jws

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
)

func signer(t *testing.T, seed byte, typ string) *Signer {
	t.Helper()
	s, err := New(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)), "test-", typ)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A token verifies with its own signer only, and not once altered.
func TestVerify(t *testing.T) {
	t.Parallel()
	s := signer(t, 1, "a+jws")
	tok := s.Sign([]byte(`{"n":1}`))
	if p, kid, err := s.Verify(tok); err != nil || string(p) != `{"n":1}` || kid != s.KeyID() || !strings.HasPrefix(kid, "test-") {
		t.Fatalf("own token: %q %q %v", p, kid, err)
	}
	parts := strings.Split(tok, ".")
	other := signer(t, 2, "a+jws").Sign([]byte(`{"n":1}`))
	tests := []struct{ name, token string }{
		{"another key", other},
		{"another type", signer(t, 1, "b+jws").Sign([]byte(`{"n":1}`))},
		{"payload swapped", parts[0] + "." + strings.Split(signer(t, 1, "a+jws").Sign([]byte(`{"n":2}`)), ".")[1] + "." + parts[2]},
		{"two parts", parts[0] + "." + parts[1]},
		{"not base64", parts[0] + ".!!." + parts[2]},
		{"too long", tok + strings.Repeat("A", MaxTokenLen)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, _, err := s.Verify(tc.token); err == nil {
				t.Error("verified")
			}
		})
	}
	if _, err := New(ed25519.PrivateKey{1, 2}, "x-", "a"); err == nil {
		t.Error("a short key accepted")
	}
}
