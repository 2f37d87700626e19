package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// Evidence lives in two collections:
//   - evidence_items: one document per item, _id the item id; its fixed fields, and the chain's head
//     (head_seq, head.hash, head.receipt) and state, moved forward after each group of appends;
//   - evidence_events: one document per custody event, _id "<item id>:<seq, 12 digits>", so that two
//     writers of the same sequence number cannot both succeed (the second fails on the duplicate key
//     and re-chains after the first): the chain never forks. Events are only ever inserted;
//
// Free text and identifying fields are encrypted with the key ring, bound to
// "evidence_item:<id>:<field>" and "evidence_event:<item id>:<seq>:<field>", so a value copied to
// another record or field does not decrypt. Hashes, types, times, user ids and the chain links are
// stored in clear: verification needs them, and they say nothing about the child.
//
// Every document carries org_id, case_id, updated_at and change_seq (the organisation's change
// sequence, taken with BeginChange / BeginChanges) for device sync. An item's change_seq moves with its head.
const (
	evidenceItemsCollection  = "evidence_items"
	evidenceEventsCollection = "evidence_events"
)

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

// EvidenceStore implements evidence.Store.
type EvidenceStore struct {
	db   *DB
	keys *CaseKeys
}

// Evidence returns the evidence store, encrypting with keys.
func (d *DB) Evidence(keys *fieldcrypt.KeyRing) *EvidenceStore {
	return &EvidenceStore{db: d, keys: d.CaseKeys(keys)}
}

// ensureEvidenceIndexes creates the indexes of the evidence collections: the events of an item by
// sequence number (unique), the items of a case, and organisation-led change sequences for sync. It
// is idempotent and returns the first error the server gives.
func (d *DB) ensureEvidenceIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		evidenceItemsCollection: {
			{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("case_created")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
		},
		evidenceEventsCollection: {
			{Keys: bson.D{{Key: "item_id", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetName("item_seq").SetUnique(true)},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
		},
	}
	for coll, models := range indexes {
		if err := d.ensureIndexes(ctx, coll, models); err != nil {
			return err
		}
	}
	return nil
}

// RawItemsCollection returns evidence_items itself, bypassing encryption: for tests and
// verification tooling only.
func (s *EvidenceStore) RawItemsCollection() *mongo.Collection {
	return s.db.db.Collection(evidenceItemsCollection)
}

// RawEventsCollection returns evidence_events itself, bypassing encryption: for tests and
// verification tooling only (the service never changes or deletes an event).
func (s *EvidenceStore) RawEventsCollection() *mongo.Collection {
	return s.db.db.Collection(evidenceEventsCollection)
}

func (s *EvidenceStore) items() *mongo.Collection { return s.db.db.Collection(evidenceItemsCollection) }
func (s *EvidenceStore) events() *mongo.Collection {
	return s.db.db.Collection(evidenceEventsCollection)
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

// CreateItem stores a new item, stamped with the next change sequence number. It returns
// evidence.ErrExists when the id is taken, an error when a field cannot be encrypted, or an
// Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) CreateItem(ctx context.Context, it evidence.Item) error {
	doc, err := toEvidenceItemDoc(s.keys.in(ctx), it)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, it.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq = seq
	return insertNew(ctx, s.items(), doc, evidence.ErrExists, "evidence item "+it.ID)
}

// Item returns an item: evidence.ErrNotFound when there is none, an error when a field cannot be
// decrypted, or an Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) Item(ctx context.Context, id string) (evidence.Item, error) {
	var d evidenceItemDoc
	if err := s.db.findByID(ctx, s.items(), id, &d, evidence.ErrNotFound, "evidence item "+id); err != nil {
		return evidence.Item{}, err
	}
	return fromEvidenceItemDoc(s.keys.in(ctx), d)
}

