package httpapi

import (
	"time"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
)

// Request bodies and response views of evidence items, custody events and chain reports, and the
// named conversions between them and the evidence domain types.

type partyBody struct {
	UserID       string `json:"user_id" validate:"max=128"`
	Name         string `json:"name" validate:"max_evidence_short"`
	Organisation string `json:"organisation" validate:"max_evidence_short"`
}

type hashBody struct {
	Algorithm string `json:"algorithm" validate:"required,max=16"`
	Value     string `json:"value" validate:"required,max=128"`
}

type identifiersBody struct {
	Make          string `json:"make" validate:"max_evidence_short"`
	Model         string `json:"model" validate:"max_evidence_short"`
	SerialNumber  string `json:"serial_number" validate:"max_evidence_short"`
	AccountHandle string `json:"account_handle" validate:"max_evidence_short"`
	Platform      string `json:"platform" validate:"max_evidence_short"`
	URL           string `json:"url" validate:"max_evidence_text"`
}

type acquisitionBody struct {
	Method         string     `json:"method" validate:"required,max=32"`
	Tool           string     `json:"tool" validate:"max_evidence_short"`
	ToolVersion    string     `json:"tool_version" validate:"max_evidence_number"`
	PerformedBy    *partyBody `json:"performed_by"`
	AcquiredAt     *time.Time `json:"acquired_at" validate:"required"`
	Place          string     `json:"place" validate:"max_evidence_text"`
	WriteProtected *bool      `json:"write_protected"`
}

type legalAuthorityBody struct {
	Basis     string `json:"basis" validate:"required,max=32"`
	Reference string `json:"reference" validate:"max_evidence_short"`
}

type newItemBody struct {
	ID                      string             `json:"id" validate:"required,uuid"`
	Kind                    string             `json:"kind" validate:"required,max=32"`
	Description             string             `json:"description" validate:"max_evidence_description"`
	Identifiers             identifiersBody    `json:"identifiers"`
	ExhibitNumber           string             `json:"exhibit_number" validate:"max_evidence_number"`
	RootExhibitNumber       string             `json:"root_exhibit_number" validate:"max_evidence_number"`
	Hashes                  []hashBody         `json:"hashes" validate:"max_evidence_hashes,dive"`
	Acquisition             acquisitionBody    `json:"acquisition"`
	LegalAuthority          legalAuthorityBody `json:"legal_authority"`
	StorageLocation         string             `json:"storage_location" validate:"max_evidence_short"`
	SealNumber              string             `json:"seal_number" validate:"max_evidence_number"`
	SuspectedAbuseMaterial  bool               `json:"suspected_abuse_material"`
	AbuseCategory           string             `json:"abuse_category" validate:"max=32"`
	LawEnforcementReference string             `json:"law_enforcement_reference" validate:"max_evidence_short"`
}

type newEventBody struct {
	ID           string       `json:"id" validate:"required,uuid"`
	Type         string       `json:"type" validate:"required,max=32"`
	RecordedAt   *time.Time   `json:"recorded_at" validate:"required"`
	PerformedBy  *partyBody   `json:"performed_by"`
	From         *partyBody   `json:"from"`
	To           *partyBody   `json:"to"`
	Place        string       `json:"place" validate:"max_evidence_text"`
	Purpose      string       `json:"purpose" validate:"max_evidence_text"`
	Note         string       `json:"note" validate:"max_evidence_note"`
	SealNumber   string       `json:"seal_number" validate:"max_evidence_number"`
	SealIntact   *bool        `json:"seal_intact"`
	VerifiedHash *hashBody    `json:"verified_hash"`
	DerivedItem  *newItemBody `json:"derived_item"`
	CorrectsSeq  int64        `json:"corrects_seq" validate:"min=0"`
	LegalHold    *bool        `json:"legal_hold"`
}

func toParty(b *partyBody) evidence.Party {
	if b == nil {
		return evidence.Party{}
	}
	return evidence.Party{UserID: b.UserID, Name: b.Name, Organisation: b.Organisation}
}

