package identity

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// PasswordParams are the argon2id parameters of new password hashes. Verification reads the
// parameters from each stored hash, so they can change without invalidating existing passwords
// (users are rehashed with the new ones on their next sign-in).
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultPasswordParams returns m=64 MiB, t=3, p=2 (RFC 9106's second recommended option). One hash
// takes about 0.35 s on this project's 2-core build machine and holds 64 MiB while it runs.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Memory: 64 * 1024, Time: 3, Threads: 2}
}

const (
	saltLen = 16
	keyLen  = 32

	// Password policy limits, in characters (runes).
	minPasswordLen      = 12
	maxPasswordLen      = 256
	minDistinctPassword = 5
)

// Limits on the parameters accepted from a stored hash, so a corrupted record cannot make one
// verification take unbounded memory or time.
const (
	maxMemory  = 1 << 21 // 2 GiB
	maxTime    = 64
	maxKeyLen  = 128
	maxSaltLen = 64
)

// errMalformedHash is returned by VerifyPassword for a string that is not an argon2id PHC hash.
var errMalformedHash = errors.New("identity: malformed password hash")

// HashPassword hashes pw with argon2id and DefaultPasswordParams(), returning a PHC string
// ($argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>, unpadded standard base64). It returns an error only
// when the system's random source fails.
func HashPassword(pw string) (string, error) {
	return HashPasswordWith(pw, DefaultPasswordParams())
}

// HashPasswordWith hashes pw with argon2id and the given parameters (zero fields take the defaults).
// It returns an error only when the system's random source fails.
func HashPasswordWith(pw string, p PasswordParams) (string, error) {
	p = p.withDefaults()
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("reading a password salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return encodeHash(p, salt, key), nil
}

func encodeHash(p PasswordParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// dummyHash returns a hash with parameters p that no password matches: verifying against it costs
// what verifying a real hash costs, for answering unknown users as slowly as known ones.
func dummyHash(p PasswordParams) string {
	p = p.withDefaults()
	return encodeHash(p, []byte("caseguide-nouser"), make([]byte, keyLen))
}

func (p PasswordParams) withDefaults() PasswordParams {
	d := DefaultPasswordParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	return p
}

// VerifyPassword reports whether pw matches hash, comparing in constant time with the parameters
// recorded in hash. It returns an error (and false) when hash is not an argon2id PHC string this
// package accepts.
func VerifyPassword(hash, pw string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether hash was made with parameters other than p (or is malformed).
func NeedsRehash(hash string, p PasswordParams) bool {
	got, salt, key, err := parseHash(hash)
	return err != nil || got != p.withDefaults() || len(salt) != saltLen || len(key) != keyLen
}

func parseHash(hash string) (PasswordParams, []byte, []byte, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return PasswordParams{}, nil, nil, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: version %q", errMalformedHash, parts[2])
	}
	var p PasswordParams
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads) != parts[3] {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: parameters %q", errMalformedHash, parts[3])
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: parameters out of range %q", errMalformedHash, parts[3])
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > maxSaltLen {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: salt", errMalformedHash)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxKeyLen {
		return PasswordParams{}, nil, nil, fmt.Errorf("%w: key", errMalformedHash)
	}
	return p, salt, key, nil
}

// commonPasswords lists very common passwords (lower case). Most are shorter than the minimum length
// and fail that check too; the list catches the long ones people pick to satisfy length rules.
func commonPasswords() []string {
	return []string{
		"123456", "123456789", "12345678", "password", "qwerty", "111111", "iloveyou", "admin",
		"123456789012", "1234567890123", "12345678910", "password1234", "password12345", "password123!",
		"passw0rd1234", "qwerty123456", "qwertyuiop123", "1q2w3e4r5t6y", "1qaz2wsx3edc", "qwertyuiopasdfghjkl",
		"iloveyou1234", "administrator", "administrator1", "welcome12345", "letmein12345", "changeme1234",
		"trustno11234", "football1234", "abcdefghijkl", "abc123456789", "monkey123456", "superman1234",
		"princess1234", "sunshine1234", "correcthorsebatterystaple",
	}
}

// CheckPasswordPolicy checks a new password for user username. It returns nil or an *apperr.Error of
// kind Invalid with one FieldError per broken rule, all on field "password": too_short (fewer than 12
// characters), too_long (more than 256), contains_username, too_common, too_simple (fewer than 5
// distinct characters).
func CheckPasswordPolicy(username, pw string) error {
	var fields []apperr.FieldError
	add := func(code string, data map[string]any) {
		fields = append(fields, apperr.FieldError{Field: "password", Code: code, MessageID: "field.password_" + code, Data: data})
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case n < minPasswordLen:
		add("too_short", map[string]any{"Min": minPasswordLen})
	case n > maxPasswordLen:
		add("too_long", map[string]any{"Max": maxPasswordLen})
	}
	lower := strings.ToLower(pw)
	if u := strings.ToLower(strings.TrimSpace(username)); u != "" && strings.Contains(lower, u) {
		add("contains_username", nil)
	}
	if slices.Contains(commonPasswords(), lower) {
		add("too_common", nil)
	}
	distinct := map[rune]struct{}{}
	for _, r := range pw {
		distinct[r] = struct{}{}
	}
	if len(distinct) < minDistinctPassword {
		add("too_simple", map[string]any{"Min": minDistinctPassword})
	}
	if fields != nil {
		return apperr.Validation(fields...)
	}
	return nil
}

// PasswordRuleProblems describes in English, for start-up and command-line messages (which are not
// localized), each rule that err, an error of CheckPasswordPolicy, says a password breaks: its code
// and the rule, for example "too_short: at least 12 characters". It returns nil when err carries no
// password rule.
func PasswordRuleProblems(err error) []string {
	e := apperr.As(err)
	if e == nil {
		return nil
	}
	rules := map[string]string{
		"too_short":         fmt.Sprintf("at least %d characters", minPasswordLen),
		"too_long":          fmt.Sprintf("at most %d characters", maxPasswordLen),
		"contains_username": "must not contain the user name",
		"too_common":        "must not be a common password",
		"too_simple":        fmt.Sprintf("at least %d different characters", minDistinctPassword),
	}
	var out []string
	for _, f := range e.Fields {
		if rule, ok := rules[f.Code]; ok && f.Field == "password" {
			out = append(out, f.Code+": "+rule)
		}
	}
	return out
}
