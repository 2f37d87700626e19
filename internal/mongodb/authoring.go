package mongodb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

const (
	authoringDraftsCollection      = "protocol_drafts"
	authoringRetirementsCollection = "protocol_retirements"
)

// authoringDraftDoc is a protocol draft; _id is the draft id. Its content (protocol, translations
// and the source text each translation was made from) is stored as canonical JSON: it is read and
// written whole and never queried inside. Protocol content is published guidance, not case data, so
// it is not encrypted.
type authoringDraftDoc struct {
	ID               string               `bson:"_id"`
	ProtocolID       string               `bson:"protocol_id"`
	BaseVersion      int                  `bson:"base_version"`
	Status           string               `bson:"status"`
	Content          []byte               `bson:"content"`
	Authors          []string             `bson:"authors"`
	Review           []authoringReviewDoc `bson:"review"`
	PublishedVersion int                  `bson:"published_version"`
	CreatedAt        time.Time            `bson:"created_at"`
	UpdatedAt        time.Time            `bson:"updated_at"`
	CreatedBy        string               `bson:"created_by"`
	Version          int64                `bson:"version"`
}

type authoringReviewDoc struct {
	Action  string    `bson:"action"`
	By      string    `bson:"by"`
	At      time.Time `bson:"at"`
	Comment string    `bson:"comment"`
}

// authoringContent is the JSON form of a draft's content.
type authoringContent struct {
	Protocol       protocol.Protocol     `json:"protocol"`
	Translations   protocol.Translations `json:"translations"`
	TranslatedFrom protocol.Translations `json:"translated_from"`
}

// authoringRetirementDoc records that a protocol was retired; _id is the protocol id.
type authoringRetirementDoc struct {
	ID        string    `bson:"_id"`
	RetiredAt time.Time `bson:"retired_at"`
	RetiredBy string    `bson:"retired_by"`
	Reason    string    `bson:"reason"`
}

// AuthoringStore implements authoring.Store.
type AuthoringStore struct{ db *DB }

// Authoring returns the authoring store.
func (d *DB) Authoring() *AuthoringStore { return &AuthoringStore{db: d} }

