package mongodb

import (
	"fmt"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
)

// The stored form of evidence items and custody events, and the conversions between them and the
// domain values (encrypting the names, places, notes and identifying fields).

type evidencePartyDoc struct {
	UserID       string `bson:"user_id"`
	Name         string `bson:"name"`         // encrypted
	Organisation string `bson:"organisation"` // encrypted
}

type evidenceHashDoc struct {
	Algorithm string `bson:"algorithm"`
	Value     string `bson:"value"`
}

type evidenceStateDoc struct {
	Status          string           `bson:"status"`
	LegalHold       bool             `bson:"legal_hold"`
	IntegrityFailed bool             `bson:"integrity_failed"`
	Custodian       evidencePartyDoc `bson:"custodian"`
	StorageLocation string           `bson:"storage_location"` // encrypted
	SealNumber      string           `bson:"seal_number"`      // encrypted
	SealIntact      *bool            `bson:"seal_intact"`
}

type evidenceHeadDoc struct {
	Hash    string `bson:"hash"`
	Receipt string `bson:"receipt"`
}

type evidenceItemDoc struct {
	ID                      string            `bson:"_id"`
	OrgID                   string            `bson:"org_id"`
	CaseID                  string            `bson:"case_id"`
	Kind                    string            `bson:"kind"`
	Description             string            `bson:"description"` // encrypted
	Make                    string            `bson:"make"`        // encrypted, as every identifier
	Model                   string            `bson:"model"`
	SerialNumber            string            `bson:"serial_number"`
	AccountHandle           string            `bson:"account_handle"`
	Platform                string            `bson:"platform"`
	URL                     string            `bson:"url"`
	ExhibitNumber           string            `bson:"exhibit_number"`      // encrypted
	RootExhibitNumber       string            `bson:"root_exhibit_number"` // encrypted
	DerivedFromItemID       string            `bson:"derived_from_item_id"`
	Hashes                  []evidenceHashDoc `bson:"hashes"`
	AcqMethod               string            `bson:"acquisition_method"`
	AcqTool                 string            `bson:"acquisition_tool"`
	AcqToolVersion          string            `bson:"acquisition_tool_version"`
	AcqBy                   evidencePartyDoc  `bson:"acquired_by"`
	AcqAt                   time.Time         `bson:"acquired_at"`
	AcqPlace                string            `bson:"acquisition_place"` // encrypted
	WriteProtected          *bool             `bson:"write_protected"`
	AuthorityBasis          string            `bson:"legal_basis"`
	AuthorityReference      string            `bson:"legal_reference"`  // encrypted
	StorageLocation         string            `bson:"storage_location"` // encrypted
	SealNumber              string            `bson:"seal_number"`      // encrypted
	SuspectedAbuseMaterial  bool              `bson:"suspected_abuse_material"`
	AbuseCategory           string            `bson:"abuse_category"`
	LawEnforcementReference string            `bson:"law_enforcement_reference"` // encrypted
	CreatedAt               time.Time         `bson:"created_at"`
	CreatedBy               string            `bson:"created_by"`
	UpdatedAt               time.Time         `bson:"updated_at"`
	ChangeSeq               int64             `bson:"change_seq"`
	State                   evidenceStateDoc  `bson:"state"`
	HeadSeq                 int64             `bson:"head_seq"`
	Head                    evidenceHeadDoc   `bson:"head"`
}

