package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// independentHash follows the package documentation literally, without CanonicalJSON.
func independentHash(e Entry) string {
	s := func(v string) string { return `"` + v + `"` } // the allowed characters never need escaping
	body := "{" + strings.Join([]string{
		`"org_id":` + s(e.OrgID),
		`"seq":` + fmt.Sprint(e.Seq),
		`"time":` + s(e.Time.UTC().Format("2006-01-02T15:04:05.000Z")),
		`"actor_id":` + s(e.ActorID),
		`"actor_role":` + s(e.ActorRole),
		`"device_id":` + s(e.DeviceID),
		`"action":` + s(e.Action),
		`"resource_type":` + s(e.ResourceType),
		`"resource_id":` + s(e.ResourceID),
		`"outcome":` + s(string(e.Outcome)),
		`"request_id":` + s(e.RequestID),
		`"prev_hash":` + s(e.PrevHash),
	}, ",") + "}"
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

func TestHashTestVector(t *testing.T) {
	t.Parallel()
	e := Entry{OrgID: "org-1", Seq: 1, Time: time.Date(2025, 3, 1, 9, 30, 0, 120e6, time.UTC),
		ActorID: "u-7", ActorRole: "caseworker", DeviceID: "d-3", Action: "case.read", ResourceType: "case",
		ResourceID: "c-42", Outcome: OutcomeSuccess, RequestID: "r-1", PrevHash: ZeroHash}
	// The body and hash printed in the package documentation (also computed with Python's json module).
	const wantBody = `{"org_id":"org-1","seq":1,"time":"2025-03-01T09:30:00.120Z","actor_id":"u-7","actor_role":"caseworker","device_id":"d-3","action":"case.read","resource_type":"case","resource_id":"c-42","outcome":"success","request_id":"r-1","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000"}`
	const wantHash = "8b3a683e955895c4edac966f121c9e1605bc78a5c4200cb79918edcf12533fa9"
	if got := string(e.CanonicalJSON()); got != wantBody {
		t.Fatalf("CanonicalJSON() =\n%s\nwant\n%s", got, wantBody)
	}
	if got := e.ComputeHash(); got != wantHash {
		t.Fatalf("ComputeHash() = %s, want %s", got, wantHash)
	}
}

func TestHashMatchesDocumentedEncoding(t *testing.T) {
	t.Parallel()
	base := Entry{OrgID: "o", Seq: 123456789012, Time: time.Date(2031, 12, 31, 23, 59, 59, 0, time.UTC),
		Action: "auth.login_failed", Outcome: OutcomeDenied, PrevHash: strings.Repeat("ab", 32)}
	tests := []struct {
		name   string
		change func(*Entry)
	}{
		{"empty optional fields and zero milliseconds", func(*Entry) {}},
		{"all fields and a non-UTC time", func(e *Entry) {
			e.Time = time.Date(2025, 1, 2, 3, 4, 5, 7e6, time.FixedZone("X", 5*3600+1800))
			e.ActorID, e.ActorRole, e.DeviceID = "0190f1a2-7b3c-7def-8123-456789abcdef", "supervisor", "dev:ios/17+x=1"
			e.ResourceType, e.ResourceID, e.RequestID = "case", "c_1.2", "req-'9'~!#$%()*,;?[]^`{|}"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := base
			tt.change(&e)
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if got, want := e.ComputeHash(), independentHash(e); got != want {
				t.Fatalf("ComputeHash() = %s, the documented encoding gives %s (%s)", got, want, e.CanonicalJSON())
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := Entry{OrgID: "org", Action: "case.read", Outcome: OutcomeSuccess}
	tests := []struct {
		name   string
		change func(*Entry)
		valid  bool
	}{
		{"minimal", func(*Entry) {}, true},
		{"no org", func(e *Entry) { e.OrgID = "" }, false},
		{"no action", func(e *Entry) { e.Action = "" }, false},
		{"action without verb", func(e *Entry) { e.Action = "case" }, false},
		{"action with upper case", func(e *Entry) { e.Action = "Case.read" }, false},
		{"action with empty part", func(e *Entry) { e.Action = "case..read" }, false},
		{"action of three parts", func(e *Entry) { e.Action = "case.step.complete" }, true},
		{"unknown outcome", func(e *Entry) { e.Outcome = "ok" }, false},
		{"no outcome", func(e *Entry) { e.Outcome = "" }, false},
		{"free text with spaces", func(e *Entry) { e.ResourceID = "the child said" }, false},
		{"quote", func(e *Entry) { e.ActorID = `a"b` }, false},
		{"backslash", func(e *Entry) { e.DeviceID = `a\b` }, false},
		{"html characters", func(e *Entry) { e.RequestID = "a<b>&" }, false},
		{"non-ASCII", func(e *Entry) { e.ActorRole = "rôle" }, false},
		{"control character", func(e *Entry) { e.ResourceType = "a\nb" }, false},
		{"longest field", func(e *Entry) { e.ResourceID = strings.Repeat("x", MaxFieldLength) }, true},
		{"too long", func(e *Entry) { e.ResourceID = strings.Repeat("x", MaxFieldLength+1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := ok
			tt.change(&e)
			err := e.Validate()
			if tt.valid && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if !tt.valid && !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("Validate() = %v, want ErrInvalidEntry", err)
			}
		})
	}
}
