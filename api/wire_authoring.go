package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// newAuthoring builds the content editors' workflow over the database, the protocol library and the
// audit log. It returns an error when AUTHORING_REQUIRED_LOCALES names an unsupported locale.
func newAuthoring(cfg config.Config, db *mongodb.DB, library *protocol.Service, auditLog *audit.Service) (*authoring.Service, error) {
	const requiredLocalesEnv = "AUTHORING_REQUIRED_LOCALES"
	required := i18n.Codes()
	if v := strings.TrimSpace(cfg.RequiredLocales); v != "" {
		required = nil
		for _, l := range strings.Split(v, ",") {
			l = strings.TrimSpace(l)
			if !slices.Contains(i18n.Codes(), l) {
				return nil, fmt.Errorf("%s: %q is not a supported locale (%s)", requiredLocalesEnv, l, strings.Join(i18n.Codes(), ", "))
			}
			if !slices.Contains(required, l) {
				required = append(required, l)
			}
		}
	}
	validator, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, i18n.Codes())
	if err != nil {
		return nil, err
	}
	return authoring.NewService(db.Authoring(), library, validator, auditLog, required, time.Now), nil
}

// withoutSuperseded drops from the library folder's documents those an editor has superseded
// through the API: the protocol's latest version was published from a draft, and the folder holds
// the content of an earlier version (the folder was not updated since). Publishing them at start
// would bring the old content back as a newer version. A folder with new content is published as
// before. It returns the store's error.
func withoutSuperseded(ctx context.Context, db *mongodb.DB, docs []protocol.Document, log *slog.Logger) ([]protocol.Document, error) {
	out := make([]protocol.Document, 0, len(docs))
	for _, doc := range docs {
		skip, err := superseded(ctx, db, doc)
		if err != nil {
			return nil, err
		}
		if skip {
			log.Info("protocol files older than the version published by editors: not published", "protocol", doc.Protocol.ID)
			continue
		}
		out = append(out, doc)
	}
	return out, nil
}

func superseded(ctx context.Context, db *mongodb.DB, doc protocol.Document) (bool, error) {
	versions, err := db.Protocols().Versions(ctx, doc.Protocol.ID)
	if err != nil || len(versions) < 2 {
		return false, err
	}
	hash, err := doc.ContentHash()
	if err != nil {
		return false, err
	}
	latest := versions[len(versions)-1]
	earlier := slices.ContainsFunc(versions[:len(versions)-1], func(v protocol.Version) bool { return v.ContentHash == hash })
	if latest.ContentHash == hash || !earlier {
		return false, nil
	}
	after := ""
	for {
		drafts, err := db.Authoring().ListDrafts(ctx, doc.Protocol.ID, after, 200)
		if err != nil {
			return false, err
		}
		for _, d := range drafts {
			if d.Status == authoring.StatusPublished && d.PublishedVersion == latest.Number {
				return true, nil
			}
		}
		if len(drafts) < 200 {
			return false, nil
		}
		after = drafts[len(drafts)-1].ID
	}
}