// toNewEvent converts a custody event body (of POST .../events and of a synced custody_event append).
func toNewEvent(req newEventBody) evidence.NewEvent {
	ne := evidence.NewEvent{ID: req.ID, Type: evidence.EventType(req.Type), PerformedBy: toParty(req.PerformedBy),
		From: toParty(req.From), To: toParty(req.To), Place: req.Place, Purpose: req.Purpose, Note: req.Note, SealNumber: req.SealNumber,
		SealIntact: req.SealIntact, CorrectsSeq: req.CorrectsSeq, Hold: req.LegalHold}
	if req.RecordedAt != nil {
		ne.RecordedAt = *req.RecordedAt
	}
	if req.VerifiedHash != nil {
		ne.Verified = &evidence.Hash{Algorithm: req.VerifiedHash.Algorithm, Value: req.VerifiedHash.Value}
	}
	if req.DerivedItem != nil {
		d := toNewItem(*req.DerivedItem)
		ne.DerivedItem = &d
	}
	return ne
}

func toNewItem(b newItemBody) evidence.NewItem {
	ni := evidence.NewItem{ID: b.ID, Kind: evidence.Kind(b.Kind), Description: b.Description, Identifiers: evidence.Identifiers(b.Identifiers),
		ExhibitNumber: b.ExhibitNumber, RootExhibitNumber: b.RootExhibitNumber,
		Acquisition: evidence.Acquisition{Method: b.Acquisition.Method, Tool: b.Acquisition.Tool, ToolVersion: b.Acquisition.ToolVersion,
			By: toParty(b.Acquisition.PerformedBy), Place: b.Acquisition.Place, WriteProtected: b.Acquisition.WriteProtected},
		Authority:       evidence.LegalAuthority{Basis: b.LegalAuthority.Basis, Reference: b.LegalAuthority.Reference},
		StorageLocation: b.StorageLocation, SealNumber: b.SealNumber, SuspectedAbuseMaterial: b.SuspectedAbuseMaterial,
		AbuseCategory: b.AbuseCategory, LawEnforcementReference: b.LawEnforcementReference}
	if b.Acquisition.AcquiredAt != nil {
		ni.Acquisition.At = *b.Acquisition.AcquiredAt
	}
	for _, h := range b.Hashes {
		ni.Hashes = append(ni.Hashes, evidence.Hash(h))
	}
	return ni
}

// chainTime is a time as the canonical encoding writes it (RFC 3339, UTC, exactly three fractional
// digits), so a client can recompute hashes from the JSON it gets.
type chainTime time.Time

// MarshalJSON writes the time in evidence.TimeLayout.
func (t chainTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(evidence.TimeLayout) + `"`), nil
}

type partyView struct {
	UserID       string `json:"user_id"`
	Name         string `json:"name"`
	Organisation string `json:"organisation"`
}

type hashView struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

type identifiersView struct {
	Make          string `json:"make"`
	Model         string `json:"model"`
	SerialNumber  string `json:"serial_number"`
	AccountHandle string `json:"account_handle"`
	Platform      string `json:"platform"`
	URL           string `json:"url"`
}

type acquisitionView struct {
	Method         string    `json:"method"`
	Tool           string    `json:"tool"`
	ToolVersion    string    `json:"tool_version"`
	PerformedBy    partyView `json:"performed_by"`
	AcquiredAt     chainTime `json:"acquired_at"`
	Place          string    `json:"place"`
	WriteProtected *bool     `json:"write_protected"`
}

type legalAuthorityView struct {
	Basis     string `json:"basis"`
	Reference string `json:"reference"`
}

type evidenceStateView struct {
	Status          string     `json:"status"`
	LegalHold       bool       `json:"legal_hold"`
	IntegrityFailed bool       `json:"integrity_failed"`
	Custodian       *partyView `json:"custodian"`
	StorageLocation string     `json:"storage_location"`
	SealNumber      string     `json:"seal_number"`
	SealIntact      *bool      `json:"seal_intact"`
}

type headView struct {
	Seq     int64  `json:"seq"`
	Hash    string `json:"hash"`
	Receipt string `json:"receipt"`
}

