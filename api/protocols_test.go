package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

type summaryList struct {
	Locale string `json:"locale"`
	Items  []struct {
		ID, Kind, Title string
		Version         int
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

type document struct {
	ID, Kind, Locale, Dir, Title, Notice string
	Version                              int
	Translation                          struct {
		Complete     bool     `json:"complete"`
		Untranslated []string `json:"untranslated"`
	} `json:"translation"`
	Phases []struct {
		ID    string `json:"id"`
		Steps []struct {
			ID        string              `json:"id"`
			Phrasings map[string][]string `json:"phrasings"`
			Timing    *struct{ Label string }
		} `json:"steps"`
	} `json:"phases"`
}

func (d document) stepIDs() []string {
	var ids []string
	for _, ph := range d.Phases {
		for _, st := range ph.Steps {
			ids = append(ids, st.ID)
		}
	}
	return ids
}

var shippedProtocols = []string{"child-interview", "digital-evidence", "first-contact-safety", "informing-and-court-preparation", "medical-psychosocial-referral"}

func TestListProtocols(t *testing.T) {
	t.Parallel()
	base := server(t).base
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"all", "", shippedProtocols},
		{"by kind", "?kind=interview", []string{"child-interview"}},
		{"by kind evidence", "?kind=evidence", []string{"digital-evidence"}},
		{"by age band", "?age_band=under_6", shippedProtocols},
		{"by case type", "?case_type=abuse_material&kind=evidence", []string{"digital-evidence"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, base, "/v1/protocols"+tt.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var list summaryList
			r.json(t, &list)
			var ids []string
			for _, it := range list.Items {
				ids = append(ids, it.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestListProtocolsPages(t *testing.T) {
	t.Parallel()
	base := server(t).base
	var ids []string
	path := "/v1/protocols?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var list summaryList
		get(t, base, path).json(t, &list)
		if len(list.Items) > 2 {
			t.Fatalf("page of %d items with limit 2", len(list.Items))
		}
		for _, it := range list.Items {
			ids = append(ids, it.ID)
		}
		if list.NextCursor == nil {
			break
		}
		path = "/v1/protocols?limit=2&cursor=" + *list.NextCursor
	}
	if !slices.Equal(ids, shippedProtocols) {
		t.Errorf("paged ids = %v, want each protocol once: %v", ids, shippedProtocols)
	}
}

func TestProtocolInEveryLanguage(t *testing.T) {
	t.Parallel()
	base := server(t).base
	var english document
	get(t, base, "/v1/protocols/first-contact-safety").json(t, &english)
	tests := []struct {
		name    string
		path    string
		headers []string
		want    string
		dir     string
	}{
		{"no preference is English", "", nil, "en", "ltr"},
		{"arabic by parameter", "?lang=ar", nil, "ar", "rtl"},
		{"chinese by header", "", []string{"Accept-Language: zh-CN,zh;q=0.9"}, "zh", "ltr"},
		{"french by header with quality", "", []string{"Accept-Language: de;q=0.9, fr;q=0.8"}, "fr", "ltr"},
		{"russian parameter beats header", "?lang=ru", []string{"Accept-Language: es"}, "ru", "ltr"},
		{"spanish regional", "", []string{"Accept-Language: es-419"}, "es", "ltr"},
		{"unsupported header falls back to English", "", []string{"Accept-Language: de-DE"}, "en", "ltr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := get(t, base, "/v1/protocols/first-contact-safety"+tt.path, tt.headers...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			if got := r.header.Get("Content-Language"); got != tt.want {
				t.Errorf("Content-Language = %q, want %q", got, tt.want)
			}
			if v := r.header.Values("Vary"); !strings.Contains(strings.Join(v, ","), "Accept-Language") {
				t.Errorf("Vary = %v", v)
			}
			var d document
			r.json(t, &d)
			if d.Locale != tt.want || d.Dir != tt.dir || !d.Translation.Complete || len(d.Translation.Untranslated) != 0 {
				t.Errorf("locale %q dir %q translation %+v", d.Locale, d.Dir, d.Translation)
			}
			if tt.want != "en" && (d.Title == english.Title || d.Notice == english.Notice) {
				t.Errorf("title %q is not translated", d.Title)
			}
			if !slices.Equal(d.stepIDs(), english.stepIDs()) {
				t.Error("the structure differs between languages")
			}
		})
	}
}

func TestProtocolStepsThatApply(t *testing.T) {
	t.Parallel()
	base := server(t).base
	var all document
	get(t, base, "/v1/protocols/child-interview").json(t, &all)
	tests := []struct {
		name        string
		query       string
		wantStep    string
		wantPresent bool
		onlyBand    string
	}{
		{"interpreter step kept when needs are unknown", "?age_band=6_to_11", "brief-interpreter", true, "6_to_11"},
		{"interpreter step kept when needed", "?age_band=12_to_17&needs=interpreter", "brief-interpreter", true, "12_to_17"},
		{"interpreter step dropped when not needed", "?age_band=12_to_17&needs=", "brief-interpreter", false, "12_to_17"},
		{"young-child step kept for under 6", "?age_band=under_6&needs=", "adapt-for-under-6", true, "under_6"},
		{"young-child step dropped for 12 to 17", "?age_band=12_to_17&case_type=grooming", "adapt-for-under-6", false, "12_to_17"},
	}
	if !slices.Contains(all.stepIDs(), "brief-interpreter") || !slices.Contains(all.stepIDs(), "adapt-for-under-6") {
		t.Fatalf("the shipped interview protocol changed its step ids: %v", all.stepIDs())
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var d document
			r := get(t, base, "/v1/protocols/child-interview"+tt.query)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			r.json(t, &d)
			if got := slices.Contains(d.stepIDs(), tt.wantStep); got != tt.wantPresent {
				t.Errorf("step %s present = %v, want %v", tt.wantStep, got, tt.wantPresent)
			}
			if len(d.stepIDs()) > len(all.stepIDs()) {
				t.Error("filtering added steps")
			}
			phrased := 0
			for _, ph := range d.Phases {
				for _, st := range ph.Steps {
					for band := range st.Phrasings {
						phrased++
						if band != tt.onlyBand {
							t.Errorf("step %s has phrasings for %s", st.ID, band)
						}
					}
				}
			}
			if phrased == 0 {
				t.Error("no phrasings for the age band")
			}
		})
	}
}

func TestTimingLabelsAreLocalized(t *testing.T) {
	t.Parallel()
	base := server(t).base
	labels := map[string]string{}
	for _, lang := range []string{"en", "ar", "es", "fr", "ru", "zh"} {
		var d document
		get(t, base, "/v1/protocols/first-contact-safety?lang="+lang).json(t, &d)
		for _, ph := range d.Phases {
			for _, st := range ph.Steps {
				if st.Timing != nil {
					if st.Timing.Label == "" || strings.Contains(st.Timing.Label, "{{") || strings.Contains(st.Timing.Label, "timing.") {
						t.Errorf("%s: bad timing label %q", lang, st.Timing.Label)
					}
					labels[lang] = st.Timing.Label
				}
			}
		}
	}
	if len(labels) != 6 || labels["en"] == labels["fr"] {
		t.Errorf("timing labels = %v", labels)
	}
}

func TestVersionsAndBundle(t *testing.T) {
	t.Parallel()
	base := server(t).base
	var versions struct {
		ProtocolID string `json:"protocol_id"`
		Items      []struct{ Version int }
	}
	get(t, base, "/v1/protocols/digital-evidence/versions").json(t, &versions)
	if versions.ProtocolID != "digital-evidence" || len(versions.Items) == 0 || versions.Items[0].Version != 1 {
		t.Fatalf("versions = %+v", versions)
	}
	var v1 document
	r := get(t, base, "/v1/protocols/digital-evidence/versions/1?lang=es")
	r.json(t, &v1)
	if v1.Version != 1 || v1.Locale != "es" || !strings.Contains(r.header.Get("Cache-Control"), "max-age") {
		t.Errorf("version 1 = %d %s, Cache-Control %q", v1.Version, v1.Locale, r.header.Get("Cache-Control"))
	}
	var bundle struct {
		Locale, Dir string
		Protocols   []document
	}
	get(t, base, "/v1/protocols/bundle?lang=ar").json(t, &bundle)
	if bundle.Locale != "ar" || bundle.Dir != "rtl" || len(bundle.Protocols) != len(shippedProtocols) {
		t.Fatalf("bundle: locale %s dir %s, %d protocols", bundle.Locale, bundle.Dir, len(bundle.Protocols))
	}
	for _, p := range bundle.Protocols {
		if p.Locale != "ar" || p.Dir != "rtl" || len(p.Phases) == 0 {
			t.Errorf("bundle protocol %s: locale %s dir %s", p.ID, p.Locale, p.Dir)
		}
	}
}

func TestLocales(t *testing.T) {
	t.Parallel()
	var list struct {
		Items []struct {
			Code, Name, Dir string
			EnglishName     string `json:"english_name"`
			Completeness    struct{ Messages, Protocols float64 }
		}
	}
	get(t, server(t).base, "/v1/locales").json(t, &list)
	var codes []string
	for _, l := range list.Items {
		codes = append(codes, l.Code)
		if l.Completeness.Messages != 1 || l.Completeness.Protocols != 1 || l.Name == "" {
			t.Errorf("%+v", l)
		}
		if (l.Code == "ar") != (l.Dir == "rtl") {
			t.Errorf("%s has direction %s", l.Code, l.Dir)
		}
	}
	if !slices.Equal(codes, []string{"en", "ar", "es", "fr", "ru", "zh"}) {
		t.Errorf("locales = %v", codes)
	}
}
