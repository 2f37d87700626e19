package authoring

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// ClassifyChange says what changed from document a to document b. A change is structural when
// anything a run, a filter or a translation id depends on changed: the kind, case types, age bands,
// phases and steps (ids, order, which phase), required, performed_by, timing, depends_on,
// applies_when, checklist item ids and order, or the number of phrasings per age band and of
// cautions. Anything else (source text, reference titles and addresses, translations) is a text
// change. Equal content is ChangeNone.
func ClassifyChange(a, b *protocol.Document) Change {
	if jsonEqual(a, b) {
		return ChangeNone
	}
	if jsonEqual(skeleton(a.Protocol), skeleton(b.Protocol)) {
		return ChangeText
	}
	return ChangeStructural
}

// skeleton returns p with every text replaced by its length class (empty or not), keeping the shape.
func skeleton(p protocol.Protocol) protocol.Protocol {
	var c protocol.Protocol
	b, _ := json.Marshal(p)
	_ = json.Unmarshal(b, &c)
	c.Title, c.Summary, c.Notice, c.References = "", "", "", nil
	for pi := range c.Phases {
		ph := &c.Phases[pi]
		ph.Title = ""
		ph.Summary = blank(ph.Summary)
		for si := range ph.Steps {
			st := &ph.Steps[si]
			st.Title, st.Body = "", ""
			for i := range st.Checklist {
				st.Checklist[i].Text = ""
			}
			for band, list := range st.Phrasings {
				st.Phrasings[band] = make([]string, len(list))
			}
			st.Cautions = make([]string, len(st.Cautions))
		}
	}
	return c
}