type evidenceEventDoc struct {
	ID          string            `bson:"_id"`
	EventID     string            `bson:"event_id"`
	OrgID       string            `bson:"org_id"`
	CaseID      string            `bson:"case_id"`
	ItemID      string            `bson:"item_id"`
	Seq         int64             `bson:"seq"`
	Type        string            `bson:"type"`
	RecordedAt  time.Time         `bson:"recorded_at"`
	ReceivedAt  time.Time         `bson:"received_at"`
	RecordedBy  string            `bson:"recorded_by"`
	PerformedBy evidencePartyDoc  `bson:"performed_by"`
	From        *evidencePartyDoc `bson:"from"`
	To          *evidencePartyDoc `bson:"to"`
	Place       string            `bson:"place"`       // encrypted
	Purpose     string            `bson:"purpose"`     // encrypted
	Note        string            `bson:"note"`        // encrypted
	SealNumber  string            `bson:"seal_number"` // encrypted
	SealIntact  *bool             `bson:"seal_intact"`
	Verified    *evidenceHashDoc  `bson:"verified_hash"`
	Matches     *bool             `bson:"hash_matches"`
	DerivedItem string            `bson:"derived_item_id"`
	CorrectsSeq int64             `bson:"corrects_seq"`
	Hold        *bool             `bson:"legal_hold"`
	ItemDigest  string            `bson:"item_digest"`
	PrevHash    string            `bson:"prev_hash"`
	Hash        string            `bson:"hash"`
	UpdatedAt   time.Time         `bson:"updated_at"`
	ChangeSeq   int64             `bson:"change_seq"`
}

// EvidenceEventID is the _id of event seq of item itemID.
func EvidenceEventID(itemID string, seq int64) string { return fmt.Sprintf("%s:%012d", itemID, seq) }

func itemAAD(id, field string) string { return "evidence_item:" + id + ":" + field }

func eventAAD(itemID string, seq int64, field string) string {
	return fmt.Sprintf("evidence_event:%s:%d:%s", itemID, seq, field)
}

func sealParty(x *caseworkCipher, p evidence.Party, aad func(string) string) evidencePartyDoc {
	return evidencePartyDoc{UserID: p.UserID, Name: x.seal(p.Name, aad("name")), Organisation: x.seal(p.Organisation, aad("organisation"))}
}

func openParty(x *caseworkCipher, d evidencePartyDoc, aad func(string) string) evidence.Party {
	return evidence.Party{UserID: d.UserID, Name: x.open(d.Name, aad("name")), Organisation: x.open(d.Organisation, aad("organisation"))}
}

func toEvidenceStateDoc(x *caseworkCipher, id string, st evidence.State) evidenceStateDoc {
	a := func(f string) string { return itemAAD(id, f) }
	return evidenceStateDoc{Status: string(st.Status), LegalHold: st.LegalHold, IntegrityFailed: st.IntegrityFailed,
		Custodian:       sealParty(x, st.Custodian, func(f string) string { return a("state.custodian." + f) }),
		StorageLocation: x.seal(st.StorageLocation, a("state.storage_location")), SealNumber: x.seal(st.SealNumber, a("state.seal_number")),
		SealIntact: st.SealIntact}
}

func toEvidenceItemDoc(keys keyScope, it evidence.Item) (evidenceItemDoc, error) {
	x := keys.sealing(it.CaseID)
	a := func(f string) string { return itemAAD(it.ID, f) }
	hashes := make([]evidenceHashDoc, len(it.Hashes))
	for i, h := range it.Hashes {
		hashes[i] = evidenceHashDoc(h)
	}
	id := it.Identifiers
	d := evidenceItemDoc{ID: it.ID, OrgID: it.OrgID, CaseID: it.CaseID, Kind: string(it.Kind), Description: x.seal(it.Description, a("description")),
		Make: x.seal(id.Make, a("make")), Model: x.seal(id.Model, a("model")), SerialNumber: x.seal(id.SerialNumber, a("serial_number")),
		AccountHandle: x.seal(id.AccountHandle, a("account_handle")), Platform: x.seal(id.Platform, a("platform")), URL: x.seal(id.URL, a("url")),
		ExhibitNumber: x.seal(it.ExhibitNumber, a("exhibit_number")), RootExhibitNumber: x.seal(it.RootExhibitNumber, a("root_exhibit_number")),
		DerivedFromItemID: it.DerivedFromItemID, Hashes: hashes,
		AcqMethod: it.Acquisition.Method, AcqTool: it.Acquisition.Tool, AcqToolVersion: it.Acquisition.ToolVersion,
		AcqBy: sealParty(x, it.Acquisition.By, func(f string) string { return a("acquired_by." + f) }),
		AcqAt: it.Acquisition.At, AcqPlace: x.seal(it.Acquisition.Place, a("acquisition_place")), WriteProtected: it.Acquisition.WriteProtected,
		AuthorityBasis: it.Authority.Basis, AuthorityReference: x.seal(it.Authority.Reference, a("legal_reference")),
		StorageLocation: x.seal(it.StorageLocation, a("storage_location")), SealNumber: x.seal(it.SealNumber, a("seal_number")),
		SuspectedAbuseMaterial: it.SuspectedAbuseMaterial, AbuseCategory: it.AbuseCategory,
		LawEnforcementReference: x.seal(it.LawEnforcementReference, a("law_enforcement_reference")),
		CreatedAt:               it.CreatedAt, CreatedBy: it.CreatedBy, UpdatedAt: it.UpdatedAt,
		State: toEvidenceStateDoc(x, it.ID, it.State), HeadSeq: it.Head.Seq, Head: evidenceHeadDoc{Hash: it.Head.Hash, Receipt: it.Head.Receipt}}
	return d, x.err
}