type evidenceItemView struct {
	ID                      string             `json:"id"`
	OrgID                   string             `json:"org_id"`
	CaseID                  string             `json:"case_id"`
	Kind                    string             `json:"kind"`
	Description             string             `json:"description"`
	Identifiers             identifiersView    `json:"identifiers"`
	ExhibitNumber           string             `json:"exhibit_number"`
	RootExhibitNumber       string             `json:"root_exhibit_number"`
	DerivedFromItemID       *string            `json:"derived_from_item_id"`
	Hashes                  []hashView         `json:"hashes"`
	Acquisition             acquisitionView    `json:"acquisition"`
	LegalAuthority          legalAuthorityView `json:"legal_authority"`
	StorageLocation         string             `json:"storage_location"`
	SealNumber              string             `json:"seal_number"`
	SuspectedAbuseMaterial  bool               `json:"suspected_abuse_material"`
	AbuseCategory           *string            `json:"abuse_category"`
	LawEnforcementReference string             `json:"law_enforcement_reference"`
	CreatedAt               chainTime          `json:"created_at"`
	CreatedBy               string             `json:"created_by"`
	UpdatedAt               chainTime          `json:"updated_at"`
	State                   evidenceStateView  `json:"state"`
	Head                    headView           `json:"head"`
}

func toPartyView(p evidence.Party) partyView { return partyView(p) }

