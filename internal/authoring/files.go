package authoring

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing/fstest"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// MaxFiles is the most files an import takes (protocol.yaml and one per locale).
const MaxFiles = 20

// ExportVersion returns a published version in the protocols/ file format. It returns
// identity.ErrForbidden for callers who are not content editors, an *apperr.Error NotFound for an
// unknown protocol or version, or the library's error.
func (s *Service) ExportVersion(ctx context.Context, p identity.Principal, protocolID string, number int) ([]protocol.File, error) {
	if err := authorize(p); err != nil {
		return nil, err
	}
	v, err := s.library.Version(ctx, protocolID, number)
	if err != nil {
		return nil, err
	}
	return v.Document.Files()
}

// ExportDraft returns a draft in the protocols/ file format. Errors as for Draft.
func (s *Service) ExportDraft(ctx context.Context, p identity.Principal, id string) ([]protocol.File, error) {
	d, err := s.Draft(ctx, p, id)
	if err != nil {
		return nil, err
	}
	doc := d.Document()
	return doc.Files()
}

// ImportFiles creates a draft from files in the protocols/ file format (protocol.yaml and
// translation files, named as in a protocol folder, with or without the "<protocol id>/" prefix),
// validated by the same validator as `validate`; missing translations are allowed. A published
// protocol's draft is based on its latest version. Importing the files of a version exported by
// ExportVersion gives a draft with the same content. It returns identity.ErrForbidden for callers
// who are not content editors; an *apperr.Error Invalid with field errors (as for a draft sent as
// JSON: protocol.step.<id>.title, translations.<locale>.<string id>; files[n] with the validator's
// file:line message for what only files can get wrong, such as YAML syntax; protocol_id); Conflict
// draft_id_conflict or protocol_retired; or the store's or recorder's error.
func (s *Service) ImportFiles(ctx context.Context, p identity.Principal, id, protocolID string, files []protocol.File) (Draft, bool, error) {
	if err := authorize(p); err != nil {
		return Draft{}, false, err
	}
	var fe apperr.FieldErrors
	fe.UUID("id", id)
	if !protocolIDOK(protocolID) {
		fe.Add("protocol_id", "invalid", "field.invalid", nil)
	}
	if len(files) == 0 || len(files) > MaxFiles {
		fe.Add("files", "count", "authoring.field.files_count", map[string]any{"Max": MaxFiles})
	}
	if err := fe.Err(); err != nil {
		return Draft{}, false, err
	}
	fsys := fstest.MapFS{}
	index := map[string]int{}
	for i, f := range files {
		name := strings.TrimPrefix(f.Path, protocolID+"/")
		if name != "protocol.yaml" && (!strings.HasSuffix(name, ".yaml") || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".")) {
			fe.Add("files["+strconv.Itoa(i)+"].path", "invalid", "authoring.field.file_name", nil)
			continue
		}
		full := path.Join(protocolID, name)
		if _, dup := index[full]; dup {
			fe.Add("files["+strconv.Itoa(i)+"].path", "duplicate", "authoring.field.duplicate", nil)
			continue
		}
		index[full] = i
		fsys[full] = &fstest.MapFile{Data: f.Content}
	}
	if _, ok := index[path.Join(protocolID, "protocol.yaml")]; !ok && len(fe) == 0 {
		fe.Add("files", "required", "authoring.field.protocol_file", nil)
	}
	if err := fe.Err(); err != nil {
		return Draft{}, false, err
	}
	named := make(map[string][]byte, len(index))
	for full := range index {
		named[strings.TrimPrefix(full, protocolID+"/")] = fsys[full].Data
	}
	if err := s.fileFieldErrors(protocolID, named).Err(); err != nil {
		return Draft{}, false, err
	}
	docs, problems := s.validator.LoadDir(fsys)
	for _, prob := range problems.Errors() {
		i, ok := index[prob.File]
		field := "files"
		if ok {
			field = "files[" + strconv.Itoa(i) + "]"
		}
		fe.Add(field, "file_problem", "authoring.field.file_problem", map[string]any{"Line": prob.Line, "Problem": prob.Message})
	}
	if err := fe.Err(); err != nil {
		return Draft{}, false, err
	}
	if len(docs) != 1 {
		return Draft{}, false, apperr.Validation(apperr.FieldError{Field: "files", Code: "required", MessageID: "authoring.field.protocol_file"})
	}
	doc := docs[0]
	if _, err := s.store.Retirement(ctx, protocolID); err == nil {
		return Draft{}, false, errRetired(protocolID)
	} else if !errors.Is(err, ErrNotFound) {
		return Draft{}, false, fmt.Errorf("reading the retirement of %s: %w", protocolID, err)
	}
	now := s.clock()
	d := Draft{ID: id, ProtocolID: protocolID, Protocol: doc.Protocol, Translations: cloneTranslations(doc.Translations),
		TranslatedFrom: currentSources(&doc), Status: StatusEditing, Authors: []string{p.UserID},
		CreatedAt: now, UpdatedAt: now, CreatedBy: p.UserID, Version: 1}
	if latest, err := s.library.Latest(protocolID); err == nil {
		d.BaseVersion = latest.Number
	} else if apperr.KindOf(err) != apperr.NotFound {
		return Draft{}, false, err
	}
	err := s.store.CreateDraft(ctx, d)
	if errors.Is(err, ErrExists) {
		cur, rerr := s.store.Draft(ctx, id)
		if rerr != nil {
			return Draft{}, false, fmt.Errorf("reading draft %s: %w", id, rerr)
		}
		if cur.ProtocolID != d.ProtocolID || cur.CreatedBy != d.CreatedBy || !jsonEqual(cur.Document(), d.Document()) {
			return Draft{}, false, errDraftIDConflict(id)
		}
		return cur, false, s.record(ctx, p, ActionDraftImport, ResourceDraft, id, audit.OutcomeSuccess)
	}
	if err != nil {
		return Draft{}, false, fmt.Errorf("creating draft %s: %w", id, err)
	}
	if err := s.record(ctx, p, ActionDraftImport, ResourceDraft, id, audit.OutcomeSuccess); err != nil {
		return Draft{}, false, err
	}
	return d, true, nil
}

