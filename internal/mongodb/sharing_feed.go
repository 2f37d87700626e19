package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/devicesync"
)

// ConsentFeed returns the sync feed of consents: a case's consents reach the devices that hold the
// case (pull only).
func (s *ConsentStore) ConsentFeed() devicesync.Feed { return consentFeed{s} }

type consentFeed struct{ s *ConsentStore }

func (consentFeed) Type() string { return devicesync.TypeConsent }

// Changes returns the consents of q's range, by change_seq. It returns an error when a note cannot
// be decrypted, or the driver's error.
func (f consentFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	filter := seqFilter(q)
	if q.CaseIDs != nil {
		filter = append(filter, bson.E{Key: "case_id", Value: bson.D{{Key: "$in", Value: q.CaseIDs}}})
	}
	docs, err := findDocs[consentDoc](ctx, f.s.db, f.s.coll(), filter, seqOptions(q), "reading consent changes: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		c, err := fromConsentDoc(f.s.keys.in(ctx), d)
		if err != nil {
			return nil, err
		}
		out = append(out, devicesync.Record{Type: devicesync.TypeConsent, ID: c.ID, OrgID: c.OrgID, CaseID: c.CaseID, Seq: d.ChangeSeq,
			Version: c.Version, UpdatedAt: d.UpdatedAt.UTC(), Data: c})
	}
	return out, nil
}

// ReceivedFeed returns the sync feed of received referrals: the receiving organisation's supervisors
// get every one (the inbox), its caseworkers those of the receiving cases assigned to them (pull
// only). A referral's case is the receiving case ("" until accepted).
func (s *ReferralStore) ReceivedFeed() devicesync.Feed { return receivedFeed{s} }

type receivedFeed struct{ s *ReferralStore }

func (receivedFeed) Type() string { return devicesync.TypeReferralReceived }

// Changes returns the referrals received by q.OrgID in q's range, by change_seq. It returns an
// error when a field cannot be decrypted, or the driver's error.
func (f receivedFeed) Changes(ctx context.Context, q devicesync.Query) ([]devicesync.Record, error) {
	filter := bson.D{{Key: "to_org_id", Value: q.OrgID}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: q.AfterSeq}, {Key: "$lte", Value: q.UpToSeq}}}}
	if q.CaseIDs != nil {
		filter = append(filter, bson.E{Key: "to_case_id", Value: bson.D{{Key: "$in", Value: q.CaseIDs}}})
	}
	docs, err := findDocs[referralDoc](ctx, f.s.db, f.s.coll(), filter, seqOptions(q), "reading referral changes: %w")
	if err != nil {
		return nil, err
	}
	out := make([]devicesync.Record, 0, len(docs))
	for _, d := range docs {
		r, err := fromReferralDoc(f.s.keys.in(ctx), d)
		if err != nil {
			return nil, err
		}
		out = append(out, devicesync.Record{Type: devicesync.TypeReferralReceived, ID: r.ID, OrgID: r.ToOrgID, CaseID: r.ToCaseID, Seq: d.ChangeSeq,
			Version: r.Version, UpdatedAt: r.UpdatedAt, Data: r})
	}
	return out, nil
}
