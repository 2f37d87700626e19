package evidence

import (
	"testing"
	"time"
)

// The test vector of the package documentation: a third party recomputes this hash from the
// exported fields (the same bytes come out of Python's json.dumps with sort_keys=True,
// separators=(",", ":") and ensure_ascii=False).
func TestCanonicalEncodingVector(t *testing.T) {
	t.Parallel()
	intact := true
	e := Event{ID: "01a21bda-d1a7-7e02-8c4b-7f3a9e1d5b26", OrgID: "org-1", CaseID: "01a21bda-0000-7000-8000-000000000001",
		ItemID: "01a21bda-0000-7000-8000-000000000002", Seq: 2, Type: EventTransferred,
		RecordedAt: time.Date(2026, 3, 1, 9, 30, 0, 120e6, time.UTC), ReceivedAt: time.Date(2026, 3, 1, 9, 30, 2, 0, time.UTC),
		RecordedBy: "u-7", PerformedBy: Party{UserID: "u-7"}, From: Party{UserID: "u-7"},
		To: Party{Name: "Dr Ré \"Okafor\"", Organisation: "Lab\tNorth"}, Place: "Étage 3\nsalle 2", Purpose: "extraction",
		SealNumber: "S-1", SealIntact: &intact, PrevHash: "3f0c1b6f5ad9e1d0c7b3a2e9f8d7c6b5a4e3d2c1b0a9f8e7d6c5b4a3e2d1c0b9"}
	const want = `{"case_id":"01a21bda-0000-7000-8000-000000000001","corrects_seq":null,"derived_item_id":"","event_id":"01a21bda-d1a7-7e02-8c4b-7f3a9e1d5b26","from":{"name":"","organisation":"","user_id":"u-7"},"hash_matches":null,"item_digest":"","item_id":"01a21bda-0000-7000-8000-000000000002","legal_hold":null,"note":"","org_id":"org-1","performed_by":{"name":"","organisation":"","user_id":"u-7"},"place":"Étage 3\nsalle 2","prev_hash":"3f0c1b6f5ad9e1d0c7b3a2e9f8d7c6b5a4e3d2c1b0a9f8e7d6c5b4a3e2d1c0b9","purpose":"extraction","received_at":"2026-03-01T09:30:02.000Z","recorded_at":"2026-03-01T09:30:00.120Z","recorded_by":"u-7","seal_intact":true,"seal_number":"S-1","seq":2,"to":{"name":"Dr Ré \"Okafor\"","organisation":"Lab\tNorth","user_id":""},"type":"transferred","v":1,"verified_hash":null}`
	if got := string(e.CanonicalJSON()); got != want {
		t.Fatalf("canonical encoding\n got %s\nwant %s", got, want)
	}
	if got := e.ComputeHash(); got != wantVectorHash {
		t.Errorf("hash %s, want %s", got, wantVectorHash)
	}
}

const wantVectorHash = "ca19c49aa8365cd99dc40ad33074f547a0b4eef945208947488820d058774865"

func TestCanonicalStringEscapes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"a\"b": `"a\"b"`, `a\b`: `"a\\b"`, "\x01\b\f": `"\u0001\b\f"`, "<&>\u2028": "\"<&>\u2028\""} {
		if got := string(canonicalJSON(in)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}
