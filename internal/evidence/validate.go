package evidence

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Field limits, in characters (or entries).
const (
	MaxDescriptionLen = 2000
	MaxNoteLen        = 2000
	MaxTextLen        = 500 // places, purposes
	MaxShortLen       = 200 // identifiers, names, references, locations
	MaxNumberLen      = 100 // exhibit and seal numbers
	MaxHashes         = 8
	MaxClockSkew      = 5 * time.Minute
	maxUserIDLen      = 128
)

// NewItem is what a client sends to record an item. Acquisition.By defaults to the caller.
type NewItem struct {
	ID                      string
	Kind                    Kind
	Description             string
	Identifiers             Identifiers
	ExhibitNumber           string
	RootExhibitNumber       string
	Hashes                  []Hash
	Acquisition             Acquisition
	Authority               LegalAuthority
	StorageLocation         string
	SealNumber              string
	SuspectedAbuseMaterial  bool
	AbuseCategory           string
	LawEnforcementReference string
}

// NewEvent is what a client sends to append a custody event. PerformedBy defaults to the caller.
type NewEvent struct {
	ID          string
	Type        EventType
	RecordedAt  time.Time
	PerformedBy Party
	From        Party
	To          Party
	Place       string
	Purpose     string
	Note        string
	SealNumber  string
	SealIntact  *bool
	Verified    *Hash
	DerivedItem *NewItem // copied: the copy or extraction made
	CorrectsSeq int64
	Hold        *bool
}

type fieldErrors struct{ apperr.FieldErrors }

// text checks an optional free-text value and returns it trimmed: valid UTF-8, no control characters
// other than tab and newlines (none at all when singleLine), at most limit characters, and no data:
// URI (the service never takes content of evidence).
func (f *fieldErrors) text(field, value string, limit int, singleLine bool) string {
	value = strings.TrimSpace(value)
	if !utf8.ValidString(value) || strings.ContainsFunc(value, func(r rune) bool {
		return (r < 0x20 && (singleLine || (r != '\t' && r != '\n' && r != '\r'))) || r == 0x7f || r == 0x2028 || r == 0x2029
	}) {
		f.Add(field, "invalid", "field.invalid", nil)
		return value
	}
	if strings.Contains(strings.ToLower(value), "data:") && strings.Contains(strings.ToLower(value), "base64") {
		f.Add(field, "content_refused", "field.evidence_content_refused", nil)
		return value
	}
	f.MaxLength(field, value, limit)
	return value
}

func (f *fieldErrors) token(field, id string, limit int) bool {
	ok := id != "" && len(id) <= limit && !strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && !(r >= '0' && r <= '9') && !strings.ContainsRune("._:-#@", r)
	})
	if !ok {
		f.Add(field, "invalid", "field.invalid", nil)
	}
	return ok
}

// oneOf is apperr.OneOf for a required value: "required" when it is empty.
func oneOf[T ~string](f *fieldErrors, field string, value T, values []T) bool {
	if value == "" {
		f.Add(field, "required", "field.required", nil)
		return false
	}
	return apperr.OneOf(&f.FieldErrors, field, value, values)
}

func (f *fieldErrors) refuse(field string) {
	f.Add(field, "not_allowed", "field.evidence_not_allowed", nil)
}

// party checks a party: a user id, or a name (and organisation) of someone outside the service.
func (f *fieldErrors) party(field string, p Party) Party {
	p.Name = f.text(field+".name", p.Name, MaxShortLen, true)
	p.Organisation = f.text(field+".organisation", p.Organisation, MaxShortLen, true)
	switch {
	case p.UserID != "":
		f.token(field+".user_id", p.UserID, maxUserIDLen)
		if p.Name != "" {
			f.refuse(field + ".name")
		}
	case p.Name == "":
		f.Add(field+".name", "required", "field.required", nil)
	}
	return p
}

