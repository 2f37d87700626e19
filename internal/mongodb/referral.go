package mongodb

import (
	"cmp"
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/consent"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/referral"
	"github.com/childsafe-protocols/caseguide/internal/report"
)

// Referrals live in one collection, one document per referral, _id the referral id. The sender's
// note, the reason and the outcome are encrypted under the sender's case key, the receiver's own
// note under the receiving case's key, bound to "referral:<id>:<field>". Ids, organisations, codes,
// statuses and times are in clear: the inbox filters on them and they say nothing about the child.
// A referral changes by conditional updates on its version.
const referralsCollection = "referrals"

type referralStepDoc struct {
	Status string    `bson:"status"`
	At     time.Time `bson:"at"`
	OrgID  string    `bson:"org_id"`
	By     string    `bson:"by"`
}

type referralDoc struct {
	ID           string            `bson:"_id"`
	Kind         string            `bson:"kind"`
	FromOrgID    string            `bson:"from_org_id"`
	FromCaseID   string            `bson:"from_case_id"`
	SentBy       string            `bson:"sent_by"`
	ToOrgID      string            `bson:"to_org_id"`
	ToCaseID     string            `bson:"to_case_id"`
	Service      string            `bson:"service"`
	Urgency      string            `bson:"urgency"`
	Parts        []string          `bson:"parts"`
	ConsentID    string            `bson:"consent_id"`
	Note         string            `bson:"note"`          // encrypted (sender's case key)
	Status       string            `bson:"status"`        //
	Reason       string            `bson:"reason"`        // encrypted (sender's case key)
	Outcome      string            `bson:"outcome"`       // encrypted (sender's case key)
	ReceiverNote string            `bson:"receiver_note"` // encrypted (receiving case's key)
	SentAt       time.Time         `bson:"sent_at"`
	UpdatedAt    time.Time         `bson:"updated_at"`
	History      []referralStepDoc `bson:"history"`
	Version      int64             `bson:"version"`
	// ChangeSeq is the receiving organisation's change sequence number of the last write: received
	// referrals reach its devices (a pull-only sync record type, filtered on to_org_id).
	ChangeSeq int64 `bson:"change_seq"`
}

// ReferralStore implements referral.Store.
type ReferralStore struct {
	db   *DB
	keys *CaseKeys
}

// Referrals returns the referral store, encrypting with keys.
func (d *DB) Referrals(keys *fieldcrypt.KeyRing) *ReferralStore {
	return &ReferralStore{db: d, keys: d.CaseKeys(keys)}
}

// RawReferralsCollection returns the referrals collection itself, bypassing encryption: for tests only.
func (s *ReferralStore) RawReferralsCollection() *mongo.Collection {
	return s.db.db.Collection(referralsCollection)
}

func (s *ReferralStore) coll() *mongo.Collection { return s.db.db.Collection(referralsCollection) }

func referralAAD(id, field string) string { return "referral:" + id + ":" + field }

func toReferralDoc(keys keyScope, r referral.Referral) (referralDoc, error) {
	x := keys.sealing(r.FromCaseID)
	d := referralDoc{ID: r.ID, Kind: string(r.Kind), FromOrgID: r.FromOrgID, FromCaseID: r.FromCaseID, SentBy: r.SentBy,
		ToOrgID: r.ToOrgID, ToCaseID: r.ToCaseID, Service: string(r.Service), Urgency: string(r.Urgency), Parts: codesOf(r.Parts),
		ConsentID: r.ConsentID, Note: x.seal(r.Note, referralAAD(r.ID, "note")), Status: string(r.Status),
		Reason: x.seal(r.Reason, referralAAD(r.ID, "reason")), Outcome: x.seal(r.Outcome, referralAAD(r.ID, "outcome")),
		SentAt: r.SentAt, UpdatedAt: r.UpdatedAt, History: make([]referralStepDoc, len(r.History)), Version: r.Version}
	for i, st := range r.History {
		d.History[i] = referralStepDoc{Status: string(st.Status), At: st.At, OrgID: st.OrgID, By: st.By}
	}
	if x.err != nil {
		return referralDoc{}, x.err
	}
	if r.ReceiverNote != "" && r.ToCaseID != "" {
		y := keys.sealing(r.ToCaseID)
		d.ReceiverNote = y.seal(r.ReceiverNote, referralAAD(r.ID, "receiver_note"))
		return d, y.err
	}
	return d, nil
}

