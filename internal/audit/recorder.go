package audit

import (
	"context"
	"fmt"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Event is one thing to audit as a domain service reports it: who (actor) did what (action) to which
// resource, and how it ended. Like Entry it holds identifiers only, never content. Recorder.RecordEvent
// stores it as an Entry of the log of OrgID, with the request id the context carries.
type Event struct {
	OrgID        string  // the organisation whose log records it (DeploymentLog: the deployment's own)
	ActorID      string  // the user who acted; empty when unknown
	ActorRole    string  // the role the actor acted in, or their roles comma-separated when none applies
	DeviceID     string  // the device the request came from, or empty
	Action       string  // "<resource>.<verb>", e.g. "case.read"
	ResourceType string  // the kind of record acted on, e.g. "case", "user", "evidence_item"
	ResourceID   string  // its id; empty for lists
	Outcome      Outcome // success, denied or failure
}

// Recorder is the audit port of the domain services: every read and write they audit goes through
// it. Service implements it; tests use an in-memory one.
type Recorder interface {
	// RecordEvent stores e with the request id of ctx (see WithRequestID). An error means the event
	// may not be stored, and the operation that made e must fail: auditing cannot be skipped.
	RecordEvent(ctx context.Context, e Event) error
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request it serves; RecordEvent writes it into
// the entries recorded with that context, to join them with service logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id WithRequestID put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RecordEvent implements Recorder: it records e in the log of e.OrgID with the request id of ctx.
// It returns Record's errors.
func (s *Service) RecordEvent(ctx context.Context, e Event) error {
	_, err := s.Record(ctx, Entry{OrgID: e.OrgID, ActorID: e.ActorID, ActorRole: e.ActorRole, DeviceID: e.DeviceID,
		Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: e.Outcome,
		RequestID: RequestID(ctx)})
	return err
}

// Record records e with rec. It returns rec's error, naming e's action: the operation that made e
// must then fail.
func Record(ctx context.Context, rec Recorder, e Event) error {
	if err := rec.RecordEvent(ctx, e); err != nil {
		return fmt.Errorf("recording %s: %w", e.Action, err)
	}
	return nil
}

// Refusal records e, an action refused with cause, and returns cause, or rec's error when e could not
// be recorded. A resource id that is not a UUID (what a caller sent, which may hold anything) is left
// out of the log.
func Refusal(ctx context.Context, rec Recorder, e Event, cause error) error {
	if !apperr.ValidUUID(e.ResourceID) {
		e.ResourceID = ""
	}
	if err := Record(ctx, rec, e); err != nil {
		return err
	}
	return cause
}
