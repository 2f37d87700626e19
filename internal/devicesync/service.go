package devicesync

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// Limits.
const (
	DefaultPageSize = 100
	MaxPageSize     = 200
	MaxOperations   = 1000 // per push
	TypeCase        = "case"
	TypeRun         = "run"
)

// Watermarker gives the change sequence number up to which every write has ended
// (*mongodb.DB satisfies it).
type Watermarker interface {
	ChangeWatermark(ctx context.Context, orgID string) (int64, error)
}

// StateStore keeps the sync state of each device. Methods return an error when the database fails.
type StateStore interface {
	// TouchPull records a pull by the device at at; watermark > 0 when the device is now complete up
	// to it.
	TouchPull(ctx context.Context, orgID, deviceID, userID string, at time.Time, watermark int64) error
	// TouchPush records a push by the device at at.
	TouchPush(ctx context.Context, orgID, deviceID, userID string, at time.Time) error
	// DeviceStates returns the states of the organisation's devices (deviceID "" : all), by device id.
	DeviceStates(ctx context.Context, orgID, deviceID string) ([]DeviceState, error)
}

// ResultStore keeps the first result of every operation, for replays. Methods return an error
// when the database fails.
type ResultStore interface {
	// Result returns the stored result of operation opID of user userID, and whether there is one.
	Result(ctx context.Context, orgID, userID, opID string) ([]byte, bool, error)
	// Results returns the stored results of those of opIDs that have one, by op id (one query).
	Results(ctx context.Context, orgID, userID string, opIDs []string) (map[string][]byte, error)
	// SaveResult stores result unless one is stored already; it returns the stored one and whether
	// it was this one.
	SaveResult(ctx context.Context, orgID, userID, opID string, result []byte) ([]byte, bool, error)
}

// Encoder renders a result as the bytes a replay returns (the HTTP layer's JSON); Push takes it
// from its caller.
type Encoder func(ctx context.Context, r Result) ([]byte, error)

// Audit actions and outcomes.
const (
	ActionPull   = "sync.pull"   // one per pull, resource the device
	ActionRead   = "sync.read"   // one per record delivered, resource the record
	ActionRemove = "sync.remove" // one per removal delivered
	ActionPush   = "sync.push"   // one per push, resource the device
	ActionStatus = "sync.status" // reading devices' sync state
)

// Service is the sync engine.
type Service struct {
	cases     CaseFeed
	feeds     []Feed // case-scoped feeds, in registration order
	appliers  map[kindKey]Applier
	pushTypes map[string]bool // the record types with appliers
	library   Library
	marks     Watermarker
	states    StateStore
	results   ResultStore
	events    audit.Recorder
	now       func() time.Time

	windows    *windowCache
	windowSize int
}

// Deps is what NewService needs.
type Deps struct {
	Cases        CaseFeed
	CaseAppliers []Applier
	Library      Library
	Watermarks   Watermarker
	States       StateStore
	Results      ResultStore
	Events       audit.Recorder
	Now          func() time.Time // nil: time.Now
	// WindowSize is how many records of each feed one read takes (0: DefaultWindowSize); Windows
	// how many such reads are kept in memory (0: DefaultWindows).
	WindowSize, Windows int
}

// Defaults of Deps.WindowSize and Deps.Windows: a window of two record types holds up to 10,000
// records (about 10 MB); at most 4 are kept.
const (
	DefaultWindowSize = 5000
	DefaultWindows    = 4
)

// NewService returns the engine with the case feed; add the other record types with Register.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.WindowSize <= 0 {
		d.WindowSize = DefaultWindowSize
	}
	if d.Windows <= 0 {
		d.Windows = DefaultWindows
	}
	s := &Service{cases: d.Cases, appliers: map[kindKey]Applier{}, pushTypes: map[string]bool{}, library: d.Library, marks: d.Watermarks,
		states: d.States, results: d.Results, events: d.Events, now: d.Now,
		windows: newWindowCache(d.Windows), windowSize: d.WindowSize}
	s.addAppliers(d.CaseAppliers)
	return s
}

// addAppliers registers the handlers of the kinds of operations as.
func (s *Service) addAppliers(as []Applier) {
	for _, a := range as {
		k := a.kind()
		s.appliers[k] = a
		s.pushTypes[k.typ] = true
	}
}

// Register adds a case-scoped record type: its feed (pulled) and its appliers (pushed, one per
// kind of operation; none for pull-only types). It returns the Service. Register before serving; it is not safe concurrently
// with pulls and pushes.
func (s *Service) Register(r Registration) *Service {
	s.feeds = append(s.feeds, r.Feed)
	s.addAppliers(r.Appliers)
	return s
}

// AddAppliers adds push handlers to a record type registered before (a pull-only feed that gains
// operations), one per kind of operation. It returns the Service. Add them before serving; it is
// not safe concurrently with pulls and pushes.
func (s *Service) AddAppliers(as []Applier) *Service {
	s.addAppliers(as)
	return s
}

