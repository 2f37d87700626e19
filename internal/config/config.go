// Package config reads the service's configuration from environment variables and command-line
// flags (flags win), validates it, and describes it for the start-up log with secrets masked.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Config is the service's configuration.
type Config struct {
	Host            string        // HOST: interface to listen on ("" = all)
	Port            int           // PORT: TCP port (0 = any free port)
	DataDir         string        // DATA_DIR: embedded database files and generated keys
	MongoDBURI      string        // MONGODB_URI: external MongoDB; empty = embedded database
	MongoDBDatabase string        // MONGODB_DATABASE
	LogLevel        slog.Level    // LOG_LEVEL: debug, info, warn, error
	ProtocolsDir    string        // PROTOCOLS_DIR: protocol library folder; empty = the shipped library
	RequestTimeout  time.Duration // REQUEST_TIMEOUT
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT
	BodyLimit       int           // BODY_LIMIT_BYTES
	RefreshInterval time.Duration // LIBRARY_REFRESH_INTERVAL: how often an instance picks up versions others published
	DBTimeout       time.Duration // DB_CONNECT_TIMEOUT: how long to wait for the database at start
	PurgeInterval   time.Duration // PURGE_INTERVAL: how often expired sessions and old sign-in failure counters are deleted

	BootstrapAdminPassword string        // BOOTSTRAP_ADMIN_PASSWORD: the first admin's password (secret)
	JWTKeyFile             string        // JWT_PRIVATE_KEY_FILE: Ed25519 PKCS#8 PEM; empty = created under DATA_DIR
	FieldKeys              string        // FIELD_KEYS: field-encryption key ring (secret); empty = created under DATA_DIR
	TokenIssuer            string        // TOKEN_ISSUER: iss and aud of access tokens
	AccessTokenTTL         time.Duration // ACCESS_TOKEN_TTL
	RefreshTokenTTL        time.Duration // REFRESH_TOKEN_TTL
	OIDCIssuerURL          string        // OIDC_ISSUER_URL: enables an external OpenID Connect provider
	OIDCAudience           string        // OIDC_AUDIENCE: this service's client id there
	OIDCRolesClaim         string        // OIDC_ROLES_CLAIM: claim (dotted path) holding the roles
	OIDCOrgClaim           string        // OIDC_ORG_CLAIM: claim holding the organisation id
	OIDCDefaultOrg         string        // OIDC_DEFAULT_ORG: organisation of every provider user, instead of OIDC_ORG_CLAIM
	OIDCClientID           string        // OIDC_CLIENT_ID: the console's client id at the provider; empty = OIDC_AUDIENCE
	OIDCClientSecret       string        // OIDC_CLIENT_SECRET: the console's client secret (secret); empty for a public client (PKCE)
	OIDCProviderName       string        // OIDC_PROVIDER_NAME: the provider's name on the console's sign-in button; empty = the issuer's host
	OIDCRedirectURL        string        // OIDC_REDIRECT_URL: the console's callback URL registered at the provider; empty = from the request
	DeploymentAuditOrg     string        // DEPLOYMENT_AUDIT_ORG: organisation whose auditors read the deployment's audit log
	InterviewRulesFile     string        // INTERVIEW_RULES_FILE: JSON file of interview quality rules replacing the shipped ones
	TimeStandardsFile      string        // TIME_STANDARDS_FILE: JSON file of time standards (appointments) replacing the shipped ones
	RequiredLocales        []string      // AUTHORING_REQUIRED_LOCALES: comma-separated locales a draft must be complete in to publish (empty: all supported), parsed, without repeats

	IdempotencyRetention time.Duration // IDEMPOTENCY_RETENTION: how long Idempotency-Key responses and pushed operations' results are kept
	SyncSettle           time.Duration // SYNC_SETTLE: how long a change number whose write never reported its end holds back sync pulls (several instances: how far pulls lag)
	SyncSeveralInstances bool          // SYNC_SEVERAL_INSTANCES: other instances write to the database too: pulls lag every change by SYNC_SETTLE
	RetentionAfterClose  time.Duration // RETENTION_AFTER_CLOSE: how long a closed case is kept before it may be erased ("5y", "90d" or a Go duration; 0: as soon as closed)

	MetricsToken       string        // METRICS_TOKEN: bearer token /metrics requires (secret); empty: /metrics is open
	TLSCertFile        string        // TLS_CERT_FILE: PEM certificate chain; with TLS_KEY_FILE the service speaks HTTPS itself
	TLSKeyFile         string        // TLS_KEY_FILE: PEM private key of TLS_CERT_FILE
	ConsoleIdleTimeout time.Duration // CONSOLE_IDLE_TIMEOUT: a console session unused this long ends
	ConsoleLifetime    time.Duration // CONSOLE_SESSION_LIFETIME: a console session ends this long after sign-in, used or not
	ConsoleCookie      string        // CONSOLE_SECURE_COOKIE: auto (Secure when the request came over TLS), always or never
	// TrustedProxies (TRUSTED_PROXIES: comma-separated CIDRs or addresses) are the reverse proxies
	// whose X-Forwarded-For names the client; empty: the peer's address is the client's.
	TrustedProxies []netip.Prefix
}