// ListItems returns the items of a case after the key after, by creation time, then id: at most
// limit of them, or all when limit is below 1. It returns an error when a field cannot be decrypted,
// or an Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) ListItems(ctx context.Context, caseID string, after evidence.ItemKey, limit int) ([]evidence.Item, error) {
	filter := bson.D{{Key: "case_id", Value: caseID}}
	if after != (evidence.ItemKey{}) {
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "created_at", Value: bson.D{{Key: "$gt", Value: after.CreatedAt}}}},
			bson.D{{Key: "created_at", Value: after.CreatedAt}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: after.ID}}}},
		}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	docs, err := findDocs[evidenceItemDoc](ctx, s.db, s.items(), filter, opts, "listing evidence of case %s: %w", caseID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d evidenceItemDoc) (evidence.Item, error) { return fromEvidenceItemDoc(s.keys.in(ctx), d) })
}

// ListOrgProblemItems returns the items of organisation orgID whose custody chain recorded a
// failed hash verification or a broken seal, by creation time then id, in one query. It returns an
// error when a field cannot be decrypted, or the driver's error.
func (s *EvidenceStore) ListOrgProblemItems(ctx context.Context, orgID string) ([]evidence.Item, error) {
	filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "state.integrity_failed", Value: true}},
		bson.D{{Key: "state.seal_intact", Value: false}},
	}}}
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[evidenceItemDoc](ctx, s.db, s.items(), filter, opts, "listing evidence with problems of organisation %s: %w", orgID)
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d evidenceItemDoc) (evidence.Item, error) { return fromEvidenceItemDoc(s.keys.in(ctx), d) })
}

// InsertEvents stores events (one item's, consecutive Seqs ascending) with one ordered insert that
// stops at the first duplicate _id, stamping them with consecutive change sequence numbers. It returns an *evidence.SeqTakenError with how many were stored when a
// number was taken, an error when a field cannot be encrypted, or an Unavailable *apperr.Error when
// the database fails (a prefix of the events may then be stored).
func (s *EvidenceStore) InsertEvents(ctx context.Context, events []evidence.Event) error {
	if len(events) == 0 {
		return nil
	}
	first, done, err := s.db.BeginChanges(ctx, events[0].OrgID, len(events))
	if err != nil {
		return err
	}
	defer done()
	docs := make([]evidenceEventDoc, len(events))
	for i, e := range events {
		if docs[i], err = toEvidenceEventDoc(s.keys.in(ctx), e, first+int64(i)); err != nil {
			return err
		}
	}
	written := len(docs)
	_, err = s.events().InsertMany(ctx, docs, options.InsertMany().SetOrdered(true))
	var taken error
	if err != nil {
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || len(bwe.WriteErrors) == 0 || bwe.WriteConcernError != nil {
			return unavailable("inserting custody events %s to %s: %w", docs[0].ID, docs[len(docs)-1].ID, err)
		}
		firstErr := bwe.WriteErrors[0]
		for _, we := range bwe.WriteErrors[1:] {
			if we.Index < firstErr.Index {
				firstErr = we
			}
		}
		if firstErr.Index < 0 || firstErr.Index >= len(docs) || !mongo.IsDuplicateKeyError(firstErr) {
			return unavailable("inserting custody events %s to %s: %w", docs[0].ID, docs[len(docs)-1].ID, err)
		}
		written = firstErr.Index
		taken = &evidence.SeqTakenError{Written: written, Seq: docs[written].Seq}
	}
	return taken
}

// SetHead records the item's new head and state (and stamps a change sequence number) unless its
// head is already at or past head.Seq. It returns an error when a field cannot be encrypted, or an
// Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) SetHead(ctx context.Context, it evidence.Item, head evidence.Head, st evidence.State) error {
	x := s.keys.in(ctx).sealing(it.CaseID)
	stDoc := toEvidenceStateDoc(x, it.ID, st)
	if x.err != nil {
		return x.err
	}
	seq, done, err := s.db.BeginChange(ctx, it.OrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(evidenceItemsCollection, it.ID)()
	_, err = s.db.updateByID(ctx, s.items(), it.ID,
		bson.D{{Key: "head_seq", Value: bson.D{{Key: "$lt", Value: head.Seq}}}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "head_seq", Value: head.Seq}, {Key: "head", Value: evidenceHeadDoc{Hash: head.Hash, Receipt: head.Receipt}},
			{Key: "state", Value: stDoc}, {Key: "updated_at", Value: time.Now().UTC().Truncate(time.Millisecond)}, {Key: "change_seq", Value: seq},
		}}})
	if err != nil {
		return unavailable("moving the head of evidence item %s: %w", it.ID, err)
	}
	return nil
}