// Types returns the record types the engine syncs, the case type first.
func (s *Service) Types() []string {
	out := []string{s.cases.Type()}
	for _, f := range s.feeds {
		out = append(out, f.Type())
	}
	return out
}

// actsAs returns the role p syncs in: supervisors see their organisation's cases, caseworkers the
// cases assigned to them; every other role gets identity.ErrForbidden.
func actsAs(p identity.Principal) (identity.Role, error) {
	switch {
	case p.OrgID == "" || p.UserID == "":
		return "", identity.ErrForbidden
	case p.HasRole(identity.RoleSupervisor):
		return identity.RoleSupervisor, nil
	case p.HasRole(identity.RoleCaseworker):
		return identity.RoleCaseworker, nil
	}
	return "", identity.ErrForbidden
}

func errCursor() error {
	return apperr.Validation(apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
}

// Pull returns the next page of changes for p's device after cursorText ("" : a first pull, a full
// snapshot of what p may see), at most limit entries (0: DefaultPageSize; at most MaxPageSize).
// It returns identity.ErrForbidden for roles without case data; an *apperr.Error Invalid for a
// cursor this service did not issue to p or a bad limit; or a feed's, store's or recorder's error.
func (s *Service) Pull(ctx context.Context, p identity.Principal, cursorText string, limit int) (Page, error) {
	role, err := actsAs(p)
	if err != nil {
		return Page{}, s.deny(ctx, p, ActionPull, err)
	}
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 1 || limit > MaxPageSize:
		return Page{}, apperr.Validation(apperr.FieldError{Field: "limit", Code: "max", MessageID: "field.max", Data: map[string]any{"Max": MaxPageSize}})
	}
	cur := cursor{Version: cursorVersion, User: p.UserID}
	if cursorText != "" {
		var ok bool
		if cur, ok = decodeCursor(cursorText, p.UserID); !ok {
			return Page{}, errCursor()
		}
	}
	page := Page{Records: []Record{}, Removals: []Removal{}}
	if cursorText == "" || cur.Pos == cur.UpTo { // a new pass
		w, err := s.marks.ChangeWatermark(ctx, p.OrgID)
		if err != nil {
			return Page{}, fmt.Errorf("reading the change watermark: %w", err)
		}
		if cursorText == "" {
			page.Reset = true
		} else {
			cur.After = cur.UpTo
		}
		cur.UpTo, cur.Pos = max(w, cur.After), cur.After
	}
	if cur.Pos == cur.After && s.library != nil { // the first page of a pass brings the library when it changed
		entries := s.library.LatestEntries()
		if fp := fingerprint(entries); fp != cur.Library {
			page.Library, cur.Library = entries, fp
		}
	}
	if err := s.fill(ctx, p, role, &cur, limit, &page); err != nil {
		return Page{}, err
	}
	page.HasMore = cur.Pos < cur.UpTo
	if !page.HasMore { // the pass is done; when more was written meanwhile, say so: pull again now
		w, err := s.marks.ChangeWatermark(ctx, p.OrgID)
		if err != nil {
			return Page{}, fmt.Errorf("reading the change watermark: %w", err)
		}
		page.HasMore = w > cur.UpTo
	}
	page.NextCursor = cur.encode()
	var complete int64
	if !page.HasMore {
		complete, page.Watermark = cur.UpTo, cur.UpTo
	}
	if err := s.audit(ctx, p, role, page); err != nil {
		return Page{}, err
	}
	if err := s.states.TouchPull(ctx, p.OrgID, p.DeviceID, p.UserID, s.now().UTC(), complete); err != nil {
		return Page{}, fmt.Errorf("recording the pull: %w", err)
	}
	return page, nil
}