func fromEvidenceItemDoc(keys keyScope, d evidenceItemDoc) (evidence.Item, error) {
	x := keys.opening(d.CaseID)
	a := func(f string) string { return itemAAD(d.ID, f) }
	hashes := make([]evidence.Hash, len(d.Hashes))
	for i, h := range d.Hashes {
		hashes[i] = evidence.Hash(h)
	}
	it := evidence.Item{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, Kind: evidence.Kind(d.Kind), Description: x.open(d.Description, a("description")),
		Identifiers: evidence.Identifiers{Make: x.open(d.Make, a("make")), Model: x.open(d.Model, a("model")),
			SerialNumber: x.open(d.SerialNumber, a("serial_number")), AccountHandle: x.open(d.AccountHandle, a("account_handle")),
			Platform: x.open(d.Platform, a("platform")), URL: x.open(d.URL, a("url"))},
		ExhibitNumber: x.open(d.ExhibitNumber, a("exhibit_number")), RootExhibitNumber: x.open(d.RootExhibitNumber, a("root_exhibit_number")),
		DerivedFromItemID: d.DerivedFromItemID, Hashes: hashes,
		Acquisition: evidence.Acquisition{Method: d.AcqMethod, Tool: d.AcqTool, ToolVersion: d.AcqToolVersion,
			By: openParty(x, d.AcqBy, func(f string) string { return a("acquired_by." + f) }), At: d.AcqAt.UTC(),
			Place: x.open(d.AcqPlace, a("acquisition_place")), WriteProtected: d.WriteProtected},
		Authority:       evidence.LegalAuthority{Basis: d.AuthorityBasis, Reference: x.open(d.AuthorityReference, a("legal_reference"))},
		StorageLocation: x.open(d.StorageLocation, a("storage_location")), SealNumber: x.open(d.SealNumber, a("seal_number")),
		SuspectedAbuseMaterial: d.SuspectedAbuseMaterial, AbuseCategory: d.AbuseCategory,
		LawEnforcementReference: x.open(d.LawEnforcementReference, a("law_enforcement_reference")),
		CreatedAt:               d.CreatedAt.UTC(), CreatedBy: d.CreatedBy, UpdatedAt: d.UpdatedAt.UTC(),
		State: evidence.State{Status: evidence.Status(d.State.Status), LegalHold: d.State.LegalHold, IntegrityFailed: d.State.IntegrityFailed,
			Custodian:       openParty(x, d.State.Custodian, func(f string) string { return a("state.custodian." + f) }),
			StorageLocation: x.open(d.State.StorageLocation, a("state.storage_location")), SealNumber: x.open(d.State.SealNumber, a("state.seal_number")),
			SealIntact: d.State.SealIntact},
		Head: evidence.Head{Seq: d.HeadSeq, Hash: d.Head.Hash, Receipt: d.Head.Receipt}}
	if len(it.Hashes) == 0 {
		it.Hashes = nil
	}
	if x.err != nil {
		return evidence.Item{}, fmt.Errorf("reading evidence item %s: %w", d.ID, x.err)
	}
	return it, nil
}

