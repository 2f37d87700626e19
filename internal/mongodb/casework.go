package mongodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

const (
	caseworkCasesCollection = "cases"
	caseworkRunsCollection  = "runs"
)

// caseworkCaseDoc is a case; _id is the case id. Fields marked "encrypted" hold fieldcrypt tokens
// bound to "case:<id>:<field path>".
type caseworkCaseDoc struct {
	ID              string           `bson:"_id"`
	OrgID           string           `bson:"org_id"`
	ReferenceNumber string           `bson:"reference_number"` // encrypted
	Child           caseworkChildDoc `bson:"child"`
	CaseTypes       []string         `bson:"case_types"`
	CaseworkerIDs   []string         `bson:"caseworker_ids"`
	SupervisorID    string           `bson:"supervisor_id"`
	Status          string           `bson:"status"`
	OpenedAt        time.Time        `bson:"opened_at"`
	ClosedAt        *time.Time       `bson:"closed_at"`
	StatusReason    string           `bson:"status_reason"` // encrypted
	CreatedAt       time.Time        `bson:"created_at"`
	UpdatedAt       time.Time        `bson:"updated_at"`
	CreatedBy       string           `bson:"created_by"`
	Version         int64            `bson:"version"`
	// TransferredBy is the referral that transferred the case to another organisation (absent
	// otherwise): the case is then closed for good.
	TransferredBy string `bson:"transferred_by,omitempty"`
	// AssignmentHistory is appended to on every change of caseworkers or supervisor (absent from
	// cases stored before it existed); each reason is encrypted, bound to
	// "case:<id>:assignment_history.<index>.reason".
	AssignmentHistory []caseworkAssignmentChangeDoc `bson:"assignment_history,omitempty"`
	// Sync metadata (see internal/devicesync and the README's "Offline sync"): the organisation's
	// change sequence number of the last write, the caseworkers once assigned and no longer, and
	// when (change sequence number) each current caseworker was assigned.
	ChangeSeq           int64                   `bson:"change_seq"`
	FormerCaseworkerIDs []string                `bson:"former_caseworker_ids"`
	Assigned            []caseworkAssignmentDoc `bson:"assigned"`
	// ActiveFlags are the kinds of the case's unresolved flags, kept by the flags' store
	// (caseflag.go) for the case list's filter and view; the case's own writes never set it.
	ActiveFlags []string `bson:"active_flags,omitempty"`
}

// caseworkAssignmentChangeDoc is one entry of a case's assignment history.
type caseworkAssignmentChangeDoc struct {
	At            time.Time `bson:"at"`
	By            string    `bson:"by"`
	CaseworkerIDs []string  `bson:"caseworker_ids"`
	SupervisorID  string    `bson:"supervisor_id"`
	Reason        string    `bson:"reason"` // encrypted
}

// caseworkAssignmentDoc says since which change a caseworker is assigned to a case.
type caseworkAssignmentDoc struct {
	UserID string `bson:"user_id"`
	Seq    int64  `bson:"seq"`
}

type caseworkChildDoc struct {
	Pseudonym         string           `bson:"pseudonym"` // encrypted
	AgeBand           string           `bson:"age_band"`
	BirthYear         int              `bson:"birth_year"`
	Gender            string           `bson:"gender"`
	PreferredLanguage string           `bson:"preferred_language"`
	Needs             caseworkNeedsDoc `bson:"needs"`
}

type caseworkNeedsDoc struct {
	Interpreter         bool   `bson:"interpreter"`
	InterpreterLanguage string `bson:"interpreter_language"`
	CommunicationAids   bool   `bson:"communication_aids"`
	Disability          bool   `bson:"disability"`
	DisabilityNotes     string `bson:"disability_notes"` // encrypted
	SupportPerson       bool   `bson:"support_person"`
}

// caseworkRunDoc is a protocol run; _id is the run id. Step records are appended with $push and never
// changed; their reason and note are encrypted, bound to "run:<id>:records.<client id>.<field>".
type caseworkRunDoc struct {
	ID              string              `bson:"_id"`
	OrgID           string              `bson:"org_id"`
	CaseID          string              `bson:"case_id"`
	ProtocolID      string              `bson:"protocol_id"`
	ProtocolVersion int                 `bson:"protocol_version"`
	StartedAt       time.Time           `bson:"started_at"`
	StartedBy       string              `bson:"started_by"`
	Records         []caseworkRecordDoc `bson:"records"`
	UpdatedAt       time.Time           `bson:"updated_at"` // the last record's receipt, or the start
	ChangeSeq       int64               `bson:"change_seq"` // the organisation's change sequence number of the last write
}