// Load builds the configuration from getenv, then from flags in args (flags win).
// It returns an error naming every invalid setting.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var errs []error
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	envInt := func(name string, def int) int {
		v := env(name, strconv.Itoa(def))
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		}
		return n
	}
	envDur := func(name string, def time.Duration) time.Duration {
		v := env(name, def.String())
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a duration (for example 30s, 2m)", name, v))
		}
		return d
	}
	c := Config{
		Host:            env("HOST", ""),
		Port:            envInt("PORT", 8080),
		DataDir:         env("DATA_DIR", "./data"),
		MongoDBURI:      env("MONGODB_URI", ""),
		MongoDBDatabase: env("MONGODB_DATABASE", "caseguide"),
		ProtocolsDir:    env("PROTOCOLS_DIR", ""),
		RequestTimeout:  envDur("REQUEST_TIMEOUT", 15*time.Second),
		ShutdownTimeout: envDur("SHUTDOWN_TIMEOUT", 20*time.Second),
		BodyLimit:       envInt("BODY_LIMIT_BYTES", 1<<20),
		RefreshInterval: envDur("LIBRARY_REFRESH_INTERVAL", 30*time.Second),
		DBTimeout:       envDur("DB_CONNECT_TIMEOUT", 10*time.Second),
		PurgeInterval:   envDur("PURGE_INTERVAL", time.Hour),

		BootstrapAdminPassword: getenv("BOOTSTRAP_ADMIN_PASSWORD"),
		JWTKeyFile:             env("JWT_PRIVATE_KEY_FILE", ""),
		FieldKeys:              getenv("FIELD_KEYS"),
		TokenIssuer:            env("TOKEN_ISSUER", "caseguide"),
		AccessTokenTTL:         envDur("ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL:        envDur("REFRESH_TOKEN_TTL", 30*24*time.Hour),
		OIDCIssuerURL:          env("OIDC_ISSUER_URL", ""),
		OIDCAudience:           env("OIDC_AUDIENCE", ""),
		OIDCRolesClaim:         env("OIDC_ROLES_CLAIM", ""),
		OIDCOrgClaim:           env("OIDC_ORG_CLAIM", ""),
		OIDCDefaultOrg:         env("OIDC_DEFAULT_ORG", ""),
		OIDCClientID:           env("OIDC_CLIENT_ID", ""),
		OIDCClientSecret:       getenv("OIDC_CLIENT_SECRET"),
		OIDCProviderName:       env("OIDC_PROVIDER_NAME", ""),
		OIDCRedirectURL:        env("OIDC_REDIRECT_URL", ""),
		DeploymentAuditOrg:     env("DEPLOYMENT_AUDIT_ORG", "default"),
		InterviewRulesFile:     env("INTERVIEW_RULES_FILE", ""),
		TimeStandardsFile:      env("TIME_STANDARDS_FILE", ""),

		IdempotencyRetention: envDur("IDEMPOTENCY_RETENTION", 7*24*time.Hour),
		SyncSettle:           envDur("SYNC_SETTLE", 30*time.Second),
		SyncSeveralInstances: env("SYNC_SEVERAL_INSTANCES", "false") == "true",
		RetentionAfterClose:  retentionDur(env("RETENTION_AFTER_CLOSE", "5y"), &errs),

		MetricsToken:       getenv("METRICS_TOKEN"),
		TLSCertFile:        env("TLS_CERT_FILE", ""),
		TLSKeyFile:         env("TLS_KEY_FILE", ""),
		ConsoleIdleTimeout: envDur("CONSOLE_IDLE_TIMEOUT", 30*time.Minute),
		ConsoleLifetime:    envDur("CONSOLE_SESSION_LIFETIME", 12*time.Hour),
		ConsoleCookie:      env("CONSOLE_SECURE_COOKIE", "auto"),
	}
	var err error
	if c.RequiredLocales, err = parseLocales("AUTHORING_REQUIRED_LOCALES", env("AUTHORING_REQUIRED_LOCALES", "")); err != nil {
		errs = append(errs, err)
	}
	if v := c.ConsoleCookie; v != "auto" && v != "always" && v != "never" {
		errs = append(errs, fmt.Errorf("CONSOLE_SECURE_COOKIE=%q is not auto, always or never", v))
	}
	for _, v := range strings.Split(env("TRUSTED_PROXIES", ""), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if a, aerr := netip.ParseAddr(v); err != nil && aerr == nil {
			p, err = a.Prefix(a.BitLen())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("TRUSTED_PROXIES: %q is not a CIDR (10.0.0.0/8) or an address", v))
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if v := env("SYNC_SEVERAL_INSTANCES", "false"); v != "true" && v != "false" {
		errs = append(errs, fmt.Errorf("SYNC_SEVERAL_INSTANCES=%q is not true or false", v))
	}
	level := env("LOG_LEVEL", "info")

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Host, "host", c.Host, "interface to listen on (HOST)")
	fs.IntVar(&c.Port, "port", c.Port, "TCP port (PORT)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "folder for the embedded database and keys (DATA_DIR)")
	fs.StringVar(&c.MongoDBURI, "mongodb-uri", c.MongoDBURI, "MongoDB connection string; empty runs the embedded database (MONGODB_URI)")
	fs.StringVar(&c.MongoDBDatabase, "mongodb-database", c.MongoDBDatabase, "database name (MONGODB_DATABASE)")
	fs.StringVar(&level, "log-level", level, "debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&c.ProtocolsDir, "protocols-dir", c.ProtocolsDir, "protocol library folder; empty serves the shipped one (PROTOCOLS_DIR)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}

	if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q is not one of debug, info, warn, error", level))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("PORT=%d is outside 0-65535", c.Port))
	}
	if c.MongoDBURI == "" && c.DataDir == "" {
		errs = append(errs, errors.New("DATA_DIR must be set when MONGODB_URI is not"))
	}
	if c.MongoDBURI != "" && !strings.HasPrefix(c.MongoDBURI, "mongodb://") && !strings.HasPrefix(c.MongoDBURI, "mongodb+srv://") {
		errs = append(errs, errors.New("MONGODB_URI must start with mongodb:// or mongodb+srv://"))
	}
	if c.MongoDBDatabase == "" || strings.ContainsAny(c.MongoDBDatabase, `/\. "$`) {
		errs = append(errs, fmt.Errorf("MONGODB_DATABASE=%q is not a valid database name", c.MongoDBDatabase))
	}
	for name, d := range map[string]time.Duration{"REQUEST_TIMEOUT": c.RequestTimeout, "SHUTDOWN_TIMEOUT": c.ShutdownTimeout, "LIBRARY_REFRESH_INTERVAL": c.RefreshInterval, "DB_CONNECT_TIMEOUT": c.DBTimeout, "PURGE_INTERVAL": c.PurgeInterval,
		"ACCESS_TOKEN_TTL": c.AccessTokenTTL, "REFRESH_TOKEN_TTL": c.RefreshTokenTTL, "IDEMPOTENCY_RETENTION": c.IdempotencyRetention, "SYNC_SETTLE": c.SyncSettle,
		"CONSOLE_IDLE_TIMEOUT": c.ConsoleIdleTimeout, "CONSOLE_SESSION_LIFETIME": c.ConsoleLifetime} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if c.OIDCIssuerURL != "" && (c.OIDCAudience == "" || (c.OIDCOrgClaim == "") == (c.OIDCDefaultOrg == "")) {
		errs = append(errs, errors.New("OIDC_ISSUER_URL needs OIDC_AUDIENCE and exactly one of OIDC_ORG_CLAIM and OIDC_DEFAULT_ORG"))
	}
	if u, err := url.Parse(c.OIDCRedirectURL); c.OIDCRedirectURL != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "/console/login/oidc/callback") {
		errs = append(errs, fmt.Errorf("OIDC_REDIRECT_URL=%q must be an absolute http(s) URL ending in /console/login/oidc/callback", c.OIDCRedirectURL))
	}
	if c.BodyLimit < 1024 {
		errs = append(errs, fmt.Errorf("BODY_LIMIT_BYTES=%d is below 1024", c.BodyLimit))
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		errs = append(errs, errors.New("METRICS_TOKEN must be at least 16 characters (for example: openssl rand -hex 32)"))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither"))
	}
	// Checked here, before any key or database file is written, with the rule that failed named.
	if c.BootstrapAdminPassword != "" {
		if broken := identity.PasswordRuleProblems(identity.CheckPasswordPolicy(identity.BootstrapAdmin, c.BootstrapAdminPassword)); len(broken) > 0 {
			errs = append(errs, fmt.Errorf("BOOTSTRAP_ADMIN_PASSWORD breaks the password rules (%s)", strings.Join(broken, "; ")))
		}
	}
	return c, errors.Join(errs...)
}

