package config

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestRetentionAfterClose(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	tests := []struct {
		value string
		want  time.Duration
		bad   bool
	}{
		{"", 5 * 365 * day, false},
		{"5y", 5 * 365 * day, false},
		{"90d", 90 * day, false},
		{"0s", 0, false},
		{"720h", 720 * time.Hour, false},
		{"-1h", 0, true},
		{"five years", 0, true},
		{"-2y", 0, true},
		{"y", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"RETENTION_AFTER_CLOSE": tt.value, "DATA_DIR": t.TempDir()}
			c, err := Load(nil, func(k string) string { return env[k] }, io.Discard)
			if tt.bad {
				if err == nil || !strings.Contains(err.Error(), "RETENTION_AFTER_CLOSE") {
					t.Fatalf("err = %v, want one naming RETENTION_AFTER_CLOSE", err)
				}
				return
			}
			if err != nil || c.RetentionAfterClose != tt.want {
				t.Fatalf("RetentionAfterClose = %v, %v; want %v", c.RetentionAfterClose, err, tt.want)
			}
		})
	}
}
