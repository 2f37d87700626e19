package fieldcrypt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// newEntry returns a fresh "<id>:<base64 key>" entry.
func newEntry(t testing.TB, id string) string {
	t.Helper()
	e, err := NewKeyEntry(id)
	if err != nil {
		t.Fatalf("NewKeyEntry(%q): %v", id, err)
	}
	return e
}

// mustRing parses spec or fails the test.
func mustRing(t testing.TB, spec string) *KeyRing {
	t.Helper()
	r, err := ParseKeyRing(spec)
	if err != nil {
		t.Fatalf("ParseKeyRing: %v", err)
	}
	return r
}

// mustEncrypt encrypts or fails the test.
func mustEncrypt(t testing.TB, r *KeyRing, plain, aad string) string {
	t.Helper()
	tok, err := r.Encrypt(plain, aad)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return tok
}

// mutatePayload decodes a token's payload, lets f change it and re-encodes the token.
func mutatePayload(t testing.TB, tok string, f func([]byte) []byte) string {
	t.Helper()
	i := strings.LastIndexByte(tok, ':')
	raw, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		t.Fatalf("decoding payload: %v", err)
	}
	return tok[:i+1] + base64.RawURLEncoding.EncodeToString(f(raw))
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	r := mustRing(t, newEntry(t, "k1"))
	tests := []struct {
		name, plain, aad string
	}{
		{"pseudonym", "Child A", "case:0190a5c2-7d4e-7c3b-9f00-000000000001:child_pseudonym"},
		{"non-latin name", "Амина Юсуфова — 王小明 — أمينة", "case:1:child_name"},
		{"multi-line note", "first line\nsecond line\twith tab\r\n\x00nul", "case:1:notes"},
		{"reference number", "POL/2026/000123", "case:1:police_reference"},
		{"one byte", "x", "case:1:notes"},
		{"200 bytes", strings.Repeat("abcdefghij", 20), "case:1:disability_notes"},
		{"64 KiB", strings.Repeat("0123456789abcdef", 4096), "case:1:notes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := mustEncrypt(t, r, tt.plain, tt.aad)
			if !strings.HasPrefix(tok, "enc:v1:k1:") {
				t.Errorf("token %q does not start with enc:v1:k1:", tok)
			}
			for i := 0; i < len(tok); i++ {
				if tok[i] < 0x21 || tok[i] > 0x7e {
					t.Fatalf("token has non-printable-ASCII byte %#x at %d", tok[i], i)
				}
			}
			if !IsToken(tok) {
				t.Error("IsToken(token) = false")
			}
			got, err := r.Decrypt(tok, tt.aad)
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if got != tt.plain {
				t.Errorf("Decrypt = %q, want %q", got, tt.plain)
			}
			if again := mustEncrypt(t, r, tt.plain, tt.aad); again == tok {
				t.Error("two encryptions of the same value gave the same token (nonce reuse)")
			}
		})
	}
}

func TestEmpty(t *testing.T) {
	t.Parallel()
	r := mustRing(t, newEntry(t, "k1"))
	tok, err := r.Encrypt("", "case:1:notes")
	if err != nil || tok != "" {
		t.Errorf(`Encrypt("") = %q, %v; want "", nil`, tok, err)
	}
	plain, err := r.Decrypt("", "case:1:notes")
	if err != nil || plain != "" {
		t.Errorf(`Decrypt("") = %q, %v; want "", nil`, plain, err)
	}
	if r.NeedsRotation("") || IsToken("") {
		t.Error("the empty string is not a token")
	}
	if tok, err := r.Reencrypt("", "case:1:notes"); err != nil || tok != "" {
		t.Errorf(`Reencrypt("") = %q, %v`, tok, err)
	}
}

func TestMissingAAD(t *testing.T) {
	t.Parallel()
	r := mustRing(t, newEntry(t, "k1"))
	if _, err := r.Encrypt("Child A", ""); !errors.Is(err, ErrMissingAAD) {
		t.Errorf("Encrypt with empty aad: err = %v, want ErrMissingAAD", err)
	}
	tok := mustEncrypt(t, r, "Child A", "case:1:child_pseudonym")
	if _, err := r.Decrypt(tok, ""); !errors.Is(err, ErrMissingAAD) {
		t.Errorf("Decrypt with empty aad: err = %v, want ErrMissingAAD", err)
	}
}

