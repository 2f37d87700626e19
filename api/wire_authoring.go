package main

import (
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
// audit log, with the locales configuration requires. It returns the validator's error.
func newAuthoring(cfg config.Config, db *mongodb.DB, library *protocol.Service, auditLog *audit.Service) (*authoring.Service, error) {
	validator, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, i18n.Codes())
	if err != nil {
		return nil, err
	}
	return authoring.NewService(db.Authoring(), library, validator, auditLog, cfg.RequiredLocales, time.Now), nil
}
