package fieldcrypt

import (
	"errors"
	"strings"
	"testing"
)

func TestDataKey(t *testing.T) {
	t.Parallel()
	ring := mustRing(t, newEntry(t, "k1"))
	material, err := NewDataKeyMaterial()
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := ring.WrapDataKey(material, "case_key:c1")
	if err != nil || !IsRingToken(wrapped) {
		t.Fatalf("WrapDataKey = %q, %v", wrapped, err)
	}
	key, err := ring.UnwrapDataKey(wrapped, "case_key:c1")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := key.Encrypt("Child A", "case:c1:child.pseudonym")
	if err != nil || !IsDataKeyToken(tok) || !IsToken(tok) || IsRingToken(tok) || strings.Contains(tok, "Child") {
		t.Fatalf("Encrypt = %q, %v", tok, err)
	}
	if got, err := key.Decrypt(tok, "case:c1:child.pseudonym"); err != nil || got != "Child A" {
		t.Fatalf("Decrypt = %q, %v", got, err)
	}
	other, _ := NewDataKeyMaterial()
	otherKey, err := NewDataKey(other)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		try  func() (string, error)
	}{
		{"other field", func() (string, error) { return key.Decrypt(tok, "case:c1:notes") }},
		{"other key", func() (string, error) { return otherKey.Decrypt(tok, "case:c1:child.pseudonym") }},
		{"the ring itself", func() (string, error) { return ring.Decrypt(tok, "case:c1:child.pseudonym") }},
		{"a ring token", func() (string, error) { return key.Decrypt(wrapped, "case_key:c1") }},
		{"unwrap bound to another case", func() (string, error) { _, err := ring.UnwrapDataKey(wrapped, "case_key:c2"); return "", err }},
		{"unwrap with another ring", func() (string, error) {
			_, err := mustRing(t, newEntry(t, "k1")).UnwrapDataKey(wrapped, "case_key:c1")
			return "", err
		}},
		{"unwrap a destroyed key", func() (string, error) { _, err := ring.UnwrapDataKey("", "case_key:c1"); return "", err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, err := tt.try(); err == nil || !errors.Is(err, ErrUndecryptable) {
				t.Errorf("= %q, %v; want an ErrUndecryptable", got, err)
			}
		})
	}
	if _, err := NewDataKey(material[:16]); err == nil {
		t.Error("a 16-byte data key was accepted")
	}
	if s := key.String(); strings.ContainsAny(s, "0123456789") {
		t.Errorf("String shows material: %q", s)
	}
}
