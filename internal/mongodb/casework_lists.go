package mongodb

import (
	"context"
	"slices"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// caseSummaryFields are the fields ListCaseSummaries reads (what an overview of open cases uses):
// no encrypted field but those inside child, which it does not decrypt; the unresolved flags'
// kinds (Case.Flags) for the time standards that apply to flagged cases only.
var caseSummaryFields = bson.D{{Key: "org_id", Value: 1}, {Key: "child", Value: 1}, {Key: "case_types", Value: 1},
	{Key: "caseworker_ids", Value: 1}, {Key: "opened_at", Value: 1}, {Key: "active_flags", Value: 1}}

// runProgressFields are the fields ListRunProgress reads.
var runProgressFields = bson.D{{Key: "org_id", Value: 1}, {Key: "case_id", Value: 1}, {Key: "protocol_id", Value: 1},
	{Key: "protocol_version", Value: 1}, {Key: "started_at", Value: 1}, {Key: "started_by", Value: 1}, {Key: "records", Value: 1}}

// maxInList is the most case ids one query of ListRunProgress names ($in).
const maxInList = 500

// ListCaseSummaries returns up to limit cases matching f with ids after afterID, by id, reading
// only the fields an overview of cases uses (a projection, which the embedded database answers
// without decoding the rest) and decrypting nothing: the fields casework.OpenWork lists for a
// case are set, every other is zero. It returns the driver's error.
func (s *CaseworkStore) ListCaseSummaries(ctx context.Context, f casework.StoreFilter, afterID string, limit int) ([]casework.Case, error) {
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)).SetProjection(caseSummaryFields)
	docs, err := findDocs[caseworkCaseDoc](ctx, s.db, s.cases(), caseFilter(f, afterID), opts, "listing cases: %w")
	if err != nil {
		return nil, err
	}
	return mapDocs(docs, caseSummary), nil
}

// caseSummary converts a case document without decrypting (see ListCaseSummaries).
func caseSummary(d caseworkCaseDoc) casework.Case {
	types := make([]protocol.CaseType, len(d.CaseTypes))
	for i, t := range d.CaseTypes {
		types[i] = protocol.CaseType(t)
	}
	n := d.Child.Needs
	c := casework.Case{ID: d.ID, OrgID: d.OrgID,
		Child: casework.Child{AgeBand: protocol.AgeBand(d.Child.AgeBand), BirthYear: d.Child.BirthYear, Gender: casework.Gender(d.Child.Gender),
			PreferredLanguage: d.Child.PreferredLanguage, Needs: casework.Needs{Interpreter: n.Interpreter, InterpreterLanguage: n.InterpreterLanguage,
				CommunicationAids: n.CommunicationAids, Disability: n.Disability, SupportPerson: n.SupportPerson}},
		CaseTypes: types, CaseworkerIDs: d.CaseworkerIDs, OpenedAt: d.OpenedAt.UTC(), Flags: append([]string{}, d.ActiveFlags...)}
	if c.CaseworkerIDs == nil {
		c.CaseworkerIDs = []string{}
	}
	return c
}

// ListRunProgress returns the runs of the cases caseIDs of organisation orgID, by case, start time
// and id, reading only what a run's progress needs (a projection) and decrypting nothing: each
// record's Reason and Note are empty. It returns the driver's error.
func (s *CaseworkStore) ListRunProgress(ctx context.Context, orgID string, caseIDs []string) ([]casework.Run, error) {
	var out []casework.Run
	for len(caseIDs) > 0 {
		ids := caseIDs[:min(len(caseIDs), maxInList)]
		caseIDs = caseIDs[len(ids):]
		filter := bson.D{{Key: "org_id", Value: orgID}, {Key: "case_id", Value: bson.D{{Key: "$in", Value: ids}}}}
		// Sorted here, not by the query: on the embedded database the index (org_id, case_id,
		// started_at) serves the query as it is, while a sort on _id too would make SQLite parse every
		// run's document to find its id.
		opts := options.Find().SetProjection(runProgressFields)
		docs, err := findDocs[caseworkRunDoc](ctx, s.db, s.runs(), filter, opts, "listing runs of organisation %s: %w", orgID)
		if err != nil {
			return nil, err
		}
		out = append(out, mapDocs(docs, runProgress)...)
	}
	slices.SortFunc(out, compareRunProgress)
	return out, nil
}

// runProgress converts a run document without decrypting (see ListRunProgress).
func runProgress(d caseworkRunDoc) casework.Run {
	r := casework.Run{ID: d.ID, OrgID: d.OrgID, CaseID: d.CaseID, ProtocolID: d.ProtocolID, ProtocolVersion: d.ProtocolVersion,
		StartedAt: d.StartedAt.UTC(), StartedBy: d.StartedBy, Records: make([]casework.StepRecord, 0, len(d.Records))}
	for _, rd := range d.Records {
		r.Records = append(r.Records, casework.StepRecord{StepID: rd.StepID, Status: casework.StepStatus(rd.Status),
			RecordedAt: rd.RecordedAt.UTC(), ReceivedAt: rd.ReceivedAt.UTC(), ByUserID: rd.ByUserID, ClientID: rd.ClientID})
	}
	return r
}

// caseFilter is the filter of ListCases and ListCaseSummaries.
func caseFilter(f casework.StoreFilter, afterID string) bson.D {
	filter := bson.D{{Key: "org_id", Value: f.OrgID}}
	if afterID != "" {
		filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: afterID}}})
	}
	if f.Status != "" {
		filter = append(filter, bson.E{Key: "status", Value: string(f.Status)})
	}
	if f.CaseType != "" {
		filter = append(filter, bson.E{Key: "case_types", Value: string(f.CaseType)})
	}
	if f.AgeBand != "" {
		filter = append(filter, bson.E{Key: "child.age_band", Value: string(f.AgeBand)})
	}
	if !f.UpdatedSince.IsZero() {
		filter = append(filter, bson.E{Key: "updated_at", Value: bson.D{{Key: "$gte", Value: f.UpdatedSince}}})
	}
	if f.Flag != "" {
		filter = append(filter, bson.E{Key: "active_flags", Value: f.Flag})
	}
	switch len(f.AssigneeIDs) {
	case 0:
	case 1:
		filter = append(filter, bson.E{Key: "caseworker_ids", Value: f.AssigneeIDs[0]})
	default:
		all := bson.A{}
		for _, id := range f.AssigneeIDs {
			all = append(all, bson.D{{Key: "caseworker_ids", Value: id}})
		}
		filter = append(filter, bson.E{Key: "$and", Value: all})
	}
	return filter
}
