package protocol

import (
	"fmt"
	"slices"
)

// SourceString is one translatable string of a protocol: its stable id, its source text and the path
// of the field it comes from in protocol.yaml (a JSON-pointer-like path such as /phases/0/steps/2/body).
type SourceString struct {
	ID   string
	Text string
	Path string
}

// Strings lists every translatable string of p in document order. String ids are derived from the
// structure (see protocols/README.md), so they stay stable while the element ids do.
func (p *Protocol) Strings() []SourceString {
	var out []SourceString
	add := func(id, text, path string) { out = append(out, SourceString{ID: id, Text: text, Path: path}) }
	add("title", p.Title, "/title")
	add("summary", p.Summary, "/summary")
	add("notice", p.Notice, "/notice")
	for pi, ph := range p.Phases {
		pp := fmt.Sprintf("/phases/%d", pi)
		add("phase."+ph.ID+".title", ph.Title, pp+"/title")
		if ph.Summary != "" {
			add("phase."+ph.ID+".summary", ph.Summary, pp+"/summary")
		}
		for si, st := range ph.Steps {
			sp := fmt.Sprintf("%s/steps/%d", pp, si)
			k := "step." + st.ID
			add(k+".title", st.Title, sp+"/title")
			add(k+".body", st.Body, sp+"/body")
			for ii, it := range st.Checklist {
				add(k+".checklist."+it.ID, it.Text, fmt.Sprintf("%s/checklist/%d/text", sp, ii))
			}
			for _, band := range phrasingBands(st.Phrasings) {
				for n, text := range st.Phrasings[band] {
					add(fmt.Sprintf("%s.phrasing.%s.%d", k, band, n+1), text, fmt.Sprintf("%s/phrasings/%s/%d", sp, band, n))
				}
			}
			for n, text := range st.Cautions {
				add(fmt.Sprintf("%s.caution.%d", k, n+1), text, fmt.Sprintf("%s/cautions/%d", sp, n))
			}
		}
	}
	return out
}

// phrasingBands returns the bands of m in the vocabulary's order, then any unknown ones sorted.
func phrasingBands(m map[AgeBand][]string) []AgeBand {
	bands := make([]AgeBand, 0, len(m))
	for _, b := range AgeBands {
		if _, ok := m[b]; ok {
			bands = append(bands, b)
		}
	}
	var rest []AgeBand
	for b := range m {
		if !slices.Contains(AgeBands, b) {
			rest = append(rest, b)
		}
	}
	slices.Sort(rest)
	return append(bands, rest...)
}

// Completeness is how much of a document is translated into one locale.
type Completeness struct {
	Total      int
	Translated int
	Missing    []string
}

// Ratio returns the translated share in [0, 1]; a document with no strings is complete.
func (c Completeness) Ratio() float64 {
	if c.Total == 0 {
		return 1
	}
	return float64(c.Translated) / float64(c.Total)
}

// Completeness reports which source strings of d have a non-empty translation in locale.
// The source locale is always complete.
func (d *Document) Completeness(locale string) Completeness {
	strs := d.Protocol.Strings()
	c := Completeness{Total: len(strs)}
	tr := d.Translations[locale]
	for _, s := range strs {
		if locale == SourceLocale || tr[s.ID] != "" {
			c.Translated++
		} else {
			c.Missing = append(c.Missing, s.ID)
		}
	}
	return c
}
