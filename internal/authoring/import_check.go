package authoring

import (
	"encoding/json"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// fileFieldErrors checks imported files with the validator's coded checks, the ones drafts sent as
// JSON and translation edits get, so that the editor reads localized messages naming the step or
// string (protocol.step.<id>.title, translations.<locale>.<string id>) rather than the validator's
// English. files maps a file's name in the protocol folder (protocol.yaml, es.yaml) to its content.
// What these checks cannot judge (a file that is not YAML, or not a mapping) is left to LoadDir, so
// it returns no errors for it.
func (s *Service) fileFieldErrors(protocolID string, files map[string][]byte) apperr.FieldErrors {
	var fe apperr.FieldErrors
	var tree any
	if yaml.Unmarshal(files["protocol.yaml"], &tree) != nil {
		return nil
	}
	raw, err := json.Marshal(tree)
	if err != nil {
		return nil
	}
	_ = json.Unmarshal(raw, &tree) // the JSON form FieldName reads ids from
	pr, problems := s.validator.CheckSource(raw)
	for _, prob := range problems.Errors() {
		fe = append(fe, problemField(tree, prob))
	}
	if len(fe) > 0 {
		return fe
	}
	if pr.ID != protocolID {
		fe.Add("protocol.id", "mismatch", "authoring.field.id_mismatch", map[string]any{"ID": protocolID})
		return fe
	}
	tr := protocol.Translations{}
	for name, content := range files {
		locale, ok := strings.CutSuffix(path.Base(name), ".yaml")
		if !ok || name == "protocol.yaml" {
			continue
		}
		var texts map[string]string
		if yaml.Unmarshal(content, &texts) != nil {
			return nil
		}
		for _, prob := range s.validator.CheckTranslationTexts(texts).Errors() {
			fe = append(fe, translationField(locale, prob))
		}
		tr[locale] = texts
	}
	for _, prob := range s.validator.CheckTranslations(&pr, tr).Errors() {
		locale, _, _ := strings.Cut(strings.TrimPrefix(prob.Path, "/translations/"), "/")
		prob.Path = strings.TrimPrefix(prob.Path, "/translations/"+locale)
		fe = append(fe, translationField(locale, prob))
	}
	return fe
}

// translationField turns a problem of a translation (Path "/<string id>", or "" for the locale
// itself) into a field error on translations.<locale>[.<string id>].
func translationField(locale string, p protocol.Problem) apperr.FieldError {
	f := problemField(nil, p)
	f.Field = "translations." + locale + strings.ReplaceAll(p.Path, "/", ".")
	return f
}
