package config

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.Port != 8080 || c.DataDir != "./data" || c.MongoDBDatabase != "caseguide" || c.MongoDBURI != "" {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "environment", env: map[string]string{"PORT": "9000", "LOG_LEVEL": "debug", "PROTOCOLS_DIR": "/p"}, check: func(t *testing.T, c Config) {
			if c.Port != 9000 || c.LogLevel.String() != "DEBUG" || c.ProtocolsDir != "/p" {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "flags win over environment", env: map[string]string{"PORT": "9000"}, args: []string{"-port", "9100"}, check: func(t *testing.T, c Config) {
			if c.Port != 9100 {
				t.Errorf("port = %d", c.Port)
			}
		}},
		{name: "bad port", env: map[string]string{"PORT": "eighty"}, wantErr: "PORT"},
		{name: "port out of range", env: map[string]string{"PORT": "70000"}, wantErr: "outside"},
		{name: "bad log level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
		{name: "bad uri scheme", env: map[string]string{"MONGODB_URI": "http://x"}, wantErr: "MONGODB_URI"},
		{name: "bad database name", env: map[string]string{"MONGODB_DATABASE": "a.b"}, wantErr: "MONGODB_DATABASE"},
		{name: "bad duration", env: map[string]string{"REQUEST_TIMEOUT": "soon"}, wantErr: "REQUEST_TIMEOUT"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected"},
		{name: "bootstrap password too short", env: map[string]string{"BOOTSTRAP_ADMIN_PASSWORD": "short"}, wantErr: "BOOTSTRAP_ADMIN_PASSWORD breaks the password rules (too_short: at least 12 characters)"},
		{name: "bootstrap password common", env: map[string]string{"BOOTSTRAP_ADMIN_PASSWORD": "password1234"}, wantErr: "too_common"},
		{name: "bootstrap password holds the user name", env: map[string]string{"BOOTSTRAP_ADMIN_PASSWORD": "my admin passphrase"}, wantErr: "contains_username"},
		{name: "metrics token too short", env: map[string]string{"METRICS_TOKEN": "short"}, wantErr: "METRICS_TOKEN"},
		{name: "TLS certificate without key", env: map[string]string{"TLS_CERT_FILE": "/c.pem"}, wantErr: "TLS_CERT_FILE and TLS_KEY_FILE"},
		{name: "bootstrap password fine", env: map[string]string{"BOOTSTRAP_ADMIN_PASSWORD": "a long bootstrap passphrase"}, check: func(t *testing.T, c Config) {}},
		{name: "required locales", env: map[string]string{"AUTHORING_REQUIRED_LOCALES": " fr, en,fr "}, check: func(t *testing.T, c Config) {
			if !slices.Equal(c.RequiredLocales, []string{"fr", "en"}) {
				t.Errorf("RequiredLocales = %v", c.RequiredLocales)
			}
		}},
		{name: "every locale by default", check: func(t *testing.T, c Config) {
			if len(c.RequiredLocales) != 6 {
				t.Errorf("RequiredLocales = %v, want the six supported", c.RequiredLocales)
			}
		}},
		{name: "unsupported required locale", env: map[string]string{"AUTHORING_REQUIRED_LOCALES": "en,xx"}, wantErr: `"xx" is not a supported locale`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestMaskURI(t *testing.T) {
	t.Parallel()
	got := MaskURI("mongodb://app:s3cret@db.internal:27017/?replicaSet=rs0")
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "app:xxxxx@") {
		t.Errorf("MaskURI = %q", got)
	}
	c, err := Load(nil, func(k string) string {
		return map[string]string{"BOOTSTRAP_ADMIN_PASSWORD": "hunter2hunter2", "FIELD_KEYS": "k1:c2VjcmV0"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range c.LogAttrs() {
		if v := a.Value.String(); strings.Contains(v, "hunter2") || strings.Contains(v, "c2VjcmV0") {
			t.Errorf("%s shows a secret: %s", a.Key, v)
		}
	}
	if MaskURI("") != "" {
		t.Error("empty uri should stay empty")
	}
}