type caseworkRecordDoc struct {
	StepID     string    `bson:"step_id"`
	Status     string    `bson:"status"`
	Reason     string    `bson:"reason"` // encrypted
	Note       string    `bson:"note"`   // encrypted
	RecordedAt time.Time `bson:"recorded_at"`
	ReceivedAt time.Time `bson:"received_at"`
	ByUserID   string    `bson:"by_user_id"`
	ClientID   string    `bson:"client_id"`
}

// CaseworkStore implements casework.Store. It encrypts the free-text and identifying fields of cases
// and step records with its key ring as it converts them to documents, and decrypts them on reading.
type CaseworkStore struct {
	db   *DB
	keys *CaseKeys
}

// Casework returns the casework store, encrypting with keys (whose active key encrypts new values;
// every key in the ring can decrypt).
func (d *DB) Casework(keys *fieldcrypt.KeyRing) *CaseworkStore {
	return &CaseworkStore{db: d, keys: d.CaseKeys(keys)}
}

// ensureCaseworkIndexes creates the indexes of the cases and runs collections: organisation-led
// indexes for case lists (by id, by assignee, by update time), the runs of a case and of an
// organisation. It is idempotent
// and returns the first error the server gives.
func (d *DB) ensureCaseworkIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		caseworkCasesCollection: {
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_id")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "caseworker_ids", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_caseworker")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "updated_at", Value: 1}}, Options: options.Index().SetName("org_updated")},
			// the case list filtered by an unresolved flag (GET /v1/cases?flag=)
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "active_flags", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_flag")},
			// the open cases of the supervisor's worklist (ListCaseSummaries with a status)
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "status", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("org_status")},
		},
		caseworkRunsCollection: {
			{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "started_at", Value: 1}}, Options: options.Index().SetName("case_started")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "protocol_id", Value: 1}}, Options: options.Index().SetName("org_protocol")}, // usage counts
			// the supervisor's worklist reads the runs of the organisation's open cases (ListRunProgress)
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "case_id", Value: 1}, {Key: "started_at", Value: 1}}, Options: options.Index().SetName("org_case_started")},
		},
	}
	for coll, models := range indexes {
		if err := d.ensureIndexes(ctx, coll, models); err != nil {
			return err
		}
	}
	return nil
}

// RawCasesCollection returns the cases collection itself, bypassing encryption. It is for tests and
// verification tooling only (for example to show that no plaintext reaches the database); the
// service never uses it.
func (s *CaseworkStore) RawCasesCollection() *mongo.Collection {
	return s.db.db.Collection(caseworkCasesCollection)
}

// RawRunsCollection returns the runs collection itself, bypassing encryption. It is for tests and
// verification tooling only; the service never uses it.
func (s *CaseworkStore) RawRunsCollection() *mongo.Collection {
	return s.db.db.Collection(caseworkRunsCollection)
}

func (s *CaseworkStore) cases() *mongo.Collection { return s.db.db.Collection(caseworkCasesCollection) }
func (s *CaseworkStore) runs() *mongo.Collection  { return s.db.db.Collection(caseworkRunsCollection) }

// caseworkCipher encrypts or decrypts several fields of one case, keeping the first error; erased
// says the case's key was destroyed (every field then reads as "").
type caseworkCipher struct {
	c      fieldCipher
	erased bool
	err    error
}

func (c *caseworkCipher) seal(plaintext, aad string) string {
	if c.err != nil {
		return ""
	}
	tok, err := c.c.Encrypt(plaintext, aad)
	if err != nil {
		c.err = fmt.Errorf("encrypting %s: %w", aad, err)
	}
	return tok
}

func (c *caseworkCipher) open(token, aad string) string {
	if c.err != nil {
		return ""
	}
	plain, err := c.c.Decrypt(token, aad)
	if err != nil {
		c.err = fmt.Errorf("decrypting %s: %w", aad, err)
	}
	return plain
}