// Event returns event seq of an item, and false when there is none. It returns an Unavailable
// *apperr.Error when the database fails.
func (s *EvidenceStore) Event(ctx context.Context, itemID string, seq int64) (evidence.Event, bool, error) {
	var d evidenceEventDoc
	err := s.events().FindOne(ctx, bson.D{{Key: "_id", Value: EvidenceEventID(itemID, seq)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return evidence.Event{}, false, nil
	}
	if err != nil {
		return evidence.Event{}, false, unavailable("reading custody event %s:%d: %w", itemID, seq, err)
	}
	return fromEvidenceEventDoc(s.keys.in(ctx), d), true, nil
}

// EventIDs returns the client id and Seq of every event of an item (one query, read once per item
// by each process, which then keeps the set up to date). It returns an Unavailable *apperr.Error
// when the database fails.
func (s *EvidenceStore) EventIDs(ctx context.Context, itemID string) (map[string]int64, error) {
	cur, err := s.db.find(ctx, s.events(), bson.D{{Key: "item_id", Value: itemID}},
		options.Find().SetProjection(bson.D{{Key: "event_id", Value: 1}, {Key: "seq", Value: 1}}))
	if err != nil {
		return nil, unavailable("reading the event ids of %s: %w", itemID, err)
	}
	var docs []struct {
		EventID string `bson:"event_id"`
		Seq     int64  `bson:"seq"`
	}
	if err := cur.All(ctx, &docs); err != nil {
		return nil, unavailable("reading the event ids of %s: %w", itemID, err)
	}
	out := make(map[string]int64, len(docs))
	for _, d := range docs {
		out[d.EventID] = d.Seq
	}
	return out, nil
}

// Events returns up to limit events of an item with Seq > after, ascending. It returns an
// Unavailable *apperr.Error when the database fails.
func (s *EvidenceStore) Events(ctx context.Context, itemID string, after int64, limit int) ([]evidence.Event, error) {
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[evidenceEventDoc](ctx, s.db, s.events(), bson.D{{Key: "item_id", Value: itemID}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: after}}}}, opts, "reading the custody chain of %s: %w", itemID)
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, func(d evidenceEventDoc) evidence.Event { return fromEvidenceEventDoc(s.keys.in(ctx), d) }), nil
}

// ScanEvents calls fn with every event of an item in ascending Seq order. It returns fn's first
// error as is, an error when a document cannot be decoded, or an Unavailable *apperr.Error when the
// database fails.
func (s *EvidenceStore) ScanEvents(ctx context.Context, itemID string, fn func(evidence.Event) error) error {
	if s.db.ferret { // only _id lookups use an index there: read the events by number
		return walkByID(ctx, func(ctx context.Context, seq int64) (evidence.Event, bool, error) {
			return s.Event(ctx, itemID, seq)
		}, fn)
	}
	opts := options.Find().SetSort(bson.D{{Key: "seq", Value: 1}})
	cur, err := s.db.find(ctx, s.events(), bson.D{{Key: "item_id", Value: itemID}}, opts)
	if err != nil {
		return unavailable("scanning the custody chain of %s: %w", itemID, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		var d evidenceEventDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("decoding a custody event of %s: %w", itemID, err)
		}
		if err := fn(fromEvidenceEventDoc(s.keys.in(ctx), d)); err != nil {
			return err
		}
	}
	if err := cur.Err(); err != nil {
		return unavailable("scanning the custody chain of %s: %w", itemID, err)
	}
	return nil
}

var _ evidence.Store = (*EvidenceStore)(nil)