// deviceTime checks a required device time: not zero, not more than MaxClockSkew ahead of now.
func (f *fieldErrors) deviceTime(field string, t, now time.Time) time.Time {
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

func (f *fieldErrors) hash(field string, h Hash) Hash {
	h.Algorithm = strings.ToLower(strings.TrimSpace(h.Algorithm))
	h.Value = strings.ToLower(strings.TrimSpace(h.Value))
	if !oneOf(f, field+".algorithm", h.Algorithm, HashAlgorithms) {
		return h
	}
	n := hashLengths[h.Algorithm]
	if len(h.Value) != n || strings.ContainsFunc(h.Value, func(r rune) bool { return !(r >= '0' && r <= '9') && !(r >= 'a' && r <= 'f') }) {
		f.Add(field+".value", "hash_format", "field.hash_format", map[string]any{"Algorithm": h.Algorithm, "Digits": n})
	}
	return h
}

// item checks a new item and returns it normalized; caller is the acting user's id, now the clock.
func (f *fieldErrors) item(prefix string, ni NewItem, caller string, now time.Time) Item {
	p := func(name string) string { return prefix + name }
	it := Item{ID: ni.ID, Kind: ni.Kind, SuspectedAbuseMaterial: ni.SuspectedAbuseMaterial}
	f.UUID(p("id"), ni.ID)
	oneOf(f, p("kind"), ni.Kind, Kinds)
	it.Description = f.text(p("description"), ni.Description, MaxDescriptionLen, false)
	id := ni.Identifiers
	it.Identifiers = Identifiers{
		Make: f.text(p("identifiers.make"), id.Make, MaxShortLen, true), Model: f.text(p("identifiers.model"), id.Model, MaxShortLen, true),
		SerialNumber:  f.text(p("identifiers.serial_number"), id.SerialNumber, MaxShortLen, true),
		AccountHandle: f.text(p("identifiers.account_handle"), id.AccountHandle, MaxShortLen, true),
		Platform:      f.text(p("identifiers.platform"), id.Platform, MaxShortLen, true),
		URL:           f.text(p("identifiers.url"), id.URL, MaxTextLen, true),
	}
	if u := it.Identifiers.URL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			f.Add(p("identifiers.url"), "url", "field.url", nil)
		}
	}
	it.ExhibitNumber = f.text(p("exhibit_number"), ni.ExhibitNumber, MaxNumberLen, true)
	it.RootExhibitNumber = f.text(p("root_exhibit_number"), ni.RootExhibitNumber, MaxNumberLen, true)
	if len(ni.Hashes) > MaxHashes {
		f.Add(p("hashes"), "max_items", "field.max_items", map[string]any{"Max": MaxHashes})
	}
	seen := map[string]bool{}
	for _, h := range ni.Hashes {
		h = f.hash(p("hashes"), h)
		if seen[h.Algorithm] {
			f.Add(p("hashes"), "duplicate", "field.evidence_duplicate_hash", nil)
		}
		seen[h.Algorithm] = true
		it.Hashes = append(it.Hashes, h)
	}
	if (ni.Kind.Digital() || ni.SuspectedAbuseMaterial) && !seen["sha256"] {
		f.Add(p("hashes"), "sha256_required", "field.evidence_sha256_required", nil)
	}
	a := ni.Acquisition
	oneOf(f, p("acquisition.method"), a.Method, AcquisitionMethods)
	it.Acquisition = Acquisition{Method: a.Method, Tool: f.text(p("acquisition.tool"), a.Tool, MaxShortLen, true),
		ToolVersion: f.text(p("acquisition.tool_version"), a.ToolVersion, MaxNumberLen, true),
		At:          f.deviceTime(p("acquisition.acquired_at"), a.At, now), Place: f.text(p("acquisition.place"), a.Place, MaxTextLen, false),
		WriteProtected: a.WriteProtected}
	if a.By.IsZero() {
		it.Acquisition.By = Party{UserID: caller}
	} else {
		it.Acquisition.By = f.party(p("acquisition.performed_by"), a.By)
	}
	oneOf(f, p("legal_authority.basis"), ni.Authority.Basis, LegalBases)
	it.Authority = LegalAuthority{Basis: ni.Authority.Basis, Reference: f.text(p("legal_authority.reference"), ni.Authority.Reference, MaxShortLen, true)}
	it.StorageLocation = f.text(p("storage_location"), ni.StorageLocation, MaxShortLen, false)
	it.SealNumber = f.text(p("seal_number"), ni.SealNumber, MaxNumberLen, true)
	it.LawEnforcementReference = f.text(p("law_enforcement_reference"), ni.LawEnforcementReference, MaxShortLen, true)
	if ni.SuspectedAbuseMaterial {
		// Only hashes, the category and the law-enforcement reference: nothing that describes it.
		if oneOf(f, p("abuse_category"), ni.AbuseCategory, AbuseCategories) {
			it.AbuseCategory = ni.AbuseCategory
		}
		if it.LawEnforcementReference == "" {
			f.Add(p("law_enforcement_reference"), "required", "field.required", nil)
		}
		if !ni.Kind.Digital() && ni.Kind != "" {
			f.Add(p("kind"), "abuse_material_kind", "field.evidence_abuse_material_kind", nil)
		}
		for field, v := range map[string]string{"description": it.Description, "identifiers.make": it.Identifiers.Make,
			"identifiers.model": it.Identifiers.Model, "identifiers.serial_number": it.Identifiers.SerialNumber,
			"identifiers.account_handle": it.Identifiers.AccountHandle, "identifiers.platform": it.Identifiers.Platform,
			"identifiers.url": it.Identifiers.URL, "acquisition.place": it.Acquisition.Place, "storage_location": it.StorageLocation} {
			if v != "" {
				f.Add(p(field), "abuse_material_content", "field.evidence_abuse_material_content", nil)
			}
		}
	} else {
		if ni.AbuseCategory != "" {
			f.refuse(p("abuse_category"))
		}
		if it.LawEnforcementReference != "" {
			f.refuse(p("law_enforcement_reference"))
		}
	}
	switch ni.Kind {
	case KindURL:
		f.Required(p("identifiers.url"), it.Identifiers.URL)
	case KindOnlineAccount:
		f.Required(p("identifiers.account_handle"), it.Identifiers.AccountHandle)
		f.Required(p("identifiers.platform"), it.Identifiers.Platform)
	}
	return it
}

