package authoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Limits.
const (
	MaxCommentLen    = 2000
	MaxProtocolIDLen = 64
)

// Library is the published protocol library (*protocol.Service satisfies it).
type Library interface {
	// Latest returns the latest published version of protocol id, or an *apperr.Error NotFound.
	Latest(id string) (protocol.Version, error)
	// Version returns version n of protocol id, or an *apperr.Error NotFound.
	Version(ctx context.Context, id string, n int) (protocol.Version, error)
	// Versions lists the published versions of protocol id without documents, oldest first.
	Versions(ctx context.Context, id string) ([]protocol.Version, error)
	// Publish makes each document the latest version of its protocol (a new version unless the
	// content equals the latest).
	Publish(ctx context.Context, docs []protocol.Document) ([]protocol.PublishResult, error)
	// Refresh reloads the latest versions (after a retirement).
	Refresh(ctx context.Context) error
}

// Service runs the authoring workflow for content editors.
type Service struct {
	store     Store
	library   Library
	validator *protocol.Validator
	events    audit.Recorder
	required  []string // locales that must be complete to publish
	now       func() time.Time
}

// NewService returns a Service. required lists the locales whose translations must be complete (and
// current) before a draft is published; the source locale is always complete. now is the clock
// (nil: time.Now).
func NewService(store Store, library Library, validator *protocol.Validator, events audit.Recorder, required []string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, library: library, validator: validator, events: events, required: slices.Clone(required), now: now}
}

// RequiredLocales returns the locales that must be complete before publishing.
func (s *Service) RequiredLocales() []string { return slices.Clone(s.required) }

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// authorize admits content editors only.
func authorize(p identity.Principal) error {
	if !p.HasRole(identity.RoleContentEditor) || p.UserID == "" {
		return identity.ErrForbidden
	}
	return nil
}

// NewDraft is a draft to create. Source is the protocol (structure and source text) as a JSON
// object in the protocol.yaml form; nil starts from the latest published version of ProtocolID.
type NewDraft struct {
	ID         string
	ProtocolID string
	Source     json.RawMessage
}

// CreateDraft starts a draft: of the next version of ProtocolID when it is published (from its latest
// version, or from Source), or of a new protocol (Source required). Source is validated as
// `validate` validates protocol.yaml. Repeating a create with the same id and content returns the
// stored draft with created false. It returns identity.ErrForbidden for callers who are not content
// editors; an *apperr.Error Invalid with field errors; Conflict draft_id_conflict (the id is another
// draft's) or protocol_retired; or the store's or recorder's error.
func (s *Service) CreateDraft(ctx context.Context, p identity.Principal, nd NewDraft) (Draft, bool, error) {
	if err := authorize(p); err != nil {
		return Draft{}, false, err
	}
	var fe apperr.FieldErrors
	fe.UUID("id", nd.ID)
	if !protocolIDOK(nd.ProtocolID) {
		fe.Add("protocol_id", "invalid", "field.invalid", nil)
	}
	if err := fe.Err(); err != nil {
		return Draft{}, false, err
	}
	if _, err := s.store.Retirement(ctx, nd.ProtocolID); err == nil {
		return Draft{}, false, errRetired(nd.ProtocolID)
	} else if !errors.Is(err, ErrNotFound) {
		return Draft{}, false, fmt.Errorf("reading the retirement of %s: %w", nd.ProtocolID, err)
	}
	now := s.clock()
	d := Draft{ID: nd.ID, ProtocolID: nd.ProtocolID, Status: StatusEditing, Authors: []string{p.UserID},
		Translations: protocol.Translations{}, TranslatedFrom: protocol.Translations{},
		CreatedAt: now, UpdatedAt: now, CreatedBy: p.UserID, Version: 1}
	latest, err := s.library.Latest(nd.ProtocolID)
	switch {
	case err == nil:
		d.BaseVersion = latest.Number
		d.Protocol = latest.Document.Protocol
		source := sourceTexts(&latest.Document.Protocol)
		for l, m := range latest.Document.Translations {
			d.Translations[l], d.TranslatedFrom[l] = map[string]string{}, map[string]string{}
			for id, t := range m {
				d.Translations[l][id], d.TranslatedFrom[l][id] = t, source[id]
			}
		}
	case apperr.KindOf(err) == apperr.NotFound:
		if nd.Source == nil {
			return Draft{}, false, apperr.Validation(apperr.FieldError{Field: "protocol", Code: "required", MessageID: "field.required"})
		}
	default:
		return Draft{}, false, err
	}
	if nd.Source != nil {
		pr, err := s.checkSource(nd.ProtocolID, nd.Source)
		if err != nil {
			return Draft{}, false, err
		}
		d.Protocol = pr
	}
	pruneTranslations(&d)
	err = s.store.CreateDraft(ctx, d)
	if errors.Is(err, ErrExists) {
		cur, rerr := s.store.Draft(ctx, d.ID)
		if rerr != nil {
			return Draft{}, false, fmt.Errorf("reading draft %s: %w", d.ID, rerr)
		}
		if cur.ProtocolID != d.ProtocolID || cur.CreatedBy != d.CreatedBy || cur.BaseVersion != d.BaseVersion || !sameProtocol(cur.Protocol, d.Protocol) {
			return Draft{}, false, errDraftIDConflict(d.ID)
		}
		return cur, false, s.record(ctx, p, ActionDraftCreate, ResourceDraft, d.ID, audit.OutcomeSuccess)
	}
	if err != nil {
		return Draft{}, false, fmt.Errorf("creating draft %s: %w", d.ID, err)
	}
	if err := s.record(ctx, p, ActionDraftCreate, ResourceDraft, d.ID, audit.OutcomeSuccess); err != nil {
		return Draft{}, false, err
	}
	return d, true, nil
}

