package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/console"
	"github.com/childsafe-protocols/caseguide/internal/erasure"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/internal/worklist"
	"github.com/childsafe-protocols/caseguide/locales"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// serveHooks lets tests and benchmarks observe and extend a running server.
type serveHooks struct {
	listening func(addr string)     // called once the listener is open
	routes    []func(fiber.Router)  // extra routes (benchmark baselines)
	matrix    func([]httpapi.Route) // receives the access matrix of the API's routes
	// password is the argon2id cost of the password hashes the server makes; zero fields take
	// identity.DefaultPasswordParams(). Tests lower it: a production hash takes about half a second.
	password identity.PasswordParams
	// now is the clock of the services for working across agencies (time standards, statistics);
	// nil: time.Now. Tests move it forward instead of sleeping.
	now func() time.Time
}

// serve runs the service until ctx is cancelled, then shuts down gracefully: the listener closes,
// in-flight requests finish (up to SHUTDOWN_TIMEOUT), the database connection and the embedded
// database close. It returns an error when the configuration is invalid, the protocol library has
// problems, the database cannot be reached or DATA_DIR is not writable, or the listener fails.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, hooks *serveHooks) error {
	if hooks == nil {
		hooks = &serveHooks{}
	}
	cfg, err := config.Load(args, getenv, stderr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	log.LogAttrs(ctx, slog.LevelInfo, "configuration", cfg.LogAttrs()...)

	catalog, err := i18n.New(locales.FS)
	if err != nil {
		return err
	}
	docs, err := readLibrary(cfg, log)
	if err != nil {
		return err
	}

	db, closeDB, err := openDatabase(ctx, cfg, false, stdout, log)
	if err != nil {
		return err
	}
	defer closeDB()

	sec, err := newSecurity(ctx, cfg, db, hooks.password)
	if err != nil {
		return err
	}
	if found, err := db.MigrateSchemaWithKeys(ctx, sec.keys); err != nil { // the migrations that re-encrypt
		return err
	} else if found != mongodb.SchemaVersion {
		log.Info("data migrated", "from_schema_version", found, "to_schema_version", mongodb.SchemaVersion)
	}
	if n, err := db.CaseKeys(sec.keys).Rewrap(ctx); err != nil { // after a key ring rotation
		return err
	} else if n > 0 {
		log.Info("case keys rewrapped under the active field key", "case_keys", n)
	}
	defer sec.flush(log) // before the database closes
	if err := sec.bootstrap(ctx, cfg.BootstrapAdminPassword, cfg.DataDir, stderr, log); err != nil {
		return err
	}

	library := protocol.NewService(db.Protocols(), log)
	if err := publishLibrary(ctx, db, library, docs, log); err != nil {
		return err
	}

	caseStore := db.Casework(sec.keys)
	cases := casework.NewService(caseStore, library, sec.audit, time.Now).WithDirectory(sec.identity)
	interviews, err := newInterviews(db, sec.keys, cases, library, sec.audit, cfg.InterviewRulesFile)
	if err != nil {
		return err
	}
	evidenceLog, err := newEvidence(db, sec, cases)
	if err != nil {
		return err
	}
	syncing := newSyncWiring(cfg, db, sec, library, cases, interviews, evidenceLog)
	authoringService, err := newAuthoring(cfg, db, library, sec.audit)
	if err != nil {
		return err
	}

	deps := httpapi.Deps{
		Log: log, Catalog: catalog, Protocols: library, Database: db,
		OpenAPI: openAPI, ProtocolSchema: protocols.ProtocolSchema, TranslationSchema: protocols.TranslationSchema,
		BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout, TrustedProxies: cfg.TrustedProxies,
		Identity: sec.identity, Auth: sec.auth, Audit: sec.audit, Cases: cases, CaseStore: caseStore,
		PublicKeys:         []map[string]any{sec.signer.PublicJWK(), evidenceLog.Signer().PublicJWK(), sec.checkpoints.Signer().PublicJWK()},
		DeploymentAuditOrg: cfg.DeploymentAuditOrg,
		Interviews:         interviews,
		Evidence:           evidenceLog,
		Authoring:          authoringService,
		MetricsToken:       cfg.MetricsToken,
		HSTS:               cfg.TLSCertFile != "",
	}
	syncing.addTo(&deps)
	deps.Consents, deps.Referrals = newSharing(db, sec, cases, interviews, syncing.service)
	deps.Erasure = erasure.NewService(db.Erasure(sec.keys), caseStore, evidenceLog, db.Erasure(sec.keys), sec.audit,
		erasure.Policy{RetainAfterClose: cfg.RetentionAfterClose}, time.Now).WithReferrals(deps.Referrals)
	deps.Worklist = &worklist.Service{Cases: cases, Interviews: interviews, Evidence: evidenceLog, Names: sec.identity}
	if err := addCare(&deps, cfg, db, sec, cases, caseStore, hooks.now); err != nil {
		return err
	}
	addCareSync(syncing.service, db, sec, &deps)
	webOIDC, err := consoleOIDC(cfg, sec)
	if err != nil {
		return err
	}
	web, err := console.New(console.Deps{Log: log, Catalog: catalog, Identity: sec.identity, Audit: sec.audit, Cases: cases,
		OIDC:       webOIDC,
		Interviews: interviews, Evidence: evidenceLog, Protocols: library, Worklist: deps.Worklist,
		Config:             console.Config{IdleTimeout: cfg.ConsoleIdleTimeout, Lifetime: cfg.ConsoleLifetime, SecureCookie: cfg.ConsoleCookie},
		DeploymentAuditOrg: cfg.DeploymentAuditOrg, Authoring: authoringService, Referrals: deps.Referrals,
		Care: console.CareDeps{Consents: deps.Consents, Flags: deps.Flags, Services: deps.Services, Appointments: deps.Appointments, Reports: deps.Reports}})
	if err != nil {
		return err
	}
	app, api := httpapi.New(deps, append(hooks.routes, web.Register)...)
	go syncing.purge(ctx, log)

	if hooks.matrix != nil {
		hooks.matrix(append(api.Routes(), web.Routes()...))
	}
	tlsConfig, err := serverTLS(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr(), err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	log.Info("listening", "addr", ln.Addr().String(), "tls", tlsConfig != nil)
	if hooks.listening != nil {
		hooks.listening(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	go refreshLibrary(ctx, library, cfg.RefreshInterval, log)
	go sec.identity.PurgeEvery(ctx, cfg.PurgeInterval, log.Info)

	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	if err := app.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil {
		log.Warn("requests still running at the shutdown deadline", "error", err.Error())
	}
	// Shutdown closes the listeners the server has started serving; close ln too in case shutdown
	// came before Serve began, which would otherwise keep serving.
	_ = ln.Close()
	<-served
	log.Info("stopped")
	return nil
}

// serverTLS returns the TLS configuration of TLS_CERT_FILE and TLS_KEY_FILE (TLS 1.2 at least), or nil
// when they are not set. It returns an error when the pair cannot be loaded.
func serverTLS(cfg config.Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS_CERT_FILE/TLS_KEY_FILE: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}

// publishLibrary publishes the library folder's documents, less those editors have superseded
// through authoring, as new versions where their content changed. It returns the database's errors.
func publishLibrary(ctx context.Context, db *mongodb.DB, library *protocol.Service, docs []protocol.Document, log *slog.Logger) error {
	docs, dropped, err := authoring.WithoutSuperseded(ctx, db.Authoring(), db.Protocols(), docs)
	if err != nil {
		return err
	}
	for _, id := range dropped {
		log.Info("protocol files older than the version published by editors: not published", "protocol", id)
	}
	results, err := library.Publish(ctx, docs)
	if err != nil {
		return err
	}
	created := 0
	for _, r := range results {
		if r.Created {
			created++
		}
	}
	protocolsServed := 0 // the library also holds versions published earlier: by editors, or from files no longer shipped
	for _, v := range library.Snapshot().Latest {
		if !v.Retired {
			protocolsServed++
		}
	}
	log.Info("protocol library loaded", "protocols", protocolsServed, "files", len(results), "new_versions", created)
	return nil
}

// readLibrary loads and validates the protocol library (PROTOCOLS_DIR or the shipped one). Problems
// that are not just missing translations stop the start with the validator's messages.
func readLibrary(cfg config.Config, log *slog.Logger) ([]protocol.Document, error) {
	var fsys fs.FS = protocols.FS
	if cfg.ProtocolsDir != "" {
		fsys = os.DirFS(cfg.ProtocolsDir)
	}
	docs, problems, err := loadLibrary(fsys)
	if err != nil {
		return nil, err
	}
	if errs := problems.Errors(); len(errs) > 0 {
		return nil, fmt.Errorf("the protocol library has problems (run `go run ./api validate %s`):\n%w", cfg.ProtocolsDir, errs)
	}
	for _, p := range problems {
		log.Warn("protocol translation incomplete", "problem", p.String())
	}
	return docs, nil
}

// openDatabase connects to MONGODB_URI or, when it is unset, starts the embedded database in DATA_DIR.
// The returned function closes everything it opened.
// attachToRunning (for command-line tools) uses the embedded database of a service already running on
// DATA_DIR instead of starting one.
func openDatabase(ctx context.Context, cfg config.Config, attachToRunning bool, logOut io.Writer, log *slog.Logger) (*mongodb.DB, func(), error) {
	uri := cfg.MongoDBURI
	var embedded *ferret.Server
	var attachedTables *ferret.Tables // the running service's tables, read by this tool
	if attached, ok := ferret.Attach(cfg.DataDir); uri == "" && attachToRunning && ok {
		uri = attached
		var err error
		if attachedTables, err = ferret.OpenTables(cfg.DataDir, cfg.MongoDBDatabase); err != nil {
			return nil, nil, fmt.Errorf("reading the embedded database beside the service: %w", err)
		}
	}
	if uri == "" {
		var err error
		if embedded, err = ferret.Start(cfg.DataDir, logOut); err != nil {
			return nil, nil, err
		}
		uri = embedded.URI()
		log.Info("embedded database started", "data_dir", cfg.DataDir)
	}
	closeEmbedded := func() {
		if attachedTables != nil {
			_ = attachedTables.Close()
		}
		if embedded == nil {
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := embedded.Close(cctx); err != nil {
			log.Error("closing the embedded database", "error", err.Error())
		}
	}
	db, err := mongodb.Connect(ctx, uri, cfg.MongoDBDatabase, cfg.DBTimeout)
	if err != nil {
		closeEmbedded()
		return nil, nil, fmt.Errorf("database at %s: %w", config.MaskURI(cfg.MongoDBURI), err)
	}
	if err := db.EnsureIndexes(ctx); err != nil {
		closeEmbedded()
		return nil, nil, err
	}
	found, err := db.MigrateSchema(ctx)
	if err != nil {
		closeEmbedded()
		return nil, nil, err
	}
	if found != mongodb.SchemaVersion {
		log.Info("schema version read", "schema_version", found) // the migrations needing the field keys run once they are loaded
	}
	if attachedTables != nil { // a tool's lists and lookups read the service's tables (ReadFromTables)
		db.ReadFromTables(attachedTables)
	}
	if embedded != nil { // lookups by _id scan every collection of FerretDB 1.24 without this
		err := db.CreateCollections(ctx)
		if err == nil {
			err = embedded.IndexIDs(ctx)
		}
		if err == nil { // lists read FerretDB's SQLite tables with their own indexes (internal/mongodb/embedded.go)
			var tables *ferret.Tables
			if tables, err = embedded.Tables(cfg.MongoDBDatabase); err == nil {
				err = db.UseTables(ctx, tables)
			}
		}
		if err != nil {
			closeEmbedded()
			return nil, nil, fmt.Errorf("indexing the embedded database: %w", err)
		}
	}
	return db, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := db.Close(cctx); err != nil {
			log.Error("closing the database connection", "error", err.Error())
		}
		closeEmbedded()
	}, nil
}

// refreshLibrary picks up versions published by other instances until ctx ends.
func refreshLibrary(ctx context.Context, library *protocol.Service, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := library.Refresh(ctx); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("refreshing the protocol library", "error", err.Error())
			}
		}
	}
}
