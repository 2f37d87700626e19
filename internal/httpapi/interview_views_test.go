package httpapi

import (
	"strings"
	"testing"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/locales"
)

// Flag messages are localized with their figures (shares as percentages); a configured rule the
// message files do not know gets the generic message naming its code.
func TestInterviewFlagMessages(t *testing.T) {
	t.Parallel()
	cat, err := i18n.New(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{deps: Deps{Catalog: cat}}
	q := interview.Quality{Flags: []interview.Flag{
		{Code: "low_open_share", Severity: interview.SeverityMedium, Measure: interview.MeasureOpenShare, Value: 0.4167, Threshold: 0.5},
		{Code: "required_phase_not_done", Severity: interview.SeverityHigh, Measure: interview.MeasurePhaseNotDonePrefix + "closing", Value: 1, PhaseID: "closing"},
		{Code: "agency_rule", Severity: interview.SeverityLow, Measure: interview.MeasureInterviewNumber, Value: 3, Threshold: 2},
	}}
	titles := func(id string) string { return map[string]string{"closing": "Clôture"}[id] }
	tests := []struct {
		locale string
		flag   int
		want   []string
	}{
		{"en", 0, []string{"42%", "50%"}},
		{"fr", 0, []string{"42 %", "50 %"}},
		{"fr", 1, []string{"« Clôture »"}},
		{"en", 2, []string{"agency_rule"}},
		{"zh", 2, []string{"agency_rule"}},
	}
	for _, tt := range tests {
		v := s.toQualityView(q, tt.locale, titles)
		f := v.Flags[tt.flag]
		for _, w := range tt.want {
			if !strings.Contains(f.Message, w) {
				t.Errorf("%s %s: %q lacks %q", tt.locale, f.Code, f.Message, w)
			}
		}
		if f.Severity != string(q.Flags[tt.flag].Severity) || f.Code != q.Flags[tt.flag].Code {
			t.Errorf("%s: flag %+v", tt.locale, f)
		}
	}
	if v := s.toQualityView(q, "en", titles); v.Flags[1].PhaseID == nil || *v.Flags[1].PhaseID != "closing" || v.Flags[0].PhaseID != nil {
		t.Errorf("phase ids %v %v", v.Flags[0].PhaseID, v.Flags[1].PhaseID)
	}
}