// ensureAuthoringIndexes creates the index of drafts by protocol. It is idempotent and returns the
// server's error.
func (d *DB) ensureAuthoringIndexes(ctx context.Context) error {
	return d.ensureIndexes(ctx, authoringDraftsCollection, []mongo.IndexModel{
		{Keys: bson.D{{Key: "protocol_id", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("protocol_id")},
	})
}

func (s *AuthoringStore) drafts() *mongo.Collection {
	return s.db.db.Collection(authoringDraftsCollection)
}

func toAuthoringDraftDoc(d authoring.Draft) (authoringDraftDoc, error) {
	content, err := json.Marshal(authoringContent{Protocol: d.Protocol, Translations: d.Translations, TranslatedFrom: d.TranslatedFrom})
	if err != nil {
		return authoringDraftDoc{}, fmt.Errorf("encoding draft %s: %w", d.ID, err)
	}
	review := make([]authoringReviewDoc, len(d.Review))
	for i, r := range d.Review {
		review[i] = authoringReviewDoc(r)
	}
	authors := d.Authors
	if authors == nil {
		authors = []string{}
	}
	return authoringDraftDoc{ID: d.ID, ProtocolID: d.ProtocolID, BaseVersion: d.BaseVersion, Status: string(d.Status),
		Content: content, Authors: authors, Review: review, PublishedVersion: d.PublishedVersion,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, CreatedBy: d.CreatedBy, Version: d.Version}, nil
}

func fromAuthoringDraftDoc(doc authoringDraftDoc) (authoring.Draft, error) {
	var c authoringContent
	if err := json.Unmarshal(doc.Content, &c); err != nil {
		return authoring.Draft{}, fmt.Errorf("decoding draft %s: %w", doc.ID, err)
	}
	if c.Translations == nil {
		c.Translations = protocol.Translations{}
	}
	if c.TranslatedFrom == nil {
		c.TranslatedFrom = protocol.Translations{}
	}
	d := authoring.Draft{ID: doc.ID, ProtocolID: doc.ProtocolID, BaseVersion: doc.BaseVersion, Status: authoring.Status(doc.Status),
		Protocol: c.Protocol, Translations: c.Translations, TranslatedFrom: c.TranslatedFrom, Authors: doc.Authors,
		PublishedVersion: doc.PublishedVersion, CreatedAt: doc.CreatedAt.UTC(), UpdatedAt: doc.UpdatedAt.UTC(),
		CreatedBy: doc.CreatedBy, Version: doc.Version}
	for _, r := range doc.Review {
		d.Review = append(d.Review, authoring.ReviewEntry{Action: r.Action, By: r.By, At: r.At.UTC(), Comment: r.Comment})
	}
	return d, nil
}

// CreateDraft stores a new draft. It returns authoring.ErrExists when the id is taken, or the
// driver's error.
func (s *AuthoringStore) CreateDraft(ctx context.Context, d authoring.Draft) error {
	doc, err := toAuthoringDraftDoc(d)
	if err != nil {
		return err
	}
	return insertNew(ctx, s.drafts(), doc, authoring.ErrExists, "draft "+d.ID)
}

// Draft returns a draft: authoring.ErrNotFound when there is none, or the driver's error.
func (s *AuthoringStore) Draft(ctx context.Context, id string) (authoring.Draft, error) {
	var doc authoringDraftDoc
	if err := findByID(ctx, s.drafts(), id, &doc, authoring.ErrNotFound, "draft "+id); err != nil {
		return authoring.Draft{}, err
	}
	return fromAuthoringDraftDoc(doc)
}

// ListDrafts returns up to limit drafts of protocolID ("" for all) with ids after afterID, by id. It
// returns the driver's error.
func (s *AuthoringStore) ListDrafts(ctx context.Context, protocolID, afterID string, limit int) ([]authoring.Draft, error) {
	filter := bson.D{}
	if protocolID != "" {
		filter = append(filter, bson.E{Key: "protocol_id", Value: protocolID})
	}
	if afterID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}})
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit))
	docs, err := findDocs[authoringDraftDoc](ctx, s.db, s.drafts(), filter, opts, "listing drafts: %w")
	if err != nil {
		return nil, err
	}
	return convertAll(docs, fromAuthoringDraftDoc)
}

// UpdateDraft replaces draft d.ID when its stored version is d.Version-1. It returns
// authoring.ErrStale when the version differs, authoring.ErrNotFound when it does not exist, or the
// driver's error.
func (s *AuthoringStore) UpdateDraft(ctx context.Context, d authoring.Draft) error {
	doc, err := toAuthoringDraftDoc(d)
	if err != nil {
		return err
	}
	defer s.db.locks.document(authoringDraftsCollection, d.ID)()
	res, err := s.db.replaceByID(ctx, s.drafts(), d.ID, bson.D{{Key: "version", Value: d.Version - 1}}, doc)
	if err != nil {
		return unavailable("updating draft %s: %w", d.ID, err)
	}
	if res.MatchedCount == 0 {
		n, err := s.drafts().CountDocuments(ctx, bson.D{{Key: "_id", Value: d.ID}})
		if err != nil {
			return unavailable("reading draft %s: %w", d.ID, err)
		}
		if n == 0 {
			return authoring.ErrNotFound
		}
		return authoring.ErrStale
	}
	return nil
}

