package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// Appointments and case review meetings live in appointments, one document per appointment. The
// place, notes and the names of participants from outside the service are encrypted under the key
// ring, bound to "appointment:<id>:<field>" (a meeting may name several cases, so these belong to
// none); a meeting's decisions and actions about a case are encrypted under that case's data key,
// bound to "appointment:<id>:reviews.<case id>.<field>", so erasing the case makes them unreadable.
const appointmentsCollection = "appointments"

func init() { collections = append(collections, appointmentsCollection) }

type appointmentDoc struct {
	ID              string                     `bson:"_id"`
	OrgID           string                     `bson:"org_id"`
	Kind            string                     `bson:"kind"`
	CaseIDs         []string                   `bson:"case_ids"`
	StartsAt        time.Time                  `bson:"starts_at"`
	DurationMinutes int                        `bson:"duration_minutes"`
	Place           string                     `bson:"place"` // encrypted
	Participants    []appointmentParticipant   `bson:"participants"`
	Status          string                     `bson:"status"`
	Notes           string                     `bson:"notes"` // encrypted
	Reviews         []appointmentCaseReviewDoc `bson:"reviews"`
	CreatedBy       string                     `bson:"created_by"`
	CreatedAt       time.Time                  `bson:"created_at"`
	UpdatedAt       time.Time                  `bson:"updated_at"`
	Version         int64                      `bson:"version"`
	ChangeSeq       int64                      `bson:"change_seq"` // the organisation's change sequence number of the last write (device sync)
}

type appointmentParticipant struct {
	UserID string `bson:"user_id"`
	Name   string `bson:"name"` // encrypted
	Role   string `bson:"role"`
}

type appointmentCaseReviewDoc struct {
	CaseID    string                 `bson:"case_id"`
	Decisions string                 `bson:"decisions"` // encrypted (case key)
	Actions   []appointmentActionDoc `bson:"actions"`
}

type appointmentActionDoc struct {
	ID         string     `bson:"id"`
	AssigneeID string     `bson:"assignee_id"`
	What       string     `bson:"what"` // encrypted (case key)
	Due        time.Time  `bson:"due"`
	DoneAt     *time.Time `bson:"done_at"`
}

// AppointmentStore implements appointment.Store.
type AppointmentStore struct {
	db   *DB
	ring *fieldcrypt.KeyRing
	keys *CaseKeys
}

// Appointments returns the appointments store, encrypting with ring and the cases' data keys.
func (d *DB) Appointments(ring *fieldcrypt.KeyRing) *AppointmentStore {
	return &AppointmentStore{db: d, ring: ring, keys: d.CaseKeys(ring)}
}

func (d *DB) ensureAppointmentIndexes(ctx context.Context) error {
	return d.ensureIndexes(ctx, appointmentsCollection, []mongo.IndexModel{
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "starts_at", Value: 1}}, Options: options.Index().SetName("org_starts")},
		{Keys: bson.D{{Key: "case_ids", Value: 1}, {Key: "starts_at", Value: 1}}, Options: options.Index().SetName("case_starts")},
		{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
	})
}

func (s *AppointmentStore) coll() *mongo.Collection {
	return s.db.db.Collection(appointmentsCollection)
}

func appointmentAAD(id, field string) string { return "appointment:" + id + ":" + field }

