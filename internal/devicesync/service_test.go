package devicesync

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// memFeed is an in-memory feed: records by id, each at its latest change_seq.
type memFeed struct {
	typ  string
	mu   sync.Mutex
	recs map[string]Record
}

func (f *memFeed) Type() string { return f.typ }

func (f *memFeed) Changes(_ context.Context, q Query) ([]Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Record
	for _, r := range f.recs {
		if r.OrgID != q.OrgID || r.Seq <= q.AfterSeq || r.Seq > q.UpToSeq {
			continue
		}
		if q.CaseIDs != nil && !slices.Contains(q.CaseIDs, r.CaseID) {
			continue
		}
		if q.UserID != "" && !slices.Contains(r.CaseworkerIDs, q.UserID) && !slices.Contains(r.FormerIDs, q.UserID) {
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Compare(a.Seq, b.Seq) })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (f *memFeed) AssignedCaseIDs(_ context.Context, org, user string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range f.recs {
		if r.OrgID == org && slices.Contains(r.CaseworkerIDs, user) {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// world is an organisation's records with its change counter.
type world struct {
	mu    sync.Mutex
	seq   int64
	cases *memFeed
	runs  *memFeed
}

func (w *world) ChangeWatermark(context.Context, string) (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq, nil
}

func (w *world) write(f *memFeed, r Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq++
	r.Seq, r.OrgID = w.seq, "org"
	f.mu.Lock()
	f.recs[r.ID] = r
	f.mu.Unlock()
}

type nopStates struct{}

func (nopStates) TouchPull(context.Context, string, string, string, time.Time, int64) error {
	return nil
}
func (nopStates) TouchPush(context.Context, string, string, string, time.Time) error { return nil }
func (nopStates) DeviceStates(context.Context, string, string) ([]DeviceState, error) {
	return nil, nil
}

type nopEvents struct{}

func (nopEvents) RecordEvent(context.Context, audit.Event) error { return nil }

func newWorld(window int) (*world, *Service) {
	w := &world{cases: &memFeed{typ: TypeCase, recs: map[string]Record{}}, runs: &memFeed{typ: TypeRun, recs: map[string]Record{}}}
	svc := NewService(Deps{Cases: w.cases, Watermarks: w, States: nopStates{}, Events: nopEvents{}, WindowSize: window, Windows: 2}).
		Register(Registration{Feed: w.runs})
	return w, svc
}

// pullAll pulls until done from cursor and returns the records and removals in order.
func pullAll(t *testing.T, svc *Service, p identity.Principal, cursor string, limit int) ([]Record, []Removal, string) {
	t.Helper()
	var recs []Record
	var rems []Removal
	for range 1000 {
		page, err := svc.Pull(context.Background(), p, cursor, limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Records)+len(page.Removals) > limit && len(page.Removals) == 0 && !slices.ContainsFunc(page.Records, func(r Record) bool { return r.Type == TypeRun }) {
			t.Fatalf("page of %d for limit %d", len(page.Records), limit)
		}
		recs, rems, cursor = append(recs, page.Records...), append(rems, page.Removals...), page.NextCursor
		if !page.HasMore {
			return recs, rems, cursor
		}
	}
	t.Fatal("the pull never ended")
	return nil, nil, ""
}

// Windows smaller than the data, pages smaller than windows, two feeds interleaved: a snapshot
// brings every visible record exactly once, in change order; then only the changes, with removals.
func TestPullWindowsAndPages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ window, limit int }{{3, 2}, {2, 5}, {50, 1}, {1, 1}} {
		t.Run(fmt.Sprintf("window %d limit %d", tc.window, tc.limit), func(t *testing.T) {
			t.Parallel()
			w, svc := newWorld(tc.window)
			worker := identity.Principal{UserID: "u1", OrgID: "org", Roles: []identity.Role{identity.RoleCaseworker}, DeviceID: "d1"}
			var mine []string
			for i := range 12 {
				id := fmt.Sprintf("case-%02d", i)
				workers := []string{"u2"}
				if i%3 != 0 {
					workers = []string{"u1"}
					mine = append(mine, id)
				}
				w.write(w.cases, Record{Type: TypeCase, ID: id, CaseID: id, CaseworkerIDs: workers})
				w.write(w.runs, Record{Type: TypeRun, ID: "run-" + id, CaseID: id})
			}
			recs, rems, cursor := pullAll(t, svc, worker, "", tc.limit)
			if len(rems) != 0 || len(recs) != 2*len(mine) {
				t.Fatalf("snapshot: %d records, %d removals; want %d records", len(recs), len(rems), 2*len(mine))
			}
			if !slices.IsSortedFunc(recs, func(a, b Record) int { return cmp.Compare(a.Seq, b.Seq) }) {
				t.Error("records out of change order")
			}
			for _, id := range mine {
				if !slices.ContainsFunc(recs, func(r Record) bool { return r.ID == "run-"+id }) {
					t.Errorf("run of %s missing", id)
				}
			}
			// Unassign one case, reassign another caseworker's case (with its older run) to u1.
			w.write(w.cases, Record{Type: TypeCase, ID: mine[0], CaseID: mine[0], CaseworkerIDs: []string{"u2"}, FormerIDs: []string{"u1"}})
			w.write(w.cases, Record{Type: TypeCase, ID: "case-00", CaseID: "case-00", CaseworkerIDs: []string{"u2", "u1"}, AssignedSince: map[string]int64{"u1": w.seq + 1}})
			recs, rems, _ = pullAll(t, svc, worker, cursor, tc.limit)
			if len(rems) != 1 || rems[0].ID != mine[0] {
				t.Errorf("removals %+v", rems)
			}
			if !slices.ContainsFunc(recs, func(r Record) bool { return r.ID == "case-00" }) || !slices.ContainsFunc(recs, func(r Record) bool { return r.ID == "run-case-00" }) {
				t.Errorf("newly assigned case and its run: %+v", recs)
			}
		})
	}
}

// A supervisor sees every case of the organisation; other roles may not sync; a cursor is bound to
// its user and refused when altered.
func TestPullAccessAndCursor(t *testing.T) {
	t.Parallel()
	w, svc := newWorld(10)
	for i := range 4 {
		w.write(w.cases, Record{Type: TypeCase, ID: fmt.Sprint(i), CaseID: fmt.Sprint(i), CaseworkerIDs: []string{}})
	}
	sup := identity.Principal{UserID: "s", OrgID: "org", Roles: []identity.Role{identity.RoleSupervisor}}
	recs, _, cursor := pullAll(t, svc, sup, "", 3)
	if len(recs) != 4 {
		t.Errorf("supervisor's snapshot: %d records", len(recs))
	}
	for _, role := range []identity.Role{identity.RoleAdmin, identity.RoleAuditor, identity.RoleContentEditor} {
		if _, err := svc.Pull(context.Background(), identity.Principal{UserID: "x", OrgID: "org", Roles: []identity.Role{role}}, "", 10); err != identity.ErrForbidden {
			t.Errorf("%s: %v", role, err)
		}
	}
	other := identity.Principal{UserID: "s2", OrgID: "org", Roles: []identity.Role{identity.RoleSupervisor}}
	for _, c := range []string{cursor, cursor[:len(cursor)-2], "not a cursor"} {
		if _, err := svc.Pull(context.Background(), other, c, 10); err == nil {
			t.Errorf("cursor %q accepted for another user", c)
		}
	}
	if _, err := svc.Pull(context.Background(), sup, "", 500); err == nil {
		t.Error("limit 500 accepted")
	}
}