func caseAAD(id, field string) string { return "case:" + id + ":" + field }

func runRecordAAD(runID, clientID, field string) string {
	return "run:" + runID + ":records." + clientID + "." + field
}

func toCaseworkCaseDoc(keys keyScope, c casework.Case) (caseworkCaseDoc, error) {
	x := keys.sealing(c.ID)
	types := make([]string, len(c.CaseTypes))
	for i, t := range c.CaseTypes {
		types[i] = string(t)
	}
	workers := c.CaseworkerIDs
	if workers == nil {
		workers = []string{}
	}
	n := c.Child.Needs
	d := caseworkCaseDoc{
		ID: c.ID, OrgID: c.OrgID, ReferenceNumber: x.seal(c.ReferenceNumber, caseAAD(c.ID, "reference_number")),
		Child: caseworkChildDoc{
			Pseudonym: x.seal(c.Child.Pseudonym, caseAAD(c.ID, "child.pseudonym")), AgeBand: string(c.Child.AgeBand),
			BirthYear: c.Child.BirthYear, Gender: string(c.Child.Gender), PreferredLanguage: c.Child.PreferredLanguage,
			Needs: caseworkNeedsDoc{Interpreter: n.Interpreter, InterpreterLanguage: n.InterpreterLanguage, CommunicationAids: n.CommunicationAids,
				Disability: n.Disability, DisabilityNotes: x.seal(n.DisabilityNotes, caseAAD(c.ID, "child.needs.disability_notes")), SupportPerson: n.SupportPerson},
		},
		CaseTypes: types, CaseworkerIDs: workers, SupervisorID: c.SupervisorID, Status: string(c.Status),
		OpenedAt: c.OpenedAt, ClosedAt: c.ClosedAt, StatusReason: x.seal(c.StatusReason, caseAAD(c.ID, "status_reason")),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, CreatedBy: c.CreatedBy, Version: c.Version, TransferredBy: c.TransferredBy,
	}
	for i, a := range c.Assignments {
		workers := a.CaseworkerIDs
		if workers == nil {
			workers = []string{}
		}
		d.AssignmentHistory = append(d.AssignmentHistory, caseworkAssignmentChangeDoc{At: a.At, By: a.By, CaseworkerIDs: workers,
			SupervisorID: a.SupervisorID, Reason: x.seal(a.Reason, caseAAD(c.ID, fmt.Sprintf("assignment_history.%d.reason", i)))})
	}
	return d, x.err
}

func fromCaseworkCaseDoc(keys keyScope, d caseworkCaseDoc) (casework.Case, error) {
	x := keys.opening(d.ID)
	types := make([]protocol.CaseType, len(d.CaseTypes))
	for i, t := range d.CaseTypes {
		types[i] = protocol.CaseType(t)
	}
	n := d.Child.Needs
	c := casework.Case{
		ID: d.ID, OrgID: d.OrgID, ReferenceNumber: x.open(d.ReferenceNumber, caseAAD(d.ID, "reference_number")),
		Child: casework.Child{
			Pseudonym: x.open(d.Child.Pseudonym, caseAAD(d.ID, "child.pseudonym")), AgeBand: protocol.AgeBand(d.Child.AgeBand),
			BirthYear: d.Child.BirthYear, Gender: casework.Gender(d.Child.Gender), PreferredLanguage: d.Child.PreferredLanguage,
			Needs: casework.Needs{Interpreter: n.Interpreter, InterpreterLanguage: n.InterpreterLanguage, CommunicationAids: n.CommunicationAids,
				Disability: n.Disability, DisabilityNotes: x.open(n.DisabilityNotes, caseAAD(d.ID, "child.needs.disability_notes")), SupportPerson: n.SupportPerson},
		},
		CaseTypes: types, CaseworkerIDs: d.CaseworkerIDs, SupervisorID: d.SupervisorID, Status: casework.Status(d.Status),
		OpenedAt: d.OpenedAt.UTC(), ClosedAt: identityUTCPtr(d.ClosedAt), StatusReason: x.open(d.StatusReason, caseAAD(d.ID, "status_reason")),
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(), CreatedBy: d.CreatedBy, Version: d.Version, TransferredBy: d.TransferredBy,
	}
	if c.CaseworkerIDs == nil {
		c.CaseworkerIDs = []string{}
	}
	for i, a := range d.AssignmentHistory {
		c.Assignments = append(c.Assignments, casework.AssignmentChange{At: a.At.UTC(), By: a.By, CaseworkerIDs: a.CaseworkerIDs,
			SupervisorID: a.SupervisorID, Reason: x.open(a.Reason, caseAAD(d.ID, fmt.Sprintf("assignment_history.%d.reason", i)))})
	}
	c.Flags = append([]string{}, d.ActiveFlags...)
	c.Erased = x.erased
	if x.err != nil {
		return casework.Case{}, fmt.Errorf("reading case %s: %w", d.ID, x.err)
	}
	return c, nil
}