func TestDecryptFails(t *testing.T) {
	t.Parallel()
	other := newEntry(t, "k2")
	r := mustRing(t, newEntry(t, "k1")+","+other)
	const aad = "case:1:child_pseudonym"
	tok := mustEncrypt(t, r, "Child A", aad)
	flip := func(at func(n int) int) func([]byte) []byte {
		return func(b []byte) []byte { b[at(len(b))] ^= 0x01; return b }
	}
	tests := []struct {
		name  string
		token string
		aad   string
		want  string // in the error message
	}{
		{"other record", tok, "case:2:child_pseudonym", "authentication failed"},
		{"other field", tok, "case:1:notes", "authentication failed"},
		{"aad with suffix", tok, aad + "x", "authentication failed"},
		{"aad prefix only", tok, "case:1:child_pseudo", "authentication failed"},
		{"nonce bit flipped", mutatePayload(t, tok, flip(func(int) int { return 0 })), aad, "authentication failed"},
		{"ciphertext bit flipped", mutatePayload(t, tok, flip(func(int) int { return nonceSize })), aad, "authentication failed"},
		{"tag bit flipped", mutatePayload(t, tok, flip(func(n int) int { return n - 1 })), aad, "authentication failed"},
		{"truncated by one byte", mutatePayload(t, tok, func(b []byte) []byte { return b[:len(b)-1] }), aad, "authentication failed"},
		{"extended by one byte", mutatePayload(t, tok, func(b []byte) []byte { return append(b, 0) }), aad, "authentication failed"},
		{"too short", mutatePayload(t, tok, func(b []byte) []byte { return b[:nonceSize+tagSize-1] }), aad, "too short"},
		{"moved to another key id", strings.Replace(tok, ":k1:", ":k2:", 1), aad, "authentication failed"},
		{"payload not base64url", tok + "!", aad, "not base64url"},
		{"payload with padding", tok + "=", aad, "not base64url"},
		{"payload missing", "enc:v1:k1:", aad, "no payload"},
		{"no key id", "enc:v1:abc", aad, "no key id"},
		{"bad key id", strings.Replace(tok, ":k1:", ":K1:", 1), aad, "key id"},
		{"other version", strings.Replace(tok, "enc:v1:", "enc:v2:", 1), aad, "unsupported token version"},
		{"plaintext input", "Child A", aad, "not an encrypted value"},
		{"prefix inside", "x" + tok, aad, "not an encrypted value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Decrypt(tt.token, tt.aad)
			if err == nil {
				t.Fatalf("Decrypt succeeded with %q", got)
			}
			if !errors.Is(err, ErrUndecryptable) {
				t.Errorf("error %v does not match ErrUndecryptable", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if got != "" {
				t.Errorf("Decrypt returned %q alongside an error", got)
			}
			if strings.Contains(err.Error(), "Child A") {
				t.Errorf("error %q shows the plaintext", err)
			}
		})
	}
	t.Run("every byte flipped", func(t *testing.T) {
		t.Parallel()
		raw, _ := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, ':')+1:])
		for i := range raw {
			bad := mutatePayload(t, tok, func(b []byte) []byte { b[i] ^= 0x80; return b })
			if _, err := r.Decrypt(bad, aad); !errors.Is(err, ErrUndecryptable) {
				t.Fatalf("byte %d flipped: err = %v", i, err)
			}
		}
	})
}

