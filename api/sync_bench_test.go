package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// BenchmarkSyncLoad measures, on a fresh embedded database, a full first pull of SYNC_RECORDS
// records (default 10,000: half cases, half protocol runs) through GET /v1/sync/changes (pages of
// 200, as a supervisor who sees them all) against reading the same documents directly with the
// driver; and a push of SYNC_OPS operations (default 1,000 case creates) in one POST /v1/sync/push
// against inserting the same cases directly through the store (encrypted, no HTTP, access checks or
// audit) and with one driver InsertMany. Same run, same database.
//
//	go test ./api -run '^$' -bench SyncLoad -benchtime 1x -timeout 60m
func BenchmarkSyncLoad(b *testing.B) {
	records, ops := envInt("SYNC_RECORDS", 10000), envInt("SYNC_OPS", 1000)
	dir := b.TempDir()
	s := startServer(b, testEnv(dir, map[string]string{"LOG_LEVEL": "warn", "REQUEST_TIMEOUT": "600s", "BODY_LIMIT_BYTES": "8388608"}), nil)
	defer s.stop()
	ctx := context.Background()

	call := func(method, path, token string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			bb, _ := json.Marshal(body)
			rd = bytes.NewReader(bb)
		}
		req, _ := http.NewRequest(method, s.base+path, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := (&http.Client{Timeout: 20 * time.Minute}).Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	signIn := func(user, password, device string) string {
		st, body := call(http.MethodPost, "/v1/auth/login", "", map[string]string{"username": user, "password": password, "device_id": device})
		if st != 200 {
			b.Fatalf("login: %d %s", st, body)
		}
		var tk tokens
		json.Unmarshal(body, &tk)
		return tk.AccessToken
	}
	admin := signIn("admin", adminPassword, "bench-admin")
	if st, body := call(http.MethodPost, "/v1/users", admin, map[string]any{"username": "bench-sup", "display_name": "Bench", "roles": []string{"supervisor"}, "password": "a long bench passphrase 1"}); st != 201 {
		b.Fatalf("user: %d %s", st, body)
	}
	sup := signIn("bench-sup", "a long bench passphrase 1", "bench-tablet")

	uri, ok := ferret.Attach(dir)
	if !ok {
		b.Fatal("cannot reach the embedded database")
	}
	db, err := mongodb.Connect(ctx, uri, "caseguide", 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close(ctx)
	keys, err := fieldcrypt.LoadOrCreate(dir)
	if err != nil {
		b.Fatal(err)
	}
	store := db.Casework(keys)
	now := time.Now().UTC().Truncate(time.Millisecond)
	newCaseValue := func(i int) casework.Case {
		return casework.Case{ID: uuid.Must(uuid.NewV7()).String(), OrgID: "default", ReferenceNumber: fmt.Sprintf("REF-%06d", i),
			Child: casework.Child{Pseudonym: fmt.Sprintf("Child %d", i), AgeBand: protocol.Age6To11}, CaseTypes: []protocol.CaseType{protocol.CaseGrooming},
			CaseworkerIDs: []string{}, Status: casework.StatusOpen, OpenedAt: now, CreatedAt: now, UpdatedAt: now, CreatedBy: "bench", Version: 1}
	}
	seedStart := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < records/2; i += 4 {
				c := newCaseValue(i)
				if err := store.CreateCase(ctx, c); err != nil {
					b.Error(err)
					return
				}
				if err := store.CreateRun(ctx, casework.Run{ID: uuid.Must(uuid.NewV7()).String(), OrgID: "default", CaseID: c.ID, ProtocolID: "first-contact-safety",
					ProtocolVersion: 1, StartedAt: now, StartedBy: "bench", Records: []casework.StepRecord{}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.Logf("seeded %d records in %s", records, time.Since(seedStart).Round(time.Millisecond))

	// Pull: the whole snapshot through the API, then the same documents read directly.
	start := time.Now()
	got, pages, cursor := 0, 0, ""
	for {
		path := "/v1/sync/changes?limit=200"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		st, body := call(http.MethodGet, path, sup, nil)
		if st != 200 {
			b.Fatalf("pull: %d %s", st, body)
		}
		var p syncPage
		json.Unmarshal(body, &p)
		got += len(p.Records)
		pages++
		cursor = p.NextCursor
		if !p.HasMore {
			break
		}
	}
	pullAPI := time.Since(start)
	if got != records {
		b.Fatalf("the snapshot holds %d records, want %d", got, records)
	}
	start = time.Now()
	direct := 0
	for _, coll := range []string{"cases", "runs"} {
		raw := store.RawCasesCollection().Database().Collection(coll)
		cur, err := raw.Find(ctx, bson.D{{Key: "org_id", Value: "default"}})
		if err != nil {
			b.Fatal(err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			b.Fatal(err)
		}
		direct += len(docs)
	}
	pullDirect := time.Since(start)

	// Push: SYNC_OPS case creates in one push, then the same cases stored directly.
	var push []map[string]any
	for i := range ops {
		id := uuid.Must(uuid.NewV7()).String()
		push = append(push, map[string]any{"op_id": uuid.Must(uuid.NewV7()).String(), "type": "case", "action": "create", "id": id,
			"data": map[string]any{"reference_number": fmt.Sprintf("P-%06d", i), "child": map[string]any{"pseudonym": fmt.Sprintf("Pushed %d", i), "age_band": "6_to_11"},
				"case_types": []string{"grooming"}}})
	}
	start = time.Now()
	st, body := call(http.MethodPost, "/v1/sync/push", sup, map[string]any{"operations": push})
	pushAPI := time.Since(start)
	if st != 200 {
		b.Fatalf("push: %d %.300s", st, body)
	}
	var res struct{ Results []pushResult }
	json.Unmarshal(body, &res)
	for _, r := range res.Results {
		if r.Status != "applied" {
			b.Fatalf("push result %+v", r)
		}
	}
	start = time.Now()
	for i := range ops {
		if err := store.CreateCase(ctx, newCaseValue(100000+i)); err != nil {
			b.Fatal(err)
		}
	}
	pushStore := time.Since(start)
	many := make([]any, ops)
	for i := range many {
		c := newCaseValue(200000 + i)
		many[i] = bson.D{{Key: "_id", Value: c.ID}, {Key: "org_id", Value: c.OrgID}, {Key: "reference_number", Value: c.ReferenceNumber},
			{Key: "child", Value: bson.D{{Key: "pseudonym", Value: c.Child.Pseudonym}, {Key: "age_band", Value: string(c.Child.AgeBand)}}},
			{Key: "case_types", Value: bson.A{"grooming"}}, {Key: "caseworker_ids", Value: bson.A{}}, {Key: "status", Value: "open"},
			{Key: "created_at", Value: now}, {Key: "updated_at", Value: now}, {Key: "version", Value: int64(1)}}
	}
	start = time.Now()
	if _, err := store.RawCasesCollection().Database().Collection("bench_insert").InsertMany(ctx, many); err != nil {
		b.Fatal(err)
	}
	pushMany := time.Since(start)

	b.ReportMetric(pullAPI.Seconds(), "pull-s")
	b.ReportMetric(pushAPI.Seconds(), "push-s")
	b.Logf("\n| work | through the sync API | directly | ratio |\n|---|---:|---:|---:|\n"+
		"| first pull of %d records (%d pages of 200) | %s | %s (driver Find of %d documents) | %.0f |\n"+
		"| push of %d case creates (one request) | %s | %s (store CreateCase, encrypted) | %.1f |\n"+
		"| | | %s (driver InsertMany) | %.0f |",
		records, pages, pullAPI.Round(time.Millisecond), pullDirect.Round(time.Millisecond), direct, float64(pullAPI)/float64(pullDirect),
		ops, pushAPI.Round(time.Millisecond), pushStore.Round(time.Millisecond), float64(pushAPI)/float64(pushStore),
		pushMany.Round(time.Millisecond), float64(pushAPI)/float64(pushMany))
}
