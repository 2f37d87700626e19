package devicesync

import (
	"context"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Kind is one kind of push operation, a record type and an action, whose body decodes into P. The
// HTTP layer decodes an operation's body once into its kind's Payload (Kind.Data, Kind.Changes);
// the engine hands it, as P, to the Handler registered for that kind (Handle). A decoder and a
// handler of one kind share P, so the compiler checks that they agree.
type Kind[P any] struct {
	Type   string
	Action Action
}

// kindKey is a Kind without its payload type: how the engine finds an operation's handler.
type kindKey struct {
	typ    string
	action Action
}

func (k Kind[P]) key() kindKey { return kindKey{k.Type, k.Action} }

// Payload is an operation's body decoded into its kind's payload type; make one with Kind.Data or
// Kind.Changes.
type Payload interface{ payloadKind() kindKey }

type payload[P any] struct {
	key        kindKey
	data, base P
}

func (p payload[P]) payloadKind() kindKey { return p.key }

// Data returns the payload of an operation of kind k whose body is data.
func (k Kind[P]) Data(data P) Payload { return payload[P]{key: k.key(), data: data} }

// Changes returns the payload of an update of kind k: the changed fields and base, the device's
// values of those fields before its change (the handler merges when the server changed only
// others).
func (k Kind[P]) Changes(changes, base P) Payload {
	return payload[P]{key: k.key(), data: changes, base: base}
}

// Op is an operation with its payload as its kind's type: Data is the body (an update's changes),
// Base an update's base (zero for other actions).
type Op[P any] struct {
	Operation
	Data P
	Base P
}

// Created holds the ids of the records created by earlier operations of an all-or-nothing group,
// by record type then id, which a later operation of the group may refer to.
type Created map[string]map[string]bool

// Handler checks and applies the operations of one kind. Errors returned are *apperr.Error for
// client mistakes (the operation is rejected with it) or others (the push fails: 503/500).
type Handler[P any] struct {
	// Check validates op as far as possible without writing, for all-or-nothing groups.
	Check func(ctx context.Context, p identity.Principal, op Op[P], created Created) error
	// Apply applies op and returns its result (Status applied, merged or conflict, with Record or
	// Current set); a retried create or append (the same content) is applied again as a no-op.
	Apply func(ctx context.Context, p identity.Principal, op Op[P]) (Result, error)
}

// Applier is the handler of one kind of operation as the engine holds it (see Handle).
type Applier interface {
	kind() kindKey
	check(ctx context.Context, p identity.Principal, op Operation, created Created) error
	apply(ctx context.Context, p identity.Principal, op Operation) (Result, error)
}

// Handle binds h to the operations of kind k.
func Handle[P any](k Kind[P], h Handler[P]) Applier { return applier[P]{key: k.key(), h: h} }

type applier[P any] struct {
	key kindKey
	h   Handler[P]
}

func (a applier[P]) kind() kindKey { return a.key }

// typed returns op with its payload as P, or the field error of a missing payload (the one
// conversion from the decoded body to the handler's type; a payload of another kind is missing).
func (a applier[P]) typed(op Operation) (Op[P], error) {
	pl, ok := op.Payload.(payload[P])
	if !ok || pl.key != a.key {
		field := "data"
		if op.Action == ActionUpdate {
			field = "changes"
		}
		return Op[P]{}, badPayload(field)
	}
	return Op[P]{Operation: op, Data: pl.data, Base: pl.base}, nil
}

func (a applier[P]) check(ctx context.Context, p identity.Principal, op Operation, created Created) error {
	t, err := a.typed(op)
	if err != nil {
		return err
	}
	if a.h.Check == nil {
		return nil
	}
	return a.h.Check(ctx, p, t, created)
}

func (a applier[P]) apply(ctx context.Context, p identity.Principal, op Operation) (Result, error) {
	t, err := a.typed(op)
	if err != nil {
		return Result{}, err
	}
	return a.h.Apply(ctx, p, t)
}

func badPayload(field string) error {
	return apperr.Validation(apperr.FieldError{Field: field, Code: "required", MessageID: "field.required"})
}

func errAction(a Action) error {
	return apperr.Validation(apperr.FieldError{Field: "action", Code: "unsupported", MessageID: "field.sync_action", Data: map[string]any{"Action": string(a)}})
}

func errBaseVersion() error {
	return apperr.Validation(apperr.FieldError{Field: "base_version", Code: "required", MessageID: "field.required"})
}

// applierFor returns the handler of op's kind, or the client error of an operation no handler
// takes: an unknown type, or an action its type does not have.
func (s *Service) applierFor(op Operation) (Applier, error) {
	if a, ok := s.appliers[kindKey{op.Type, op.Action}]; ok {
		return a, nil
	}
	if s.pushTypes[op.Type] {
		return nil, errAction(op.Action)
	}
	return nil, errUnknownType(op.Type)
}
