package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// Consents live in one collection, one document per consent, _id the consent id, stamped with the
// case's organisation's change sequence for device sync (a pull-only record type). The notes are
// encrypted under the case's data key (erasing the case erases them), bound to
// "consent:<id>:<field>". A consent is inserted once and changed once at most, by its withdrawal,
// a conditional update on its version.
const consentsCollection = "consents"

type consentWithdrawalDoc struct {
	At         time.Time `bson:"at"`
	ReceivedAt time.Time `bson:"received_at"`
	By         string    `bson:"by"`
	Note       string    `bson:"note"` // encrypted
}

type consentDoc struct {
	ID              string                `bson:"_id"`
	OrgID           string                `bson:"org_id"`
	CaseID          string                `bson:"case_id"`
	GivenBy         string                `bson:"given_by"`
	LegalBasis      string                `bson:"legal_basis"`
	Purposes        []string              `bson:"purposes"`
	OrganisationIDs []string              `bson:"organisation_ids"`
	Parts           []string              `bson:"parts"`
	Note            string                `bson:"note"` // encrypted
	GivenAt         time.Time             `bson:"given_at"`
	ValidFrom       time.Time             `bson:"valid_from"`
	ValidUntil      *time.Time            `bson:"valid_until"`
	RecordedBy      string                `bson:"recorded_by"`
	CreatedAt       time.Time             `bson:"created_at"`
	Withdrawal      *consentWithdrawalDoc `bson:"withdrawal"`
	Version         int64                 `bson:"version"`
	// Sync metadata: the time and the organisation's change sequence number of the last write.
	UpdatedAt time.Time `bson:"updated_at"`
	ChangeSeq int64     `bson:"change_seq"`
}

// ConsentStore implements consent.Store.
type ConsentStore struct {
	db   *DB
	keys *CaseKeys
}

// Consents returns the consent store, encrypting with keys.
func (d *DB) Consents(keys *fieldcrypt.KeyRing) *ConsentStore {
	return &ConsentStore{db: d, keys: d.CaseKeys(keys)}
}