func toCaseworkRecordDoc(keys keyScope, caseID, runID string, r casework.StepRecord) (caseworkRecordDoc, error) {
	x := keys.sealing(caseID)
	d := caseworkRecordDoc{StepID: r.StepID, Status: string(r.Status),
		Reason: x.seal(r.Reason, runRecordAAD(runID, r.ClientID, "reason")), Note: x.seal(r.Note, runRecordAAD(runID, r.ClientID, "note")),
		RecordedAt: r.RecordedAt, ReceivedAt: r.ReceivedAt, ByUserID: r.ByUserID, ClientID: r.ClientID}
	return d, x.err
}

func toCaseworkRunDoc(keys keyScope, r casework.Run) (caseworkRunDoc, error) {
	d := caseworkRunDoc{ID: r.ID, OrgID: r.OrgID, CaseID: r.CaseID, ProtocolID: r.ProtocolID, ProtocolVersion: r.ProtocolVersion,
		StartedAt: r.StartedAt, StartedBy: r.StartedBy, Records: make([]caseworkRecordDoc, 0, len(r.Records))}
	for _, rec := range r.Records {
		rd, err := toCaseworkRecordDoc(keys, r.CaseID, r.ID, rec)
		if err != nil {
			return caseworkRunDoc{}, err
		}
		d.Records = append(d.Records, rd)
	}
	return d, nil
}

func fromCaseworkRunDoc(keys keyScope, d caseworkRunDoc) (casework.Run, error) {
	x := keys.opening(d.CaseID)
	r := casework.Run{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, ProtocolID: d.ProtocolID, ProtocolVersion: d.ProtocolVersion,
		StartedAt: d.StartedAt.UTC(), StartedBy: d.StartedBy, Records: make([]casework.StepRecord, 0, len(d.Records))}
	for _, rd := range d.Records {
		r.Records = append(r.Records, casework.StepRecord{StepID: rd.StepID, Status: casework.StepStatus(rd.Status),
			Reason: x.open(rd.Reason, runRecordAAD(d.ID, rd.ClientID, "reason")), Note: x.open(rd.Note, runRecordAAD(d.ID, rd.ClientID, "note")),
			RecordedAt: rd.RecordedAt.UTC(), ReceivedAt: rd.ReceivedAt.UTC(), ByUserID: rd.ByUserID, ClientID: rd.ClientID})
	}
	if x.err != nil {
		return casework.Run{}, fmt.Errorf("reading run %s: %w", d.ID, x.err)
	}
	return r, nil
}

// CreateCase stores a new case. It returns casework.ErrExists when the id is taken, an error when a
// field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) CreateCase(ctx context.Context, c casework.Case) error {
	doc, err := toCaseworkCaseDoc(s.keys.in(ctx), c)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, c.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq, doc.FormerCaseworkerIDs, doc.Assigned = seq, []string{}, assignmentsSince(nil, doc.CaseworkerIDs, seq)
	return insertNew(ctx, s.cases(), doc, casework.ErrExists, "case "+c.ID)
}

// Case returns a case: casework.ErrNotFound when there is none, an error when a field cannot be
// decrypted, or the driver's error.
func (s *CaseworkStore) Case(ctx context.Context, id string) (casework.Case, error) {
	var d caseworkCaseDoc
	if err := s.db.findByID(ctx, s.cases(), id, &d, casework.ErrNotFound, "case "+id); err != nil {
		return casework.Case{}, err
	}
	return fromCaseworkCaseDoc(s.keys.in(ctx), d)
}

