package config

import (
	"io"
	"strings"
	"testing"
)

// The console's OpenID Connect settings: read from the environment, the secret masked in the
// start-up log, and a redirect URL that could not be the console's callback refused.
func TestLoadConsoleOIDC(t *testing.T) {
	t.Parallel()
	base := map[string]string{"OIDC_ISSUER_URL": "https://login.example.org/realms/a", "OIDC_AUDIENCE": "caseguide", "OIDC_DEFAULT_ORG": "default"}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"all set", map[string]string{"OIDC_CLIENT_ID": "console", "OIDC_CLIENT_SECRET": "s3cret-value", "OIDC_PROVIDER_NAME": "Agency Login",
			"OIDC_REDIRECT_URL": "https://cases.example.org/console/login/oidc/callback"}, ""},
		{"none set", nil, ""},
		{"relative redirect", map[string]string{"OIDC_REDIRECT_URL": "/console/login/oidc/callback"}, "OIDC_REDIRECT_URL"},
		{"another path", map[string]string{"OIDC_REDIRECT_URL": "https://cases.example.org/callback"}, "OIDC_REDIRECT_URL"},
		{"another scheme", map[string]string{"OIDC_REDIRECT_URL": "ftp://cases.example.org/console/login/oidc/callback"}, "OIDC_REDIRECT_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := Load(nil, func(k string) string { return env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.OIDCClientID != env["OIDC_CLIENT_ID"] || c.OIDCClientSecret != env["OIDC_CLIENT_SECRET"] ||
				c.OIDCProviderName != env["OIDC_PROVIDER_NAME"] || c.OIDCRedirectURL != env["OIDC_REDIRECT_URL"] {
				t.Errorf("got %+v", c)
			}
			for _, a := range c.LogAttrs() {
				if strings.Contains(a.Value.String(), "s3cret") {
					t.Errorf("the client secret is in the start-up log as %s", a.Key)
				}
			}
		})
	}
}
