package protocol

import "slices"

// Condition decides whether a step applies. Exactly one field is set: a leaf (AgeBand, CaseType, Need:
// true when the child or case has one of the listed values) or a combination (All, Any, Not).
type Condition struct {
	AgeBand  []AgeBand   `yaml:"age_band,omitempty" json:"age_band,omitempty"`
	CaseType []CaseType  `yaml:"case_type,omitempty" json:"case_type,omitempty"`
	Need     []Need      `yaml:"need,omitempty" json:"need,omitempty"`
	All      []Condition `yaml:"all,omitempty" json:"all,omitempty"`
	Any      []Condition `yaml:"any,omitempty" json:"any,omitempty"`
	Not      *Condition  `yaml:"not,omitempty" json:"not,omitempty"`
}

// Situation is what is known about a child and a case when deciding which steps apply.
// A zero AgeBand, a nil CaseTypes or a nil Needs means "not known".
type Situation struct {
	AgeBand   AgeBand
	CaseTypes []CaseType
	Needs     []Need
}

// IsZero reports whether nothing is known, so every step applies.
func (s Situation) IsZero() bool {
	return s.AgeBand == "" && s.CaseTypes == nil && s.Needs == nil
}

// truth is a three-valued (Kleene) truth value: conditions over unknown facts are unknown.
type truth int

const (
	unknown truth = iota
	no
	yes
)

// Applies reports whether a step with condition c applies in situation s: only a condition that is
// certainly false excludes a step. A nil condition always applies.
func (c *Condition) Applies(s Situation) bool {
	return c == nil || c.eval(s) != no
}

func (c *Condition) eval(s Situation) truth {
	switch {
	case c.AgeBand != nil:
		if s.AgeBand == "" {
			return unknown
		}
		return of(slices.Contains(c.AgeBand, s.AgeBand))
	case c.CaseType != nil:
		if s.CaseTypes == nil {
			return unknown
		}
		return of(slices.ContainsFunc(c.CaseType, func(t CaseType) bool { return slices.Contains(s.CaseTypes, t) }))
	case c.Need != nil:
		if s.Needs == nil {
			return unknown
		}
		return of(slices.ContainsFunc(c.Need, func(n Need) bool { return slices.Contains(s.Needs, n) }))
	case c.All != nil:
		result := yes
		for i := range c.All {
			switch c.All[i].eval(s) {
			case no:
				return no
			case unknown:
				result = unknown
			}
		}
		return result
	case c.Any != nil:
		result := no
		for i := range c.Any {
			switch c.Any[i].eval(s) {
			case yes:
				return yes
			case unknown:
				result = unknown
			}
		}
		return result
	case c.Not != nil:
		switch c.Not.eval(s) {
		case yes:
			return no
		case no:
			return yes
		}
		return unknown
	}
	return unknown
}

func of(b bool) truth {
	if b {
		return yes
	}
	return no
}
