package interview

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// fieldErrors collects field errors for one *apperr.Error Invalid.
type fieldErrors struct{ apperr.FieldErrors }

// text checks an optional free-text value: at most limit characters, valid UTF-8, no control
// characters other than tab and newlines. It returns the value trimmed.
func (f *fieldErrors) text(field, value string, limit int) string {
	value = strings.TrimSpace(value)
	if !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool {
		return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f
	}) {
		f.Add(field, "invalid", "field.invalid", nil)
		return value
	}
	f.MaxLength(field, value, limit)
	return value
}

// token checks an identifier chosen elsewhere (client ids, step ids): 1 to limit of A-Z a-z 0-9 . _ : -.
func (f *fieldErrors) token(field, id string, limit int) bool {
	if id == "" {
		f.Add(field, "required", "field.required", nil)
		return false
	}
	if !validToken(id, limit) {
		f.Add(field, "invalid", "field.invalid", nil)
		return false
	}
	return true
}

func validToken(id string, limit int) bool {
	return id != "" && len(id) <= limit && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && !strings.ContainsRune("._:-", r)
	})
}

// deviceTime checks a required device time: set, and not more than MaxClockSkew after now.
func (f *fieldErrors) deviceTime(field string, t time.Time, now time.Time) time.Time {
	if t.IsZero() {
		f.Add(field, "required", "field.required", nil)
		return t
	}
	t = t.UTC().Truncate(time.Millisecond)
	if t.After(now.Add(MaxClockSkew)) {
		f.Add(field, "future", "field.not_in_future", map[string]any{"Minutes": int(MaxClockSkew.Minutes())})
	}
	return t
}

func (f *fieldErrors) optionalDeviceTime(field string, t *time.Time, now time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := f.deviceTime(field, *t, now)
	return &v
}

// plan checks and normalizes a plan.
func (f *fieldErrors) plan(p Plan) Plan {
	p = p.clone()
	if p.ScheduledAt != nil {
		t := p.ScheduledAt.UTC().Truncate(time.Millisecond)
		p.ScheduledAt = &t
	}
	p.Place = f.text("plan.place", p.Place, MaxPlaceLen)
	if len(p.Participants) > MaxParticipants {
		f.Add("plan.participants", "max_items", "field.max_items", map[string]any{"Max": MaxParticipants})
	}
	for i := range p.Participants {
		pp := &p.Participants[i]
		field := fmt.Sprintf("plan.participants[%d]", i)
		apperr.OneOf(&f.FieldErrors, field+".role", pp.Role, ParticipantRoles)
		pp.Name = f.text(field+".name", pp.Name, MaxNameLen)
		pp.Language = f.Language(field+".language", pp.Language)
		if pp.UserID != "" {
			f.token(field+".user_id", pp.UserID, MaxIDLen)
		}
	}
	r := &p.Recording
	r.Device = f.text("plan.recording.device", r.Device, MaxNameLen)
	r.FileName = f.text("plan.recording.file_name", r.FileName, MaxNameLen)
	r.SHA256 = strings.ToLower(strings.TrimSpace(r.SHA256))
	if r.SHA256 != "" && (len(r.SHA256) != 64 || strings.ContainsFunc(r.SHA256, func(c rune) bool { return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') })) {
		f.Add("plan.recording.sha256", "sha256", "field.sha256", nil)
	}
	p.Consent.Notes = f.text("plan.consent.notes", p.Consent.Notes, MaxNoteLen)
	return p
}

// entries checks a batch of log entries against the session's checklist and protocol; now decides
// which device times are in the future. Client ids must be unique within the batch.
func (f *fieldErrors) entries(e Entries, v protocol.Version, checklist []ChecklistStep, now time.Time) Entries {
	if e.Len() == 0 {
		f.Add("body", "empty", "field.empty_batch", nil)
		return e
	}
	if e.Len() > MaxBatch {
		f.Add("body", "max_items", "field.max_items", map[string]any{"Max": MaxBatch})
		return e
	}
	seen := map[string]bool{}
	clientID := func(field, id string) {
		if f.token(field, id, MaxClientIDLen) {
			if seen[id] {
				f.Add(field, "duplicate", "field.duplicate", nil)
			}
			seen[id] = true
		}
	}
	phases := make([]string, 0, len(v.Document.Protocol.Phases))
	for _, ph := range v.Document.Protocol.Phases {
		phases = append(phases, ph.ID)
	}
	var out Entries
	for i, p := range e.Prompts {
		field := fmt.Sprintf("prompts[%d]", i)
		clientID(field+".client_id", p.ClientID)
		apperr.OneOf(&f.FieldErrors, field+".type", p.Type, PromptTypes)
		p.Words = f.text(field+".words", p.Words, MaxWordsLen)
		if p.PhaseID != "" && !slices.Contains(phases, p.PhaseID) {
			f.Add(field+".phase_id", "unknown_phase", "field.unknown_phase", map[string]any{"Protocol": v.ProtocolID, "Version": v.Number})
		}
		p.RecordedAt = f.deviceTime(field+".recorded_at", p.RecordedAt, now)
		out.Prompts = append(out.Prompts, p)
	}
	for i, b := range e.Breaks {
		field := fmt.Sprintf("breaks[%d]", i)
		clientID(field+".client_id", b.ClientID)
		b.StartedAt = f.deviceTime(field+".started_at", b.StartedAt, now)
		b.EndedAt = f.deviceTime(field+".ended_at", b.EndedAt, now)
		if !b.StartedAt.IsZero() && !b.EndedAt.IsZero() && b.EndedAt.Before(b.StartedAt) {
			f.Add(field+".ended_at", "before_start", "field.before_start", nil)
		}
		b.Note = f.text(field+".note", b.Note, MaxNoteLen)
		out.Breaks = append(out.Breaks, b)
	}
	for i, c := range e.Checks {
		field := fmt.Sprintf("wellbeing_checks[%d]", i)
		clientID(field+".client_id", c.ClientID)
		c.CheckedAt = f.deviceTime(field+".checked_at", c.CheckedAt, now)
		c.Note = f.text(field+".note", c.Note, MaxNoteLen)
		out.Checks = append(out.Checks, c)
	}
	for i, m := range e.Marks {
		field := fmt.Sprintf("checklist[%d]", i)
		clientID(field+".client_id", m.ClientID)
		f.checklistItem(field, m.StepID, m.ItemID, true, checklist)
		m.Reason = f.text(field+".reason", m.Reason, MaxNoteLen)
		if !m.Done && m.Reason == "" {
			f.Add(field+".reason", "required", "field.required", nil)
		}
		m.RecordedAt = f.deviceTime(field+".recorded_at", m.RecordedAt, now)
		out.Marks = append(out.Marks, m)
	}
	return out
}

// checklistItem checks that stepID is a step of the checklist and itemID one of its items (or, when
// itemRequired is false, empty).
func (f *fieldErrors) checklistItem(field, stepID, itemID string, itemRequired bool, checklist []ChecklistStep) {
	i := slices.IndexFunc(checklist, func(cs ChecklistStep) bool { return cs.Step.ID == stepID })
	if i < 0 {
		f.Add(field+".step_id", "unknown_step", "field.interview_unknown_step", nil)
		return
	}
	if itemID == "" && !itemRequired {
		return
	}
	if !slices.ContainsFunc(checklist[i].Items, func(it ChecklistItem) bool { return it.Item.ID == itemID }) {
		f.Add(field+".item_id", "unknown_item", "field.unknown_item", nil)
	}
}
