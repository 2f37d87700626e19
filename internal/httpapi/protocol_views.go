package httpapi

import (
	"time"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Response views of protocol content. The domain types stay free of API concerns; these functions
// are the named conversions between them.

type codeLabel struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

type protocolSummary struct {
	ID                  string      `json:"id"`
	Version             int         `json:"version"`
	Kind                string      `json:"kind"`
	KindLabel           string      `json:"kind_label"`
	Title               string      `json:"title"`
	Summary             string      `json:"summary"`
	CaseTypes           []codeLabel `json:"case_types"`
	AgeBands            []codeLabel `json:"age_bands"`
	PhaseCount          int         `json:"phase_count"`
	StepCount           int         `json:"step_count"`
	ContentHash         string      `json:"content_hash"`
	PublishedAt         time.Time   `json:"published_at"`
	TranslationComplete bool        `json:"translation_complete"`
}

type protocolDocument struct {
	ID          string          `json:"id"`
	Version     int             `json:"version"`
	Kind        string          `json:"kind"`
	KindLabel   string          `json:"kind_label"`
	Locale      string          `json:"locale"`
	Dir         string          `json:"dir"`
	Title       string          `json:"title"`
	Summary     string          `json:"summary"`
	Notice      string          `json:"notice"`
	CaseTypes   []codeLabel     `json:"case_types"`
	AgeBands    []codeLabel     `json:"age_bands"`
	References  []referenceView `json:"references"`
	ContentHash string          `json:"content_hash"`
	PublishedAt time.Time       `json:"published_at"`
	Translation translationView `json:"translation"`
	AppliesTo   *situationView  `json:"applies_to"`
	Phases      []phaseView     `json:"phases"`
}

type referenceView struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	URL   string `json:"url,omitempty"`
}

type translationView struct {
	Locale         string   `json:"locale"`
	Complete       bool     `json:"complete"`
	FallbackLocale string   `json:"fallback_locale,omitempty"`
	Untranslated   []string `json:"untranslated"`
}

type situationView struct {
	AgeBand   *string  `json:"age_band"`
	CaseTypes []string `json:"case_types"`
	Needs     []string `json:"needs"`
}

type phaseView struct {
	ID      string     `json:"id"`
	Title   string     `json:"title"`
	Summary string     `json:"summary,omitempty"`
	Steps   []stepView `json:"steps"`
}

type stepView struct {
	ID               string                   `json:"id"`
	Title            string                   `json:"title"`
	Body             string                   `json:"body"`
	Required         bool                     `json:"required"`
	PerformedBy      string                   `json:"performed_by"`
	PerformedByLabel string                   `json:"performed_by_label"`
	Timing           *timingView              `json:"timing,omitempty"`
	DependsOn        []string                 `json:"depends_on"`
	AppliesWhen      *protocol.Condition      `json:"applies_when,omitempty"`
	Checklist        []protocol.ChecklistItem `json:"checklist"`
	Phrasings        map[string][]string      `json:"phrasings"`
	Cautions         []string                 `json:"cautions"`
}

type timingView struct {
	Relation string `json:"relation"`
	Amount   int    `json:"amount"`
	Unit     string `json:"unit"`
	Anchor   string `json:"anchor"`
	Label    string `json:"label"`
}

type versionView struct {
	Version     int       `json:"version"`
	ContentHash string    `json:"content_hash"`
	PublishedAt time.Time `json:"published_at"`
}

type localeView struct {
	Code         string           `json:"code"`
	Name         string           `json:"name"`
	EnglishName  string           `json:"english_name"`
	Dir          string           `json:"dir"`
	Completeness completenessView `json:"completeness"`
}

type completenessView struct {
	Messages  float64 `json:"messages"`
	Protocols float64 `json:"protocols"`
}

// labeler renders vocabulary codes as localized labels.
type labeler struct {
	cat    *i18n.Catalog
	locale string
}

func (l labeler) label(group, code string) string {
	if l.cat == nil { // records synced to devices carry codes only (sync_sharing.go)
		return code
	}
	return l.cat.Message(l.locale, group+"."+code, nil)
}