// checkSource validates a protocol sent as JSON and returns it decoded, or an *apperr.Error Invalid
// with one field error per problem (fields named after step and phase ids: protocol.step.<id>.title).
func (s *Service) checkSource(protocolID string, raw json.RawMessage) (protocol.Protocol, error) {
	pr, problems := s.validator.CheckSource(raw)
	var fe apperr.FieldErrors
	var tree any
	_ = json.Unmarshal(raw, &tree)
	for _, prob := range problems.Errors() {
		fe = append(fe, problemField(tree, prob))
	}
	if len(fe) == 0 && pr.ID != protocolID {
		fe.Add("protocol.id", "mismatch", "authoring.field.id_mismatch", map[string]any{"ID": protocolID})
	}
	if err := fe.Err(); err != nil {
		return protocol.Protocol{}, err
	}
	return pr, nil
}

// Draft returns a draft. It returns identity.ErrForbidden for callers who are not content editors,
// an *apperr.Error NotFound (draft_not_found), or the store's error.
func (s *Service) Draft(ctx context.Context, p identity.Principal, id string) (Draft, error) {
	if err := authorize(p); err != nil {
		return Draft{}, err
	}
	return s.load(ctx, id)
}

func (s *Service) load(ctx context.Context, id string) (Draft, error) {
	if !apperr.ValidUUID(id) {
		return Draft{}, errDraftNotFound(id)
	}
	d, err := s.store.Draft(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Draft{}, errDraftNotFound(id)
	}
	if err != nil {
		return Draft{}, fmt.Errorf("reading draft %s: %w", id, err)
	}
	return d, nil
}

// DraftPage is one page of drafts; Next is the cursor of the following page ("" on the last).
type DraftPage struct {
	Drafts []Draft
	Next   string
}

// ListDrafts returns up to limit (1 to 200) drafts of protocolID ("" for all) with ids after the
// cursor after, by id (UUIDv7 ids: oldest first). It returns identity.ErrForbidden for callers who
// are not content editors, an *apperr.Error Invalid for a bad protocol id or cursor, or the store's
// error.
func (s *Service) ListDrafts(ctx context.Context, p identity.Principal, protocolID, after string, limit int) (DraftPage, error) {
	if err := authorize(p); err != nil {
		return DraftPage{}, err
	}
	var fe apperr.FieldErrors
	if protocolID != "" && !protocolIDOK(protocolID) {
		fe.Add("protocol_id", "invalid", "field.invalid", nil)
	}
	if after != "" {
		if !apperr.ValidUUID(after) {
			fe.Add("cursor", "cursor", "field.cursor", nil)
		}
	}
	if err := fe.Err(); err != nil {
		return DraftPage{}, err
	}
	limit = min(max(limit, 1), 200)
	ds, err := s.store.ListDrafts(ctx, protocolID, after, limit+1)
	if err != nil {
		return DraftPage{}, fmt.Errorf("listing drafts: %w", err)
	}
	page := DraftPage{Drafts: ds}
	if len(ds) > limit {
		page.Drafts = ds[:limit]
		page.Next = ds[limit-1].ID
	}
	return page, nil
}

