package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/console"
	"github.com/childsafe-protocols/caseguide/internal/ferret"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/locales"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// serveHooks lets tests and benchmarks observe and extend a running server.
type serveHooks struct {
	listening func(addr string)     // called once the listener is open
	routes    []func(fiber.Router)  // extra routes (benchmark baselines)
	matrix    func([]httpapi.Route) // receives the access matrix of the API's routes
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

	sec, err := newSecurity(ctx, cfg, db)
	if err != nil {
		return err
	}
	defer sec.flush(log) // before the database closes
	if err := sec.bootstrap(ctx, cfg.BootstrapAdminPassword, log); err != nil {
		return err
	}

	library := protocol.NewService(db.Protocols(), log)
	if docs, err = withoutSuperseded(ctx, db, docs, log); err != nil {
		return err
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
	log.Info("protocol library loaded", "protocols", len(results), "new_versions", created)

	caseStore := db.Casework(sec.keys)
	cases := casework.NewService(caseStore, library, auditEvents{sec.audit}, time.Now).WithDirectory(sec.identity)
	interviews, err := newInterviews(db, sec.keys, cases, library, sec.audit, cfg.InterviewRulesFile)
	if err != nil {
		return err
	}
	evidenceLog, err := newEvidence(cfg, db, sec, cases)
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
		BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		Identity: sec.identity, Auth: sec.auth, Audit: sec.audit, Cases: cases, CaseStore: caseStore,
		PublicKeys:         []map[string]any{sec.signer.PublicJWK(), evidenceLog.Signer().PublicJWK()},
		DeploymentAuditOrg: cfg.DeploymentAuditOrg,
		Interviews:         interviews,
		Evidence:           evidenceLog,
		Authoring:          authoringService,
	}
	syncing.addTo(&deps)
	web, err := console.New(console.Deps{Log: log, Catalog: catalog, Identity: sec.identity, Audit: sec.audit, Cases: cases,
		Interviews: interviews, Evidence: evidenceLog, Protocols: library,
		Config:             console.Config{IdleTimeout: cfg.ConsoleIdleTimeout, Lifetime: cfg.ConsoleLifetime, SecureCookie: cfg.ConsoleCookie},
		DeploymentAuditOrg: cfg.DeploymentAuditOrg, Authoring: authoringService})
	if err != nil {
		return err
	}
	app, api := httpapi.New(deps, append(hooks.routes, web.Register)...)
	syncing.api.Store(api)
	go syncing.purge(ctx, log)

	if hooks.matrix != nil {
		hooks.matrix(append(api.Routes(), web.Routes()...))
	}
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr(), err)
	}
	log.Info("listening", "addr", ln.Addr().String())
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
	if attached, ok := ferret.Attach(cfg.DataDir); uri == "" && attachToRunning && ok {
		uri = attached
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
	for _, ensure := range []func(context.Context) error{db.EnsureIndexes, db.EnsureIdentityIndexes, db.EnsureAuditIndexes, db.EnsureCaseworkIndexes,
		db.EnsureInterviewIndexes, db.EnsureEvidenceIndexes, db.EnsureSyncIndexes, db.EnsureAuthoringIndexes} {
		if err := ensure(ctx); err != nil {
			closeEmbedded()
			return nil, nil, err
		}
	}
	if embedded != nil { // lookups by _id scan every collection of FerretDB 1.24 without this
		err := db.CreateCollections(ctx)
		if err == nil {
			err = embedded.IndexIDs(ctx)
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
