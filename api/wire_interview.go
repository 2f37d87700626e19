package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/mongodb"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// newInterviews builds the interview service over the database, with the case service deciding
// access, the audit log recording, and the quality rules of INTERVIEW_RULES_FILE (when set) or the
// shipped ones. It returns an error when the rules file cannot be read or holds an invalid rule.
func newInterviews(db *mongodb.DB, keys *fieldcrypt.KeyRing, cases *casework.Service, library *protocol.Service,
	log *audit.Service, rulesFile string) (*interview.Service, error) {
	return newInterviewsOn(db.Interviews(keys), cases, library, log, rulesFile)
}

// newInterviewsOn is newInterviews on the given store (the seed's bulk staging, for one).
func newInterviewsOn(store interview.Store, cases *casework.Service, library *protocol.Service,
	log *audit.Service, rulesFile string) (*interview.Service, error) {
	var rules interview.Rules
	if rulesFile != "" {
		var err error
		if rules, err = readInterviewRules(rulesFile); err != nil {
			return nil, fmt.Errorf("INTERVIEW_RULES_FILE: %w", err)
		}
	}
	svc, err := interview.NewService(store, cases, library, log, rules, time.Now)
	if err != nil {
		return nil, fmt.Errorf("interview quality rules: %w", err)
	}
	if err := svc.Rules().CheckPhases(interviewPhases(library.Snapshot())); err != nil {
		return nil, fmt.Errorf("interview quality rules: %w", err)
	}
	return svc, nil
}

// interviewPhases lists the phase ids of the library's interview protocols, each once, sorted.
func interviewPhases(lib protocol.Library) []string {
	var ids []string
	for _, v := range lib.Latest {
		if v.Document.Protocol.Kind != protocol.KindInterview {
			continue
		}
		for _, ph := range v.Document.Protocol.Phases {
			ids = append(ids, ph.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// interviewRuleFile is one rule as written in INTERVIEW_RULES_FILE (a JSON array of them).
type interviewRuleFile struct {
	Code       string             `json:"code"`
	Severity   string             `json:"severity"`
	Measure    string             `json:"measure"`
	Compare    string             `json:"compare"`
	Threshold  float64            `json:"threshold"`
	ByAgeBand  map[string]float64 `json:"by_age_band"`
	MinPrompts int                `json:"min_prompts"`
	AgeBands   []string           `json:"age_bands"`
}

// readInterviewRules reads a JSON array of rules (unknown fields refused); it returns the file's or
// the decoder's error.
func readInterviewRules(path string) (interview.Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var raw []interviewRuleFile
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	rules := make(interview.Rules, 0, len(raw))
	for _, r := range raw {
		rule := interview.Rule{Code: r.Code, Severity: interview.Severity(r.Severity), Measure: r.Measure,
			Compare: interview.Comparison(r.Compare), Threshold: r.Threshold, MinPrompts: r.MinPrompts}
		if r.ByAgeBand != nil {
			rule.ByAgeBand = map[protocol.AgeBand]float64{}
			for band, v := range r.ByAgeBand {
				rule.ByAgeBand[protocol.AgeBand(band)] = v
			}
		}
		for _, band := range r.AgeBands {
			rule.AgeBands = append(rule.AgeBands, protocol.AgeBand(band))
		}
		rules = append(rules, rule)
	}
	return rules, nil
}
