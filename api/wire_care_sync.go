package main

import (
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
)

// addCareSync registers with sync the record types of working across agencies that devices hold
// with a case: services and appointments (pulled, and created offline), flags (pulled), and the
// offline creation of consents (their feed is registered by newSharing). Services deps lacks are
// skipped.
func addCareSync(sync *devicesync.Service, db *mongodb.DB, sec *security, deps *httpapi.Deps) {
	if deps.Services != nil {
		sync.Register(devicesync.Registration{Feed: db.CaseServices(sec.keys).ServiceFeed(), Appliers: devicesync.ServiceAppliers(deps.Services)})
	}
	if deps.Appointments != nil {
		sync.Register(devicesync.Registration{Feed: db.Appointments(sec.keys).AppointmentFeed(), Appliers: devicesync.AppointmentAppliers(deps.Appointments)})
	}
	if deps.Flags != nil {
		sync.Register(devicesync.Registration{Feed: db.CaseFlags(sec.keys).FlagFeed()})
	}
	if deps.Consents != nil {
		sync.AddAppliers(devicesync.ConsentAppliers(deps.Consents))
	}
}