func optParty(p evidence.Party) *partyView {
	if p.IsZero() {
		return nil
	}
	v := partyView(p)
	return &v
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toHashViews(hs []evidence.Hash) []hashView {
	out := make([]hashView, len(hs))
	for i, h := range hs {
		out[i] = hashView(h)
	}
	return out
}

func toEvidenceItemView(it evidence.Item) evidenceItemView {
	a := it.Acquisition
	st := it.State
	return evidenceItemView{ID: it.ID, OrgID: it.OrgID, CaseID: it.CaseID, Kind: string(it.Kind), Description: it.Description,
		Identifiers: identifiersView(it.Identifiers), ExhibitNumber: it.ExhibitNumber, RootExhibitNumber: it.RootExhibitNumber,
		DerivedFromItemID: optString(it.DerivedFromItemID), Hashes: toHashViews(it.Hashes),
		Acquisition: acquisitionView{Method: a.Method, Tool: a.Tool, ToolVersion: a.ToolVersion, PerformedBy: toPartyView(a.By),
			AcquiredAt: chainTime(a.At), Place: a.Place, WriteProtected: a.WriteProtected},
		LegalAuthority:  legalAuthorityView(it.Authority),
		StorageLocation: it.StorageLocation, SealNumber: it.SealNumber, SuspectedAbuseMaterial: it.SuspectedAbuseMaterial,
		AbuseCategory: optString(it.AbuseCategory), LawEnforcementReference: it.LawEnforcementReference,
		CreatedAt: chainTime(it.CreatedAt), CreatedBy: it.CreatedBy, UpdatedAt: chainTime(it.UpdatedAt),
		State: evidenceStateView{Status: string(st.Status), LegalHold: st.LegalHold, IntegrityFailed: st.IntegrityFailed,
			Custodian: optParty(st.Custodian), StorageLocation: st.StorageLocation, SealNumber: st.SealNumber, SealIntact: st.SealIntact},
		Head: headView{Seq: it.Head.Seq, Hash: it.Head.Hash, Receipt: it.Head.Receipt}}
}

type custodyEventView struct {
	ID            string     `json:"id"`
	OrgID         string     `json:"org_id"`
	CaseID        string     `json:"case_id"`
	ItemID        string     `json:"item_id"`
	Seq           int64      `json:"seq"`
	Type          string     `json:"type"`
	RecordedAt    chainTime  `json:"recorded_at"`
	ReceivedAt    chainTime  `json:"received_at"`
	RecordedBy    string     `json:"recorded_by"`
	PerformedBy   *partyView `json:"performed_by"`
	From          *partyView `json:"from"`
	To            *partyView `json:"to"`
	Place         string     `json:"place"`
	Purpose       string     `json:"purpose"`
	Note          string     `json:"note"`
	SealNumber    string     `json:"seal_number"`
	SealIntact    *bool      `json:"seal_intact"`
	VerifiedHash  *hashView  `json:"verified_hash"`
	HashMatches   *bool      `json:"hash_matches"`
	DerivedItemID string     `json:"derived_item_id"`
	CorrectsSeq   *int64     `json:"corrects_seq"`
	LegalHold     *bool      `json:"legal_hold"`
	ItemDigest    string     `json:"item_digest"`
	PrevHash      string     `json:"prev_hash"`
	Hash          string     `json:"hash"`
}

func toCustodyEventView(e evidence.Event) custodyEventView {
	v := custodyEventView{ID: e.ID, OrgID: e.OrgID, CaseID: e.CaseID, ItemID: e.ItemID, Seq: e.Seq, Type: string(e.Type),
		RecordedAt: chainTime(e.RecordedAt), ReceivedAt: chainTime(e.ReceivedAt), RecordedBy: e.RecordedBy, PerformedBy: optParty(e.PerformedBy),
		From: optParty(e.From), To: optParty(e.To), Place: e.Place, Purpose: e.Purpose, Note: e.Note, SealNumber: e.SealNumber,
		SealIntact: e.SealIntact, HashMatches: e.Matches, DerivedItemID: e.DerivedItem, LegalHold: e.Hold,
		ItemDigest: e.ItemDigest, PrevHash: e.PrevHash, Hash: e.Hash}
	if e.Verified != nil {
		h := hashView(*e.Verified)
		v.VerifiedHash = &h
	}
	if e.CorrectsSeq != 0 {
		n := e.CorrectsSeq
		v.CorrectsSeq = &n
	}
	return v
}

type receiptView struct {
	Token    string    `json:"token"`
	KeyID    string    `json:"kid"`
	OrgID    string    `json:"org_id"`
	CaseID   string    `json:"case_id"`
	ItemID   string    `json:"item_id"`
	Seq      int64     `json:"seq"`
	HeadHash string    `json:"head_hash"`
	SignedAt chainTime `json:"signed_at"`
}

func toReceiptView(r evidence.Receipt) *receiptView {
	if r.Token == "" {
		return nil
	}
	return &receiptView{Token: r.Token, KeyID: r.KeyID, OrgID: r.OrgID, CaseID: r.CaseID, ItemID: r.ItemID, Seq: r.Seq, HeadHash: r.HeadHash, SignedAt: chainTime(r.SignedAt)}
}

type appendedView struct {
	Event   custodyEventView `json:"event"`
	Item    evidenceItemView `json:"item"`
	Receipt *receiptView     `json:"receipt"`
}

type chainProblemView struct {
	Seq    int64  `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

type chainReportView struct {
	ItemID          string            `json:"item_id"`
	Events          int               `json:"events"`
	OK              bool              `json:"ok"`
	FirstProblem    *chainProblemView `json:"first_problem"`
	LastSeq         int64             `json:"last_seq"`
	LastHash        string            `json:"last_hash"`
	HeadSeq         int64             `json:"head_seq"`
	ReceiptSeq      int64             `json:"receipt_seq"`
	ReceiptSignedAt *time.Time        `json:"receipt_signed_at"`
	UnsignedEvents  int64             `json:"unsigned_events"`
	Integrity       string            `json:"integrity"`
	Checkpoint      *checkpointView   `json:"checkpoint"`
	ContentErased   bool              `json:"content_erased"`
}

func toChainReportView(r evidence.Report) chainReportView {
	v := chainReportView{ItemID: r.ItemID, Events: r.Events, OK: r.OK, LastSeq: r.LastSeq, LastHash: r.LastHash, HeadSeq: r.HeadSeq,
		ReceiptSeq: r.ReceiptSeq, UnsignedEvents: r.UnsignedEvents, Integrity: r.Integrity, ContentErased: r.ContentErased}
	if p := r.FirstProblem; p != nil {
		v.FirstProblem = &chainProblemView{Seq: p.Seq, Kind: p.Kind, Detail: p.Detail}
	}
	if !r.ReceiptSignedAt.IsZero() {
		t := r.ReceiptSignedAt
		v.ReceiptSignedAt = &t
	}
	if r.Checkpoint != nil {
		cv := toCheckpointView(*r.Checkpoint, !r.CheckpointLost)
		v.Checkpoint = &cv
	}
	return v
}
