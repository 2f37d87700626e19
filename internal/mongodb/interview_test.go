package mongodb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

func newInterviewStore(t *testing.T) (*mongodb.DB, *mongodb.InterviewStore) {
	t.Helper()
	db := dbtest.Open(t)
	return db, db.Interviews(caseworkRing(t, caseworkKey("k1", 7)))
}

func testSession(orgID, caseID string, created time.Time) interview.Session {
	return interview.Session{ID: uuid.Must(uuid.NewV7()).String(), OrgID: orgID, CaseID: caseID, ProtocolID: "child-interview", ProtocolVersion: 1,
		Situation:     protocol.Situation{AgeBand: protocol.AgeUnder6, CaseTypes: []protocol.CaseType{protocol.CaseGrooming}, Needs: []protocol.Need{protocol.NeedInterpreter}},
		InterviewerID: "u1", Status: interview.StatusDraft,
		Plan: interview.Plan{Place: "Room Marigold-4417", Participants: []interview.Participant{{Role: interview.RoleInterpreter, Name: "Ines Okonkwo-Brandt", Language: "fr"}},
			Recording: interview.Recording{Recorded: true, Device: "cam-2", FileName: "lumen-9931.mp4", SHA256: strings.Repeat("ab", 32)}},
		Reviews: []interview.Review{}, Addenda: []interview.Addendum{}, CreatedAt: created, UpdatedAt: created, Version: 1}
}

func TestInterviewStoreSessionsAndLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, store := newInterviewStore(t)
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	caseID := uuid.Must(uuid.NewV7()).String()
	s1 := testSession("org-a", caseID, now)
	if err := store.CreateSession(ctx, s1); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateSession(ctx, s1); !errors.Is(err, interview.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	got, err := store.Session(ctx, s1.ID)
	if err != nil || got.Plan.Participants[0].Name != "Ines Okonkwo-Brandt" || got.Situation.Needs[0] != protocol.NeedInterpreter {
		t.Fatalf("read back %+v, %v", got, err)
	}
	if _, err := store.Session(ctx, uuid.NewString()); !errors.Is(err, interview.ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}

	// Version-checked updates: the stale one is refused.
	next := got
	next.Version, next.Status = 2, interview.StatusSubmitted
	if err := store.UpdateSession(ctx, next); err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateSession(ctx, next); !errors.Is(err, interview.ErrStale) {
		t.Errorf("stale update: %v", err)
	}

	// Appends are idempotent by client id, also when concurrent.
	batch := interview.Entries{Prompts: []interview.Prompt{{ClientID: "p1", Type: interview.PromptInvitation, Words: "Tell me about Sproutling-2290", RecordedAt: now, ReceivedAt: now}},
		Marks: []interview.Mark{{ClientID: "m1", StepID: "build-rapport", ItemID: "open-topic", Done: false, Reason: "Child asleep-Wobble-11", RecordedAt: now, ReceivedAt: now}}}
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for i := range counts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := store.AppendLog(ctx, s1.ID, batch)
			if err != nil {
				t.Error(err)
			}
			counts[i] = n
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range counts {
		total += n
	}
	log, err := store.Log(ctx, s1.ID)
	if err != nil || total != 2 || len(log.Prompts) != 1 || len(log.Marks) != 1 || log.Prompts[0].Words != "Tell me about Sproutling-2290" {
		t.Fatalf("appended %d, log %+v, %v", total, log, err)
	}
	if err := store.SetLogOpen(ctx, s1.ID, false, now); err != nil {
		t.Fatal(err)
	}
	more := interview.Entries{Prompts: []interview.Prompt{{ClientID: "p2", Type: interview.PromptDirective, RecordedAt: now, ReceivedAt: now}}}
	if _, err := store.AppendLog(ctx, s1.ID, more); !errors.Is(err, interview.ErrLogClosed) {
		t.Errorf("append to a closed log: %v", err)
	}

	// Lists: by case in creation order; by organisation and status.
	s2 := testSession("org-a", caseID, now.Add(time.Minute))
	s3 := testSession("org-b", uuid.Must(uuid.NewV7()).String(), now)
	for _, s := range []interview.Session{s2, s3} {
		if err := store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	list, err := store.CaseSessions(ctx, caseID)
	if err != nil || len(list) != 2 || list[0].ID != s1.ID || list[1].ID != s2.ID {
		t.Errorf("case sessions %v, %v", list, err)
	}
	list, err = store.OrgSessions(ctx, interview.OrgFilter{OrgID: "org-a", Statuses: []interview.Status{interview.StatusSubmitted, interview.StatusApproved}})
	if err != nil || len(list) != 1 || list[0].ID != s1.ID {
		t.Errorf("org sessions in review %v, %v", list, err)
	}

	// Sync stamp on every stored document; free text encrypted.
	for _, coll := range []string{"interview_sessions", "interview_logs"} {
		raw := store.RawSessionsCollection()
		if coll == "interview_logs" {
			raw = store.RawLogsCollection()
		}
		var doc bson.M
		if err := raw.FindOne(ctx, bson.D{{Key: "_id", Value: s1.ID}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if doc["org_id"] != "org-a" || doc["case_id"] != caseID || doc["updated_at"] == nil {
			t.Errorf("%s: sync fields %v %v %v", coll, doc["org_id"], doc["case_id"], doc["updated_at"])
		}
		if seq, _ := doc["change_seq"].(int64); seq < 1 {
			t.Errorf("%s: change_seq %v", coll, doc["change_seq"])
		}
		text := fmt.Sprint(doc)
		for _, secret := range []string{"Marigold-4417", "Okonkwo", "lumen-9931", "Sproutling-2290", "Wobble-11"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds %q in plain text", coll, secret)
			}
		}
	}
	last, err := db.LastChangeSeq(ctx, "org-a")
	if err != nil || last < 5 {
		t.Errorf("org-a change sequence at %d, %v", last, err)
	}
}

// interviewEvents is an in-memory interview.Recorder.
type interviewEvents struct{ eventLog }

// interviewDoc is a small interview protocol: rapport and closing, one required step each.
func interviewDoc() protocol.Document {
	step := func(id, item string) protocol.Step {
		return protocol.Step{ID: id, Title: id, Body: id, Required: true, PerformedBy: "interviewer", Checklist: []protocol.ChecklistItem{{ID: item, Text: item}}}
	}
	return protocol.Document{Protocol: protocol.Protocol{ID: interview.DefaultProtocolID, Kind: protocol.KindInterview, Title: "I",
		Phases: []protocol.Phase{{ID: "rapport", Title: "Rapport", Steps: []protocol.Step{step("build-rapport", "open-topic")}},
			{ID: "closing", Title: "Closing", Steps: []protocol.Step{step("close", "thanks")}}}}}
}

// The service over the real store: access through the case service, every access recorded, and a
// failed audit write failing the request.
func TestInterviewServiceAccessAndAudit(t *testing.T) {
	t.Parallel()
	f := newCaseworkFixture(t)
	f.protocols.publish(interviewDoc())
	events := &interviewEvents{}
	svc, err := interview.NewService(f.db.Interviews(caseworkRing(t, caseworkKey("k1", 1))), f.svc, f.protocols, events, nil, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	c := f.create(cwAlice, newCase())
	v, created, err := svc.Create(f.ctx, cwAlice, c.ID, interview.NewSession{ID: uuid.NewString()})
	if err != nil || !created || v.Session.InterviewerID != cwAlice.UserID || len(v.Checklist) != 2 {
		t.Fatalf("create: %+v %v %v", v.Session, created, err)
	}
	if e := events.all()[len(events.all())-1]; e.Action != interview.ActionCreate || e.Outcome != "success" || e.ResourceID != v.Session.ID || e.ActorID != cwAlice.UserID {
		t.Errorf("create recorded as %+v", e)
	}

	for _, tt := range []struct {
		name string
		p    identity.Principal
		kind apperr.Kind
		code string
	}{
		{"a supervisor of another organisation", cwSupB, apperr.NotFound, "case_not_found"},
		{"an unassigned caseworker", cwBob, apperr.NotFound, "case_not_found"},
		{"an admin", cwAdmin, apperr.Forbidden, "forbidden"},
		{"an auditor", cwAuditor, apperr.Forbidden, "forbidden"},
	} {
		_, err := svc.Get(f.ctx, tt.p, c.ID, v.Session.ID)
		if tt.kind == apperr.Forbidden {
			if !errors.Is(err, identity.ErrForbidden) {
				t.Errorf("%s: %v", tt.name, err)
			}
		} else {
			wantAppErr(t, tt.name, err, tt.kind, tt.code)
		}
		if e := f.events.last(); e.Action != interview.ActionRead || e.Outcome != "denied" {
			t.Errorf("%s: the refusal is recorded as %+v", tt.name, e)
		}
	}
	if _, err := svc.Get(f.ctx, cwSup, c.ID, v.Session.ID); err != nil {
		t.Errorf("the supervisor reads: %v", err)
	}

	// A log closed while the session is a draft: a submission under way refuses appends; a log left
	// closed by a failure (closed long enough ago) is reopened by the next append.
	store := f.db.Interviews(caseworkRing(t, caseworkKey("k1", 1)))
	if err := store.SetLogOpen(f.ctx, v.Session.ID, false, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	batch := interview.Entries{Prompts: []interview.Prompt{{ClientID: "p1", Type: interview.PromptInvitation, RecordedAt: f.clock.Now()}}}
	_, err = svc.AppendLog(f.ctx, cwAlice, c.ID, v.Session.ID, batch)
	wantAppErr(t, "append during a submission", err, apperr.Invalid, "interview_locked")
	f.clock.Advance(3 * time.Minute)
	if v, err := svc.AppendLog(f.ctx, cwAlice, c.ID, v.Session.ID, batch); err != nil || len(v.Log.Prompts) != 1 || !v.Log.Open {
		t.Errorf("append to a log left closed: %v, %+v", err, v.Log)
	}
	n := len(events.all())
	events.setFail(true)
	if _, err := svc.Get(f.ctx, cwAlice, c.ID, v.Session.ID); err == nil {
		t.Error("a read whose audit entry cannot be written succeeded")
	}
	if _, err := svc.ReviewQueue(f.ctx, cwSup, "", 10); err == nil {
		t.Error("the review queue was read without an audit entry")
	}
	events.setFail(false)
	if len(events.all()) != n {
		t.Errorf("events recorded while the log failed")
	}
}