// blank keeps whether an optional text is present (its presence adds a translation id).
func blank(s string) string {
	if s == "" {
		return ""
	}
	return "x"
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Labels numbers versions by the documented rule: version 1 is 1.0; a structural change moves to
// the next major number (2.0), a text-only change to the next minor number (1.1). docs are the
// documents of versions 1..n in order; the result has one label and one change per version (the
// first version's change is structural).
func Labels(docs []protocol.Document) ([]string, []Change) {
	labels, changes := make([]string, len(docs)), make([]Change, len(docs))
	major, minor := 0, 0
	for i := range docs {
		change := ChangeStructural
		if i > 0 {
			change = ClassifyChange(&docs[i-1], &docs[i])
		}
		if change == ChangeStructural {
			major, minor = major+1, 0
		} else {
			minor++
		}
		labels[i], changes[i] = fmt.Sprintf("%d.%d", major, minor), change
	}
	return labels, changes
}

// StepRef names a step and the phase it is in.
type StepRef struct {
	PhaseID string
	StepID  string
}

// StepChange is a step present in both versions with the fields that differ.
type StepChange struct {
	StepRef
	Fields []string // phase, position, title, body, required, performed_by, timing, depends_on, applies_when, checklist, phrasings, cautions, translations
}

// PhaseChange is a phase present in both versions with the fields that differ (title, summary, position).
type PhaseChange struct {
	PhaseID string
	Fields  []string
}

// Diff is the difference between two versions of a protocol.
type Diff struct {
	ProtocolID    string
	From, To      int
	Change        Change
	Fields        []string // protocol-level fields that differ: kind, title, summary, notice, case_types, age_bands, references
	PhasesAdded   []string
	PhasesRemoved []string
	PhasesChanged []PhaseChange
	StepsAdded    []StepRef
	StepsRemoved  []StepRef
	StepsChanged  []StepChange
}

// Compare returns the differences between two documents of one protocol.
func Compare(a, b *protocol.Document) Diff {
	d := Diff{ProtocolID: b.Protocol.ID, Change: ClassifyChange(a, b)}
	pa, pb := &a.Protocol, &b.Protocol
	for _, f := range []struct {
		name string
		x, y any
	}{{"kind", pa.Kind, pb.Kind}, {"title", pa.Title, pb.Title}, {"summary", pa.Summary, pb.Summary}, {"notice", pa.Notice, pb.Notice},
		{"case_types", pa.CaseTypes, pb.CaseTypes}, {"age_bands", pa.AgeBands, pb.AgeBands}, {"references", pa.References, pb.References}} {
		if !jsonEqual(f.x, f.y) {
			d.Fields = append(d.Fields, f.name)
		}
	}
	phaseIdx := func(p *protocol.Protocol) map[string]int {
		m := map[string]int{}
		for i, ph := range p.Phases {
			m[ph.ID] = i
		}
		return m
	}
	type stepAt struct {
		phase string
		pos   int
		step  protocol.Step
	}
	stepIdx := func(p *protocol.Protocol) (map[string]stepAt, []string) {
		m, order := map[string]stepAt{}, []string{}
		n := 0
		for _, ph := range p.Phases {
			for _, st := range ph.Steps {
				m[st.ID] = stepAt{ph.ID, n, st}
				order = append(order, st.ID)
				n++
			}
		}
		return m, order
	}
	phA, phB := phaseIdx(pa), phaseIdx(pb)
	for _, ph := range pa.Phases {
		if _, ok := phB[ph.ID]; !ok {
			d.PhasesRemoved = append(d.PhasesRemoved, ph.ID)
		}
	}
	for i, ph := range pb.Phases {
		j, ok := phA[ph.ID]
		if !ok {
			d.PhasesAdded = append(d.PhasesAdded, ph.ID)
			continue
		}
		old := pa.Phases[j]
		var fields []string
		if old.Title != ph.Title {
			fields = append(fields, "title")
		}
		if old.Summary != ph.Summary {
			fields = append(fields, "summary")
		}
		if relPos(pa.Phases, phB, j) != relPos(pb.Phases, phA, i) {
			fields = append(fields, "position")
		}
		if len(fields) > 0 {
			d.PhasesChanged = append(d.PhasesChanged, PhaseChange{PhaseID: ph.ID, Fields: fields})
		}
	}
	stA, orderA := stepIdx(pa)
	stB, orderB := stepIdx(pb)
	common := func(order []string, other map[string]stepAt) []string {
		var out []string
		for _, id := range order {
			if _, ok := other[id]; ok {
				out = append(out, id)
			}
		}
		return out
	}
	commonA, commonB := common(orderA, stB), common(orderB, stA)
	for _, id := range orderA {
		if _, ok := stB[id]; !ok {
			d.StepsRemoved = append(d.StepsRemoved, StepRef{stA[id].phase, id})
		}
	}
	for _, id := range orderB {
		y := stB[id]
		x, ok := stA[id]
		if !ok {
			d.StepsAdded = append(d.StepsAdded, StepRef{y.phase, id})
			continue
		}
		var fields []string
		if x.phase != y.phase {
			fields = append(fields, "phase")
		}
		if slices.Index(commonA, id) != slices.Index(commonB, id) {
			fields = append(fields, "position")
		}
		for _, f := range []struct {
			name string
			x, y any
		}{{"title", x.step.Title, y.step.Title}, {"body", x.step.Body, y.step.Body}, {"required", x.step.Required, y.step.Required},
			{"performed_by", x.step.PerformedBy, y.step.PerformedBy}, {"timing", x.step.Timing, y.step.Timing},
			{"depends_on", x.step.DependsOn, y.step.DependsOn}, {"applies_when", x.step.AppliesWhen, y.step.AppliesWhen},
			{"checklist", x.step.Checklist, y.step.Checklist}, {"phrasings", x.step.Phrasings, y.step.Phrasings},
			{"cautions", x.step.Cautions, y.step.Cautions}} {
			if !jsonEqual(f.x, f.y) {
				fields = append(fields, f.name)
			}
		}
		if !reflect.DeepEqual(stepTranslations(a, id), stepTranslations(b, id)) {
			fields = append(fields, "translations")
		}
		if len(fields) > 0 {
			d.StepsChanged = append(d.StepsChanged, StepChange{StepRef: StepRef{y.phase, id}, Fields: fields})
		}
	}
	return d
}

// relPos is the position of phases[i] among the phases both versions have.
func relPos(phases []protocol.Phase, other map[string]int, i int) int {
	n := 0
	for j := 0; j < i; j++ {
		if _, ok := other[phases[j].ID]; ok {
			n++
		}
	}
	return n
}

// stepTranslations collects the translations of a step's strings, by locale and string id.
func stepTranslations(d *protocol.Document, stepID string) map[string]map[string]string {
	prefix := "step." + stepID + "."
	out := map[string]map[string]string{}
	for l, m := range d.Translations {
		for id, t := range m {
			if len(id) > len(prefix) && id[:len(prefix)] == prefix {
				if out[l] == nil {
					out[l] = map[string]string{}
				}
				out[l][id] = t
			}
		}
	}
	return out
}

// versionDocs reads versions 1..latest of a protocol.
func (s *Service) versionDocs(ctx context.Context, protocolID string) ([]protocol.Version, error) {
	latest, err := s.library.Latest(protocolID)
	if err != nil {
		return nil, err
	}
	out := make([]protocol.Version, 0, latest.Number)
	for n := 1; n <= latest.Number; n++ {
		v, err := s.library.Version(ctx, protocolID, n)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Versions lists the published versions of a protocol, oldest first, with their labels, the kind of
// change from the version before, and completeness per locale. It returns identity.ErrForbidden for
// callers who are not content editors, an *apperr.Error NotFound for an unknown protocol, or the
// library's error.
func (s *Service) Versions(ctx context.Context, p identity.Principal, protocolID string) ([]VersionInfo, error) {
	if err := authorize(p); err != nil {
		return nil, err
	}
	vs, err := s.versionDocs(ctx, protocolID)
	if err != nil {
		return nil, err
	}
	docs := make([]protocol.Document, len(vs))
	for i, v := range vs {
		docs[i] = v.Document
	}
	labels, changes := Labels(docs)
	out := make([]VersionInfo, len(vs))
	for i, v := range vs {
		out[i] = VersionInfo{Number: v.Number, Label: labels[i], Change: changes[i], ContentHash: v.ContentHash, PublishedAt: v.PublishedAt}
		d := Draft{Protocol: v.Document.Protocol, Translations: v.Document.Translations, TranslatedFrom: currentSources(&v.Document)}
		for _, l := range s.Locales() {
			st := s.LocaleStatus(&d, l)
			st.Strings = nil
			out[i].Completeness = append(out[i].Completeness, st)
		}
	}
	return out, nil
}

// currentSources marks every translation of a published document as made from its current source
// (publishing required that, or the document came from files that `validate` accepted).
func currentSources(doc *protocol.Document) protocol.Translations {
	source := sourceTexts(&doc.Protocol)
	out := protocol.Translations{}
	for l, m := range doc.Translations {
		out[l] = map[string]string{}
		for id := range m {
			out[l][id] = source[id]
		}
	}
	return out
}

// Diff compares two published versions of a protocol (from may be greater than to). It returns
// identity.ErrForbidden for callers who are not content editors, an *apperr.Error NotFound for an
// unknown protocol or version, or the library's error.
func (s *Service) Diff(ctx context.Context, p identity.Principal, protocolID string, from, to int) (Diff, error) {
	if err := authorize(p); err != nil {
		return Diff{}, err
	}
	a, err := s.library.Version(ctx, protocolID, from)
	if err != nil {
		return Diff{}, err
	}
	b, err := s.library.Version(ctx, protocolID, to)
	if err != nil {
		return Diff{}, err
	}
	d := Compare(&a.Document, &b.Document)
	d.From, d.To = from, to
	return d, nil
}

// Usage counts, for every published version of a protocol, the runs of the caller's organisation
// pinned to it and the open cases they belong to (counts only). It returns identity.ErrForbidden for
// callers who are not content editors, an *apperr.Error NotFound for an unknown protocol, or the
// library's or store's error.
func (s *Service) Usage(ctx context.Context, p identity.Principal, protocolID string) ([]Usage, error) {
	if err := authorize(p); err != nil {
		return nil, err
	}
	latest, err := s.library.Latest(protocolID)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.CountRuns(ctx, p.OrgID, protocolID)
	if err != nil {
		return nil, fmt.Errorf("counting runs of %s: %w", protocolID, err)
	}
	var all []string
	for _, c := range counts {
		all = append(all, c.CaseIDs...)
	}
	slices.Sort(all)
	open, err := s.store.OpenCases(ctx, p.OrgID, slices.Compact(all))
	if err != nil {
		return nil, fmt.Errorf("counting open cases of %s: %w", protocolID, err)
	}
	out := make([]Usage, latest.Number)
	for i := range out {
		out[i].Version = i + 1
	}
	for _, c := range counts {
		if c.Version < 1 || c.Version > latest.Number {
			continue
		}
		out[c.Version-1].Runs = c.Runs
		for _, id := range c.CaseIDs {
			if open[id] {
				out[c.Version-1].OpenCases++
			}
		}
	}
	return out, nil
}

// ChangeFromBase classifies a draft's change from the version it is based on (structural for a new
// protocol). It returns the library's error.
func (s *Service) ChangeFromBase(ctx context.Context, d *Draft) (Change, error) {
	if d.BaseVersion == 0 {
		return ChangeStructural, nil
	}
	base, err := s.library.Version(ctx, d.ProtocolID, d.BaseVersion)
	if err != nil {
		return "", err
	}
	doc := d.Document()
	return ClassifyChange(&base.Document, &doc), nil
}

// DraftDiff compares a draft with the version it is based on (To is 0: the draft), for its
// reviewers; a new protocol's draft lists everything as added. Errors as for Draft, or the library's.
func (s *Service) DraftDiff(ctx context.Context, p identity.Principal, id string) (Diff, error) {
	d, err := s.Draft(ctx, p, id)
	if err != nil {
		return Diff{}, err
	}
	var base protocol.Document
	if d.BaseVersion > 0 {
		v, err := s.library.Version(ctx, d.ProtocolID, d.BaseVersion)
		if err != nil {
			return Diff{}, err
		}
		base = v.Document
	}
	doc := d.Document()
	diff := Compare(&base, &doc)
	if d.BaseVersion == 0 {
		diff.Change = ChangeStructural
	}
	diff.From, diff.To = d.BaseVersion, 0
	return diff, nil
}
