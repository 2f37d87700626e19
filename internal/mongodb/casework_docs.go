package mongodb

import (
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// The stored form of cases and protocol runs, and the conversions between them and the domain
// values (encrypting the child's data, reference numbers and notes).

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