func labels[T ~string](l labeler, group string, codes []T) []codeLabel {
	out := make([]codeLabel, len(codes))
	for i, c := range codes {
		out[i] = codeLabel{Code: string(c), Label: l.label(group, string(c))}
	}
	return out
}

func toSummaryView(v protocol.Version, l labeler) protocolSummary {
	p, fellBack := v.Document.Localize(l.locale)
	return protocolSummary{
		ID: p.ID, Version: v.Number, Kind: string(p.Kind), KindLabel: l.label("kind", string(p.Kind)),
		Title: p.Title, Summary: p.Summary,
		CaseTypes: labels(l, "case_type", p.CaseTypes), AgeBands: labels(l, "age_band", p.AgeBands),
		PhaseCount: len(p.Phases), StepCount: p.StepCount(),
		ContentHash: v.ContentHash, PublishedAt: v.PublishedAt, TranslationComplete: len(fellBack) == 0,
	}
}

func toDocumentView(v protocol.Version, loc i18n.Locale, l labeler, s protocol.Situation) protocolDocument {
	p, fellBack := v.Document.Localize(loc.Code)
	p = p.Filter(s)
	d := protocolDocument{
		ID: p.ID, Version: v.Number, Kind: string(p.Kind), KindLabel: l.label("kind", string(p.Kind)),
		Locale: loc.Code, Dir: loc.Dir, Title: p.Title, Summary: p.Summary, Notice: p.Notice,
		CaseTypes: labels(l, "case_type", p.CaseTypes), AgeBands: labels(l, "age_band", p.AgeBands),
		ContentHash: v.ContentHash, PublishedAt: v.PublishedAt,
		Translation: translationView{Locale: loc.Code, Complete: len(fellBack) == 0, Untranslated: nonNil(fellBack)},
		Phases:      make([]phaseView, len(p.Phases)),
		References:  make([]referenceView, 0, len(p.References)),
	}
	if len(fellBack) > 0 {
		d.Translation.FallbackLocale = protocol.SourceLocale
	}
	for _, r := range p.References {
		d.References = append(d.References, referenceView(r))
	}
	if !s.IsZero() {
		d.AppliesTo = toSituationView(s)
	}
	for i, ph := range p.Phases {
		pv := phaseView{ID: ph.ID, Title: ph.Title, Summary: ph.Summary, Steps: make([]stepView, len(ph.Steps))}
		for j, st := range ph.Steps {
			pv.Steps[j] = toStepView(st, l)
		}
		d.Phases[i] = pv
	}
	return d
}

func toStepView(st protocol.Step, l labeler) stepView {
	sv := stepView{
		ID: st.ID, Title: st.Title, Body: st.Body, Required: st.Required,
		PerformedBy: st.PerformedBy, PerformedByLabel: l.label("role", st.PerformedBy),
		DependsOn: nonNil(st.DependsOn), AppliesWhen: st.AppliesWhen,
		Checklist: nonNil(st.Checklist), Cautions: nonNil(st.Cautions), Phrasings: map[string][]string{},
	}
	for band, list := range st.Phrasings {
		sv.Phrasings[string(band)] = list
	}
	if t := st.Timing; t != nil {
		duration := l.cat.Plural(l.locale, "duration."+t.Unit, t.Amount, nil)
		sv.Timing = &timingView{Relation: t.Relation, Amount: t.Amount, Unit: t.Unit, Anchor: t.Anchor,
			Label: l.cat.Message(l.locale, "timing."+t.Relation+"."+t.Anchor, map[string]any{"Duration": duration})}
	}
	return sv
}

func toSituationView(s protocol.Situation) *situationView {
	sv := &situationView{}
	if s.AgeBand != "" {
		band := string(s.AgeBand)
		sv.AgeBand = &band
	}
	if s.CaseTypes != nil {
		sv.CaseTypes = make([]string, len(s.CaseTypes))
		for i, t := range s.CaseTypes {
			sv.CaseTypes[i] = string(t)
		}
	}
	if s.Needs != nil {
		sv.Needs = make([]string, len(s.Needs))
		for i, n := range s.Needs {
			sv.Needs[i] = string(n)
		}
	}
	return sv
}

func toVersionView(v protocol.Version) versionView {
	return versionView{Version: v.Number, ContentHash: v.ContentHash, PublishedAt: v.PublishedAt}
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
