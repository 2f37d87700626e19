package mongodb

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// The sync feeds of a case's services, appointments and flags: each reaches the devices that hold
// its case (see the README section "Offline sync").

// caseScoped returns the filter of q's range on the documents of one organisation, kept to q's
// cases (field names the case, or the array of cases) when q names them.
func caseScoped(q devicesync.Query, field string) bson.D {
	filter := seqFilter(q)
	if q.CaseIDs != nil {
		filter = append(filter, bson.E{Key: field, Value: bson.D{{Key: "$in", Value: q.CaseIDs}}})
	}
	return filter
}

// ServiceFeed returns the sync feed of case services.
func (s *CaseServiceStore) ServiceFeed() devicesync.Feed { return serviceFeed{s} }

type serviceFeed struct{ s *CaseServiceStore }

func (serviceFeed) Type() string { return devicesync.TypeCaseService }

// Changes returns the services of q's range, by change_seq. It returns an error when a field cannot
// be decrypted, or the driver's error.
func (f serviceFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	docs, err := findDocs[caseServiceDoc](ctx, f.s.db, f.s.coll(), caseScoped(q, "case_id"), seqOptions(q), "reading case service changes: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		r, err := f.s.fromDoc(ctx, d)
		if err != nil {
			return nil, err
		}
		rec := devicesync.CaseServiceRecord(r)
		rec.Seq = d.ChangeSeq
		out = append(out, rec)
	}
	return out, nil
}

// FlagFeed returns the sync feed of case flags.
func (s *CaseFlagStore) FlagFeed() devicesync.Feed { return flagFeed{s} }

type flagFeed struct{ s *CaseFlagStore }

func (flagFeed) Type() string { return devicesync.TypeCaseFlag }

// Changes returns the flags of q's range, by change_seq. It returns an error when a reason cannot
// be decrypted, or the driver's error.
func (f flagFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	docs, err := findDocs[caseFlagDoc](ctx, f.s.db, f.s.coll(), caseScoped(q, "case_id"), seqOptions(q), "reading case flag changes: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		fl, err := f.s.fromDoc(ctx, d)
		if err != nil {
			return nil, err
		}
		rec := devicesync.CaseFlagRecord(fl)
		rec.Seq = d.ChangeSeq
		out = append(out, rec)
	}
	return out, nil
}

// AppointmentFeed returns the sync feed of appointments. An appointment names one case or more
// (a case review meeting); its record's case is the first of them among the query's cases (the
// first of them when the query names none), so a caseworker's device files it under a case it
// holds. Case review meetings reach caseworkers only when they attend them (Visible), as the API
// shows them.
func (s *AppointmentStore) AppointmentFeed() devicesync.Feed { return appointmentFeed{s} }

type appointmentFeed struct{ s *AppointmentStore }

func (appointmentFeed) Type() string { return devicesync.TypeAppointment }

// Changes returns the appointments of q's organisation (the organiser's) in q's range, by
// change_seq. It returns an error when a field cannot be decrypted, or the driver's error.
func (f appointmentFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	docs, err := findDocs[appointmentDoc](ctx, f.s.db, f.s.coll(), caseScoped(q, "case_ids"), seqOptions(q), "reading appointment changes: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		a, err := f.s.fromDoc(ctx, d)
		if err != nil {
			return nil, err
		}
		rec := devicesync.AppointmentRecord(a)
		rec.Seq = d.ChangeSeq
		if q.CaseIDs != nil {
			if i := slices.IndexFunc(a.CaseIDs, func(id string) bool { return slices.Contains(q.CaseIDs, id) }); i >= 0 {
				rec.CaseID = a.CaseIDs[i]
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// Visible reports whether p, who holds rec's case, may see the appointment: supervisors every
// one, caseworkers a case review meeting only when they attend it.
func (appointmentFeed) Visible(p identity.Principal, rec devicesync.Record) bool {
	a, ok := rec.Data.(appointment.Appointment)
	return ok && appointment.SeenWithCase(p, a)
}
