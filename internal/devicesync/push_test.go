package devicesync

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

type memResults struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (r *memResults) Result(_ context.Context, org, user, op string) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.m[org+user+op]
	return b, ok, nil
}

func (r *memResults) Results(ctx context.Context, org, user string, ops []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, op := range ops {
		if b, ok, _ := r.Result(ctx, org, user, op); ok {
			out[op] = b
		}
	}
	return out, nil
}

func (r *memResults) SaveResult(_ context.Context, org, user, op string, b []byte) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.m[org+user+op]; ok {
		return old, false, nil
	}
	r.m[org+user+op] = b
	return b, true, nil
}

// noteCreate is the kind of the fake "note" creates, whose payload is a word.
var noteCreate = Kind[string]{"note", ActionCreate}

// fakeApplier applies "note" operations: payload "bad" fails its check and its apply, "late" passes
// the check and fails when applied, "boom" is a database failure.
type fakeApplier struct{ applied []string }

func (a *fakeApplier) handler() Applier {
	return Handle(noteCreate, Handler[string]{
		Check: func(_ context.Context, _ identity.Principal, op Op[string], _ Created) error {
			if op.Data == "bad" {
				return apperr.Validation(apperr.FieldError{Field: "data", Code: "invalid", MessageID: "field.invalid"})
			}
			return nil
		},
		Apply: func(_ context.Context, _ identity.Principal, op Op[string]) (Result, error) {
			switch op.Data {
			case "bad", "late":
				return Result{}, apperr.New(apperr.Invalid, "case_closed", "ErrCaseClosed", nil)
			case "boom":
				return Result{}, errors.New("database down")
			}
			a.applied = append(a.applied, op.ID)
			return Result{Status: StatusApplied, ID: op.ID}, nil
		}})
}

func TestPushResultsGroupsAndReplays(t *testing.T) {
	t.Parallel()
	w, svc := newWorld(10)
	_ = w
	fa := &fakeApplier{}
	svc.results = &memResults{m: map[string][]byte{}}
	encodeResult := func(_ context.Context, r Result) ([]byte, error) { return []byte(r.OpID + ":" + string(r.Status)), nil }
	svc.Register(Registration{Feed: &memFeed{typ: "note"}, Appliers: []Applier{fa.handler()}})
	p := identity.Principal{UserID: "u", OrgID: "org", Roles: []identity.Role{identity.RoleCaseworker}, DeviceID: "d"}
	op := func(id, group, word string) Operation {
		return Operation{OpID: "op-" + id, Type: "note", Action: ActionCreate, ID: id, Group: group, Payload: noteCreate.Data(word)}
	}
	ops := []Operation{
		op("1", "", "ok"), op("2", "", "bad"), op("3", "", "ok"),
		op("4", "g1", "ok"), op("5", "g1", "bad"), // the group fails its check: nothing applied
		op("6", "g2", "ok"), op("7", "g2", "late"), op("8", "g2", "ok"), // passes the checks, fails when applied
		{OpID: "op-9", Type: "unknown", ID: "9"},
		{OpID: "op-11", Type: "note", Action: ActionUpdate, ID: "11"},                                                   // an action the type does not have
		{OpID: "op-12", Type: "note", Action: ActionCreate, ID: "12"},                                                   // no payload
		{OpID: "op-13", Type: "note", Action: ActionCreate, ID: "13", Payload: Kind[int]{"note", ActionCreate}.Data(1)}, // a payload of another type
	}
	res, err := svc.Push(context.Background(), p, ops, encodeResult)
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{StatusApplied, StatusRejected, StatusApplied, StatusNotApplied, StatusRejected, StatusApplied, StatusRejected, StatusNotApplied,
		StatusRejected, StatusRejected, StatusRejected, StatusRejected}
	wantField := map[int]string{8: "type", 9: "action", 10: "data", 11: "data"}
	for i, r := range res {
		if r.Status != want[i] || r.OpID != ops[i].OpID {
			t.Errorf("op %d: %s, want %s", i+1, r.Status, want[i])
		}
		if f, ok := wantField[i]; ok {
			var ae *apperr.Error
			if !errors.As(r.Problem, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Field != f {
				t.Errorf("op %d: problem %v, want a field error on %s", i+1, r.Problem, f)
			}
		}
	}
	if got := fa.applied; len(got) != 3 || got[0] != "1" || got[1] != "3" || got[2] != "6" {
		t.Errorf("applied %v", got)
	}
	// The whole push again (a lost response): what was applied is replayed, nothing applied twice;
	// the failed group, whose results were not kept, is tried again.
	res, err = svc.Push(context.Background(), p, ops, encodeResult)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2, 5} {
		if res[i].Status != StatusAlreadyApplied || string(res[i].Replay) != ops[i].OpID+":applied" {
			t.Errorf("op %d replay: %+v", i+1, res[i])
		}
	}
	if len(fa.applied) != 3 {
		t.Errorf("applied again: %v", fa.applied)
	}
	if _, err := svc.Push(context.Background(), p, []Operation{op("10", "", "boom")}, encodeResult); err == nil {
		t.Error("a database failure did not fail the push")
	}
	if _, err := svc.Push(context.Background(), identity.Principal{UserID: "a", OrgID: "org", Roles: []identity.Role{identity.RoleAdmin}}, ops, encodeResult); err != identity.ErrForbidden {
		t.Errorf("admin push: %v", err)
	}
}

// A stored first result answers a retry of the same content (already_applied) and a reuse of its
// op id for other content (a conflict holding the first result); results stored without a
// fingerprint stay retries.
func TestReplayOfTellsRetryFromReuse(t *testing.T) {
	t.Parallel()
	first := []byte(`{"status":"applied"}`)
	tests := []struct {
		name   string
		stored []byte
		fp     string
		want   Status
	}{
		{"same content", withFingerprint("aa", first), "aa", StatusAlreadyApplied},
		{"other content", withFingerprint("aa", first), "bb", StatusConflict},
		{"stored without fingerprint", first, "bb", StatusAlreadyApplied},
		{"operation without fingerprint", withFingerprint("aa", first), "", StatusAlreadyApplied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := replayOf(Operation{OpID: "op", Type: "note", ID: "1", Fingerprint: tc.fp}, tc.stored)
			if r.Status != tc.want || string(r.Replay) != string(first) {
				t.Errorf("got %s with %q, want %s with the first result", r.Status, r.Replay, tc.want)
			}
			if (tc.want == StatusConflict) != (r.Problem != nil) {
				t.Errorf("problem %v for %s", r.Problem, r.Status)
			}
		})
	}
}
