package protocol

import "fmt"

// Localize returns a copy of the protocol with its text in locale, and the ids of the strings that
// had no translation and so kept their source-locale text.
func (d *Document) Localize(locale string) (Protocol, []string) {
	p := d.Protocol.clone()
	if locale == SourceLocale {
		return p, nil
	}
	tr := d.Translations[locale]
	var fellBack []string
	text := func(id string, dst *string) {
		if t := tr[id]; t != "" {
			*dst = t
			return
		}
		fellBack = append(fellBack, id)
	}
	text("title", &p.Title)
	text("summary", &p.Summary)
	text("notice", &p.Notice)
	for pi := range p.Phases {
		ph := &p.Phases[pi]
		text("phase."+ph.ID+".title", &ph.Title)
		if ph.Summary != "" {
			text("phase."+ph.ID+".summary", &ph.Summary)
		}
		for si := range ph.Steps {
			st := &ph.Steps[si]
			k := "step." + st.ID
			text(k+".title", &st.Title)
			text(k+".body", &st.Body)
			for ii := range st.Checklist {
				text(k+".checklist."+st.Checklist[ii].ID, &st.Checklist[ii].Text)
			}
			for band, list := range st.Phrasings {
				for n := range list {
					text(fmt.Sprintf("%s.phrasing.%s.%d", k, band, n+1), &list[n])
				}
			}
			for n := range st.Cautions {
				text(fmt.Sprintf("%s.caution.%d", k, n+1), &st.Cautions[n])
			}
		}
	}
	return p, fellBack
}

// Filter returns the protocol with only the steps that apply in situation s (see Condition.Applies);
// when the age band is known, only that band's phrasings are kept. Phases left with no step are dropped.
func (p Protocol) Filter(s Situation) Protocol {
	if s.IsZero() {
		return p
	}
	phases := make([]Phase, 0, len(p.Phases))
	for _, ph := range p.Phases {
		steps := make([]Step, 0, len(ph.Steps))
		for _, st := range ph.Steps {
			if !st.AppliesWhen.Applies(s) {
				continue
			}
			if s.AgeBand != "" && st.Phrasings != nil {
				st.Phrasings = map[AgeBand][]string{s.AgeBand: st.Phrasings[s.AgeBand]}
				if st.Phrasings[s.AgeBand] == nil {
					st.Phrasings = nil
				}
			}
			steps = append(steps, st)
		}
		if len(steps) > 0 {
			ph.Steps = steps
			phases = append(phases, ph)
		}
	}
	p.Phases = phases
	return p
}

// StepCount returns the number of steps in all phases.
func (p *Protocol) StepCount() int {
	n := 0
	for _, ph := range p.Phases {
		n += len(ph.Steps)
	}
	return n
}

// clone returns a deep copy of the text-bearing parts of p, so localizing never writes to shared data.
func (p *Protocol) clone() Protocol {
	c := *p
	c.Phases = make([]Phase, len(p.Phases))
	for pi, ph := range p.Phases {
		ph.Steps = append([]Step(nil), ph.Steps...)
		for si := range ph.Steps {
			st := &ph.Steps[si]
			st.Checklist = append([]ChecklistItem(nil), st.Checklist...)
			st.Cautions = append([]string(nil), st.Cautions...)
			if st.Phrasings != nil {
				m := make(map[AgeBand][]string, len(st.Phrasings))
				for band, list := range st.Phrasings {
					m[band] = append([]string(nil), list...)
				}
				st.Phrasings = m
			}
		}
		c.Phases[pi] = ph
	}
	return c
}