func fromReferralDoc(keys keyScope, d referralDoc) (referral.Referral, error) {
	x := keys.opening(d.FromCaseID)
	r := referral.Referral{ID: d.ID, Kind: referral.Kind(d.Kind), FromOrgID: d.FromOrgID, FromCaseID: d.FromCaseID, SentBy: d.SentBy,
		ToOrgID: d.ToOrgID, ToCaseID: d.ToCaseID, Service: identity.ServiceKind(d.Service), Urgency: referral.Urgency(d.Urgency),
		Parts: typedCodes[consent.Part](d.Parts), ConsentID: d.ConsentID, Note: x.open(d.Note, referralAAD(d.ID, "note")),
		Status: referral.Status(d.Status), Reason: x.open(d.Reason, referralAAD(d.ID, "reason")),
		Outcome: x.open(d.Outcome, referralAAD(d.ID, "outcome")), SentAt: d.SentAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		History: make([]referral.Step, len(d.History)), Version: d.Version}
	for i, st := range d.History {
		r.History[i] = referral.Step{Status: referral.Status(st.Status), At: st.At.UTC(), OrgID: st.OrgID, By: st.By}
	}
	if x.err != nil {
		return referral.Referral{}, x.err
	}
	if d.ReceiverNote != "" && d.ToCaseID != "" {
		y := keys.opening(d.ToCaseID)
		r.ReceiverNote = y.open(d.ReceiverNote, referralAAD(d.ID, "receiver_note"))
		return r, y.err
	}
	return r, nil
}

// CreateReferral stores a new referral. It returns referral.ErrExists when the id is taken, an error
// when a field cannot be encrypted, or the driver's error.
func (s *ReferralStore) CreateReferral(ctx context.Context, r referral.Referral) error {
	doc, err := toReferralDoc(s.keys.in(ctx), r)
	if err != nil {
		return err
	}
	seq, done, err := s.db.BeginChange(ctx, r.ToOrgID)
	if err != nil {
		return err
	}
	defer done()
	doc.ChangeSeq = seq
	return insertNew(ctx, s.coll(), doc, referral.ErrExists, "referral "+r.ID)
}

// Referral returns a referral: referral.ErrNotFound when there is none, an error when a field cannot
// be decrypted, or the driver's error.
func (s *ReferralStore) Referral(ctx context.Context, id string) (referral.Referral, error) {
	var d referralDoc
	if err := findByID(ctx, s.coll(), id, &d, referral.ErrNotFound, "referral "+id); err != nil {
		return referral.Referral{}, err
	}
	return fromReferralDoc(s.keys.in(ctx), d)
}

func (s *ReferralStore) list(ctx context.Context, filter bson.D, limit int) ([]referral.Referral, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	docs, err := findDocs[referralDoc](ctx, s.db, s.coll(), filter, opts, "listing referrals: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, func(d referralDoc) (referral.Referral, error) { return fromReferralDoc(s.keys.in(ctx), d) })
}

// ListByCase returns the referrals sent from a case, by id, or the driver's or decryption error.
func (s *ReferralStore) ListByCase(ctx context.Context, caseID string) ([]referral.Referral, error) {
	return s.list(ctx, bson.D{{Key: "from_case_id", Value: caseID}}, 0)
}

// ListReceived returns up to limit referrals sent to organisation orgID (status "": any) with ids
// after afterID, by id, or the driver's or decryption error.
func (s *ReferralStore) ListReceived(ctx context.Context, orgID string, status referral.Status, afterID string, limit int) ([]referral.Referral, error) {
	filter := bson.D{{Key: "to_org_id", Value: orgID}}
	if afterID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}})
	}
	if status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(status)})
	}
	return s.list(ctx, filter, limit)
}