// Retire retires a published protocol: new drafts and publications of it are refused, and it is
// recorded with the reason (required). Runs keep their pinned versions. It returns
// identity.ErrForbidden for callers who are not content editors; an *apperr.Error Invalid for a
// missing or long reason; NotFound for an unknown protocol; Conflict protocol_retired when it is
// retired already; or the store's or recorder's error.
func (s *Service) Retire(ctx context.Context, p identity.Principal, protocolID, reason string) (Retirement, error) {
	if err := authorize(p); err != nil {
		return Retirement{}, err
	}
	var fe apperr.FieldErrors
	fe.Required("reason", reason)
	fe.MaxLength("reason", reason, MaxCommentLen)
	if err := fe.Err(); err != nil {
		return Retirement{}, err
	}
	if _, err := s.library.Latest(protocolID); err != nil {
		return Retirement{}, err
	}
	r := Retirement{ProtocolID: protocolID, RetiredAt: s.clock(), RetiredBy: p.UserID, Reason: reason}
	if err := s.store.Retire(ctx, r); err != nil {
		if errors.Is(err, ErrExists) {
			return Retirement{}, errRetired(protocolID)
		}
		return Retirement{}, fmt.Errorf("retiring %s: %w", protocolID, err)
	}
	if err := s.record(ctx, p, ActionProtocolRetire, ResourceProtocol, protocolID, audit.OutcomeSuccess); err != nil {
		return Retirement{}, err
	}
	if err := s.library.Refresh(ctx); err != nil {
		return Retirement{}, err
	}
	return r, nil
}

// Retirement returns the retirement of a protocol and whether it is retired. It returns the store's
// error.
func (s *Service) Retirement(ctx context.Context, protocolID string) (Retirement, bool, error) {
	r, err := s.store.Retirement(ctx, protocolID)
	if errors.Is(err, ErrNotFound) {
		return Retirement{}, false, nil
	}
	if err != nil {
		return Retirement{}, false, fmt.Errorf("reading the retirement of %s: %w", protocolID, err)
	}
	return r, true, nil
}