func (s *AppointmentStore) toDoc(ctx context.Context, a appointment.Appointment) (appointmentDoc, error) {
	x := &caseworkCipher{c: s.ring}
	d := appointmentDoc{ID: a.ID, OrgID: a.OrgID, Kind: string(a.Kind), CaseIDs: a.CaseIDs, StartsAt: a.StartsAt, DurationMinutes: a.DurationMinutes,
		Place: x.seal(a.Place, appointmentAAD(a.ID, "place")), Status: string(a.Status), Notes: x.seal(a.Notes, appointmentAAD(a.ID, "notes")),
		CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version,
		Participants: make([]appointmentParticipant, 0, len(a.Participants)), Reviews: make([]appointmentCaseReviewDoc, 0, len(a.Reviews))}
	for i, p := range a.Participants {
		name := ""
		if p.Name != "" {
			name = x.seal(p.Name, appointmentAAD(a.ID, fmt.Sprintf("participants.%d.name", i)))
		}
		d.Participants = append(d.Participants, appointmentParticipant{UserID: p.UserID, Name: name, Role: p.Role})
	}
	if x.err != nil {
		return appointmentDoc{}, x.err
	}
	for _, r := range a.Reviews {
		cx := s.keys.in(ctx).sealing(r.CaseID)
		rd := appointmentCaseReviewDoc{CaseID: r.CaseID, Decisions: cx.seal(r.Decisions, appointmentAAD(a.ID, "reviews."+r.CaseID+".decisions")),
			Actions: make([]appointmentActionDoc, 0, len(r.Actions))}
		for _, act := range r.Actions {
			rd.Actions = append(rd.Actions, appointmentActionDoc{ID: act.ID, AssigneeID: act.AssigneeID,
				What: cx.seal(act.What, appointmentAAD(a.ID, "reviews."+r.CaseID+".actions."+act.ID+".what")), Due: act.Due, DoneAt: act.DoneAt})
		}
		if cx.err != nil {
			return appointmentDoc{}, cx.err
		}
		d.Reviews = append(d.Reviews, rd)
	}
	return d, nil
}

func (s *AppointmentStore) fromDoc(ctx context.Context, d appointmentDoc) (appointment.Appointment, error) {
	x := &caseworkCipher{c: s.ring}
	a := appointment.Appointment{ID: d.ID, OrgID: d.OrgID, Kind: appointment.Kind(d.Kind), CaseIDs: append([]string{}, d.CaseIDs...),
		StartsAt: d.StartsAt.UTC(), DurationMinutes: d.DurationMinutes, Place: x.open(d.Place, appointmentAAD(d.ID, "place")),
		Status: appointment.Status(d.Status), Notes: x.open(d.Notes, appointmentAAD(d.ID, "notes")), CreatedBy: d.CreatedBy,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), Version: d.Version,
		Participants: make([]appointment.Participant, 0, len(d.Participants)), Reviews: make([]appointment.CaseReview, 0, len(d.Reviews))}
	for i, p := range d.Participants {
		name := ""
		if p.Name != "" {
			name = x.open(p.Name, appointmentAAD(d.ID, fmt.Sprintf("participants.%d.name", i)))
		}
		a.Participants = append(a.Participants, appointment.Participant{UserID: p.UserID, Name: name, Role: p.Role})
	}
	if x.err != nil {
		return appointment.Appointment{}, fmt.Errorf("reading appointment %s: %w", d.ID, x.err)
	}
	for _, rd := range d.Reviews {
		cx := s.keys.in(ctx).opening(rd.CaseID)
		r := appointment.CaseReview{CaseID: rd.CaseID, Decisions: cx.open(rd.Decisions, appointmentAAD(d.ID, "reviews."+rd.CaseID+".decisions")),
			Actions: make([]appointment.Action, 0, len(rd.Actions))}
		for _, ad := range rd.Actions {
			r.Actions = append(r.Actions, appointment.Action{ID: ad.ID, AssigneeID: ad.AssigneeID, Due: ad.Due.UTC(), DoneAt: identityUTCPtr(ad.DoneAt),
				What: cx.open(ad.What, appointmentAAD(d.ID, "reviews."+rd.CaseID+".actions."+ad.ID+".what"))})
		}
		if cx.err != nil {
			return appointment.Appointment{}, fmt.Errorf("reading appointment %s: %w", d.ID, cx.err)
		}
		a.Reviews = append(a.Reviews, r)
	}
	return a, nil
}

