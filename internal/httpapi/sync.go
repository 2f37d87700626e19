package httpapi

import (
	"slices"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/devicesync"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// syncRoutes registers device sync: pull, push and the devices' sync state.
func (s *Server) syncRoutes(app *fiber.App) {
	caseRoles := rolesOnly(identity.RoleCaseworker, identity.RoleSupervisor)
	s.handle(app, fiber.MethodGet, "/v1/sync/changes", caseRoles, s.syncChanges)
	s.handle(app, fiber.MethodPost, "/v1/sync/push", caseRoles, s.syncPush)
	s.handle(app, fiber.MethodGet, "/v1/sync/status", signedIn, s.syncStatus)
}

// syncType is how the HTTP layer shows and reads the records of one synced type. Adding a type to
// sync adds an entry here (see the README section "Offline sync").
type syncType struct {
	view   func(any) any                                                 // the record's API view
	decode func(s *Server, op pushOperation) (devicesync.Payload, error) // an operation's body, by action, into its kind's payload
}

var syncTypes = map[string]syncType{
	devicesync.TypeCase: {view: func(v any) any { return toCaseView(v.(casework.Case)) }, decode: decodeCaseOp},
	devicesync.TypeRun:  {view: func(v any) any { return toRunSyncView(v.(casework.Run)) }, decode: decodeRunOp},
	devicesync.TypeInterviewSession: {view: func(v any) any { // the session view without what is computed for a reader (checklist, quality, locale)
		x := v.(devicesync.InterviewSession)
		return toInterviewRecordView(x.Session, x.Log)
	}, decode: decodeInterviewOp},
	devicesync.TypeEvidenceItem: {view: func(v any) any { return toEvidenceItemView(v.(evidence.Item)) }, decode: decodeEvidenceItemOp},
	devicesync.TypeCustodyEvent: {view: func(v any) any { return toCustodyEventView(v.(evidence.Event)) }, decode: decodeCustodyEventOp},
}

type syncRecordView struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	CaseID    string    `json:"case_id"`
	ChangeSeq int64     `json:"change_seq"`
	Version   *int64    `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	Data      any       `json:"data"`
}

type syncRemovalView struct {
	Type      string `json:"type"`
	ID        string `json:"id"`
	CaseID    string `json:"case_id"`
	ChangeSeq int64  `json:"change_seq"`
	Reason    string `json:"reason"`
}

type libraryEntryView struct {
	ProtocolID  string    `json:"protocol_id"`
	Version     int       `json:"version"`
	ContentHash string    `json:"content_hash"`
	PublishedAt time.Time `json:"published_at"`
}

type syncChangesView struct {
	Records    []syncRecordView   `json:"records"`
	Removals   []syncRemovalView  `json:"removals"`
	Library    []libraryEntryView `json:"library"`
	Reset      bool               `json:"reset"`
	NextCursor string             `json:"next_cursor"`
	HasMore    bool               `json:"has_more"`
	Watermark  *int64             `json:"watermark"`
}

func toSyncRecordView(r devicesync.Record) syncRecordView {
	v := syncRecordView{Type: r.Type, ID: r.ID, CaseID: r.CaseID, ChangeSeq: r.Seq, UpdatedAt: r.UpdatedAt, Data: r.Data}
	if r.Version > 0 {
		version := r.Version
		v.Version = &version
	}
	if t, ok := syncTypes[r.Type]; ok {
		v.Data = t.view(r.Data)
	}
	return v
}

// syncChanges answers GET /v1/sync/changes: the next page of what changed for the caller's device.
func (s *Server) syncChanges(c *fiber.Ctx) error {
	q := readQuery(c, "cursor", "limit")
	lq := struct {
		Limit int `query:"limit" validate:"min=1,max_sync_page"`
	}{Limit: q.integer("limit", devicesync.DefaultPageSize)}
	cur := q.str("cursor")
	if q.values.Has("cursor") && cur == "" {
		q.errs = append(q.errs, apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
	}
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	page, err := s.deps.Sync.Pull(c.UserContext(), principal(c), cur, lq.Limit)
	if err != nil {
		return err
	}
	out := syncChangesView{Records: make([]syncRecordView, len(page.Records)), Removals: make([]syncRemovalView, len(page.Removals)),
		Reset: page.Reset, NextCursor: page.NextCursor, HasMore: page.HasMore}
	for i, r := range page.Records {
		out.Records[i] = toSyncRecordView(r)
	}
	for i, r := range page.Removals {
		out.Removals[i] = syncRemovalView{Type: r.Type, ID: r.ID, CaseID: r.CaseID, ChangeSeq: r.Seq, Reason: r.Reason}
	}
	if page.Library != nil {
		out.Library = make([]libraryEntryView, len(page.Library))
		for i, e := range page.Library {
			out.Library[i] = libraryEntryView(e)
		}
	}
	if !page.HasMore {
		out.Watermark = &page.Watermark
	}
	return s.sendPrivate(c, out)
}

type deviceSyncView struct {
	DeviceID      string     `json:"device_id"`
	UserID        string     `json:"user_id"`
	Name          string     `json:"name"`
	LastPullAt    *time.Time `json:"last_pull_at"`
	LastPushAt    *time.Time `json:"last_push_at"`
	LastSeenAt    *time.Time `json:"last_seen_at"`
	LastContactAt *time.Time `json:"last_contact_at"`
	RevokedAt     *time.Time `json:"revoked_at"`
	Watermark     int64      `json:"watermark"`
	Pulls         int64      `json:"pulls"`
	Pushes        int64      `json:"pushes"`
}

type syncStatusView struct {
	Items []deviceSyncView `json:"items"`
}

// syncStatus answers GET /v1/sync/status: the sync state of the caller's device, or with all=true
// (supervisors and admins) of every device of the organisation, with each one's last contact.
func (s *Server) syncStatus(c *fiber.Ctx) error {
	all, err := s.allQuery(c)
	if err != nil {
		return err
	}
	p := principal(c)
	states, err := s.deps.Sync.Status(c.UserContext(), p, all)
	if err != nil {
		return err
	}
	devices, err := s.deps.Identity.Devices(c.UserContext(), p, all)
	if err != nil {
		return err
	}
	byID := map[string]*deviceSyncView{}
	var order []string
	for _, d := range devices {
		if !all && d.ID != p.DeviceID {
			continue
		}
		seen := d.LastSeenAt
		byID[d.ID] = &deviceSyncView{DeviceID: d.ID, UserID: d.UserID, Name: d.Name, LastSeenAt: &seen, RevokedAt: d.RevokedAt}
		order = append(order, d.ID)
	}
	for _, st := range states {
		v, ok := byID[st.DeviceID]
		if !ok {
			v = &deviceSyncView{DeviceID: st.DeviceID, UserID: st.UserID}
			byID[st.DeviceID] = v
			order = append(order, st.DeviceID)
		}
		v.LastPullAt, v.LastPushAt, v.Watermark, v.Pulls, v.Pushes = st.LastPullAt, st.LastPushAt, st.Watermark, st.Pulls, st.Pushes
	}
	slices.Sort(order)
	out := syncStatusView{Items: make([]deviceSyncView, 0, len(order))}
	for _, id := range order {
		v := byID[id]
		for _, t := range []*time.Time{v.LastSeenAt, v.LastPullAt, v.LastPushAt} {
			if t != nil && (v.LastContactAt == nil || t.After(*v.LastContactAt)) {
				at := *t
				v.LastContactAt = &at
			}
		}
		out.Items = append(out.Items, *v)
	}
	return s.sendPrivate(c, out)
}
