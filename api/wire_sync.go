package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// syncWiring assembles device sync and the Idempotency-Key store.
type syncWiring struct {
	service   *devicesync.Service
	store     *mongodb.SyncStore
	idem      *mongodb.IdempotencyStore
	retention time.Duration
}

// newSyncWiring builds the sync engine with the feeds and appliers of cases, protocol runs,
// interview sessions, evidence items and custody events (see the README section "Offline sync").
func newSyncWiring(cfg config.Config, db *mongodb.DB, sec *security, library *protocol.Service, cases *casework.Service,
	interviews *interview.Service, evidenceLog *evidence.Service) *syncWiring {
	db.SetChangeSettle(cfg.SyncSettle, cfg.SyncSeveralInstances)
	w := &syncWiring{store: db.Sync(sec.keys), idem: db.Idempotency(sec.keys), retention: cfg.IdempotencyRetention}
	w.service = devicesync.NewService(devicesync.Deps{
		Cases: w.store.CaseFeed(), CaseAppliers: devicesync.CaseAppliers(cases),
		Library: libraryEntries{library}, Watermarks: db, States: w.store, Results: w.store,
		Events: sec.audit,
	}).Register(devicesync.Registration{Feed: w.store.RunFeed(), Appliers: devicesync.RunAppliers(cases)})
	if interviews != nil {
		w.service.Register(devicesync.Registration{Feed: db.Interviews(sec.keys).SessionFeed(), Appliers: devicesync.InterviewAppliers(interviews)})
	}
	if evidenceLog != nil {
		items := db.Evidence(sec.keys)
		w.service.Register(devicesync.Registration{Feed: items.ItemFeed(), Appliers: devicesync.EvidenceItemAppliers(evidenceLog)}).
			Register(devicesync.Registration{Feed: items.EventFeed(), Appliers: devicesync.CustodyEventAppliers(evidenceLog)})
	}
	return w
}

// addTo sets the HTTP layer's dependencies on sync and idempotency.
func (w *syncWiring) addTo(d *httpapi.Deps) {
	d.Sync, d.Idempotency, d.IdempotencyRetention = w.service, w.idem, w.retention
}

// purge deletes expired idempotency keys and operation results every hour until ctx ends (the
// embedded database has no TTL indexes).
func (w *syncWiring) purge(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := time.Now().UTC()
		if _, err := w.idem.Purge(ctx, now); err != nil && ctx.Err() == nil {
			log.Warn("purging idempotency keys", "error", err.Error())
		}
		if _, err := w.store.PurgeResults(ctx, now.Add(-w.retention)); err != nil && ctx.Err() == nil {
			log.Warn("purging sync operation results", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// libraryEntries adapts the protocol library to devicesync.Library.
type libraryEntries struct{ lib *protocol.Service }

// LatestEntries returns the latest published version of every protocol.
func (l libraryEntries) LatestEntries() []devicesync.LibraryEntry {
	latest := l.lib.Snapshot().Latest
	out := make([]devicesync.LibraryEntry, len(latest))
	for i, v := range latest {
		out[i] = devicesync.LibraryEntry{ProtocolID: v.ProtocolID, Version: v.Number, ContentHash: v.ContentHash, PublishedAt: v.PublishedAt}
	}
	return out
}
