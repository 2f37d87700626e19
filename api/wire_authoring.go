package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// requiredLocalesEnv lists the locales (comma-separated) whose translations must be complete before
// a draft is published; empty: every supported locale.
const requiredLocalesEnv = "AUTHORING_REQUIRED_LOCALES"

// newAuthoring builds the content editors' workflow over the database, the protocol library and the
// audit log. It returns an error when AUTHORING_REQUIRED_LOCALES names an unsupported locale.
func newAuthoring(db *mongodb.DB, library *protocol.Service, auditLog *audit.Service, getenv func(string) string) (*authoring.Service, error) {
	required := i18n.Codes()
	if v := strings.TrimSpace(getenv(requiredLocalesEnv)); v != "" {
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
	return authoring.NewService(db.Authoring(), library, validator, authoringEvents{auditLog}, required, time.Now), nil
}

// authoringEvents records the content editors' writes in the audit log.
type authoringEvents struct{ log *audit.Service }

// RecordAuthoringEvent appends e to its organisation's audit log; the caller fails when it cannot.
func (a authoringEvents) RecordAuthoringEvent(ctx context.Context, e authoring.Event) error {
	_, err := a.log.Record(ctx, audit.Entry{OrgID: e.OrgID, ActorID: e.ActorID, ActorRole: e.ActorRole, DeviceID: e.DeviceID,
		Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Outcome: audit.Outcome(e.Outcome),
		RequestID: httpapi.RequestID(ctx)})
	return err
}
