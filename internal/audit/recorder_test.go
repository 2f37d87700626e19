package audit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/audit"
)

// recorderFunc is a Recorder made of a function.
type recorderFunc func(context.Context, audit.Event) error

func (f recorderFunc) RecordEvent(ctx context.Context, e audit.Event) error { return f(ctx, e) }

func TestRecordAndRefusal(t *testing.T) {
	t.Parallel()
	cause := errors.New("refused")
	broken := errors.New("log unavailable")
	const id = "0190d3a4-5b6c-7d8e-9f01-23456789abcd"
	tests := []struct {
		name      string
		id        string
		recordErr error
		wantID    string
		wantErr   error
	}{
		{"a UUID is kept", id, nil, id, cause},
		{"anything else is left out", "../../etc/passwd", nil, "", cause},
		{"the recorder's error wins", id, broken, id, broken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []audit.Event
			rec := recorderFunc(func(_ context.Context, e audit.Event) error {
				got = append(got, e)
				return tt.recordErr
			})
			e := audit.Event{Action: "case_flag.resolve", ResourceType: "case_flag", ResourceID: tt.id, Outcome: audit.OutcomeDenied}
			if err := audit.Refusal(context.Background(), rec, e, cause); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Refusal = %v, want %v", err, tt.wantErr)
			}
			if len(got) != 1 || got[0].ResourceID != tt.wantID || got[0].Action != e.Action {
				t.Fatalf("recorded %+v, want one %s event on %q", got, e.Action, tt.wantID)
			}
			err := audit.Record(context.Background(), rec, e)
			if !errors.Is(err, tt.recordErr) || (tt.recordErr != nil && err.Error() != "recording case_flag.resolve: log unavailable") {
				t.Fatalf("Record = %v, want %v named after the action", err, tt.recordErr)
			}
		})
	}
}
