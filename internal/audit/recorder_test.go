package audit

import (
	"context"
	"errors"
	"testing"
)

// RecordEvent is the port the domain services record through: it stores the event as an entry of
// its organisation's log with the request id of the context, and refuses what Record refuses.
func TestRecordEvent(t *testing.T) {
	t.Parallel()
	svc := NewService(newMemStore(), clock())
	ev := Event{OrgID: "org-a", ActorID: "u-1", ActorRole: "caseworker", DeviceID: "phone-1", Action: "case.read",
		ResourceType: "case", ResourceID: "c-1", Outcome: OutcomeSuccess}
	tests := []struct {
		name      string
		ctx       context.Context
		event     Event
		wantErr   error
		requestID string
	}{
		{"with a request id", WithRequestID(context.Background(), "req-42"), ev, nil, "req-42"},
		{"outside a request", context.Background(), ev, nil, ""},
		{"invalid event", WithRequestID(context.Background(), "req-43"), Event{OrgID: "org-a", Action: "Not An Action", Outcome: OutcomeSuccess}, ErrInvalidEntry, ""},
	}
	var stored int
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svc.RecordEvent(tt.ctx, tt.event)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("RecordEvent = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			stored++
			entries, _, err := svc.List(context.Background(), "org-a", Filter{}, int64(stored-1), 1)
			if err != nil || len(entries) != 1 {
				t.Fatalf("List = %+v, %v", entries, err)
			}
			got := entries[0]
			want := Entry{OrgID: ev.OrgID, ActorID: ev.ActorID, ActorRole: ev.ActorRole, DeviceID: ev.DeviceID, Action: ev.Action,
				ResourceType: ev.ResourceType, ResourceID: ev.ResourceID, Outcome: ev.Outcome, RequestID: tt.requestID}
			got.Seq, got.Time, got.PrevHash, got.Hash = 0, want.Time, "", ""
			if got != want {
				t.Errorf("stored %+v, want %+v", got, want)
			}
		})
	}
}
