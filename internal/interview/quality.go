package interview

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Severity says how much a flag matters to a reviewer.
type Severity string

// The severities.
const (
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// Severities lists the severities, least first.
var Severities = []Severity{SeverityLow, SeverityMedium, SeverityHigh}

// Comparison says how a rule compares a measure with its threshold.
type Comparison string

// The comparisons.
const (
	Above Comparison = "above" // flag when the measure is greater than the threshold
	Below Comparison = "below" // flag when the measure is less than the threshold
)

// The measures rules can name. A measure a session does not have (the open share of a session with no
// prompt, the minutes without a break of one that has not started) raises no flag.
const (
	MeasureSuggestivePrompts   = "suggestive_prompts"    // the number of suggestive prompts
	MeasureOpenShare           = "open_share"            // open prompts over all prompts, 0 to 1
	MeasureMinutesWithoutBreak = "minutes_without_break" // the longest stretch between start, breaks and end
	MeasureInterpreterMissing  = "interpreter_missing"   // 1 when the child needs an interpreter and none takes part
	MeasureInterviewNumber     = "interview_number"      // 1 for the case's first session, 2 for the second, ...
	MeasureOptionPosingShare   = "option_posing_share"   // option-posing prompts over all prompts
	// MeasurePhaseNotDonePrefix followed by a phase id: 1 when a checklist item of an applicable
	// required step of that phase is not marked done, 0 when all are.
	MeasurePhaseNotDonePrefix = "phase_not_done:"
)

// Rule is one quality rule: a flag with a stable code and a severity is raised when a measure is
// above (or below) a threshold. Rules are data: thresholds are configured, not coded.
type Rule struct {
	Code      string
	Severity  Severity
	Measure   string
	Compare   Comparison
	Threshold float64
	// ByAgeBand, when it lists the session's age band, replaces Threshold for it.
	ByAgeBand map[protocol.AgeBand]float64
	// MinPrompts: the rule is checked only when at least this many prompts were logged.
	MinPrompts int
	// AgeBands, when not empty, limits the rule to sessions of these age bands.
	AgeBands []protocol.AgeBand
}

// Rules is an ordered set of quality rules; flags come out in this order.
type Rules []Rule

// DefaultRules returns the shipped rules: suggestive prompts used; an open-prompt share under one
// half (after at least 10 prompts); a required phase (rapport, ground rules, closing) not done; a
// stretch without a break longer than the guidance for the age band (30, 45 and 60 minutes); an
// interpreter needed but none present; more than one interview for the same child in the case; and,
// for children under 6, more than a fifth of the prompts option-posing.
func DefaultRules() Rules {
	return Rules{
		{Code: "suggestive_prompts", Severity: SeverityHigh, Measure: MeasureSuggestivePrompts, Compare: Above, Threshold: 0},
		{Code: "low_open_share", Severity: SeverityMedium, Measure: MeasureOpenShare, Compare: Below, Threshold: 0.5, MinPrompts: 10},
		{Code: "required_phase_not_done", Severity: SeverityHigh, Measure: MeasurePhaseNotDonePrefix + "rapport", Compare: Above, Threshold: 0},
		{Code: "required_phase_not_done", Severity: SeverityHigh, Measure: MeasurePhaseNotDonePrefix + "ground-rules", Compare: Above, Threshold: 0},
		{Code: "required_phase_not_done", Severity: SeverityHigh, Measure: MeasurePhaseNotDonePrefix + "closing", Compare: Above, Threshold: 0},
		{Code: "long_without_break", Severity: SeverityMedium, Measure: MeasureMinutesWithoutBreak, Compare: Above, Threshold: 60,
			ByAgeBand: map[protocol.AgeBand]float64{protocol.AgeUnder6: 30, protocol.Age6To11: 45, protocol.Age12To17: 60}},
		{Code: "interpreter_missing", Severity: SeverityHigh, Measure: MeasureInterpreterMissing, Compare: Above, Threshold: 0},
		{Code: "repeated_interview", Severity: SeverityMedium, Measure: MeasureInterviewNumber, Compare: Above, Threshold: 1},
		{Code: "many_option_posing_young_child", Severity: SeverityLow, Measure: MeasureOptionPosingShare, Compare: Above, Threshold: 0.2,
			MinPrompts: 10, AgeBands: []protocol.AgeBand{protocol.AgeUnder6}},
	}
}

// Validate checks every rule: a code of a-z 0-9 _, a known severity, measure and comparison, and
// thresholds that are not negative. It returns an error naming the first bad rule.
func (rs Rules) Validate() error {
	known := []string{MeasureSuggestivePrompts, MeasureOpenShare, MeasureMinutesWithoutBreak, MeasureInterpreterMissing,
		MeasureInterviewNumber, MeasureOptionPosingShare}
	for i, r := range rs {
		switch {
		case r.Code == "" || strings.ContainsFunc(r.Code, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') }):
			return fmt.Errorf("interview rule %d: code %q is not a-z 0-9 _", i, r.Code)
		case !slices.Contains(Severities, r.Severity):
			return fmt.Errorf("interview rule %s: unknown severity %q", r.Code, r.Severity)
		case !slices.Contains(known, r.Measure) && !(strings.HasPrefix(r.Measure, MeasurePhaseNotDonePrefix) && len(r.Measure) > len(MeasurePhaseNotDonePrefix)):
			return fmt.Errorf("interview rule %s: unknown measure %q", r.Code, r.Measure)
		case r.Compare != Above && r.Compare != Below:
			return fmt.Errorf("interview rule %s: comparison %q is not above or below", r.Code, r.Compare)
		case r.Threshold < 0 || r.MinPrompts < 0:
			return fmt.Errorf("interview rule %s: negative threshold", r.Code)
		}
		for _, v := range r.ByAgeBand {
			if v < 0 {
				return fmt.Errorf("interview rule %s: negative threshold", r.Code)
			}
		}
	}
	return nil
}

// CheckPhases checks that every phase_not_done rule names a phase one of the given phase ids (those
// of the interview protocols served) holds, so that a misspelt phase is found at start instead of
// never flagging. It returns an error naming the first rule whose phase is unknown.
func (rs Rules) CheckPhases(phaseIDs []string) error {
	for _, r := range rs {
		if phase, ok := strings.CutPrefix(r.Measure, MeasurePhaseNotDonePrefix); ok && !slices.Contains(phaseIDs, phase) {
			return fmt.Errorf("interview rule %s: measure %q names phase %q, which no interview protocol has (phases: %s)",
				r.Code, r.Measure, phase, strings.Join(phaseIDs, ", "))
		}
	}
	return nil
}

// Measures are the figures computed from a session and its log.
type Measures struct {
	Prompts               int
	ByType                map[PromptType]int // every type, zero included
	OpenPrompts           int
	OpenShare             *float64 // nil when no prompt was logged
	Breaks                int
	WellbeingChecks       int
	DurationMinutes       *float64 // from start to end; nil until both are known
	MinutesWithoutBreak   *float64 // the longest stretch without a break; nil until the session started
	PhasesNotDone         []string // required phases (of the rules) with an item not marked done, in protocol order
	InterviewNumber       int
	InterpreterNeeded     bool
	InterpreterPresent    bool
	ChecklistItems        int
	ChecklistItemsDone    int
	ChecklistItemsNotDone int // marked not done, with a reason
}

// Flag is a raised quality rule.
type Flag struct {
	Code      string
	Severity  Severity
	Measure   string
	Value     float64
	Threshold float64
	PhaseID   string // for phase rules
}

// Quality is the measures and flags of a session.
type Quality struct {
	Measures Measures
	Flags    []Flag
}

func (q Quality) clone() Quality {
	q.Measures.ByType = maps.Clone(q.Measures.ByType)
	q.Measures.PhasesNotDone = slices.Clone(q.Measures.PhasesNotDone)
	q.Flags = slices.Clone(q.Flags)
	if q.Measures.OpenShare != nil {
		v := *q.Measures.OpenShare
		q.Measures.OpenShare = &v
	}
	if q.Measures.DurationMinutes != nil {
		v := *q.Measures.DurationMinutes
		q.Measures.DurationMinutes = &v
	}
	if q.Measures.MinutesWithoutBreak != nil {
		v := *q.Measures.MinutesWithoutBreak
		q.Measures.MinutesWithoutBreak = &v
	}
	return q
}

// BuildChecklist returns the steps of version v that apply to situation s, in protocol order, each
// with its checklist items and their latest marks in log (latest RecordedAt; among equal times the
// one received last).
func BuildChecklist(v protocol.Version, s protocol.Situation, log Log) []ChecklistStep {
	latest := map[string]*Mark{}
	for i := range log.Marks {
		m := &log.Marks[i]
		key := m.StepID + "\x00" + m.ItemID
		if cur, ok := latest[key]; !ok || cmp.Compare(m.RecordedAt.UnixNano(), cur.RecordedAt.UnixNano()) >= 0 {
			latest[key] = m
		}
	}
	out := []ChecklistStep{}
	for _, ph := range v.Document.Protocol.Phases {
		for _, st := range ph.Steps {
			if !st.AppliesWhen.Applies(s) {
				continue
			}
			cs := ChecklistStep{PhaseID: ph.ID, Step: st, Items: make([]ChecklistItem, 0, len(st.Checklist))}
			for _, it := range st.Checklist {
				ci := ChecklistItem{Item: it}
				if m, ok := latest[st.ID+"\x00"+it.ID]; ok {
					mc := *m
					ci.Latest = &mc
				}
				cs.Items = append(cs.Items, ci)
			}
			out = append(out, cs)
		}
	}
	return out
}

// Assess computes the measures of session s with its log and checklist, and raises the flags of
// rules. interviewNumber is the session's rank among the case's sessions by creation (1 for the
// first). It returns no error: rules are validated when the Service is made.
func Assess(rules Rules, s Session, log Log, checklist []ChecklistStep, interviewNumber int) Quality {
	m := Measures{ByType: map[PromptType]int{}, InterviewNumber: interviewNumber,
		Breaks: len(log.Breaks), WellbeingChecks: len(log.Checks), PhasesNotDone: []string{}}
	for _, t := range PromptTypes {
		m.ByType[t] = 0
	}
	for _, p := range log.Prompts {
		m.Prompts++
		m.ByType[p.Type]++
		if p.Type.Open() {
			m.OpenPrompts++
		}
	}
	facts := map[string]float64{
		MeasureSuggestivePrompts: float64(m.ByType[PromptSuggestive]),
		MeasureInterviewNumber:   float64(interviewNumber),
	}
	if m.Prompts > 0 {
		share := float64(m.OpenPrompts) / float64(m.Prompts)
		m.OpenShare = &share
		facts[MeasureOpenShare] = share
		facts[MeasureOptionPosingShare] = float64(m.ByType[PromptOptionPosing]) / float64(m.Prompts)
	}
	m.InterpreterNeeded = slices.Contains(s.Situation.Needs, protocol.NeedInterpreter)
	m.InterpreterPresent = slices.ContainsFunc(s.Plan.Participants, func(p Participant) bool { return p.Role == RoleInterpreter })
	facts[MeasureInterpreterMissing] = 0
	if m.InterpreterNeeded && !m.InterpreterPresent {
		facts[MeasureInterpreterMissing] = 1
	}
	if s.StartedAt != nil && s.EndedAt != nil {
		d := s.EndedAt.Sub(*s.StartedAt).Minutes()
		m.DurationMinutes = &d
	}
	if stretch, ok := longestStretch(s, log); ok {
		m.MinutesWithoutBreak = &stretch
		facts[MeasureMinutesWithoutBreak] = stretch
	}
	phaseOpen := map[string]bool{}
	var phases []string
	for _, cs := range checklist {
		for _, it := range cs.Items {
			m.ChecklistItems++
			switch {
			case it.Latest != nil && it.Latest.Done:
				m.ChecklistItemsDone++
			case it.Latest != nil:
				m.ChecklistItemsNotDone++
			}
			if !cs.Step.Required {
				continue
			}
			if _, seen := phaseOpen[cs.PhaseID]; !seen {
				phases = append(phases, cs.PhaseID)
				phaseOpen[cs.PhaseID] = false
			}
			if it.Latest == nil || !it.Latest.Done {
				phaseOpen[cs.PhaseID] = true
			}
		}
	}
	for _, ph := range phases {
		facts[MeasurePhaseNotDonePrefix+ph] = 0
		if phaseOpen[ph] {
			facts[MeasurePhaseNotDonePrefix+ph] = 1
		}
	}
	q := Quality{Flags: []Flag{}}
	for _, r := range rules {
		value, ok := facts[r.Measure]
		if !ok || m.Prompts < r.MinPrompts || (len(r.AgeBands) > 0 && !slices.Contains(r.AgeBands, s.Situation.AgeBand)) {
			continue
		}
		threshold := r.Threshold
		if t, ok := r.ByAgeBand[s.Situation.AgeBand]; ok {
			threshold = t
		}
		if (r.Compare == Above && value > threshold) || (r.Compare == Below && value < threshold) {
			f := Flag{Code: r.Code, Severity: r.Severity, Measure: r.Measure, Value: value, Threshold: threshold}
			if ph, ok := strings.CutPrefix(r.Measure, MeasurePhaseNotDonePrefix); ok {
				f.PhaseID = ph
				if !slices.Contains(m.PhasesNotDone, ph) {
					m.PhasesNotDone = append(m.PhasesNotDone, ph)
				}
			}
			q.Flags = append(q.Flags, f)
		}
	}
	q.Measures = m
	return q
}

// longestStretch returns the longest time, in minutes, the interview ran without a break: between
// its start, the breaks and its end (or, before it ended, its latest prompt). ok is false before the
// session started.
func longestStretch(s Session, log Log) (float64, bool) {
	if s.StartedAt == nil {
		return 0, false
	}
	start := *s.StartedAt
	var end time.Time
	if s.EndedAt != nil {
		end = *s.EndedAt
	} else {
		end = start
		for _, p := range log.Prompts {
			if p.RecordedAt.After(end) {
				end = p.RecordedAt
			}
		}
	}
	breaks := slices.Clone(log.Breaks)
	slices.SortFunc(breaks, func(a, b Break) int { return a.StartedAt.Compare(b.StartedAt) })
	longest, from := 0.0, start
	for _, b := range breaks {
		if b.EndedAt.Before(from) || b.StartedAt.After(end) {
			continue
		}
		bs := b.StartedAt
		if bs.Before(from) {
			bs = from
		}
		longest = max(longest, bs.Sub(from).Minutes())
		if b.EndedAt.After(from) {
			from = b.EndedAt
		}
	}
	if end.After(from) {
		longest = max(longest, end.Sub(from).Minutes())
	}
	return longest, true
}
