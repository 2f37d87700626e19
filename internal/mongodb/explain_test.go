package mongodb_test

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/dbtest"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// queryShapes are the filters and sorts the stores send, one of each shape (values are placeholders:
// what matters is which fields are constrained and how). Add a store's new query here.
var queryShapes = []struct {
	name, coll   string
	filter, sort bson.D
}{
	{"case list page", "cases", bson.D{{Key: "org_id", Value: "o"}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: "a"}}}, {Key: "status", Value: "open"}}, bson.D{{Key: "_id", Value: 1}}},
	{"case list of an assignee", "cases", bson.D{{Key: "org_id", Value: "o"}, {Key: "caseworker_ids", Value: "u"}}, bson.D{{Key: "_id", Value: 1}}},
	{"case list updated since", "cases", bson.D{{Key: "org_id", Value: "o"}, {Key: "updated_at", Value: bson.D{{Key: "$gte", Value: time.Unix(0, 0)}}}}, bson.D{{Key: "_id", Value: 1}}},
	{"case sync window", "cases", bson.D{{Key: "org_id", Value: "o"}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: 1}, {Key: "$lte", Value: 9}}}}, bson.D{{Key: "change_seq", Value: 1}}},
	{"cases stored before sync", "cases", bson.D{{Key: "change_seq", Value: bson.D{{Key: "$exists", Value: false}}}}, nil},
	{"open cases among ids", "cases", bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}}, {Key: "org_id", Value: "o"}, {Key: "status", Value: "open"}}, nil},
	{"runs of a case", "runs", bson.D{{Key: "case_id", Value: "c"}}, bson.D{{Key: "started_at", Value: 1}, {Key: "_id", Value: 1}}},
	{"runs of open cases (worklist)", "runs", bson.D{{Key: "org_id", Value: "o"}, {Key: "case_id", Value: bson.D{{Key: "$in", Value: bson.A{"a", "b"}}}}}, nil},
	{"runs of a protocol (usage)", "runs", bson.D{{Key: "org_id", Value: "o"}, {Key: "protocol_id", Value: "p"}}, nil},
	{"run sync window", "runs", bson.D{{Key: "org_id", Value: "o"}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: 1}}}}, bson.D{{Key: "change_seq", Value: 1}}},
	{"runs stored before sync", "runs", bson.D{{Key: "change_seq", Value: bson.D{{Key: "$exists", Value: false}}}}, nil},
	{"audit list", "audit_log", bson.D{{Key: "org_id", Value: "o"}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: 0}}}, {Key: "action", Value: "case.read"}}, bson.D{{Key: "seq", Value: 1}}},
	{"audit list of an actor", "audit_log", bson.D{{Key: "org_id", Value: "o"}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: 0}}}, {Key: "actor_id", Value: "u"}}, bson.D{{Key: "seq", Value: 1}}},
	{"audit list of a resource", "audit_log", bson.D{{Key: "org_id", Value: "o"}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: 0}}}, {Key: "resource_type", Value: "case"}, {Key: "resource_id", Value: "c"}}, bson.D{{Key: "seq", Value: 1}}},
	{"first audit entry since a time", "audit_log", bson.D{{Key: "org_id", Value: "o"}, {Key: "time", Value: bson.D{{Key: "$gte", Value: time.Unix(0, 0)}}}}, bson.D{{Key: "time", Value: 1}}},
	{"audit scan (verification)", "audit_log", bson.D{{Key: "org_id", Value: "o"}}, bson.D{{Key: "seq", Value: 1}}},
	{"newest audit entry", "audit_log", bson.D{{Key: "org_id", Value: "o"}}, bson.D{{Key: "seq", Value: -1}}},
	{"evidence of a case", "evidence_items", bson.D{{Key: "case_id", Value: "c"}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "created_at", Value: bson.D{{Key: "$gt", Value: time.Unix(0, 0)}}}},
		bson.D{{Key: "created_at", Value: time.Unix(0, 0)}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: "a"}}}}}}}, bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
	{"evidence sync window", "evidence_items", bson.D{{Key: "org_id", Value: "o"}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: 1}}}}, bson.D{{Key: "change_seq", Value: 1}}},
	{"custody events of an item", "evidence_events", bson.D{{Key: "item_id", Value: "i"}, {Key: "seq", Value: bson.D{{Key: "$gt", Value: 0}}}}, bson.D{{Key: "seq", Value: 1}}},
	{"custody event sync window", "evidence_events", bson.D{{Key: "org_id", Value: "o"}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: 1}}}}, bson.D{{Key: "change_seq", Value: 1}}},
	{"interviews of a case", "interview_sessions", bson.D{{Key: "case_id", Value: "c"}}, bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}},
	{"review queue page", "interview_sessions", bson.D{{Key: "org_id", Value: "o"}, {Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{"submitted", "resubmitted"}}}}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "submitted_at", Value: bson.D{{Key: "$gt", Value: time.Unix(0, 0)}}}},
		bson.D{{Key: "submitted_at", Value: time.Unix(0, 0)}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: "x"}}}}}}}, bson.D{{Key: "submitted_at", Value: 1}, {Key: "_id", Value: 1}}},
	{"review queue first page", "interview_sessions", bson.D{{Key: "org_id", Value: "o"}, {Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{"submitted", "resubmitted"}}}}, {Key: "submitted_at", Value: bson.D{{Key: "$ne", Value: nil}}}}, bson.D{{Key: "submitted_at", Value: 1}, {Key: "_id", Value: 1}}},
	{"review queue and coaching", "interview_sessions", bson.D{{Key: "org_id", Value: "o"}, {Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{"submitted"}}}}, {Key: "interviewer_id", Value: "u"}}, bson.D{{Key: "_id", Value: 1}}},
	{"coaching snapshot, full read", "interview_sessions", bson.D{{Key: "org_id", Value: "o"}, {Key: "status", Value: bson.D{{Key: "$in", Value: bson.A{"submitted", "resubmitted", "approved"}}}}}, nil},
	{"interview sync window", "interview_sessions", bson.D{{Key: "org_id", Value: "o"}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: 1}}}}, bson.D{{Key: "change_seq", Value: 1}}},
	{"interview log sync window", "interview_logs", bson.D{{Key: "org_id", Value: "o"}, {Key: "change_seq", Value: bson.D{{Key: "$gt", Value: 1}}}}, bson.D{{Key: "change_seq", Value: 1}}},
	{"users of an organisation", "users", bson.D{{Key: "org_id", Value: "o"}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: "a"}}}}, bson.D{{Key: "_id", Value: 1}}},
	{"user by name", "users", bson.D{{Key: "username", Value: "n"}}, nil},
	{"devices of a user", "devices", bson.D{{Key: "org_id", Value: "o"}, {Key: "user_id", Value: "u"}}, bson.D{{Key: "_id", Value: 1}}},
	{"sync states of devices", "sync_devices", bson.D{{Key: "org_id", Value: "o"}}, bson.D{{Key: "device_id", Value: 1}}},
	{"drafts of a protocol", "protocol_drafts", bson.D{{Key: "protocol_id", Value: "p"}, {Key: "_id", Value: bson.D{{Key: "$gt", Value: "a"}}}}, bson.D{{Key: "_id", Value: 1}}},
	{"versions of a protocol", "protocol_versions", bson.D{{Key: "protocol_id", Value: "p"}}, bson.D{{Key: "version", Value: 1}}},
}

