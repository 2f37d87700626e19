package identity

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// cheap are parameters that keep tests fast; production uses DefaultPasswordParams.
func cheap() PasswordParams { return PasswordParams{Memory: 64, Time: 1, Threads: 1} }

func TestHashPasswordDefaultFormat(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h) {
		t.Fatalf("hash %q is not the expected PHC string", h)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}} {
		ok, err := VerifyPassword(h, tc.pw)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	if NeedsRehash(h, DefaultPasswordParams()) {
		t.Error("a fresh default hash needs a rehash")
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	h, err := HashPasswordWith("s3cret-enough-pw", cheap())
	if err != nil {
		t.Fatal(err)
	}
	h2, err := HashPasswordWith("s3cret-enough-pw", cheap())
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q does not record its parameters", h)
	}
	if !NeedsRehash(h, DefaultPasswordParams()) || NeedsRehash(h, cheap()) {
		t.Error("NeedsRehash does not compare parameters")
	}
	parts := strings.Split(h, "$")
	tests := []struct {
		name    string
		hash    string
		pw      string
		want    bool
		wantErr bool
	}{
		{"right password", h, "s3cret-enough-pw", true, false},
		{"second hash", h2, "s3cret-enough-pw", true, false},
		{"wrong password", h, "s3cret-enough-pW", false, false},
		{"empty password", h, "", false, false},
		{"dummy hash matches nothing", dummyHash(cheap()), "", false, false},
		{"empty hash", "", "x", false, true},
		{"bcrypt hash", "$2a$10$abcdefghijklmnopqrstuu", "x", false, true},
		{"argon2i", strings.Replace(h, "argon2id", "argon2i", 1), "s3cret-enough-pw", false, true},
		{"old version", strings.Replace(h, "v=19", "v=16", 1), "s3cret-enough-pw", false, true},
		{"bad parameters", strings.Replace(h, "m=64,t=1,p=1", "m=64,t=1", 1), "s3cret-enough-pw", false, true},
		{"huge memory", strings.Replace(h, "m=64,", "m=99999999,", 1), "s3cret-enough-pw", false, true},
		{"zero time", strings.Replace(h, "t=1,", "t=0,", 1), "s3cret-enough-pw", false, true},
		{"padded salt", strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4] + "==", parts[5]}, "$"), "s3cret-enough-pw", false, true},
		{"truncated key", h[:len(h)-30], "s3cret-enough-pw", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ok, err := VerifyPassword(tc.hash, tc.pw)
			if (err != nil) != tc.wantErr || ok != tc.want {
				t.Fatalf("VerifyPassword = %v, %v; want %v, error %v", ok, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCheckPasswordPolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		username string
		pw       string
		want     []string // field error codes, in order
	}{
		{"good", "asmith", "tulip-river-42-lamp", nil},
		{"exactly 12", "asmith", "abcdefghijk1", nil},
		{"11 characters", "asmith", "abcdefghij1", []string{"too_short"}},
		{"12 runes, more bytes", "asmith", "ñandú-çà-été", nil},
		{"256 characters", "asmith", strings.Repeat("abcdefgh", 32), nil},
		{"257 characters", "asmith", strings.Repeat("abcdefgh", 32) + "x", []string{"too_long"}},
		{"contains username", "asmith", "my-ASmith-password", []string{"contains_username"}},
		{"common, any case", "asmith", "Password1234", []string{"too_common"}},
		{"common and short", "asmith", "qwerty", []string{"too_short", "too_common"}},
		{"too simple", "asmith", "abababababababab", []string{"too_simple"}},
		{"four distinct", "asmith", "abcdabcdabcdabcd", []string{"too_simple"}},
		{"five distinct", "asmith", "abcdeabcdeabcde", nil},
		{"empty", "asmith", "", []string{"too_short", "too_simple"}},
		{"no username given", "", "tulip-river-42-lamp", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckPasswordPolicy(tc.username, tc.pw)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e := apperr.As(err)
			if e == nil || e.Kind != apperr.Invalid {
				t.Fatalf("error %v is not an apperr Invalid", err)
			}
			var codes []string
			for _, f := range e.Fields {
				if f.Field != "password" || f.MessageID != "field.password_"+f.Code {
					t.Errorf("field error %+v", f)
				}
				codes = append(codes, f.Code)
			}
			if !slices.Equal(codes, tc.want) {
				t.Fatalf("codes %v, want %v", codes, tc.want)
			}
		})
	}
}

func TestDenials(t *testing.T) {
	t.Parallel()
	for _, d := range []Denial{ErrBadCredentials, ErrSessionInvalid, ErrDeviceRevoked, ErrForbidden} {
		wrapped := error(wrap(d))
		var got Denial
		if !errors.Is(wrapped, d) || !errors.As(wrapped, &got) || got != d || d.MessageID() == "ErrInternal" {
			t.Errorf("denial %s is not recognisable through wrapping", d)
		}
	}
	var stale *StaleError
	err := errUserStale(User{ID: "u", Version: 3})
	if !errors.Is(err, ErrStale) || !errors.As(err, &stale) || stale.Current.Version != 3 || apperr.KindOf(err) != apperr.Conflict {
		t.Errorf("stale error %v does not carry the current user", err)
	}
}

func wrap(err error) error { return errors.Join(errors.New("context"), err) }
