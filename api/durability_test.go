package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The durability tests (backup under load, crash under load) share this workload: caseworkers
// writing cases, custody events and interview logs concurrently, remembering every write the service
// acknowledged, and a check that finds each of them exactly once with every chain verifying.

// acks are the writes a service acknowledged.
type acks struct {
	Cases   []string            // case ids
	Items   map[string]string   // evidence item id -> its case
	Events  map[string][]string // item id -> custody event ids
	Prompts map[string][]string // interview path -> prompt client ids
}

func (a acks) clone() acks {
	c := acks{Cases: slices.Clone(a.Cases), Items: map[string]string{}, Events: map[string][]string{}, Prompts: map[string][]string{}}
	for k, v := range a.Items {
		c.Items[k] = v
	}
	for k, v := range a.Events {
		c.Events[k] = slices.Clone(v)
	}
	for k, v := range a.Prompts {
		c.Prompts[k] = slices.Clone(v)
	}
	return c
}

func (a acks) count() int {
	n := len(a.Cases) + len(a.Items)
	for _, v := range a.Events {
		n += len(v)
	}
	for _, v := range a.Prompts {
		n += len(v)
	}
	return n
}

// workload writes through the API of base as a caseworker and checks as a supervisor.
type workload struct {
	base               string
	worker, supervisor string // access tokens
	password           string // of both users

	mu      sync.Mutex
	acked   acks
	watcher func(acks) // called (under mu) after each acknowledged write
}

// newWorkload signs in as the bootstrap admin of base and creates the caseworker and the supervisor.
func newWorkload(t *testing.T, base, adminPass string) *workload {
	t.Helper()
	admin := login(t, base, "admin", adminPass, "durability-admin").AccessToken
	w := &workload{base: base, password: "durability passphrase 4711", acked: acks{Items: map[string]string{}, Events: map[string][]string{}, Prompts: map[string][]string{}}}
	for _, role := range []string{"caseworker", "supervisor"} {
		r := post(t, base, http.MethodPost, "/v1/users", admin, map[string]any{"username": "durable-" + role, "display_name": "Durable " + role, "roles": []string{role}, "password": w.password})
		if r.status != http.StatusCreated {
			t.Fatalf("creating the %s: %d %s", role, r.status, r.body)
		}
	}
	w.signIn(t, base)
	return w
}

// signIn signs both users in on base (after a restart, the service may be another process).
func (w *workload) signIn(t *testing.T, base string) {
	t.Helper()
	w.base = base
	w.worker = login(t, base, "durable-caseworker", w.password, "durable-phone").AccessToken
	w.supervisor = login(t, base, "durable-supervisor", w.password, "durable-console").AccessToken
}

// snapshot returns the writes acknowledged so far.
func (w *workload) snapshot() acks {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked.clone()
}

func (w *workload) ack(f func(a *acks)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.acked)
	if w.watcher != nil {
		w.watcher(w.acked)
	}
}

// send posts body and returns the status and body; a transport error (the service was killed) is
// returned, not reported. Answers are checked against the contract.
func (w *workload) send(t *testing.T, method, path string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, w.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+w.worker)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	checkContract(t, req, &response{status: resp.StatusCode, header: resp.Header, raw: raw, body: raw})
	return resp.StatusCode, raw, nil
}

// write runs writers goroutines until ctx ends or the service stops answering; each creates cases,
// an evidence item with custody events and an interview with logged prompts, acknowledging each
// write the service answered with success. A refusal other than a transport error fails the test when
// strict. The returned function waits for the writers.
func (w *workload) write(ctx context.Context, t *testing.T, writers int, strict bool) (wait func()) {
	var wg sync.WaitGroup
	for n := range writers {
		wg.Go(func() {
			for round := 0; ctx.Err() == nil; round++ {
				if !w.round(t, fmt.Sprintf("w%d-r%d", n, round), strict) {
					return
				}
			}
		})
	}
	return wg.Wait
}