// Retire records a retirement. It returns authoring.ErrExists when the protocol is already retired,
// or the driver's error.
func (s *AuthoringStore) Retire(ctx context.Context, r authoring.Retirement) error {
	doc := authoringRetirementDoc{ID: r.ProtocolID, RetiredAt: r.RetiredAt, RetiredBy: r.RetiredBy, Reason: r.Reason}
	if err := insertNew(ctx, s.db.db.Collection(authoringRetirementsCollection), doc, authoring.ErrExists, "the retirement of "+r.ProtocolID); err != nil {
		return err
	}
	defer s.db.locks.document(headsCollection, r.ProtocolID)()
	if _, err := s.db.db.Collection(headsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: r.ProtocolID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "retired", Value: true}}}}); err != nil {
		return unavailable("retiring the head of %s: %w", r.ProtocolID, err)
	}
	return nil
}

// Retirement returns the retirement of a protocol: authoring.ErrNotFound when it is not retired, or
// the driver's error.
func (s *AuthoringStore) Retirement(ctx context.Context, protocolID string) (authoring.Retirement, error) {
	var doc authoringRetirementDoc
	coll := s.db.db.Collection(authoringRetirementsCollection)
	if err := findByID(ctx, coll, protocolID, &doc, authoring.ErrNotFound, "the retirement of "+protocolID); err != nil {
		return authoring.Retirement{}, err
	}
	return authoring.Retirement{ProtocolID: doc.ID, RetiredAt: doc.RetiredAt.UTC(), RetiredBy: doc.RetiredBy, Reason: doc.Reason}, nil
}

// CountRuns counts the runs of organisation orgID on each version of protocolID, with the distinct
// cases they belong to, by version. It reads three identifiers of each run (a projection: no step
// records, nothing encrypted). It returns the driver's error.
func (s *AuthoringStore) CountRuns(ctx context.Context, orgID, protocolID string) ([]authoring.RunCount, error) {
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 0}, {Key: "protocol_version", Value: 1}, {Key: "case_id", Value: 1}})
	cur, err := s.db.find(ctx, s.db.db.Collection(caseworkRunsCollection),
		bson.D{{Key: "org_id", Value: orgID}, {Key: "protocol_id", Value: protocolID}}, opts)
	if err != nil {
		return nil, unavailable("counting runs of %s: %w", protocolID, err)
	}
	var rows []struct {
		Version int    `bson:"protocol_version"`
		CaseID  string `bson:"case_id"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, unavailable("counting runs of %s: %w", protocolID, err)
	}
	byVersion := map[int]*authoring.RunCount{}
	seen := map[int]map[string]bool{}
	for _, r := range rows {
		rc, ok := byVersion[r.Version]
		if !ok {
			rc = &authoring.RunCount{Version: r.Version}
			byVersion[r.Version], seen[r.Version] = rc, map[string]bool{}
		}
		rc.Runs++
		if !seen[r.Version][r.CaseID] {
			seen[r.Version][r.CaseID] = true
			rc.CaseIDs = append(rc.CaseIDs, r.CaseID)
		}
	}
	res := make([]authoring.RunCount, 0, len(byVersion))
	for _, rc := range byVersion {
		res = append(res, *rc)
	}
	slices.SortFunc(res, func(a, b authoring.RunCount) int { return a.Version - b.Version })
	return res, nil
}

// OpenCases returns which of caseIDs are open cases of organisation orgID, reading ids and statuses
// only, in one query. It returns the driver's error.
func (s *AuthoringStore) OpenCases(ctx context.Context, orgID string, caseIDs []string) (map[string]bool, error) {
	open := map[string]bool{}
	if len(caseIDs) == 0 {
		return open, nil
	}
	opts := options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}})
	cur, err := s.db.find(ctx, s.db.db.Collection(caseworkCasesCollection), bson.D{
		{Key: "_id", Value: bson.D{{Key: "$in", Value: caseIDs}}}, {Key: "org_id", Value: orgID}, {Key: "status", Value: "open"}}, opts)
	if err != nil {
		return nil, unavailable("finding open cases: %w", err)
	}
	var rows []struct {
		ID string `bson:"_id"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, unavailable("finding open cases: %w", err)
	}
	for _, r := range rows {
		open[r.ID] = true
	}
	return open, nil
}

var _ authoring.Store = (*AuthoringStore)(nil)