func TestUnknownKey(t *testing.T) {
	t.Parallel()
	old := mustRing(t, newEntry(t, "old"))
	tok := mustEncrypt(t, old, "Child A", "case:1:child_pseudonym")
	r := mustRing(t, newEntry(t, "new"))
	_, err := r.Decrypt(tok, "case:1:child_pseudonym")
	var uk *UnknownKeyError
	if !errors.As(err, &uk) || uk.KeyID != "old" {
		t.Fatalf("err = %v, want *UnknownKeyError for key old", err)
	}
	if !errors.Is(err, ErrUndecryptable) {
		t.Error("UnknownKeyError does not match ErrUndecryptable")
	}
	if want := `encrypted with key "old" which is not in the key ring`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if !r.NeedsRotation(tok) {
		t.Error("a token under a key not in the ring is not under the active key: NeedsRotation should be true")
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := newEntry(t, "k1"), newEntry(t, "k2")
	const aad = "case:7:notes"
	before := mustRing(t, k1)
	oldTok := mustEncrypt(t, before, "disclosed at school", aad)
	if before.NeedsRotation(oldTok) {
		t.Error("NeedsRotation true for a token under the active key")
	}

	after := mustRing(t, k2+","+k1) // new key prepended
	if got := after.ActiveKeyID(); got != "k2" {
		t.Fatalf("ActiveKeyID = %q, want k2", got)
	}
	if got := after.KeyIDs(); len(got) != 2 || got[0] != "k2" || got[1] != "k1" {
		t.Errorf("KeyIDs = %q", got)
	}
	tests := []struct {
		name  string
		token func(t *testing.T) string
		keyID string
		needs bool
	}{
		{"old value under the old key", func(*testing.T) string { return oldTok }, "k1", true},
		{"new value under the new key", func(t *testing.T) string { return mustEncrypt(t, after, "disclosed at school", aad) }, "k2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tok := tt.token(t)
			if !strings.HasPrefix(tok, "enc:v1:"+tt.keyID+":") {
				t.Errorf("token %q is not under key %s", tok, tt.keyID)
			}
			got, err := after.Decrypt(tok, aad)
			if err != nil || got != "disclosed at school" {
				t.Fatalf("Decrypt = %q, %v", got, err)
			}
			if after.NeedsRotation(tok) != tt.needs {
				t.Errorf("NeedsRotation = %v, want %v", !tt.needs, tt.needs)
			}
			re, err := after.Reencrypt(tok, aad)
			if err != nil {
				t.Fatalf("Reencrypt: %v", err)
			}
			if !tt.needs && re != tok {
				t.Error("Reencrypt rewrote a token already under the active key")
			}
			if after.NeedsRotation(re) {
				t.Errorf("Reencrypt gave %q, still not under the active key", re)
			}
			if got, err := after.Decrypt(re, aad); err != nil || got != "disclosed at school" {
				t.Errorf("Decrypt(Reencrypt) = %q, %v", got, err)
			}
			if _, err := after.Reencrypt(tok, "case:8:notes"); !errors.Is(err, ErrUndecryptable) {
				t.Errorf("Reencrypt with the wrong aad: err = %v", err)
			}
		})
	}
	if _, err := mustRing(t, k2).Decrypt(oldTok, aad); err == nil {
		t.Error("old value decrypted after its key was removed")
	}
}

func TestNeedsRotationNonToken(t *testing.T) {
	t.Parallel()
	r := mustRing(t, newEntry(t, "k1"))
	for _, s := range []string{"Child A", "enc:v1:", "enc:v1:k1", "enc:v2:k0:abc", "enc:v1:BAD:abc"} {
		if r.NeedsRotation(s) || IsToken(s) {
			t.Errorf("%q treated as a token", s)
		}
	}
}

func TestCiphertextHidesPlaintext(t *testing.T) {
	t.Parallel()
	r := mustRing(t, newEntry(t, "k1"))
	plain := strings.Repeat("Zanele-Okonkwo-Vasquez-disclosed-to-teacher-", 20)
	tok := mustEncrypt(t, r, plain, "case:1:notes")
	raw, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, ':')+1:])
	if err != nil {
		t.Fatal(err)
	}
	// No 8-byte window of the plaintext appears in the token or the raw ciphertext (a random match
	// is about 1 in 10^11 here).
	const window = 8
	for i := 0; i+window <= len(plain); i++ {
		w := plain[i : i+window]
		if strings.Contains(tok, w) || bytes.Contains(raw, []byte(w)) {
			t.Fatalf("ciphertext contains plaintext fragment %q", w)
		}
	}
	for _, w := range []string{"Zanele", "Okonkwo", "Vasquez", "teacher", plain} {
		if strings.Contains(tok, w) {
			t.Errorf("token contains %q", w)
		}
	}
}

