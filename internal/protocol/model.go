package protocol

import "time"

// SourceLocale is the locale protocol source text is written in.
const SourceLocale = "en"

// Kind says what a protocol is for.
type Kind string

// The protocol kinds.
const (
	KindSupport   Kind = "support"
	KindInterview Kind = "interview"
	KindEvidence  Kind = "evidence"
)

// AgeBand is a child's age band.
type AgeBand string

// The age bands.
const (
	AgeUnder6 AgeBand = "under_6"
	Age6To11  AgeBand = "6_to_11"
	Age12To17 AgeBand = "12_to_17"
)

// CaseType is a form of ICT-facilitated abuse or exploitation.
type CaseType string

// The case types.
const (
	CaseAbuseMaterial      CaseType = "abuse_material"
	CaseSexualExploitation CaseType = "sexual_exploitation"
	CaseGrooming           CaseType = "grooming"
	CaseCyberbullying      CaseType = "cyberbullying"
	CaseHarmfulContent     CaseType = "harmful_content"
)

// Need is a child's need that changes how a protocol applies.
type Need string

// The needs.
const (
	NeedInterpreter       Need = "interpreter"
	NeedCommunicationAids Need = "communication_aids"
	NeedDisability        Need = "disability"
	NeedSupportPerson     Need = "support_person"
)

// Vocabularies: the allowed values of each enumerated field, in display order.
var (
	Kinds     = []Kind{KindSupport, KindInterview, KindEvidence}
	AgeBands  = []AgeBand{AgeUnder6, Age6To11, Age12To17}
	CaseTypes = []CaseType{CaseAbuseMaterial, CaseSexualExploitation, CaseGrooming, CaseCyberbullying, CaseHarmfulContent}
	Needs     = []Need{NeedInterpreter, NeedCommunicationAids, NeedDisability, NeedSupportPerson}
	Roles     = []string{"caseworker", "interviewer", "supervisor", "investigator", "forensic_examiner",
		"health_professional", "mental_health_professional", "legal_advocate"}
	Anchors = []string{"first_contact", "disclosure", "case_opened", "interview", "hearing"}
)

// Protocol is a protocol's structure and source-locale text, as authored in protocol.yaml.
// The yaml and json tags are the file format and the canonical encoding the content hash is taken over.
type Protocol struct {
	ID         string      `yaml:"id" json:"id"`
	Kind       Kind        `yaml:"kind" json:"kind"`
	Title      string      `yaml:"title" json:"title"`
	Summary    string      `yaml:"summary" json:"summary"`
	Notice     string      `yaml:"notice" json:"notice"`
	CaseTypes  []CaseType  `yaml:"case_types" json:"case_types"`
	AgeBands   []AgeBand   `yaml:"age_bands" json:"age_bands"`
	References []Reference `yaml:"references" json:"references"`
	Phases     []Phase     `yaml:"phases" json:"phases"`
}

// Reference names public guidance a protocol draws on.
type Reference struct {
	ID    string `yaml:"id" json:"id"`
	Title string `yaml:"title" json:"title"`
	URL   string `yaml:"url,omitempty" json:"url,omitempty"`
}

// Phase is an ordered group of steps.
type Phase struct {
	ID      string `yaml:"id" json:"id"`
	Title   string `yaml:"title" json:"title"`
	Summary string `yaml:"summary,omitempty" json:"summary,omitempty"`
	Steps   []Step `yaml:"steps" json:"steps"`
}

// Step is one thing to do.
type Step struct {
	ID          string               `yaml:"id" json:"id"`
	Title       string               `yaml:"title" json:"title"`
	Body        string               `yaml:"body" json:"body"`
	Required    bool                 `yaml:"required" json:"required"`
	PerformedBy string               `yaml:"performed_by" json:"performed_by"`
	Timing      *Timing              `yaml:"timing,omitempty" json:"timing,omitempty"`
	DependsOn   []string             `yaml:"depends_on,omitempty" json:"depends_on,omitempty"`
	AppliesWhen *Condition           `yaml:"applies_when,omitempty" json:"applies_when,omitempty"`
	Checklist   []ChecklistItem      `yaml:"checklist,omitempty" json:"checklist,omitempty"`
	Phrasings   map[AgeBand][]string `yaml:"phrasings,omitempty" json:"phrasings,omitempty"`
	Cautions    []string             `yaml:"cautions,omitempty" json:"cautions,omitempty"`
}

// ChecklistItem is one verifiable item of a step.
type ChecklistItem struct {
	ID   string `yaml:"id" json:"id"`
	Text string `yaml:"text" json:"text"`
}

// Timing says when a step is due: Amount Unit (hours or days) Relation (within, before) Anchor.
type Timing struct {
	Relation string `yaml:"relation" json:"relation"`
	Amount   int    `yaml:"amount" json:"amount"`
	Unit     string `yaml:"unit" json:"unit"`
	Anchor   string `yaml:"anchor" json:"anchor"`
}

// Translations maps a locale to its translated strings, keyed by string id (see Strings).
type Translations map[string]map[string]string

// Document is one protocol as authored: its structure and source text plus its translations.
// It is the unit that is validated, hashed and published.
type Document struct {
	Protocol     Protocol     `json:"protocol"`
	Translations Translations `json:"translations"`
}

// Version is a published, immutable version of a protocol.
type Version struct {
	ProtocolID  string
	Number      int
	ContentHash string
	PublishedAt time.Time
	Document    Document
	// Retired is set on the latest version of a retired protocol (see the authoring package): it is
	// no longer listed, bundled or offered for new runs; its versions stay readable.
	Retired bool
}
