package mongodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

func lastSeq(t *testing.T, db *mongodb.DB, org string) int64 {
	t.Helper()
	seq, err := db.LastChangeSeq(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// changes reads every record of feed for org (of cases, when not nil) and fails on an error.
func changes(t *testing.T, feed devicesync.Feed, org string, upTo int64, cases []string) []devicesync.Record {
	t.Helper()
	recs, err := feed.Changes(context.Background(), devicesync.Query{OrgID: org, UpToSeq: upTo, CaseIDs: cases})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Every write of services, appointments and flags takes a new change number of its organisation;
// an appointment of several cases is filed under the first of the query's cases; case review
// meetings are visible to caseworkers who attend them only.
func TestCareFeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	ring := caseworkRing(t, caseworkKey("k1", 7))
	org, now := "org-care-feed", time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	caseA, caseB, caseC := uuid.NewString(), uuid.NewString(), uuid.NewString()

	t.Run("services", func(t *testing.T) {
		store := db.CaseServices(ring)
		r := caseservice.Record{ID: uuid.NewString(), OrgID: org, CaseID: caseA, Discipline: caseservice.DisciplineTherapy, Status: caseservice.StatusPlanned,
			Notes: "weekly", CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := store.CreateService(ctx, r); err != nil {
			t.Fatal(err)
		}
		created := lastSeq(t, db, org)
		r.Version, r.Status = 2, caseservice.StatusInProgress
		if err := store.UpdateService(ctx, r); err != nil {
			t.Fatal(err)
		}
		recs := changes(t, store.ServiceFeed(), org, lastSeq(t, db, org), []string{caseA})
		if len(recs) != 1 || recs[0].Seq <= created || recs[0].Version != 2 || recs[0].Data.(caseservice.Record).Notes != "weekly" {
			t.Errorf("service records: %+v", recs)
		}
		if recs := changes(t, store.ServiceFeed(), org, lastSeq(t, db, org), []string{caseB}); len(recs) != 0 {
			t.Errorf("another case's services: %+v", recs)
		}
	})
	t.Run("flags", func(t *testing.T) {
		store := db.CaseFlags(ring)
		f := caseflag.Flag{ID: uuid.NewString(), OrgID: org, CaseID: caseA, Kind: caseflag.KindAcute, Reason: "recent", RaisedBy: "u1", RaisedAt: now, Version: 1}
		if err := store.CreateFlag(ctx, f); err != nil {
			t.Fatal(err)
		}
		raised := lastSeq(t, db, org)
		at := now.Add(time.Hour)
		f.Version, f.ResolvedAt, f.ResolvedBy, f.ResolutionReason = 2, &at, "u2", "examined"
		if err := store.ResolveFlag(ctx, f); err != nil {
			t.Fatal(err)
		}
		recs := changes(t, store.FlagFeed(), org, lastSeq(t, db, org), nil)
		if len(recs) != 1 || recs[0].Seq <= raised || recs[0].Version != 2 || !recs[0].UpdatedAt.Equal(at) {
			t.Errorf("flag records: %+v", recs)
		}
	})
	t.Run("appointments", func(t *testing.T) {
		store := db.Appointments(ring)
		meeting := appointment.Appointment{ID: uuid.NewString(), OrgID: org, Kind: appointment.KindCaseReview, CaseIDs: []string{caseA, caseB},
			StartsAt: now, Participants: []appointment.Participant{{UserID: "attendee"}}, Status: appointment.StatusScheduled,
			Reviews: []appointment.CaseReview{}, CreatedAt: now, UpdatedAt: now, Version: 1}
		if err := store.CreateAppointment(ctx, meeting); err != nil {
			t.Fatal(err)
		}
		other := meeting
		other.ID, other.OrgID = uuid.NewString(), "org-care-other"
		if err := store.CreateAppointment(ctx, other); err != nil {
			t.Fatal(err)
		}
		created := lastSeq(t, db, org)
		meeting.Version, meeting.Place = 2, "Room 4"
		if err := store.UpdateAppointment(ctx, meeting); err != nil {
			t.Fatal(err)
		}
		upTo, feed := lastSeq(t, db, org), store.AppointmentFeed()
		for _, tc := range []struct {
			name     string
			cases    []string
			wantCase string
		}{{"supervisor", nil, caseA}, {"second case held", []string{caseC, caseB}, caseB}, {"none held", []string{caseC}, ""}} {
			t.Run(tc.name, func(t *testing.T) {
				recs := changes(t, feed, org, upTo, tc.cases)
				if tc.wantCase == "" {
					if len(recs) != 0 {
						t.Errorf("records: %+v", recs)
					}
					return
				}
				if len(recs) != 1 || recs[0].CaseID != tc.wantCase || recs[0].Seq <= created || recs[0].Version != 2 {
					t.Errorf("records: %+v", recs)
				}
			})
		}
		narrower, ok := feed.(devicesync.Narrower)
		if !ok {
			t.Fatal("the appointment feed does not narrow")
		}
		rec := changes(t, feed, org, upTo, nil)[0]
		for _, tc := range []struct {
			name string
			p    identity.Principal
			want bool
		}{
			{"supervisor", identity.Principal{UserID: "s", OrgID: org, Roles: []identity.Role{identity.RoleSupervisor}}, true},
			{"attending caseworker", identity.Principal{UserID: "attendee", OrgID: org, Roles: []identity.Role{identity.RoleCaseworker}}, true},
			{"other caseworker", identity.Principal{UserID: "w", OrgID: org, Roles: []identity.Role{identity.RoleCaseworker}}, false},
		} {
			if got := narrower.Visible(tc.p, rec); got != tc.want {
				t.Errorf("%s sees the meeting: %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}