func TestParseKeyRing(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xfb}, KeySize) // encodes differently in the std and URL alphabets
	std := base64.StdEncoding.EncodeToString(key)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	long := base64.StdEncoding.EncodeToString(make([]byte, 33))
	valid := []struct {
		name, spec string
		ids        []string
	}{
		{"one key", "k1:" + std, []string{"k1"}},
		{"first is active", "new:" + std + ",old:" + std, []string{"new", "old"}},
		{"whitespace and newline", "  k1 : " + std + " ,\n k0:" + std + "\n", []string{"k1", "k0"}},
		{"unpadded", "k1:" + base64.RawStdEncoding.EncodeToString(key), []string{"k1"}},
		{"url-safe", "k1:" + base64.URLEncoding.EncodeToString(key), []string{"k1"}},
		{"url-safe unpadded", "k1:" + base64.RawURLEncoding.EncodeToString(key), []string{"k1"}},
		{"longest id", strings.Repeat("a", 32) + ":" + std, []string{strings.Repeat("a", 32)}},
		{"id with digits and dash", "2026-05-k:" + std, []string{"2026-05-k"}},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseKeyRing(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.KeyIDs(); fmt.Sprint(got) != fmt.Sprint(tt.ids) || r.ActiveKeyID() != tt.ids[0] {
				t.Errorf("KeyIDs = %q, active %q; want %q", got, r.ActiveKeyID(), tt.ids)
			}
		})
	}
	invalid := []struct {
		name, spec string
		want       []string // all in the error message
	}{
		{"empty", "", []string{"empty"}},
		{"blank", " \n\t", []string{"empty"}},
		{"bad base64", "k1:not*base64!", []string{"entry 1", `"k1"`, "not valid base64"}},
		{"wrong length short", "k1:" + short, []string{"16 bytes", "want 32"}},
		{"wrong length long", "k1:" + long, []string{"33 bytes", "want 32"}},
		{"duplicate id", "k1:" + std + ",k1:" + std, []string{"entry 2", `duplicate key id "k1"`}},
		{"missing colon", std, []string{"entry 1", `no ":"`}},
		{"missing key", "k1:", []string{"missing"}},
		{"empty entry", "k1:" + std + ",", []string{"entry 2 is empty"}},
		{"empty id", ":" + std, []string{"key id"}},
		{"uppercase id", "K1:" + std, []string{`key id "K1"`}},
		{"id too long", strings.Repeat("a", 33) + ":" + std, []string{"key id"}},
		{"id with colon-free junk", "k_1:" + std, []string{"key id"}},
		{"every error reported", "k1:" + short + ",K2:" + std + ",k1:" + std, []string{"entry 1", "entry 2", `entry 3: duplicate key id "k1"`}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseKeyRing(tt.spec)
			if err == nil {
				t.Fatalf("ParseKeyRing succeeded: %v", r)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{std, short, long} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows key material", err)
				}
			}
		})
	}
}

func TestRingDoesNotShowKeys(t *testing.T) {
	t.Parallel()
	entry := newEntry(t, "k1")
	b64 := entry[strings.IndexByte(entry, ':')+1:]
	r := mustRing(t, entry)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keys", "ring", r)
	for _, s := range []string{fmt.Sprintf("%v", r), fmt.Sprintf("%+v", r), fmt.Sprintf("%#v", r), fmt.Sprint(r), logged.String()} {
		if !strings.Contains(s, "k1") || strings.Contains(s, b64) {
			t.Errorf("ring printed as %q", s)
		}
	}
}

func TestNewKeyEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, wantErr string
	}{
		{"given id", "k2026-05", ""},
		{"generated id", "", ""},
		{"bad id", "Key 1", "key id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := NewKeyEntry(tt.id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			r := mustRing(t, e)
			if tt.id != "" && r.ActiveKeyID() != tt.id {
				t.Errorf("ActiveKeyID = %q, want %q", r.ActiveKeyID(), tt.id)
			}
			if e == newEntry(t, tt.id) {
				t.Error("two entries are identical")
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r := mustRing(t, newEntry(t, "k1"))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			aad := fmt.Sprintf("case:%d:notes", g)
			for i := range 50 {
				plain := fmt.Sprintf("note %d of writer %d", i, g)
				tok, err := r.Encrypt(plain, aad)
				if err == nil {
					var got string
					got, err = r.Decrypt(tok, aad)
					if err == nil && got != plain {
						err = fmt.Errorf("got %q, want %q", got, plain)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func benchRing(b *testing.B) (*KeyRing, string) {
	b.Helper()
	return mustRing(b, newEntry(b, "k1")), strings.Repeat("Free-text note about the child. ", 7)[:200]
}

func BenchmarkEncrypt200(b *testing.B) {
	r, plain := benchRing(b)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Encrypt(plain, "case:0190a5c2-7d4e-7c3b-9f00-000000000001:notes"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt200(b *testing.B) {
	r, plain := benchRing(b)
	const aad = "case:0190a5c2-7d4e-7c3b-9f00-000000000001:notes"
	tok := mustEncrypt(b, r, plain, aad)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Decrypt(tok, aad); err != nil {
			b.Fatal(err)
		}
	}
}
