package devicesync

import (
	"slices"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/interview"
)

func ptr[T any](v T) *T { return &v }

// merge decides field by field, the same for every record type: a field the server did not change
// since the device's base merges, one it changed too conflicts, one already as wanted is left alone.
func TestMergeSessionFields(t *testing.T) {
	t.Parallel()
	cur := interview.Session{Version: 3, Plan: interview.Plan{Place: "Room 3", ChildFriendlyRoom: true,
		Participants: []interview.Participant{{Role: interview.RoleInterviewer, Name: "A."}}}}
	tests := []struct {
		name                         string
		baseVersion                  int64
		ch, base                     SessionChanges
		changed, merged, conflicting []string
	}{
		{"current version", 3, SessionChanges{Place: ptr("Room 4")}, SessionChanges{}, []string{"plan.place"}, []string{"plan.place"}, nil},
		{"stale, untouched field", 2, SessionChanges{Place: ptr("Room 4")}, SessionChanges{Place: ptr("Room 3")}, []string{"plan.place"}, []string{"plan.place"}, nil},
		{"stale, same field", 2, SessionChanges{Place: ptr("Room 4")}, SessionChanges{Place: ptr("Room 2")}, []string{"plan.place"}, nil, []string{"plan.place"}},
		{"stale, no base", 2, SessionChanges{Place: ptr("Room 4")}, SessionChanges{}, []string{"plan.place"}, nil, []string{"plan.place"}},
		{"stale, already so", 2, SessionChanges{Place: ptr("Room 3")}, SessionChanges{Place: ptr("Room 2")}, []string{"plan.place"}, nil, nil},
		{"stale, one of each", 2,
			SessionChanges{Place: ptr("Room 4"), ChildFriendlyRoom: ptr(false), Participants: &[]interview.Participant{}},
			SessionChanges{Place: ptr("Room 2"), ChildFriendlyRoom: ptr(true), Participants: &[]interview.Participant{{Role: interview.RoleInterviewer, Name: "A."}}},
			[]string{"plan.place", "plan.child_friendly_room", "plan.participants"}, []string{"plan.child_friendly_room", "plan.participants"}, []string{"plan.place"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := merge(sessionFields, cur, cur.Version, tt.baseVersion, tt.ch, tt.base)
			if !slices.Equal(m.changed, tt.changed) || !slices.Equal(m.merged, tt.merged) || !slices.Equal(m.conflicting, tt.conflicting) {
				t.Errorf("changed %v merged %v conflicting %v; want %v %v %v", m.changed, m.merged, m.conflicting, tt.changed, tt.merged, tt.conflicting)
			}
			if slices.Contains(m.merged, "plan.place") && m.want.Plan.Place != *tt.ch.Place {
				t.Errorf("merged place %q", m.want.Plan.Place)
			}
			if cur.Plan.Place != "Room 3" || len(cur.Plan.Participants) != 1 {
				t.Errorf("merge changed the current session: %+v", cur.Plan)
			}
		})
	}
}
