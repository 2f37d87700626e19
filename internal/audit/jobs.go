package audit

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Verification job states.
const (
	JobRunning = "running"
	JobDone    = "done"   // Report is set
	JobFailed  = "failed" // Error says why (the store failed); no report
)

// maxFinishedJobs bounds the finished jobs a Service keeps; the oldest are forgotten first.
const maxFinishedJobs = 64

// jobTimeout bounds one full verification.
const jobTimeout = 6 * time.Hour

// ErrJobNotFound is returned by VerifyJob for an id this process did not start for the organisation.
var ErrJobNotFound = errors.New("audit: verification job not found")

// Job is a full verification of one log running in the background (see StartVerifyJob): its
// progress (Read of about Total entries) and, once done, its report.
type Job struct {
	ID         string
	OrgID      string
	State      string
	Read       int64
	Total      int64
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Report     *Report
	Error      string
	finished   chan struct{} // closed when the job ends
}

type verifyJobs struct {
	mu   sync.Mutex
	byID map[string]*Job
	done []string // finished job ids, oldest first
}

// StartVerifyJob starts VerifyFull of the organisation's log in the background and returns the job,
// with started true; when a job for that log is already running in this process it returns that one
// with started false. Jobs live in this process's memory only: a restart forgets them (running ones
// stop), and an instance answers only for the jobs it started. It never fails.
func (s *Service) StartVerifyJob(orgID string) (Job, bool) {
	j := &s.jobs
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.byID == nil {
		j.byID = map[string]*Job{}
	}
	for _, job := range j.byID {
		if job.OrgID == orgID && job.State == JobRunning {
			return *job, false
		}
	}
	job := &Job{ID: uuid.Must(uuid.NewV7()).String(), OrgID: orgID, State: JobRunning, StartedAt: s.now().UTC(),
		finished: make(chan struct{})}
	j.byID[job.ID] = job
	go s.runJob(job)
	return *job, true
}

func (s *Service) runJob(job *Job) {
	j := &s.jobs
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	r, err := s.VerifyFull(ctx, job.OrgID, func(read, total int64) {
		j.mu.Lock()
		job.Read, job.Total = read, total
		j.mu.Unlock()
	})
	j.mu.Lock()
	defer j.mu.Unlock()
	job.FinishedAt = s.now().UTC()
	if err != nil {
		job.State, job.Error = JobFailed, "the database failed while the log was read: start a new job"
	} else {
		job.State, job.Report = JobDone, &r
		job.Read, job.Total = int64(r.Entries), int64(r.Entries)
	}
	close(job.finished)
	j.done = append(j.done, job.ID)
	for len(j.done) > maxFinishedJobs {
		delete(j.byID, j.done[0])
		j.done = j.done[1:]
	}
}

// VerifyJob returns the job with id started for the organisation, or ErrJobNotFound.
func (s *Service) VerifyJob(orgID, id string) (Job, error) {
	j := &s.jobs
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.byID[id]
	if !ok || job.OrgID != orgID {
		return Job{}, ErrJobNotFound
	}
	return *job, nil
}
