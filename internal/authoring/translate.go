package authoring

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// LocaleStatus reports which strings of the draft are translated into locale, missing, or stale
// (their source text changed after they were translated). The source locale is always complete.
func (s *Service) LocaleStatus(d *Draft, locale string) LocaleStatus {
	st := LocaleStatus{Locale: locale, Required: slices.Contains(s.required, locale)}
	for _, src := range d.Protocol.Strings() {
		ts := TranslationString{ID: src.ID, Path: src.Path, Source: src.Text, State: StringTranslated}
		switch {
		case locale == protocol.SourceLocale:
			ts.Text = src.Text
		case d.Translations[locale][src.ID] == "":
			ts.State = StringMissing
			st.Missing++
		default:
			ts.Text = d.Translations[locale][src.ID]
			if d.TranslatedFrom[locale][src.ID] != src.Text {
				ts.State = StringStale
				st.Stale++
			}
		}
		if ts.State == StringTranslated {
			st.Translated++
		}
		st.Total++
		st.Strings = append(st.Strings, ts)
	}
	return st
}

// Locales returns the locales a protocol is written and translated in: the source locale first.
func (s *Service) Locales() []string {
	return append([]string{protocol.SourceLocale}, s.validator.TranslationLocales()...)
}

// TranslationEdit sets the translation of one string; an empty Text removes it. Source, when not
// empty, is the source text the translator worked from (XLIFF import); otherwise the current source.
type TranslationEdit struct {
	ID     string
	Text   string
	Source string
}

// Translate changes translations of a draft being edited into locale, at version. Each edited string
// counts as translated from its current source text (or from the edit's Source), so it is no longer
// stale. It returns identity.ErrForbidden for callers who are not content editors; an *apperr.Error
// NotFound (draft_not_found); Invalid with field errors (strings[n].id unknown_string;
// strings[n].text as the translation files' schema checks it: required, max_length; locale oneof)
// or draft_status; Conflict version_conflict; or the store's or recorder's error.
func (s *Service) Translate(ctx context.Context, p identity.Principal, id string, version int64, locale string, edits []TranslationEdit) (Draft, error) {
	if err := authorize(p); err != nil {
		return Draft{}, err
	}
	if err := s.checkLocale(locale); err != nil {
		return Draft{}, err
	}
	return s.update(ctx, p, id, version, ActionDraftTranslate, func(d *Draft) error {
		if d.Status != StatusEditing {
			return errWrongStatus(*d, StatusEditing)
		}
		source := sourceTexts(&d.Protocol)
		var fe apperr.FieldErrors
		for i, e := range edits {
			if _, ok := source[e.ID]; !ok {
				fe.Add("strings["+strconv.Itoa(i)+"].id", protocol.CodeUnknownString, "authoring.field.unknown_string", nil)
			}
		}
		if err := fe.Err(); err != nil {
			return err
		}
		texts := map[string]string{}
		index := map[string]int{}
		for i, e := range edits {
			if e.Text != "" {
				texts[e.ID], index[e.ID] = e.Text, i
			}
		}
		for _, prob := range s.validator.CheckTranslationTexts(texts) {
			id := strings.TrimPrefix(prob.Path, "/")
			field := "strings"
			if i, ok := index[id]; ok {
				field = "strings[" + strconv.Itoa(i) + "].text"
			}
			msg, ok := messageOfCode[prob.Code]
			if !ok {
				msg = "field.invalid"
			}
			fe.Add(field, prob.Code, msg, prob.Args)
		}
		if err := fe.Err(); err != nil {
			return err
		}
		if d.Translations[locale] == nil {
			d.Translations[locale], d.TranslatedFrom[locale] = map[string]string{}, map[string]string{}
		}
		for _, e := range edits {
			if e.Text == "" {
				delete(d.Translations[locale], e.ID)
				delete(d.TranslatedFrom[locale], e.ID)
				continue
			}
			from := e.Source
			if from == "" {
				from = source[e.ID]
			}
			d.Translations[locale][e.ID], d.TranslatedFrom[locale][e.ID] = e.Text, from
		}
		pruneTranslations(d)
		addAuthor(d, p.UserID)
		return nil
	})
}

// CheckLocale returns an *apperr.Error Invalid (field locale) unless locale is the source locale or
// a translation locale.
func (s *Service) CheckLocale(locale string) error {
	if locale == protocol.SourceLocale {
		return nil
	}
	return s.checkLocale(locale)
}

// checkLocale accepts the translation locales (not the source locale).
func (s *Service) checkLocale(locale string) error {
	if !slices.Contains(s.validator.TranslationLocales(), locale) {
		return apperr.Validation(apperr.FieldError{Field: "locale", Code: "oneof", MessageID: "field.oneof",
			Data: map[string]any{"Values": strings.Join(s.validator.TranslationLocales(), ", ")}})
	}
	return nil
}