// ensureSharingIndexes creates the indexes of consents and referrals: a case's consents in order,
// a case's referrals, and an organisation's referral inbox. It is idempotent and returns the first
// error the server gives.
func (d *DB) ensureSharingIndexes(ctx context.Context) error {
	indexes := map[string][]mongo.IndexModel{
		consentsCollection: {
			{Keys: bson.D{{Key: "case_id", Value: 1}, {Key: "created_at", Value: 1}}, Options: options.Index().SetName("case_created")},
			{Keys: bson.D{{Key: "org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("org_change_seq")},
		},
		referralsCollection: {
			{Keys: bson.D{{Key: "from_case_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("from_case")},
			{Keys: bson.D{{Key: "to_org_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("to_org")},
			{Keys: bson.D{{Key: "to_case_id", Value: 1}}, Options: options.Index().SetName("to_case")},
			{Keys: bson.D{{Key: "to_org_id", Value: 1}, {Key: "change_seq", Value: 1}}, Options: options.Index().SetName("to_org_change_seq")},
		},
	}
	for _, coll := range []string{consentsCollection, referralsCollection} {
		if err := d.ensureIndexes(ctx, coll, indexes[coll]); err != nil {
			return err
		}
	}
	return nil
}

// RawConsentsCollection returns the consents collection itself, bypassing encryption: for tests only.
func (s *ConsentStore) RawConsentsCollection() *mongo.Collection {
	return s.db.db.Collection(consentsCollection)
}

func (s *ConsentStore) coll() *mongo.Collection { return s.db.db.Collection(consentsCollection) }

func consentAAD(id, field string) string { return "consent:" + id + ":" + field }

func toConsentDoc(keys keyScope, c consent.Consent) (consentDoc, error) {
	x := keys.sealing(c.CaseID)
	d := consentDoc{ID: c.ID, OrgID: c.OrgID, CaseID: c.CaseID, GivenBy: string(c.GivenBy), LegalBasis: string(c.LegalBasis),
		Purposes: codesOf(c.Purposes), OrganisationIDs: append([]string{}, c.OrganisationIDs...), Parts: codesOf(c.Parts),
		Note: x.seal(c.Note, consentAAD(c.ID, "note")), GivenAt: c.GivenAt, ValidFrom: c.ValidFrom, ValidUntil: c.ValidUntil,
		RecordedBy: c.RecordedBy, CreatedAt: c.CreatedAt, Version: c.Version}
	if w := c.Withdrawal; w != nil {
		d.Withdrawal = &consentWithdrawalDoc{At: w.At, ReceivedAt: w.ReceivedAt, By: w.By, Note: x.seal(w.Note, consentAAD(c.ID, "withdrawal.note"))}
	}
	return d, x.err
}

func fromConsentDoc(keys keyScope, d consentDoc) (consent.Consent, error) {
	x := keys.opening(d.CaseID)
	c := consent.Consent{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, GivenBy: consent.GivenBy(d.GivenBy), LegalBasis: consent.LegalBasis(d.LegalBasis),
		Purposes: typedCodes[consent.Purpose](d.Purposes), OrganisationIDs: d.OrganisationIDs, Parts: typedCodes[consent.Part](d.Parts),
		Note: x.open(d.Note, consentAAD(d.ID, "note")), GivenAt: d.GivenAt.UTC(), ValidFrom: d.ValidFrom.UTC(), ValidUntil: utcPtr(d.ValidUntil),
		RecordedBy: d.RecordedBy, CreatedAt: d.CreatedAt.UTC(), Version: d.Version}
	if w := d.Withdrawal; w != nil {
		c.Withdrawal = &consent.Withdrawal{At: w.At.UTC(), ReceivedAt: w.ReceivedAt.UTC(), By: w.By, Note: x.open(w.Note, consentAAD(d.ID, "withdrawal.note"))}
	}
	return c, x.err
}

// codesOf converts vocabulary codes to strings (never nil).
func codesOf[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// typedCodes converts stored strings to vocabulary codes.
func typedCodes[T ~string](values []string) []T {
	out := make([]T, len(values))
	for i, v := range values {
		out[i] = T(v)
	}
	return out
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateConsent stores a new consent. It returns consent.ErrExists when the id is taken, an error
// when a field cannot be encrypted (the case was erased), or the driver's error.
func (s *ConsentStore) CreateConsent(ctx context.Context, c consent.Consent) error {
	doc, err := toConsentDoc(s.keys.in(ctx), c)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, c.OrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq, doc.UpdatedAt = seq, c.CreatedAt
	return insertNew(ctx, s.coll(), doc, consent.ErrExists, "consent "+c.ID)
}

// Consent returns a consent: consent.ErrNotFound when there is none, an error when a field cannot
// be decrypted, or the driver's error.
func (s *ConsentStore) Consent(ctx context.Context, id string) (consent.Consent, error) {
	var d consentDoc
	if err := findByID(ctx, s.coll(), id, &d, consent.ErrNotFound, "consent "+id); err != nil {
		return consent.Consent{}, err
	}
	return fromConsentDoc(s.keys.in(ctx), d)
}

// ListConsents returns the consents of a case by creation time, then id. It returns an error when a
// field cannot be decrypted, or the driver's error.
func (s *ConsentStore) ListConsents(ctx context.Context, caseID string) ([]consent.Consent, error) {
	opts := options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}})
	docs, err := findDocs[consentDoc](ctx, s.db, s.coll(), bson.D{{Key: "case_id", Value: caseID}}, opts, "listing consents: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d consentDoc) (consent.Consent, error) { return fromConsentDoc(s.keys.in(ctx), d) })
}

// WithdrawConsent stores the withdrawal of c when the stored consent is at c.Version-1 and not
// withdrawn. It returns consent.ErrStale otherwise, consent.ErrNotFound when there is none, an error
// when the note cannot be encrypted, or the driver's error. Writes to one consent are serialized in
// the process (the embedded database's updates are not atomic).
func (s *ConsentStore) WithdrawConsent(ctx context.Context, c consent.Consent) error {
	doc, err := toConsentDoc(s.keys.in(ctx), c)
	if err != nil {
		return err
	}
	// The number is taken before the document lock (both locks share stripes).
	seq, done, err := s.db.BeginChange(ctx, c.OrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(consentsCollection, c.ID)()
	var old struct {
		Version    int64                 `bson:"version"`
		Withdrawal *consentWithdrawalDoc `bson:"withdrawal"`
	}
	if err := findByID(ctx, s.coll(), c.ID, &old, consent.ErrNotFound, "consent "+c.ID); err != nil {
		return err
	}
	if old.Version != c.Version-1 || old.Withdrawal != nil {
		return consent.ErrStale
	}
	res, err := s.db.updateByID(ctx, s.coll(), c.ID, bson.D{{Key: "version", Value: c.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "withdrawal", Value: doc.Withdrawal}, {Key: "version", Value: c.Version},
			{Key: "updated_at", Value: c.Withdrawal.ReceivedAt}, {Key: "change_seq", Value: seq}}}})
	if err != nil {
		return unavailable("withdrawing consent %s: %w", c.ID, err)
	}
	if res.MatchedCount == 0 {
		return consent.ErrStale
	}
	return nil
}