// derivedItem checks and makes the item a "copied" event derives from parent: it inherits the root
// exhibit number (the parent's root, or the parent's own number) unless it names one, and the
// parent's abuse-material flag with its category and law-enforcement reference; its field errors are
// under "derived_item.".
func (f *fieldErrors) derivedItem(parent Item, ni NewItem, caller string, now time.Time) Item {
	if ni.RootExhibitNumber == "" {
		ni.RootExhibitNumber = cmp.Or(parent.RootExhibitNumber, parent.ExhibitNumber)
	}
	if parent.SuspectedAbuseMaterial {
		ni.SuspectedAbuseMaterial = true
		ni.AbuseCategory = cmp.Or(ni.AbuseCategory, parent.AbuseCategory)
		ni.LawEnforcementReference = cmp.Or(ni.LawEnforcementReference, parent.LawEnforcementReference)
	}
	d := f.item("derived_item.", ni, caller, now)
	d.DerivedFromItemID, d.OrgID, d.CaseID, d.CreatedAt, d.UpdatedAt, d.CreatedBy = parent.ID, parent.OrgID, parent.CaseID, now, now, caller
	return d
}

// event checks a new event for item it and returns it normalized (without chain fields).
func (f *fieldErrors) event(ne NewEvent, it Item, caller string, now time.Time) Event {
	e := Event{ID: ne.ID, OrgID: it.OrgID, CaseID: it.CaseID, ItemID: it.ID, Type: ne.Type, RecordedBy: caller,
		SealIntact: ne.SealIntact, CorrectsSeq: ne.CorrectsSeq, Hold: ne.Hold}
	f.UUID("id", ne.ID)
	appendable := slices.DeleteFunc(slices.Clone(EventTypes), func(t EventType) bool { return t == EventCollected })
	oneOf(f, "type", ne.Type, appendable)
	e.RecordedAt = f.deviceTime("recorded_at", ne.RecordedAt, now)
	if ne.PerformedBy.IsZero() {
		e.PerformedBy = Party{UserID: caller}
	} else {
		e.PerformedBy = f.party("performed_by", ne.PerformedBy)
	}
	e.Place = f.text("place", ne.Place, MaxTextLen, false)
	e.Purpose = f.text("purpose", ne.Purpose, MaxTextLen, false)
	e.Note = f.text("note", ne.Note, MaxNoteLen, false)
	e.SealNumber = f.text("seal_number", ne.SealNumber, MaxNumberLen, true)
	if it.SuspectedAbuseMaterial && e.Note != "" {
		f.Add("note", "abuse_material_content", "field.evidence_abuse_material_content", nil)
	}
	needs := func(field string, present, wanted bool) {
		switch {
		case wanted && !present:
			f.Add(field, "required", "field.required", nil)
		case !wanted && present:
			f.refuse(field)
		}
	}
	t := ne.Type
	needs("from", !ne.From.IsZero(), t == EventTransferred || (t == EventReceived && !ne.From.IsZero()))
	needs("to", !ne.To.IsZero(), t == EventTransferred || t == EventReturned)
	needs("verified_hash", ne.Verified != nil, t == EventHashVerified)
	needs("derived_item", ne.DerivedItem != nil, t == EventCopied)
	needs("corrects_seq", ne.CorrectsSeq != 0, t == EventCorrection)
	needs("legal_hold", ne.Hold != nil, t == EventLegalHold)
	if t == EventSealed {
		f.Required("seal_number", e.SealNumber)
	}
	if t == EventCorrection || t == EventLegalHold {
		f.Required("purpose", e.Purpose)
	}
	if !ne.From.IsZero() {
		e.From = f.party("from", ne.From)
	}
	if !ne.To.IsZero() {
		e.To = f.party("to", ne.To)
	}
	if ne.CorrectsSeq < 0 {
		f.Add("corrects_seq", "min", "field.min", map[string]any{"Min": 1})
	}
	if ne.Verified != nil {
		h := f.hash("verified_hash", *ne.Verified)
		e.Verified = &h
		if !slices.ContainsFunc(it.Hashes, func(x Hash) bool { return x.Algorithm == h.Algorithm }) {
			f.Add("verified_hash.algorithm", "no_reference_hash", "field.evidence_no_reference_hash", nil)
		} else {
			matches := slices.Contains(it.Hashes, h)
			e.Matches = &matches
		}
	}
	return e
}