// SaveSource replaces the structure and source text of a draft being edited, at version. The
// source is validated as `validate` validates protocol.yaml; translations of strings that no longer
// exist are dropped, and those whose source text changed become stale. It returns
// identity.ErrForbidden for callers who are not content editors; an *apperr.Error NotFound
// (draft_not_found); Invalid with field errors, or draft_status when the draft is not being edited;
// Conflict version_conflict wrapping a *StaleError; or the store's or recorder's error.
func (s *Service) SaveSource(ctx context.Context, p identity.Principal, id string, version int64, raw json.RawMessage) (Draft, error) {
	return s.update(ctx, p, id, version, ActionDraftUpdate, func(d *Draft) error {
		if d.Status != StatusEditing {
			return errWrongStatus(*d, StatusEditing)
		}
		pr, err := s.checkSource(d.ProtocolID, raw)
		if err != nil {
			return err
		}
		d.Protocol = pr
		pruneTranslations(d)
		addAuthor(d, p.UserID)
		return nil
	})
}

// update loads draft id, checks p and version, applies change and stores the draft at its next
// version, recording action. A refused change stores nothing.
func (s *Service) update(ctx context.Context, p identity.Principal, id string, version int64, action string, change func(d *Draft) error) (Draft, error) {
	if err := authorize(p); err != nil {
		return Draft{}, err
	}
	cur, err := s.load(ctx, id)
	if err != nil {
		return Draft{}, err
	}
	if cur.Version != version {
		return Draft{}, s.stale(ctx, p, action, cur)
	}
	next := cloneDraft(cur)
	if err := change(&next); err != nil {
		return Draft{}, err
	}
	next.Version++
	next.UpdatedAt = s.clock()
	if err := s.store.UpdateDraft(ctx, next); err != nil {
		switch {
		case errors.Is(err, ErrNotFound):
			return Draft{}, errDraftNotFound(id)
		case errors.Is(err, ErrStale):
			cur, rerr := s.load(ctx, id)
			if rerr != nil {
				return Draft{}, rerr
			}
			return Draft{}, s.stale(ctx, p, action, cur)
		default:
			return Draft{}, fmt.Errorf("updating draft %s: %w", id, err)
		}
	}
	if err := s.record(ctx, p, action, ResourceDraft, id, audit.OutcomeSuccess); err != nil {
		return Draft{}, err
	}
	return next, nil
}

func (s *Service) stale(ctx context.Context, p identity.Principal, action string, cur Draft) error {
	if err := s.record(ctx, p, action, ResourceDraft, cur.ID, audit.OutcomeFailure); err != nil {
		return err
	}
	return errDraftStale(cur)
}

func (s *Service) record(ctx context.Context, p identity.Principal, action, resourceType, resourceID string, outcome audit.Outcome) error {
	return audit.Record(ctx, s.events, p.AuditEvent(identity.RoleContentEditor, action, resourceType, resourceID, outcome))
}

func checkComment(comment string, required bool) error {
	var fe apperr.FieldErrors
	if required {
		fe.Required("comment", comment)
	}
	fe.MaxLength("comment", comment, MaxCommentLen)
	return fe.Err()
}

// protocolIDOK checks a protocol id: a slug of at most 64 characters.
func protocolIDOK(id string) bool {
	if id == "" || len(id) > MaxProtocolIDLen || strings.HasPrefix(id, "-") || strings.HasSuffix(id, "-") || strings.Contains(id, "--") {
		return false
	}
	return !strings.ContainsFunc(id, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') })
}

func addAuthor(d *Draft, userID string) {
	if !slices.Contains(d.Authors, userID) {
		d.Authors = append(d.Authors, userID)
	}
}

// sourceTexts maps each string id of p to its source text.
func sourceTexts(p *protocol.Protocol) map[string]string {
	out := map[string]string{}
	for _, s := range p.Strings() {
		out[s.ID] = s.Text
	}
	return out
}

// pruneTranslations drops translations of strings the source no longer has.
func pruneTranslations(d *Draft) {
	source := sourceTexts(&d.Protocol)
	for _, tr := range []protocol.Translations{d.Translations, d.TranslatedFrom} {
		for l, m := range tr {
			for id := range m {
				if _, ok := source[id]; !ok {
					delete(m, id)
				}
			}
			if len(m) == 0 {
				delete(tr, l)
			}
		}
	}
}

func sameProtocol(a, b protocol.Protocol) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// cloneDraft returns a deep copy of d (the protocol through its JSON form).
func cloneDraft(d Draft) Draft {
	c := d
	var p protocol.Protocol
	b, _ := json.Marshal(d.Protocol)
	_ = json.Unmarshal(b, &p)
	c.Protocol = p
	c.Translations, c.TranslatedFrom = cloneTranslations(d.Translations), cloneTranslations(d.TranslatedFrom)
	c.Authors = slices.Clone(d.Authors)
	c.Review = slices.Clone(d.Review)
	return c
}

func cloneTranslations(t protocol.Translations) protocol.Translations {
	out := protocol.Translations{}
	for l, m := range t {
		out[l] = map[string]string{}
		for k, v := range m {
			out[l][k] = v
		}
	}
	return out
}
