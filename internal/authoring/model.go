package authoring

import (
	"time"

	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Status is where a draft stands in the workflow.
type Status string

// The draft statuses: editing → in_review → approved → published; a review may return it to editing.
const (
	StatusEditing   Status = "editing"
	StatusInReview  Status = "in_review"
	StatusApproved  Status = "approved"
	StatusPublished Status = "published"
)

// Review actions.
const (
	ReviewSubmitted = "submitted"
	ReviewApproved  = "approved"
	ReviewReturned  = "returned"
	ReviewPublished = "published"
)

// ReviewEntry is one step of a draft's review history.
type ReviewEntry struct {
	Action  string
	By      string // user id
	At      time.Time
	Comment string
}

// Draft is a protocol being written: a new protocol (BaseVersion 0) or the next version of a
// published one. Translations hold the translated text per locale and string id; TranslatedFrom
// holds, for each of them, the source text it was translated from, so a translation whose source
// changed since is stale.
type Draft struct {
	ID               string // UUID
	ProtocolID       string
	BaseVersion      int // the published version it started from; 0 for a new protocol
	Protocol         protocol.Protocol
	Translations     protocol.Translations
	TranslatedFrom   protocol.Translations
	Status           Status
	Authors          []string // user ids of everyone who changed its content, the creator first
	Review           []ReviewEntry
	PublishedVersion int // set once published
	CreatedAt        time.Time
	UpdatedAt        time.Time
	CreatedBy        string
	Version          int64 // 1 when created, +1 on every change
}

// Document returns the draft as a protocol document: its structure and its non-empty translations.
func (d *Draft) Document() protocol.Document {
	tr := protocol.Translations{}
	for l, m := range d.Translations {
		out := map[string]string{}
		for id, t := range m {
			if t != "" {
				out[id] = t
			}
		}
		if len(out) > 0 {
			tr[l] = out
		}
	}
	return protocol.Document{Protocol: d.Protocol, Translations: tr}
}

// StringState is the state of one translatable string in one locale.
type StringState string

// The string states.
const (
	StringMissing    StringState = "missing"
	StringStale      StringState = "stale" // the source changed after it was translated
	StringTranslated StringState = "translated"
)

// TranslationString is one source string with its translation in a locale.
type TranslationString struct {
	ID     string
	Path   string // JSON pointer of its source field
	Source string
	Text   string // "" when missing
	State  StringState
}

// LocaleStatus is the translation status of a draft (or a version) in one locale.
type LocaleStatus struct {
	Locale     string
	Total      int
	Translated int // translated and current
	Missing    int
	Stale      int
	Required   bool // publishing needs it complete
	Strings    []TranslationString
}

// Complete reports whether every string is translated and current.
func (s LocaleStatus) Complete() bool { return s.Translated == s.Total }

// Change classifies the difference between two versions of a protocol (see ClassifyChange).
type Change string

// The change kinds.
const (
	ChangeNone       Change = "none"
	ChangeText       Change = "text"
	ChangeStructural Change = "structural"
)

// VersionInfo is a published version as editors see it: its number (what runs pin), its label
// (major.minor: see Labels), the kind of change from the version before, and completeness.
type VersionInfo struct {
	Number       int
	Label        string
	Change       Change
	ContentHash  string
	PublishedAt  time.Time
	Completeness []LocaleStatus // without Strings
}

// Usage counts, per published version, the runs of the caller's organisation pinned to it and the
// distinct open cases those runs belong to.
type Usage struct {
	Version   int
	OpenCases int
	Runs      int
}

// RunCount is what Store.CountRuns returns per version.
type RunCount struct {
	Version int
	Runs    int
	CaseIDs []string // distinct cases with a run on the version
}

// Retirement says a protocol was retired: it is no longer offered for new runs or listed, while runs
// pinned to its versions keep them.
type Retirement struct {
	ProtocolID string
	RetiredAt  time.Time
	RetiredBy  string
	Reason     string
}