// On MongoDB every query shape the stores make is served by an index: the planner's winning plan for
// each shape (with the indexes EnsureAllIndexes creates) holds no COLLSCAN. It needs a real MongoDB
// (MONGODB_TEST_URI): FerretDB's explain does not describe its plans this way.
func TestQueryShapesUseIndexes(t *testing.T) {
	if os.Getenv("MONGODB_TEST_URI") == "" {
		t.Skip("set MONGODB_TEST_URI to a MongoDB server to check that every query shape uses an index")
	}
	t.Parallel()
	ctx := context.Background()
	db := dbtest.Open(t)
	for _, q := range queryShapes {
		t.Run(q.name, func(t *testing.T) {
			find := bson.D{{Key: "find", Value: q.coll}, {Key: "filter", Value: q.filter}}
			if q.sort != nil {
				find = append(find, bson.E{Key: "sort", Value: q.sort})
			}
			var out bson.M
			cmd := bson.D{{Key: "explain", Value: find}, {Key: "verbosity", Value: "queryPlanner"}}
			if err := db.Collection(q.coll).Database().RunCommand(ctx, cmd).Decode(&out); err != nil {
				t.Fatal(err)
			}
			planner, _ := out["queryPlanner"].(bson.M)
			if stages := planStages(planner["winningPlan"]); len(stages) == 0 || slices.Contains(stages, "COLLSCAN") {
				t.Errorf("winning plan of %s on %s: %v (a collection scan or no plan)", q.name, q.coll, stages)
			}
		})
	}
}

// planStages lists the stages of an explained plan, depth first.
func planStages(plan any) []string {
	m, ok := plan.(bson.M)
	if !ok {
		return nil
	}
	var out []string
	if s, ok := m["stage"].(string); ok {
		out = append(out, s)
	}
	for _, key := range []string{"inputStage", "queryPlan", "winningPlan"} {
		out = append(out, planStages(m[key])...)
	}
	if inputs, ok := m["inputStages"].(bson.A); ok {
		for _, in := range inputs {
			out = append(out, planStages(in)...)
		}
	}
	return out
}

// On the embedded database every listed query shape is answered from its tables (with the same
// index definitions), none by FerretDB's scan of the collection.
func TestQueryShapesTranslate(t *testing.T) {
	t.Parallel()
	for _, q := range queryShapes {
		opts := options.Find()
		if q.sort != nil {
			opts.SetSort(q.sort)
		}
		if !mongodb.Translates(q.filter, opts) {
			t.Errorf("%s: the embedded tables do not answer it", q.name)
		}
	}
}
