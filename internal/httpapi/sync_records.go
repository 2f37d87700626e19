package httpapi

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// The sync views and operation bodies of interview sessions, evidence items and custody events
// (their entries in syncTypes).

// opData returns an operation's data object with field set to value when it is absent (the
// operation's id or another envelope value the body may leave out); anything that is not an object
// is returned as it is, for decodeRaw to refuse.
func opData(raw json.RawMessage, field string, value any) json.RawMessage {
	if len(raw) == 0 || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return raw
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return raw
	}
	if _, has := m[field]; has {
		return raw
	}
	m[field], _ = json.Marshal(value)
	out, _ := json.Marshal(m)
	return out
}

func errIDMismatch() error {
	return apperr.Validation(apperr.FieldError{Field: "id", Code: "mismatch", MessageID: "field.sync_id_mismatch"})
}

func requireCaseID(op pushOperation) error {
	if op.CaseID == "" {
		return apperr.Validation(apperr.FieldError{Field: "case_id", Code: "required", MessageID: "field.required"})
	}
	return nil
}

// planChangesBody and sessionChangesBody are the changed fields of an interview session update;
// absent fields are unchanged.
type planChangesBody struct {
	ScheduledAt       *time.Time         `json:"scheduled_at"`
	Place             *string            `json:"place" validate:"omitempty,max_interview_place"`
	ChildFriendlyRoom *bool              `json:"child_friendly_room"`
	Participants      *[]participantBody `json:"participants" validate:"omitempty,max_interview_participants,dive"`
	Recording         *recordingBody     `json:"recording"`
	Consent           *consentBody       `json:"consent"`
}

type sessionChangesBody struct {
	Plan      *planChangesBody `json:"plan"`
	StartedAt *time.Time       `json:"started_at"`
	EndedAt   *time.Time       `json:"ended_at"`
}

func toSessionChanges(b sessionChangesBody) devicesync.SessionChanges {
	ch := devicesync.SessionChanges{StartedAt: b.StartedAt, EndedAt: b.EndedAt}
	if p := b.Plan; p != nil {
		ch.ScheduledAt, ch.Place, ch.ChildFriendlyRoom = p.ScheduledAt, p.Place, p.ChildFriendlyRoom
		if p.Participants != nil {
			list := toPlan(planBody{Participants: *p.Participants}).Participants
			if list == nil {
				list = []interview.Participant{}
			}
			ch.Participants = &list
		}
		if p.Recording != nil {
			r := interview.Recording(*p.Recording)
			ch.Recording = &r
		}
		if p.Consent != nil {
			c := interview.Consent(*p.Consent)
			ch.Consent = &c
		}
	}
	return ch
}

// decodeInterviewOp reads interview_session operations: create (data as for POST
// /v1/cases/{id}/interviews, id optional), append (data as for POST .../log) and update (changes
// and base: the plan's fields and the times, base_version required).
func decodeInterviewOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	if err := requireCaseID(op); err != nil {
		return nil, err
	}
	if op.Action == string(devicesync.ActionUpdate) {
		return decodeChanges(s, op, devicesync.InterviewUpdate, toSessionChanges)
	}
	if err := noExtra(op, "data"); err != nil {
		return nil, err
	}
	switch op.Action {
	case string(devicesync.ActionCreate):
		var req newInterviewRequest
		if err := s.decodeRaw("data", opData(op.Data, "id", op.ID), &req); err != nil {
			return nil, err
		}
		if req.ID != op.ID {
			return nil, errIDMismatch()
		}
		return devicesync.InterviewCreate.Data(interview.NewSession{ID: op.ID, ProtocolID: req.ProtocolID, Plan: toPlan(req.Plan)}), nil
	case string(devicesync.ActionAppend):
		var req interviewLogRequest
		if err := s.decodeRaw("data", op.Data, &req); err != nil {
			return nil, err
		}
		return devicesync.InterviewAppend.Data(toEntries(req)), nil
	}
	return nil, errSyncAction(op.Action)
}

// decodeEvidenceItemOp reads evidence_item create operations (data as for POST
// /v1/cases/{id}/evidence, id optional).
func decodeEvidenceItemOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	if op.Action != string(devicesync.ActionCreate) {
		return nil, errSyncAction(op.Action)
	}
	if err := noExtra(op, "data"); err != nil {
		return nil, err
	}
	if err := requireCaseID(op); err != nil {
		return nil, err
	}
	var req newItemBody
	if err := s.decodeRaw("data", opData(op.Data, "id", op.ID), &req); err != nil {
		return nil, err
	}
	if req.ID != op.ID {
		return nil, errIDMismatch()
	}
	return devicesync.EvidenceItemCreate.Data(toNewItem(req)), nil
}

// custodyAppendBody is the data of a custody_event append: the item and the event as for POST
// /v1/cases/{id}/evidence/{item}/events (id optional: the operation's).
type custodyAppendBody struct {
	ItemID string `json:"item_id" validate:"required,uuid"`
}

// decodeCustodyEventOp reads custody_event append operations.
func decodeCustodyEventOp(s *Server, op pushOperation) (devicesync.Payload, error) {
	if op.Action != string(devicesync.ActionAppend) {
		return nil, errSyncAction(op.Action)
	}
	if err := noExtra(op, "data"); err != nil {
		return nil, err
	}
	if err := requireCaseID(op); err != nil {
		return nil, err
	}
	// item_id is the operation's; the rest is the event, read strictly.
	var item custodyAppendBody
	raw := opData(op.Data, "id", op.ID)
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, malformed(err)
		}
		if v, ok := m["item_id"]; ok {
			if err := json.Unmarshal(v, &item.ItemID); err != nil {
				return nil, apperr.Validation(apperr.FieldError{Field: "item_id", Code: "type", MessageID: "field.uuid"})
			}
			delete(m, "item_id")
		}
		if errs := s.validate.check(&item); len(errs) > 0 {
			return nil, apperr.Validation(errs...)
		}
		raw, _ = json.Marshal(m)
	}
	var req newEventBody
	if err := s.decodeRaw("data", raw, &req); err != nil {
		return nil, err
	}
	if req.ID != op.ID {
		return nil, errIDMismatch()
	}
	return devicesync.CustodyEventAppend.Data(devicesync.CustodyAppend{ItemID: item.ItemID, Event: toNewEvent(req)}), nil
}
