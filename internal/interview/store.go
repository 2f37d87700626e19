package interview

import (
	"context"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// OrgFilter selects sessions of one organisation. Zero fields select everything.
type OrgFilter struct {
	OrgID         string
	Statuses      []Status
	InterviewerID string
	// Queue, when set, asks for the review queue's order and page: sessions submitted (SubmittedAt
	// set), by SubmittedAt then ID, only those after Queue.After, at most Queue.Limit (0: all). A
	// store may return more (the Service sorts, filters and cuts again); it must not return fewer.
	Queue *QueueCursor
}

// QueueCursor is a position in the review queue: the last session of the previous page (zero: from
// the start) and the most sessions wanted.
type QueueCursor struct {
	AfterTime time.Time
	AfterID   string
	Limit     int
}

// Store persists sessions (one document each) and their logs (one document each, by session id).
// Every method returns the sentinels documented on it, or another error (wrapping the driver's) when
// the database fails. Access control is the Service's job: the Store reads any record by id.
type Store interface {
	// CreateSession stores a new session and its empty, open log; ErrExists when its id is taken.
	CreateSession(ctx context.Context, s Session) error
	// Session returns a session by id (any organisation), or ErrNotFound.
	Session(ctx context.Context, id string) (Session, error)
	// UpdateSession replaces every mutable field of session s.ID when its stored version is
	// s.Version-1. ErrStale when the version differs, ErrNotFound when the session does not exist.
	UpdateSession(ctx context.Context, s Session) error
	// CaseSessions returns the sessions of a case, by creation time then id.
	CaseSessions(ctx context.Context, caseID string) ([]Session, error)
	// OrgSessions returns the sessions matching f, by id, as summaries: Plan and Addenda are empty,
	// and so are the reviews' comments (lists and reports do not show them).
	OrgSessions(ctx context.Context, f OrgFilter) ([]Session, error)
	// OrgCoaching returns what a coaching report counts of the sessions of orgID that started (or,
	// never started, were created) in [from, before): those CoachingOf counts, by id. It must answer
	// every such session as stored after every write that ended before the call.
	OrgCoaching(ctx context.Context, orgID string, from, before time.Time) ([]CoachingSession, error)

	// Log returns the log of a session, or ErrNotFound.
	Log(ctx context.Context, sessionID string) (Log, error)
	// AppendLog appends the entries whose client ids the log does not hold yet and returns how many
	// it appended. ErrLogClosed when the log is closed, ErrLogFull when the new entries would take it
	// over MaxLogEntries, ErrNotFound when it does not exist.
	AppendLog(ctx context.Context, sessionID string, e Entries) (int, error)
	// SetLogOpen opens or closes the log of a session at time at (its updated_at; when closing, its
	// ClosedAt); ErrNotFound when it does not exist.
	SetLogOpen(ctx context.Context, sessionID string, open bool, at time.Time) error
}

// ProtocolSource gives published protocol versions (*protocol.Service satisfies it).
type ProtocolSource interface {
	// Latest returns the latest published version of protocol id, or an *apperr.Error NotFound.
	Latest(id string) (protocol.Version, error)
	// Version returns version n of protocol id, or an *apperr.Error NotFound.
	Version(ctx context.Context, id string, n int) (protocol.Version, error)
}

// Cases checks access to a case (*casework.Service satisfies it).
type Cases interface {
	// CaseAccess reads case caseID and checks that p may see it; a refusal is recorded as action
	// denied. It returns identity.ErrForbidden, a NotFound *apperr.Error (case_not_found), or the
	// store's or recorder's error.
	CaseAccess(ctx context.Context, p identity.Principal, caseID, action string) (casework.Case, identity.Role, error)
}

// Event actions.
const (
	ActionCreate      = "interview.create"
	ActionRead        = "interview.read"
	ActionList        = "interview.list"
	ActionUpdate      = "interview.update"
	ActionLog         = "interview.log"
	ActionSubmit      = "interview.submit"
	ActionReview      = "interview.review"
	ActionAddendum    = "interview.addendum"
	ActionReceive     = "interview.receive" // a shared copy received through a referral or transfer
	ActionReviewQueue = "interview.review_queue"
	ActionCoaching    = "interview.coaching_report"
)

// Event resource types.
const (
	ResourceInterview = "interview"
	ResourceCase      = "case"
	ResourceUser      = "user"
)

// Limits.
const (
	MaxLogEntries     = 5000 // entries of all kinds in one session's log
	MaxBatch          = 500  // entries in one append
	MaxParticipants   = 20
	MaxWordsLen       = 2000
	MaxNoteLen        = 2000
	MaxCommentLen     = 4000
	MaxItemComments   = 200
	MaxAddenda        = 100
	MaxNameLen        = 200
	MaxPlaceLen       = 500
	MaxClientIDLen    = 128
	MaxIDLen          = 128
	MaxClockSkew      = 5 * time.Minute
	defaultQueueLimit = 50
	maxQueueLimit     = 200
)
