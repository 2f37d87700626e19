package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/appointment"
	"github.com/childsafe-protocols/caseguide/internal/caseflag"
	"github.com/childsafe-protocols/caseguide/internal/caseservice"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/report"
)

// addCare wires the services for working across agencies into deps: case flags, services and
// outcomes, appointments (with the time standards of TIME_STANDARDS_FILE, or the shipped ones),
// statistics, and the worklist's overdue standards and due actions. now is their clock (nil:
// time.Now). It returns an error when the time standards file cannot be read or holds an invalid
// standard.
func addCare(deps *httpapi.Deps, cfg config.Config, db *mongodb.DB, sec *security, cases *casework.Service, caseStore casework.Store, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	var standards appointment.Standards
	if cfg.TimeStandardsFile != "" {
		var err error
		if standards, err = readTimeStandards(cfg.TimeStandardsFile); err != nil {
			return fmt.Errorf("TIME_STANDARDS_FILE: %w", err)
		}
	}
	appts, err := appointment.NewService(db.Appointments(sec.keys), cases, caseStore, sec.identity, sec.audit, standards, now)
	if err != nil {
		return fmt.Errorf("time standards: %w", err)
	}
	deps.Appointments = appts
	deps.Flags = caseflag.NewService(db.CaseFlags(sec.keys), cases, sec.audit, now)
	deps.Services = caseservice.NewService(db.CaseServices(sec.keys), cases, sec.audit, now)
	// Referrals reach the reports through report.ReferralSource (counts of clear fields only).
	deps.Reports = &report.Service{Store: db.Reports(), Cases: appts, Referrals: db.Referrals(sec.keys), Events: sec.audit, Now: now}
	if deps.Worklist != nil {
		deps.Worklist.Appointments = appts
	}
	return nil
}

// readTimeStandards reads a JSON array of time standards (unknown fields refused); it returns the
// file's or the decoder's error (the standards are checked by appointment.NewService).
func readTimeStandards(path string) (appointment.Standards, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var ss appointment.Standards
	if err := dec.Decode(&ss); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("%s holds no standard", path)
	}
	return ss, nil
}
