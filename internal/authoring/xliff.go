package authoring

import (
	"bytes"
	"context"
	"encoding/xml"
	"slices"
	"strconv"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// XLIFF 2.0 (OASIS, urn:oasis:names:tc:xliff:document:2.0): one <file> per protocol, one <unit> per
// string id, with the source text, the translation (when there is one) and its state: initial
// (missing, or stale: the note "stale" says so and the target is the old translation) or translated.
const xliffNamespace = "urn:oasis:names:tc:xliff:document:2.0"

// MaxXLIFFBytes is the largest XLIFF document an import reads.
const MaxXLIFFBytes = 4 << 20

type xliffDoc struct {
	XMLName xml.Name    `xml:"urn:oasis:names:tc:xliff:document:2.0 xliff"`
	Version string      `xml:"version,attr"`
	SrcLang string      `xml:"srcLang,attr"`
	TrgLang string      `xml:"trgLang,attr"`
	Files   []xliffFile `xml:"file"`
}

type xliffFile struct {
	ID       string      `xml:"id,attr"`
	Original string      `xml:"original,attr,omitempty"`
	Units    []xliffUnit `xml:"unit"`
}

type xliffUnit struct {
	ID      string       `xml:"id,attr"`
	Notes   *xliffNotes  `xml:"notes,omitempty"`
	Segment xliffSegment `xml:"segment"`
}

type xliffNotes struct {
	Notes []xliffNote `xml:"note"`
}

type xliffNote struct {
	Category string `xml:"category,attr,omitempty"`
	Text     string `xml:",chardata"`
}

type xliffSegment struct {
	State  string  `xml:"state,attr,omitempty"`
	Source string  `xml:"source"`
	Target *string `xml:"target"`
}

// ExportXLIFF returns the strings of a draft for locale as an XLIFF 2.0 document for translators.
// Units are ordered as the source; translated units have state translated, missing and stale ones
// state initial (stale ones keep their old target and a note).
// It returns the errors of Draft, or an *apperr.Error Invalid (locale) for a locale that is not a
// translation locale.
func (s *Service) ExportXLIFF(ctx context.Context, p identity.Principal, id, locale string) ([]byte, error) {
	d, err := s.Draft(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := s.checkLocale(locale); err != nil {
		return nil, err
	}
	st := s.LocaleStatus(&d, locale)
	doc := xliffDoc{Version: "2.0", SrcLang: protocol.SourceLocale, TrgLang: locale}
	f := xliffFile{ID: d.ProtocolID, Original: d.ProtocolID + "/protocol.yaml"}
	for _, str := range st.Strings {
		u := xliffUnit{ID: str.ID, Segment: xliffSegment{Source: str.Source, State: "initial"}}
		notes := []xliffNote{{Category: "location", Text: str.Path}}
		if str.State != StringMissing {
			text := str.Text
			u.Segment.Target = &text
		}
		switch str.State {
		case StringTranslated:
			u.Segment.State = "translated"
		case StringStale:
			notes = append(notes, xliffNote{Category: "caseguide", Text: "stale: the source text changed after this translation was made"})
		}
		u.Notes = &xliffNotes{Notes: notes}
		f.Units = append(f.Units, u)
	}
	doc.Files = []xliffFile{f}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

// ImportXLIFF sets the translations of a draft into locale from an XLIFF 2.0 document (as
// ExportXLIFF writes it, and as translation tools return it), at version. Units with a non-empty
// target are taken, recorded as translated from the unit's source text: when that is no longer the
// draft's source text, the translation is stale. Only units whose segment state is translated,
// reviewed or final are taken (a stale unit is exported as initial, so sending it back unchanged
// does not make it current); others change nothing. It returns
// an *apperr.Error Invalid with field errors (body: not XLIFF 2.0, wrong languages or protocol;
// units[n]: unknown string id) and otherwise the errors of Translate.
func (s *Service) ImportXLIFF(ctx context.Context, p identity.Principal, id string, version int64, locale string, body []byte) (Draft, error) {
	if err := authorize(p); err != nil {
		return Draft{}, err
	}
	if err := s.checkLocale(locale); err != nil {
		return Draft{}, err
	}
	var doc xliffDoc
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if len(body) > MaxXLIFFBytes || dec.Decode(&doc) != nil || doc.Version != "2.0" {
		return Draft{}, apperr.Validation(apperr.FieldError{Field: "body", Code: "xliff", MessageID: "authoring.field.xliff"})
	}
	cur, err := s.Draft(ctx, p, id)
	if err != nil {
		return Draft{}, err
	}
	var fe apperr.FieldErrors
	if doc.SrcLang != protocol.SourceLocale || doc.TrgLang != locale {
		fe.Add("body", "xliff_languages", "authoring.field.xliff_languages", map[string]any{"Source": protocol.SourceLocale, "Target": locale})
	}
	if len(doc.Files) != 1 || doc.Files[0].ID != cur.ProtocolID {
		fe.Add("body", "xliff_file", "authoring.field.xliff_file", map[string]any{"ID": cur.ProtocolID})
	}
	if err := fe.Err(); err != nil {
		return Draft{}, err
	}
	source := sourceTexts(&cur.Protocol)
	var edits []TranslationEdit
	for i, u := range doc.Files[0].Units {
		if _, ok := source[u.ID]; !ok {
			fe.Add("units["+strconv.Itoa(i)+"]", protocol.CodeUnknownString, "authoring.field.unknown_string", nil)
			continue
		}
		if u.Segment.Target == nil || *u.Segment.Target == "" || !slices.Contains([]string{"translated", "reviewed", "final"}, u.Segment.State) {
			continue // XLIFF's default state is initial: not translated yet
		}
		edits = append(edits, TranslationEdit{ID: u.ID, Text: *u.Segment.Target, Source: u.Segment.Source})
	}
	if err := fe.Err(); err != nil {
		return Draft{}, err
	}
	return s.Translate(ctx, p, id, version, locale, edits)
}
