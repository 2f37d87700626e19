package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want Kind
	}{
		{"plain error is internal", errors.New("boom"), Internal},
		{"typed error", New(NotFound, "protocol_not_found", "ErrProtocolNotFound", nil), NotFound},
		{"wrapped typed error", fmt.Errorf("loading: %w", New(Conflict, "stale", "ErrStale", nil)), Conflict},
		{"validation", Validation(FieldError{Field: "limit"}), Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorUnwrap(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	e := &Error{Kind: Unavailable, Code: "db", Err: cause}
	if !errors.Is(e, cause) {
		t.Fatal("errors.Is does not reach the cause")
	}
	if e.Error() == "" || Kind(99).String() != "internal" {
		t.Fatal("unexpected string forms")
	}
}