func toEvidenceEventDoc(keys keyScope, e evidence.Event, changeSeq int64) (evidenceEventDoc, error) {
	x := keys.sealing(e.CaseID)
	a := func(f string) string { return eventAAD(e.ItemID, e.Seq, f) }
	party := func(p evidence.Party, field string) *evidencePartyDoc {
		if p.IsZero() {
			return nil
		}
		d := sealParty(x, p, func(f string) string { return a(field + "." + f) })
		return &d
	}
	d := evidenceEventDoc{ID: EvidenceEventID(e.ItemID, e.Seq), EventID: e.ID, OrgID: e.OrgID, CaseID: e.CaseID, ItemID: e.ItemID, Seq: e.Seq,
		Type: string(e.Type), RecordedAt: e.RecordedAt, ReceivedAt: e.ReceivedAt, RecordedBy: e.RecordedBy,
		PerformedBy: sealParty(x, e.PerformedBy, func(f string) string { return a("performed_by." + f) }),
		From:        party(e.From, "from"), To: party(e.To, "to"),
		Place: x.seal(e.Place, a("place")), Purpose: x.seal(e.Purpose, a("purpose")), Note: x.seal(e.Note, a("note")),
		SealNumber: x.seal(e.SealNumber, a("seal_number")), SealIntact: e.SealIntact, Matches: e.Matches, DerivedItem: e.DerivedItem,
		CorrectsSeq: e.CorrectsSeq, Hold: e.Hold, ItemDigest: e.ItemDigest, PrevHash: e.PrevHash, Hash: e.Hash,
		UpdatedAt: e.ReceivedAt, ChangeSeq: changeSeq}
	if e.Verified != nil {
		h := evidenceHashDoc(*e.Verified)
		d.Verified = &h
	}
	return d, x.err
}

// fromEvidenceEventDoc converts a stored event; a field that does not decrypt marks it Unreadable
// (the document was altered) instead of failing, so verification can report where.
func fromEvidenceEventDoc(keys keyScope, d evidenceEventDoc) evidence.Event {
	x := keys.opening(d.CaseID)
	a := func(f string) string { return eventAAD(d.ItemID, d.Seq, f) }
	party := func(p *evidencePartyDoc, field string) evidence.Party {
		if p == nil {
			return evidence.Party{}
		}
		return openParty(x, *p, func(f string) string { return a(field + "." + f) })
	}
	e := evidence.Event{ID: d.EventID, OrgID: d.OrgID, CaseID: d.CaseID, ItemID: d.ItemID, Seq: d.Seq, Type: evidence.EventType(d.Type),
		RecordedAt: d.RecordedAt.UTC(), ReceivedAt: d.ReceivedAt.UTC(), RecordedBy: d.RecordedBy,
		PerformedBy: party(&d.PerformedBy, "performed_by"), From: party(d.From, "from"), To: party(d.To, "to"),
		Place: x.open(d.Place, a("place")), Purpose: x.open(d.Purpose, a("purpose")), Note: x.open(d.Note, a("note")),
		SealNumber: x.open(d.SealNumber, a("seal_number")), SealIntact: d.SealIntact, Matches: d.Matches, DerivedItem: d.DerivedItem,
		CorrectsSeq: d.CorrectsSeq, Hold: d.Hold, ItemDigest: d.ItemDigest, PrevHash: d.PrevHash, Hash: d.Hash}
	if d.Verified != nil {
		h := evidence.Hash(*d.Verified)
		e.Verified = &h
	}
	if x.err != nil {
		// Keep what is in clear; the encrypted fields could not be read.
		e.Unreadable = true
	}
	e.Erased = x.erased
	return e
}