// round makes one case's writes; it returns false once the service stops answering.
func (w *workload) round(t *testing.T, tag string, strict bool) bool {
	ok := func(status int, body []byte, err error, what string, want ...int) bool {
		if err != nil {
			return false
		}
		if !slices.Contains(want, status) {
			if strict {
				t.Errorf("%s %s: %d %s", tag, what, status, body)
			}
			return false
		}
		return true
	}
	caseID := uuid.Must(uuid.NewV7()).String()
	st, body, err := w.send(t, http.MethodPost, "/v1/cases", newCase(caseID, "Child "+tag))
	if !ok(st, body, err, "case", http.StatusCreated) {
		return err == nil
	}
	w.ack(func(a *acks) { a.Cases = append(a.Cases, caseID) })

	itemID := uuid.Must(uuid.NewV7()).String()
	st, body, err = w.send(t, http.MethodPost, "/v1/cases/"+caseID+"/evidence", newPhone(itemID))
	if !ok(st, body, err, "evidence item", http.StatusCreated) {
		return err == nil
	}
	w.ack(func(a *acks) { a.Items[itemID] = caseID })
	for i := range 3 {
		e := event("note", map[string]any{"note": fmt.Sprintf("Checked the seal, round %s, %d", tag, i)})
		st, body, err = w.send(t, http.MethodPost, "/v1/cases/"+caseID+"/evidence/"+itemID+"/events", e)
		if !ok(st, body, err, "custody event", http.StatusCreated) {
			return err == nil
		}
		w.ack(func(a *acks) { a.Events[itemID] = append(a.Events[itemID], e["id"].(string)) })
	}

	path := "/v1/cases/" + caseID + "/interviews/" + uuid.Must(uuid.NewV7()).String()
	st, body, err = w.send(t, http.MethodPost, "/v1/cases/"+caseID+"/interviews", map[string]any{"id": path[len(path)-36:], "plan": interviewPlan()})
	if !ok(st, body, err, "interview", http.StatusCreated) {
		return err == nil
	}
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	st, body, err = w.send(t, http.MethodPatch, path, map[string]any{"version": 1, "started_at": rfc(t0)})
	if !ok(st, body, err, "interview start", http.StatusOK) {
		return err == nil
	}
	for batch := range 2 {
		var prompts []map[string]any
		var ids []string
		for i := range 3 {
			id := fmt.Sprintf("%s-p%d-%d", tag, batch, i)
			ids = append(ids, id)
			prompts = append(prompts, map[string]any{"client_id": id, "type": "invitation", "phase_id": "free-recall",
				"words": "Tell me everything, " + id, "recorded_at": rfc(t0.Add(time.Duration(1+batch*3+i) * time.Minute))})
		}
		st, body, err = w.send(t, http.MethodPost, path+"/log", map[string]any{"prompts": prompts})
		if !ok(st, body, err, "interview log", http.StatusOK) {
			return err == nil
		}
		w.ack(func(a *acks) { a.Prompts[path] = append(a.Prompts[path], ids...) })
	}
	return true
}

// verify checks through the API of w.base that every write of want is there exactly once and that
// every custody chain of want and the organisation's audit log verify.
func (w *workload) verify(t *testing.T, want acks) {
	t.Helper()
	worker, supervisor := "Authorization: Bearer "+w.worker, "Authorization: Bearer "+w.supervisor
	for _, id := range want.Cases {
		if r := get(t, w.base, "/v1/cases/"+id, worker); r.status != http.StatusOK {
			t.Errorf("acknowledged case %s: %d %s", id, r.status, r.body)
		}
	}
	for item, caseID := range want.Items {
		events := "/v1/cases/" + caseID + "/evidence/" + item + "/events"
		seen := map[string]int{}
		for path := events + "?limit=200"; path != ""; {
			var page struct {
				Items      []custodyEvent `json:"items"`
				NextCursor *string        `json:"next_cursor"`
			}
			r := get(t, w.base, path, worker)
			if r.status != http.StatusOK {
				t.Errorf("acknowledged item %s: %d %s", item, r.status, r.body)
				break
			}
			r.json(t, &page)
			for _, e := range page.Items {
				seen[fmt.Sprint(e["id"])]++
			}
			path = ""
			if page.NextCursor != nil {
				path = events + "?limit=200&cursor=" + *page.NextCursor
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("custody event %s of item %s is there %d times", id, item, n)
			}
		}
		for _, id := range want.Events[item] {
			if seen[id] != 1 {
				t.Errorf("acknowledged custody event %s of item %s is there %d times", id, item, seen[id])
			}
		}
		var rep chainReport
		get(t, w.base, "/v1/cases/"+caseID+"/evidence/"+item+"/verify", worker).json(t, &rep)
		if !rep.OK {
			t.Errorf("the custody chain of item %s does not verify: %+v", item, rep)
		}
	}
	for path, ids := range want.Prompts {
		var s sessionBody
		r := get(t, w.base, path, worker)
		if r.status != http.StatusOK {
			t.Errorf("interview %s: %d %s", path, r.status, r.body)
			continue
		}
		r.json(t, &s)
		seen := map[string]int{}
		for _, p := range s.Prompts {
			seen[p.ClientID]++
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("prompt %s of %s is there %d times", id, path, n)
			}
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Errorf("acknowledged prompt %s of %s is there %d times", id, path, seen[id])
			}
		}
	}
	var audit struct {
		OK bool `json:"ok"`
	}
	r := get(t, w.base, "/v1/audit/verify", supervisor)
	r.json(t, &audit)
	if r.status != http.StatusOK || !audit.OK {
		t.Errorf("the audit log does not verify: %d %s", r.status, r.body)
	}
}

// waitFor returns a channel closed once w has acknowledged at least n writes.
func (w *workload) waitFor(n int) <-chan struct{} {
	reached := make(chan struct{})
	var once sync.Once
	w.mu.Lock()
	defer w.mu.Unlock()
	w.watcher = func(a acks) {
		if a.count() >= n {
			once.Do(func() { close(reached) })
		}
	}
	return reached
}