// fill reads one page of the pass cur is in and advances cur.Pos. The records come from a window:
// the records of every feed after a position, up to a frontier, read in one query per feed and kept
// in memory for the following pages of the same pass (see windowCache).
func (s *Service) fill(ctx context.Context, p identity.Principal, role identity.Role, cur *cursor, limit int, page *Page) error {
	if cur.Pos >= cur.UpTo {
		return nil
	}
	caseworker := role == identity.RoleCaseworker
	key := windowKey{org: p.OrgID, user: p.UserID, role: role, after: cur.After, upTo: cur.UpTo}
	win, ok := s.windows.get(key, cur.Pos)
	if !ok {
		var err error
		if win, err = s.readWindow(ctx, p, caseworker, cur, max(limit, s.windowSize)); err != nil {
			return err
		}
		s.windows.put(key, win)
	}
	assigned, frontier := win.assigned, win.frontier
	i, _ := slices.BinarySearchFunc(win.records, cur.Pos+1, func(r Record, seq int64) int { return cmp.Compare(r.Seq, seq) })
	all := win.records[i:]
	visible := func(r Record) bool {
		if r.OrgID != p.OrgID {
			return false
		}
		if r.Type == s.cases.Type() {
			return !caseworker || slices.Contains(r.CaseworkerIDs, p.UserID)
		}
		return !caseworker || slices.Contains(assigned, r.CaseID)
	}
	narrowers := map[string]Narrower{}
	for _, f := range s.feeds {
		if n, ok := f.(Narrower); ok {
			narrowers[f.Type()] = n
		}
	}
	var newlyVisible []string
	next, n := frontier, 0
	for _, r := range all {
		if r.Seq > frontier {
			break
		}
		switch {
		case visible(r):
			if nw, ok := narrowers[r.Type]; ok && !nw.Visible(p, r) {
				continue
			}
			page.Records = append(page.Records, r)
			if r.Type == s.cases.Type() && caseworker && cur.After > 0 && r.AssignedSince[p.UserID] > cur.After {
				newlyVisible = append(newlyVisible, r.ID)
			}
		case r.Type == s.cases.Type() && caseworker && cur.After > 0 && slices.Contains(r.FormerIDs, p.UserID):
			page.Removals = append(page.Removals, Removal{Type: r.Type, ID: r.ID, CaseID: r.ID, Seq: r.Seq, Reason: "unassigned"})
		default:
			continue
		}
		if n++; n == limit {
			next = r.Seq
			break
		}
	}
	cur.Pos = next
	// A case that became visible after the device's last pass brings its records of any age.
	if len(newlyVisible) > 0 {
		have := map[string]bool{}
		for _, r := range page.Records {
			have[r.Type+"/"+r.ID] = true
		}
		for _, f := range s.feeds {
			recs, err := f.Changes(ctx, Query{OrgID: p.OrgID, AfterSeq: 0, UpToSeq: cur.UpTo, CaseIDs: newlyVisible})
			if err != nil {
				return fmt.Errorf("reading the %s records of newly assigned cases: %w", f.Type(), err)
			}
			for _, r := range recs {
				if nw, ok := narrowers[r.Type]; (ok && !nw.Visible(p, r)) || have[r.Type+"/"+r.ID] || r.OrgID != p.OrgID {
					continue
				}
				page.Records = append(page.Records, r)
			}
		}
	}
	return nil
}

// audit records the pull and every record and removal it hands out. The entries are recorded
// concurrently so that the audit log's group commit writes them together.
func (s *Service) audit(ctx context.Context, p identity.Principal, role identity.Role, page Page) error {
	events := []audit.Event{p.AuditEvent(role, ActionPull, "device", p.DeviceID, audit.OutcomeSuccess)}
	for _, r := range page.Records {
		events = append(events, p.AuditEvent(role, ActionRead, r.Type, r.ID, audit.OutcomeSuccess))
	}
	for _, r := range page.Removals {
		events = append(events, p.AuditEvent(role, ActionRemove, r.Type, r.ID, audit.OutcomeSuccess))
	}
	return s.recordAll(ctx, events)
}

func (s *Service) recordAll(ctx context.Context, events []audit.Event) error {
	const parallel = 256 // one page's entries at once: the audit log commits up to 256 in one write
	errs := make(chan error, len(events))
	sem := make(chan struct{}, parallel)
	for _, e := range events {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errs <- s.events.RecordEvent(ctx, e)
		}()
	}
	var first error
	for range events {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("recording a sync event: %w", err)
		}
	}
	return first
}

// deny records a refused sync and returns cause (or the recorder's error).
func (s *Service) deny(ctx context.Context, p identity.Principal, action string, cause error) error {
	if p.OrgID == "" {
		return cause
	}
	if err := s.events.RecordEvent(ctx, p.AuditEvent("", action, "device", p.DeviceID, audit.OutcomeDenied)); err != nil {
		return fmt.Errorf("recording a sync event: %w", err)
	}
	return cause
}

// Status returns the sync state of p's device, or with all every device of the organisation
// (supervisors and admins only). It returns identity.ErrForbidden when all is asked by another
// role, or the store's or recorder's error.
func (s *Service) Status(ctx context.Context, p identity.Principal, all bool) ([]DeviceState, error) {
	device := p.DeviceID
	if all {
		if !p.HasAnyRole(identity.RoleSupervisor, identity.RoleAdmin) {
			return nil, s.deny(ctx, p, ActionStatus, identity.ErrForbidden)
		}
		device = ""
	}
	if device == "" && !all { // a principal without a device (an external provider's token)
		return []DeviceState{}, nil
	}
	states, err := s.states.DeviceStates(ctx, p.OrgID, device)
	if err != nil {
		return nil, fmt.Errorf("reading the sync state: %w", err)
	}
	if all {
		if err := s.events.RecordEvent(ctx, p.AuditEvent("", ActionStatus, "device", "", audit.OutcomeSuccess)); err != nil {
			return nil, fmt.Errorf("recording a sync event: %w", err)
		}
	}
	return states, nil
}

// clientError reports whether err is a refusal to show the client (an *apperr.Error or an
// identity denial) rather than a failure.
func clientError(err error) bool {
	var d identity.Denial
	return apperr.As(err) != nil || errors.As(err, &d)
}

func itoa(i int) string { return strconv.Itoa(i) }
