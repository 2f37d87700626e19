package httpapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
)

// Publishing a draft and what follows it: published versions, their differences, a protocol's usage,
// and retiring a protocol.

type publishView struct {
	Draft   draftView `json:"draft"`
	Version int       `json:"version"`
	Created bool      `json:"created"`
}

// publishDraft answers POST /v1/authoring/drafts/{id}/publish.
func (s *Server) publishDraft(c *fiber.Ctx) error {
	var req publishRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	res, err := s.deps.Authoring.Publish(c.UserContext(), principal(c), c.Params("id"), req.Version)
	if err != nil {
		return err
	}
	change, err := s.deps.Authoring.ChangeFromBase(c.UserContext(), &res.Draft)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, publishView{Draft: s.toDraftView(res.Draft, change), Version: res.Version, Created: res.Created})
}

type authoringVersionView struct {
	Version      int                 `json:"version"`
	Label        string              `json:"label"`
	Change       string              `json:"change"`
	ContentHash  string              `json:"content_hash"`
	PublishedAt  time.Time           `json:"published_at"`
	Completeness []localeSummaryView `json:"completeness"`
}

// authoringVersions answers GET /v1/authoring/protocols/{id}/versions.
func (s *Server) authoringVersions(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	vs, err := s.deps.Authoring.Versions(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	r, retired, err := s.deps.Authoring.Retirement(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	out := struct {
		ProtocolID string                 `json:"protocol_id"`
		RetiredAt  *time.Time             `json:"retired_at"`
		Items      []authoringVersionView `json:"items"`
	}{ProtocolID: c.Params("id"), Items: make([]authoringVersionView, len(vs))}
	if retired {
		out.RetiredAt = &r.RetiredAt
	}
	for i, v := range vs {
		out.Items[i] = authoringVersionView{Version: v.Number, Label: v.Label, Change: string(v.Change), ContentHash: v.ContentHash,
			PublishedAt: v.PublishedAt, Completeness: make([]localeSummaryView, len(v.Completeness))}
		for j, st := range v.Completeness {
			out.Items[i].Completeness[j] = toLocaleSummaryView(st)
		}
	}
	return s.sendPrivate(c, out)
}

type stepRefView struct {
	PhaseID string `json:"phase_id"`
	StepID  string `json:"step_id"`
}

type stepChangeView struct {
	PhaseID string   `json:"phase_id"`
	StepID  string   `json:"step_id"`
	Fields  []string `json:"fields"`
}

type phaseChangeView struct {
	PhaseID string   `json:"phase_id"`
	Fields  []string `json:"fields"`
}

type diffView struct {
	ProtocolID    string            `json:"protocol_id"`
	From          int               `json:"from"`
	To            int               `json:"to"`
	Change        string            `json:"change"`
	Fields        []string          `json:"fields"`
	PhasesAdded   []string          `json:"phases_added"`
	PhasesRemoved []string          `json:"phases_removed"`
	PhasesChanged []phaseChangeView `json:"phases_changed"`
	StepsAdded    []stepRefView     `json:"steps_added"`
	StepsRemoved  []stepRefView     `json:"steps_removed"`
	StepsChanged  []stepChangeView  `json:"steps_changed"`
}

// diffVersions answers GET /v1/authoring/protocols/{id}/diff?from=&to=.
func (s *Server) diffVersions(c *fiber.Ctx) error {
	q := readQuery(c, "from", "to")
	dq := struct {
		From int `query:"from" validate:"required,min=1"`
		To   int `query:"to" validate:"required,min=1"`
	}{From: q.integer("from", 0), To: q.integer("to", 0)}
	for _, name := range []string{"from", "to"} {
		if !q.values.Has(name) {
			q.errs = append(q.errs, apperr.FieldError{Field: name, Code: "required", MessageID: "field.required"})
		}
	}
	if err := q.done(s.validate, &dq); err != nil {
		return err
	}
	d, err := s.deps.Authoring.Diff(c.UserContext(), principal(c), c.Params("id"), dq.From, dq.To)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toDiffView(d))
}

// draftDiff answers GET /v1/authoring/drafts/{id}/diff: the draft against its base version.
func (s *Server) draftDiff(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	d, err := s.deps.Authoring.DraftDiff(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendPrivate(c, toDiffView(d))
}

func toDiffView(d authoring.Diff) diffView {
	v := diffView{ProtocolID: d.ProtocolID, From: d.From, To: d.To, Change: string(d.Change), Fields: nonNil(d.Fields),
		PhasesAdded: nonNil(d.PhasesAdded), PhasesRemoved: nonNil(d.PhasesRemoved), PhasesChanged: []phaseChangeView{},
		StepsAdded: []stepRefView{}, StepsRemoved: []stepRefView{}, StepsChanged: []stepChangeView{}}
	for _, p := range d.PhasesChanged {
		v.PhasesChanged = append(v.PhasesChanged, phaseChangeView{PhaseID: p.PhaseID, Fields: p.Fields})
	}
	for _, r := range d.StepsAdded {
		v.StepsAdded = append(v.StepsAdded, stepRefView(r))
	}
	for _, r := range d.StepsRemoved {
		v.StepsRemoved = append(v.StepsRemoved, stepRefView(r))
	}
	for _, sc := range d.StepsChanged {
		v.StepsChanged = append(v.StepsChanged, stepChangeView{PhaseID: sc.PhaseID, StepID: sc.StepID, Fields: sc.Fields})
	}
	return v
}

// protocolUsage answers GET /v1/authoring/protocols/{id}/usage: per version, the runs of the
// caller's organisation pinned to it and the open cases they belong to (counts only).
func (s *Server) protocolUsage(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	us, err := s.deps.Authoring.Usage(c.UserContext(), principal(c), c.Params("id"))
	if err != nil {
		return err
	}
	type usageView struct {
		Version   int `json:"version"`
		OpenCases int `json:"open_cases"`
		Runs      int `json:"runs"`
	}
	out := struct {
		ProtocolID string      `json:"protocol_id"`
		Items      []usageView `json:"items"`
	}{ProtocolID: c.Params("id"), Items: make([]usageView, len(us))}
	for i, u := range us {
		out.Items[i] = usageView(u)
	}
	return s.sendPrivate(c, out)
}

// retireProtocol answers POST /v1/authoring/protocols/{id}/retire.
func (s *Server) retireProtocol(c *fiber.Ctx) error {
	var req retireRequest
	if err := s.decodeBody(c, &req); err != nil {
		return err
	}
	r, err := s.deps.Authoring.Retire(c.UserContext(), principal(c), c.Params("id"), req.Reason)
	if err != nil {
		return err
	}
	return s.sendPrivate(c, struct {
		ProtocolID string    `json:"protocol_id"`
		RetiredAt  time.Time `json:"retired_at"`
		RetiredBy  string    `json:"retired_by"`
		Reason     string    `json:"reason"`
	}{r.ProtocolID, r.RetiredAt, r.RetiredBy, r.Reason})
}