// CreateAppointment stores a new appointment, stamped with its organisation's next change sequence
// number. It returns appointment.ErrExists when the id is taken, an error when a field cannot be
// encrypted, or an Unavailable *apperr.Error.
func (s *AppointmentStore) CreateAppointment(ctx context.Context, a appointment.Appointment) error {
	d, err := s.toDoc(ctx, a)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, a.OrgID)
	if err != nil {
		return err
	}
	defer done()
	d.ChangeSeq = seq
	return insertNew(ctx, s.coll(), d, appointment.ErrExists, "appointment "+a.ID)
}

// Appointment returns an appointment: appointment.ErrNotFound when there is none, an error when a
// field cannot be decrypted, or an Unavailable *apperr.Error.
func (s *AppointmentStore) Appointment(ctx context.Context, id string) (appointment.Appointment, error) {
	var d appointmentDoc
	if err := findByID(ctx, s.coll(), id, &d, appointment.ErrNotFound, "appointment "+id); err != nil {
		return appointment.Appointment{}, err
	}
	return s.fromDoc(ctx, d)
}

// UpdateAppointment replaces the mutable fields of a.ID when its stored version is a.Version-1,
// stamping its organisation's next change sequence number. It returns appointment.ErrStale when it
// is not (or there is no such appointment), an error when a field cannot be encrypted, or an
// Unavailable *apperr.Error.
func (s *AppointmentStore) UpdateAppointment(ctx context.Context, a appointment.Appointment) error {
	d, err := s.toDoc(ctx, a)
	if err != nil {
		return err
	}
	// The number is taken before the document lock (both locks share stripes).
	seq, done, err := s.db.BeginChange(ctx, a.OrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(appointmentsCollection, a.ID)()
	res, err := s.db.updateByID(ctx, s.coll(), a.ID, bson.D{{Key: "version", Value: a.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "starts_at", Value: d.StartsAt}, {Key: "duration_minutes", Value: d.DurationMinutes},
			{Key: "place", Value: d.Place}, {Key: "participants", Value: d.Participants}, {Key: "status", Value: d.Status},
			{Key: "notes", Value: d.Notes}, {Key: "reviews", Value: d.Reviews}, {Key: "updated_at", Value: d.UpdatedAt},
			{Key: "version", Value: d.Version}, {Key: "change_seq", Value: seq}}}})
	if err != nil {
		return unavailable("updating appointment %s: %w", a.ID, err)
	}
	if res.MatchedCount == 0 {
		return appointment.ErrStale
	}
	return nil
}

// ListCaseAppointments returns the appointments naming case caseID, by time then id. It returns an
// error when a field cannot be decrypted, or an Unavailable *apperr.Error.
func (s *AppointmentStore) ListCaseAppointments(ctx context.Context, caseID string) ([]appointment.Appointment, error) {
	return s.list(ctx, bson.D{{Key: "case_ids", Value: caseID}}, "listing the appointments of case "+caseID+": %w")
}

// ListOrgAppointments returns the appointments of organisation orgID starting in [from, to) (a zero
// bound is open), by time then id. It returns an error when a field cannot be decrypted, or an
// Unavailable *apperr.Error.
func (s *AppointmentStore) ListOrgAppointments(ctx context.Context, orgID string, from, to time.Time) ([]appointment.Appointment, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}}
	bounds := bson.D{}
	if !from.IsZero() {
		bounds = append(bounds, bson.E{Key: "$gte", Value: from})
	}
	if !to.IsZero() {
		bounds = append(bounds, bson.E{Key: "$lt", Value: to})
	}
	if len(bounds) > 0 {
		filter = append(filter, bson.E{Key: "starts_at", Value: bounds})
	}
	return s.list(ctx, filter, "listing appointments: %w")
}

func (s *AppointmentStore) list(ctx context.Context, filter bson.D, format string) ([]appointment.Appointment, error) {
	opts := options.Find().SetSort(bson.D{{Key: "starts_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[appointmentDoc](ctx, s.db, s.coll(), filter, opts, format)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d appointmentDoc) (appointment.Appointment, error) { return s.fromDoc(ctx, d) })
}

var _ appointment.Store = (*AppointmentStore)(nil)