// ListCases returns up to limit cases matching f with ids after afterID, by id. It returns an error
// when a field cannot be decrypted, or the driver's error.
func (s *CaseworkStore) ListCases(ctx context.Context, f casework.StoreFilter, afterID string, limit int) ([]casework.Case, error) {
	filter := caseFilter(f, afterID)
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[caseworkCaseDoc](ctx, s.db, s.cases(), filter, opts, "listing cases: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d caseworkCaseDoc) (casework.Case, error) { return fromCaseworkCaseDoc(s.keys.in(ctx), d) })
}

// UpdateCase replaces every mutable field of case c.ID when its stored version is c.Version-1. It
// returns casework.ErrStale when the version differs, casework.ErrNotFound when the case does not
// exist, an error when a field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) UpdateCase(ctx context.Context, c casework.Case) error {
	doc, err := toCaseworkCaseDoc(s.keys.in(ctx), c)
	if err != nil {
		return err
	}
	// The number is taken before the document lock: both locks share stripes, so taking the
	// counter's while holding the document's could deadlock. A number of a write that turns out
	// stale is simply skipped.
	seq, done, err := s.db.BeginChange(ctx, c.OrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(caseworkCasesCollection, c.ID)()
	var old struct {
		Version  int64                   `bson:"version"`
		Workers  []string                `bson:"caseworker_ids"`
		Former   []string                `bson:"former_caseworker_ids"`
		Assigned []caseworkAssignmentDoc `bson:"assigned"`
	}
	if err := s.db.findByID(ctx, s.cases(), c.ID, &old, casework.ErrNotFound, "case "+c.ID); err != nil {
		return err
	}
	if old.Version != c.Version-1 {
		return casework.ErrStale
	}
	former := formerCaseworkers(old.Former, old.Workers, doc.CaseworkerIDs)
	assigned := assignmentsSince(old.Assigned, doc.CaseworkerIDs, seq)
	res, err := s.db.updateByID(ctx, s.cases(), c.ID,
		bson.D{{Key: "version", Value: c.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "reference_number", Value: doc.ReferenceNumber}, {Key: "child", Value: doc.Child},
			{Key: "case_types", Value: doc.CaseTypes}, {Key: "caseworker_ids", Value: doc.CaseworkerIDs},
			{Key: "supervisor_id", Value: doc.SupervisorID}, {Key: "status", Value: doc.Status},
			{Key: "closed_at", Value: doc.ClosedAt}, {Key: "status_reason", Value: doc.StatusReason},
			{Key: "updated_at", Value: doc.UpdatedAt}, {Key: "version", Value: doc.Version},
			{Key: "change_seq", Value: seq}, {Key: "former_caseworker_ids", Value: former}, {Key: "assigned", Value: assigned},
			{Key: "transferred_by", Value: doc.TransferredBy}, {Key: "assignment_history", Value: doc.AssignmentHistory},
		}}})
	if err != nil {
		return unavailable("updating case %s: %w", c.ID, err)
	}
	if res.MatchedCount == 0 {
		return casework.ErrStale
	}
	return nil
}

// CreateRun stores a new run with its records. It returns casework.ErrExists when the id is taken,
// an error when a field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) CreateRun(ctx context.Context, r casework.Run) error {
	doc, err := toCaseworkRunDoc(s.keys.in(ctx), r)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, r.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq, doc.UpdatedAt = seq, r.StartedAt
	for _, rec := range doc.Records {
		if rec.ReceivedAt.After(doc.UpdatedAt) {
			doc.UpdatedAt = rec.ReceivedAt
		}
	}
	return insertNew(ctx, s.runs(), doc, casework.ErrExists, "run "+r.ID)
}

// Run returns a run: casework.ErrNotFound when there is none, an error when a field cannot be
// decrypted, or the driver's error.
func (s *CaseworkStore) Run(ctx context.Context, id string) (casework.Run, error) {
	var d caseworkRunDoc
	if err := s.db.findByID(ctx, s.runs(), id, &d, casework.ErrNotFound, "run "+id); err != nil {
		return casework.Run{}, err
	}
	return fromCaseworkRunDoc(s.keys.in(ctx), d)
}