// Addr returns the listen address.
// parseLocales reads a comma-separated list of supported locale codes (empty: every supported
// locale), without repeats; an error names the variable and the first unsupported code.
func parseLocales(name, v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return i18n.Codes(), nil
	}
	var out []string
	for _, l := range strings.Split(v, ",") {
		l = strings.TrimSpace(l)
		if !slices.Contains(i18n.Codes(), l) {
			return nil, fmt.Errorf("%s: %q is not a supported locale (%s)", name, l, strings.Join(i18n.Codes(), ", "))
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

func (c Config) Addr() string { return fmt.Sprintf("%s:%d", c.Host, c.Port) }

// LogAttrs describes the configuration for the start-up log, with credentials in MONGODB_URI masked.
func (c Config) LogAttrs() []slog.Attr {
	return []slog.Attr{
		slog.String("addr", c.Addr()),
		slog.String("data_dir", c.DataDir),
		slog.String("mongodb_uri", MaskURI(c.MongoDBURI)),
		slog.String("mongodb_database", c.MongoDBDatabase),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("protocols_dir", c.ProtocolsDir),
		slog.String("request_timeout", c.RequestTimeout.String()),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()),
		slog.Int("body_limit_bytes", c.BodyLimit),
		slog.String("library_refresh_interval", c.RefreshInterval.String()),
		slog.String("db_connect_timeout", c.DBTimeout.String()),
		slog.String("purge_interval", c.PurgeInterval.String()),
		slog.String("bootstrap_admin_password", mask(c.BootstrapAdminPassword)),
		slog.String("jwt_private_key_file", c.JWTKeyFile),
		slog.String("field_keys", mask(c.FieldKeys)),
		slog.String("token_issuer", c.TokenIssuer),
		slog.String("access_token_ttl", c.AccessTokenTTL.String()),
		slog.String("refresh_token_ttl", c.RefreshTokenTTL.String()),
		slog.String("oidc_issuer_url", c.OIDCIssuerURL),
		slog.String("oidc_client_id", c.OIDCClientID),
		slog.String("oidc_client_secret", mask(c.OIDCClientSecret)),
		slog.String("oidc_provider_name", c.OIDCProviderName),
		slog.String("oidc_redirect_url", c.OIDCRedirectURL),
		slog.String("deployment_audit_org", c.DeploymentAuditOrg),
		slog.String("interview_rules_file", c.InterviewRulesFile),
		slog.String("time_standards_file", c.TimeStandardsFile),
		slog.String("authoring_required_locales", strings.Join(c.RequiredLocales, ",")),
		slog.String("idempotency_retention", c.IdempotencyRetention.String()),
		slog.String("sync_settle", c.SyncSettle.String()),
		slog.String("retention_after_close", c.RetentionAfterClose.String()),
		slog.Bool("sync_several_instances", c.SyncSeveralInstances),
		slog.String("metrics_token", mask(c.MetricsToken)),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.String("console_idle_timeout", c.ConsoleIdleTimeout.String()),
		slog.String("console_session_lifetime", c.ConsoleLifetime.String()),
		slog.String("console_secure_cookie", c.ConsoleCookie),
		slog.Any("trusted_proxies", c.TrustedProxies),
	}
}

// mask shows whether a secret is set, never its value.
func mask(secret string) string {
	if secret == "" {
		return ""
	}
	return "(set)"
}

// MaskURI hides the password of a connection string; an empty string stays empty.
func MaskURI(uri string) string {
	if uri == "" {
		return ""
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparseable, hidden)"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// retentionDur parses a retention period: "<n>y" (365 days each), "<n>d", or a Go duration ("0s",
// "720h"); a bad or negative value is added to errs.
func retentionDur(v string, errs *[]error) time.Duration {
	bad := func() time.Duration {
		*errs = append(*errs, fmt.Errorf("RETENTION_AFTER_CLOSE=%q is not a retention period (for example 5y, 90d, 0s)", v))
		return 0
	}
	day := 24 * time.Hour
	for suffix, unit := range map[string]time.Duration{"y": 365 * day, "d": day} {
		if n, ok := strings.CutSuffix(v, suffix); ok {
			k, err := strconv.Atoi(n)
			if err != nil || k < 0 || k > 200 {
				return bad()
			}
			return time.Duration(k) * unit
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return bad()
	}
	return d
}
