package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/locales"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

// /readyz follows the database: 200 while it answers, 503 when it does not.
func TestReadyzReflectsTheDatabase(t *testing.T) {
	t.Parallel()
	cat, err := i18n.New(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		db         pinger
		wantStatus int
		wantBody   string
	}{
		{"database answers", pinger{}, 200, `"database":"ok"`},
		{"database down", pinger{errors.New("connection refused")}, 503, `"database":"unreachable"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			app, _ := New(Deps{Log: log, Catalog: cat, Protocols: protocol.NewService(nil, log), Database: tt.db,
				BodyLimit: 1 << 20, RequestTimeout: time.Second})
			resp, err := app.Test(httptest.NewRequest("GET", "/readyz", nil))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("status %d body %s", resp.StatusCode, body)
			}
			if strings.Contains(string(body), "connection refused") {
				t.Error("the database error reached the client")
			}
		})
	}
}
