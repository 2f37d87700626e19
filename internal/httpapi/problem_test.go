package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/locales"
)

// The problem of a pushed sync operation is built as the error handler builds a response's: every
// kind of error mapped, labels in messages translated, in the request's language, with its id.
func TestSyncResultProblems(t *testing.T) {
	t.Parallel()
	cat, err := i18n.New(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{deps: Deps{Catalog: cat}}
	ctx := audit.WithRequestID(context.WithValue(context.Background(), ctxLocale, "fr"), "req-7")
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		wantDetail string
	}{
		{"labelled values translated", apperr.New(apperr.Invalid, "draft_status", "ErrDraftStatus",
			map[string]any{"Status": apperr.Label("draft.status.editing"), "Want": apperr.Label("draft.status.approved")}), 400, "draft_status", "« en cours de rédaction »"},
		{"a role without the right", fmt.Errorf("pushing: %w", identity.ErrForbidden), 403, "forbidden", "Votre rôle ne permet pas cette action."},
		{"a sign-in lock", &identity.LockedError{RetryAfter: 3 * time.Second}, 429, "too_many_attempts", ""},
		{"a deadline", fmt.Errorf("applying: %w", context.DeadlineExceeded), 503, "timeout", "Le traitement de la requête a pris trop de temps"},
		{"anything else", errors.New("disk on fire"), 500, "internal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := s.problemOf(ctx, tt.err)
			if p.Status != tt.status || p.Code != tt.code || p.RequestID != "req-7" || p.Instance != "/v1/sync/push" {
				t.Errorf("problem %+v, want status %d, code %s, request req-7", p, tt.status, tt.code)
			}
			if p.Title == "" || p.Detail == "" || !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("title %q, detail %q, want one containing %q", p.Title, p.Detail, tt.wantDetail)
			}
			if strings.Contains(p.Detail, "disk on fire") {
				t.Errorf("internal details shown: %q", p.Detail)
			}
		})
	}
}