// UpdateReferral replaces the mutable fields of referral r.ID when its stored version is
// r.Version-1. It returns referral.ErrStale when it is not, referral.ErrNotFound when there is no
// such referral, an error when a field cannot be encrypted, or the driver's error. Writes to one
// referral are serialized in the process (the embedded database's updates are not atomic).
func (s *ReferralStore) UpdateReferral(ctx context.Context, r referral.Referral) error {
	doc, err := toReferralDoc(s.keys.in(ctx), r)
	if err != nil {
		return err
	}
	// The number is taken before the document lock (both locks share stripes).
	seq, done, err := s.db.BeginChange(ctx, r.ToOrgID)
	if err != nil {
		return err
	}
	defer done()
	defer s.db.locks.document(referralsCollection, r.ID)()
	var old struct {
		Version int64 `bson:"version"`
	}
	if err := findByID(ctx, s.coll(), r.ID, &old, referral.ErrNotFound, "referral "+r.ID); err != nil {
		return err
	}
	if old.Version != r.Version-1 {
		return referral.ErrStale
	}
	res, err := s.db.updateByID(ctx, s.coll(), r.ID, bson.D{{Key: "version", Value: r.Version - 1}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "status", Value: doc.Status}, {Key: "to_case_id", Value: doc.ToCaseID}, {Key: "reason", Value: doc.Reason},
			{Key: "outcome", Value: doc.Outcome}, {Key: "receiver_note", Value: doc.ReceiverNote}, {Key: "history", Value: doc.History},
			{Key: "updated_at", Value: doc.UpdatedAt}, {Key: "version", Value: doc.Version}, {Key: "change_seq", Value: seq},
		}}})
	if err != nil {
		return unavailable("updating referral %s: %w", r.ID, err)
	}
	if res.MatchedCount == 0 {
		return referral.ErrStale
	}
	return nil
}

// OpenReferral reports whether a referral sent from or received into case caseID is open (sent,
// accepted or in progress), or returns the driver's error.
func (s *ReferralStore) OpenReferral(ctx context.Context, caseID string) (bool, error) {
	for _, field := range []string{"from_case_id", "to_case_id"} {
		docs, err := findDocs[struct {
			Status string `bson:"status"`
		}](ctx, s.db, s.coll(), bson.D{{Key: field, Value: caseID}}, options.Find().SetProjection(bson.D{{Key: "status", Value: 1}}), "reading referrals of case %s: %w", caseID)
		if err != nil {
			return false, err
		}
		for _, d := range docs {
			if referral.Status(d.Status).Open() {
				return true, nil
			}
		}
	}
	return false, nil
}

// ReferralCounts returns the referrals organisation orgID sent or received with a sending time in
// [from, to), counted by direction ("sent", "received"), service and outcome (the referral's
// status now: its free-text outcome is encrypted and never counted), ordered by direction, service
// and outcome; or the driver's error. It implements report.ReferralSource.
func (s *ReferralStore) ReferralCounts(ctx context.Context, orgID string, from, to time.Time) ([]report.ReferralCount, error) {
	type fact struct {
		FromOrgID string `bson:"from_org_id"`
		ToOrgID   string `bson:"to_org_id"`
		Service   string `bson:"service"`
		Status    string `bson:"status"`
	}
	filter := bson.D{{Key: "$or", Value: bson.A{bson.D{{Key: "from_org_id", Value: orgID}}, bson.D{{Key: "to_org_id", Value: orgID}}}},
		{Key: "sent_at", Value: bson.D{{Key: "$gte", Value: from}, {Key: "$lt", Value: to}}}}
	proj := bson.D{{Key: "from_org_id", Value: 1}, {Key: "to_org_id", Value: 1}, {Key: "service", Value: 1}, {Key: "status", Value: 1}}
	docs, err := findDocs[fact](ctx, s.db, s.coll(), filter, options.Find().SetProjection(proj), "counting referrals: %w")
	if err != nil {
		return nil, err
	}
	counts := map[report.ReferralCount]int{}
	for _, d := range docs {
		if d.FromOrgID == orgID {
			counts[report.ReferralCount{Direction: "sent", Service: d.Service, Outcome: d.Status}]++
		}
		if d.ToOrgID == orgID {
			counts[report.ReferralCount{Direction: "received", Service: d.Service, Outcome: d.Status}]++
		}
	}
	out := make([]report.ReferralCount, 0, len(counts))
	for k, n := range counts {
		k.Count = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b report.ReferralCount) int {
		return cmp.Or(cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Service, b.Service), cmp.Compare(a.Outcome, b.Outcome))
	})
	return out, nil
}