// ListRuns returns the runs of a case by start time, then id. It returns an error when a field cannot
// be decrypted, or the driver's error.
func (s *CaseworkStore) ListRuns(ctx context.Context, caseID string) ([]casework.Run, error) {
	opts := options.Find().SetSort(bson.D{{Key: "started_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[caseworkRunDoc](ctx, s.db, s.runs(), bson.D{{Key: "case_id", Value: caseID}}, opts, "listing runs of case %s: %w", caseID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d caseworkRunDoc) (casework.Run, error) { return fromCaseworkRunDoc(s.keys.in(ctx), d) })
}

// AppendStepRecord appends rec to run runID with one conditional update that matches only while no
// record of the run has rec.ClientID, so a retried record is never stored twice. appended reports
// whether rec was stored. It returns casework.ErrNotFound when the run does not exist, an error when a
// field cannot be encrypted, or the driver's error.
func (s *CaseworkStore) AppendStepRecord(ctx context.Context, runID string, rec casework.StepRecord) (bool, error) {
	var owner struct {
		OrgID  string `bson:"org_id"`
		CaseID string `bson:"case_id"`
	}
	err := s.runs().FindOne(ctx, bson.D{{Key: "_id", Value: runID}}, options.FindOne().SetProjection(bson.D{{Key: "org_id", Value: 1}, {Key: "case_id", Value: 1}})).Decode(&owner)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, casework.ErrNotFound
	}
	if err != nil {
		return false, unavailable("reading run %s: %w", runID, err)
	}
	doc, err := toCaseworkRecordDoc(s.keys.in(ctx), owner.CaseID, runID, rec)
	if err != nil {
		return false, err
	}
	seq, done, err := s.db.BeginChange(ctx, owner.OrgID)
	if err != nil {
		return false, err
	}
	defer done()
	unlock := s.db.locks.document(caseworkRunsCollection, runID)
	filter := bson.D{{Key: "_id", Value: runID}, {Key: "records.client_id", Value: bson.D{{Key: "$ne", Value: rec.ClientID}}}}
	update := bson.D{{Key: "$push", Value: bson.D{{Key: "records", Value: doc}}},
		{Key: "$set", Value: bson.D{{Key: "change_seq", Value: seq}, {Key: "updated_at", Value: rec.ReceivedAt}}}}
	var res *mongo.UpdateResult
	// On the embedded database the condition is checked on the tables, under the run's lock (see
	// DB.updateByID): FerretDB would decode every run to evaluate it.
	lacks, exists, embedded, err := s.db.lacksRecord(ctx, runID, rec.ClientID)
	switch {
	case err != nil:
	case !embedded:
		res, err = s.runs().UpdateOne(ctx, filter, update)
	case !exists:
		unlock()
		return false, casework.ErrNotFound
	case !lacks:
		res = &mongo.UpdateResult{}
	default:
		res, err = s.runs().UpdateOne(ctx, bson.D{{Key: "_id", Value: runID}}, update)
	}
	unlock()
	if err != nil {
		return false, unavailable("recording a step of run %s: %w", runID, err)
	}
	if res.MatchedCount == 1 {
		return true, nil
	}
	n, err := s.runs().CountDocuments(ctx, bson.D{{Key: "_id", Value: runID}})
	if err != nil {
		return false, unavailable("reading run %s: %w", runID, err)
	}
	if n == 0 {
		return false, casework.ErrNotFound
	}
	return false, nil
}

// formerCaseworkers returns the caseworkers once assigned and not in now: the earlier former ones
// and those of before that are no longer assigned.
func formerCaseworkers(former, before, now []string) []string {
	out := []string{}
	for _, id := range append(slices.Clone(former), before...) {
		if !slices.Contains(now, id) && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// assignmentsSince returns, for every caseworker in now, since which change they are assigned: the
// earlier entry when they were assigned before, seq otherwise.
func assignmentsSince(before []caseworkAssignmentDoc, now []string, seq int64) []caseworkAssignmentDoc {
	out := make([]caseworkAssignmentDoc, 0, len(now))
	for _, id := range now {
		a := caseworkAssignmentDoc{UserID: id, Seq: seq}
		if i := slices.IndexFunc(before, func(b caseworkAssignmentDoc) bool { return b.UserID == id }); i >= 0 {
			a.Seq = before[i].Seq
		}
		out = append(out, a)
	}
	return out
}

var _ casework.Store = (*CaseworkStore)(nil)
