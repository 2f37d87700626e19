// Package seed fills a database with a realistic fictional agency for demonstrations, training and
// benchmarks: organisations, users of every role, cases with protocol runs and step records,
// interview sessions with their logs and reviews, evidence items with custody chains, and the audit
// entries all of that produces. Everything is written through the domain services, exactly as the
// API would write it, so every rule, chain and index holds; Run verifies the audit logs and the
// custody chains at the end.
//
// The content (how many of everything, every value and every id) follows from Config.Seed and
// Config.Cases alone: the same two give the same agency. Server times (receipt times, audit times)
// are those of the run; device times (when a case was opened, a step recorded, a prompt put) spread
// over the five years before the run.
package seed

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/audit"
	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// Services are the domain services the seed writes through, wired as the service wires them.
type Services struct {
	Identity   *identity.Service
	Orgs       OrgCreator
	Cases      *casework.Service
	Interviews *interview.Service
	Evidence   *evidence.Service
	Audit      *audit.Service
	// Bulk, when set, is the staging the stores behind Cases, Interviews and Evidence write to (the
	// bulk mode of the seed command, mongodb.Bulk): each case is marked Done once seeded, and the
	// done cases are flushed to the database together, BulkEvery at a time, and at the end.
	Bulk Bulk
	// Verify, when set, is the evidence service the final verification reads through (one on the
	// database's own stores, when Evidence writes to Bulk); Evidence otherwise.
	Verify *evidence.Service
}

// Bulk writes the records of finished cases to the database in bulk (*mongodb.Bulk).
type Bulk interface {
	// Done marks case id finished.
	Done(id string)
	// Pending returns how many finished cases are not written yet.
	Pending() int
	// Flush writes the finished cases; it returns the database's error.
	Flush(ctx context.Context) error
}

// BulkEvery is how many finished cases a bulk seed writes at once.
const BulkEvery = 100

// OrgCreator creates organisations (the identity store: there is no API for it).
type OrgCreator interface {
	CreateOrganisation(ctx context.Context, o identity.Organisation) error
}

// Config says how big an agency to make.
type Config struct {
	Cases        int    // cases in all; the rest scales with it (see Plan)
	Seed         uint64 // the same seed and size give the same agency
	Password     string // every seeded user's password; "" generates one (Result.Password)
	ReadsPerCase int    // case reads (each an audit entry) per case, as caseworkers and supervisors open them; <0 none
	Workers      int    // cases seeded at once (default 8)
	Suffix       string // appended to usernames (to seed a second agency into one deployment)
	Progress     io.Writer
	Now          func() time.Time
}

// DefaultReadsPerCase makes the audit log about 200 entries per case, as five years of an agency's
// work make it (every case read is an entry; the writes add the rest).
const DefaultReadsPerCase = 150

// Result is what was seeded.
type Result struct {
	Password  string // the users' password (generated when Config.Password was empty)
	Users     []Credential
	Orgs      []string
	Counts    Counts
	Verified  Verification
	Duration  time.Duration
	AuditLogs map[string]int // entries per organisation: the log's size (its newest entry's number)
	// AuditChecked is how many entries of each organisation's log the final verification read: those
	// after the last signed checkpoint (see audit.Service.Verify).
	AuditChecked map[string]int
}

// Credential is a seeded user's sign-in name and roles.
type Credential struct {
	OrgID    string
	Username string
	Roles    []identity.Role
}

// Counts are the records seeded.
type Counts struct {
	Cases, Runs, StepRecords, Sessions, Prompts, Items, CustodyEvents, CaseReads atomic.Int64
}

// Verification is what the checks at the end found.
type Verification struct {
	AuditEntries int
	Items        int
	Events       int
}

// ErrVerification is returned when a chain does not verify after seeding.
var ErrVerification = errors.New("seeded data does not verify")

// Run seeds the agency. It returns the services' first error (wrapped with what was being seeded),
// or ErrVerification when a chain does not verify at the end.
func Run(ctx context.Context, svc Services, cfg Config) (*Result, error) {
	if cfg.Cases < 1 {
		return nil, errors.New("seed: at least one case")
	}
	if cfg.Workers < 1 {
		cfg.Workers = 8
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	if cfg.ReadsPerCase == 0 {
		cfg.ReadsPerCase = DefaultReadsPerCase
	}
	res := &Result{Password: cfg.Password, AuditLogs: map[string]int{}, AuditChecked: map[string]int{}}
	if res.Password == "" {
		res.Password = rand.Text()
	}
	start := cfg.Now()
	plan := NewPlan(cfg.Cases, cfg.Seed, start)
	s := &seeder{svc: svc, cfg: cfg, plan: plan, res: res, now: start}
	if err := s.people(ctx); err != nil {
		return nil, err
	}
	if err := s.casework(ctx); err != nil {
		return nil, err
	}
	if svc.Bulk != nil {
		if err := svc.Bulk.Flush(ctx); err != nil {
			return nil, fmt.Errorf("writing the seeded cases: %w", err)
		}
	}
	if err := svc.Audit.Flush(ctx); err != nil {
		return nil, fmt.Errorf("flushing the audit log: %w", err)
	}
	if err := s.verify(ctx); err != nil {
		return nil, err
	}
	res.Duration = cfg.Now().Sub(start)
	return res, nil
}

// seeder holds a run's state.
type seeder struct {
	svc  Services
	cfg  Config
	plan *Plan
	res  *Result
	now  time.Time
	orgs []*orgPeople
	mu   sync.Mutex
}

// orgPeople are the users of one organisation.
type orgPeople struct {
	id          string
	admin       identity.Principal
	auditor     identity.Principal
	supervisors []identity.Principal
	caseworkers []identity.Principal
}

func (s *seeder) progress(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.cfg.Progress, format+"\n", args...)
}

// people creates the organisations and their users.
func (s *seeder) people(ctx context.Context) error {
	for _, o := range s.plan.Orgs {
		err := s.svc.Orgs.CreateOrganisation(ctx, identity.Organisation{ID: o.ID, Name: o.Name, CreatedAt: s.now})
		if err != nil && !errors.Is(err, identity.ErrExists) {
			return fmt.Errorf("creating organisation %s: %w", o.ID, err)
		}
		s.res.Orgs = append(s.res.Orgs, o.ID)
		op := &orgPeople{id: o.ID}
		operator := identity.Principal{UserID: "seed", Username: "seed", OrgID: o.ID, Roles: []identity.Role{identity.RoleAdmin}}
		for _, u := range o.Users {
			name := u.Username + s.cfg.Suffix
			created, err := s.svc.Identity.CreateUser(ctx, operator, identity.NewUser{Username: name, DisplayName: u.DisplayName, Roles: u.Roles, Password: s.res.Password})
			if err != nil {
				return fmt.Errorf("creating user %s: %w", name, err)
			}
			p := identity.Principal{UserID: created.ID, OrgID: o.ID, Username: created.Username, Roles: u.Roles}
			switch u.Roles[0] {
			case identity.RoleAdmin:
				op.admin = p
			case identity.RoleAuditor:
				op.auditor = p
			case identity.RoleSupervisor:
				op.supervisors = append(op.supervisors, p)
			case identity.RoleCaseworker:
				op.caseworkers = append(op.caseworkers, p)
			}
			s.res.Users = append(s.res.Users, Credential{OrgID: o.ID, Username: created.Username, Roles: u.Roles})
		}
		s.orgs = append(s.orgs, op)
		s.progress("organisation %s: %d users", o.ID, len(o.Users))
	}
	return nil
}

// casework seeds every case, cfg.Workers at a time, reporting progress every few percent.
func (s *seeder) casework(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	total := int64(s.cfg.Cases)
	step := max(total/20, 1)
	began := time.Now()
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				err := s.oneCase(ctx, int(i))
				if err == nil && s.svc.Bulk != nil {
					s.svc.Bulk.Done(s.plan.Case(int(i)).ID)
					if s.svc.Bulk.Pending() >= BulkEvery {
						err = s.svc.Bulk.Flush(ctx)
					}
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("seeding case %d: %w", i, err); cancel() })
					return
				}
				if n := done.Add(1); n%step == 0 || n == total {
					el := time.Since(began)
					s.progress("cases %d/%d (%.0f%%), %s elapsed, about %s left", n, total, float64(n)*100/float64(total),
						el.Round(time.Second), time.Duration(float64(el)/float64(n)*float64(total-n)).Round(time.Second))
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// verify checks every organisation's audit log and every custody chain.
func (s *seeder) verify(ctx context.Context) error {
	s.progress("verifying the audit logs and custody chains")
	for _, o := range s.orgs {
		rep, err := s.svc.Audit.Verify(ctx, o.id)
		if err != nil {
			return fmt.Errorf("verifying the audit log of %s: %w", o.id, err)
		}
		if !rep.OK {
			return fmt.Errorf("%w: audit log of %s: %+v", ErrVerification, o.id, rep.FirstProblem)
		}
		s.res.AuditLogs[o.id] = int(rep.LastSeq)
		s.res.AuditChecked[o.id] = rep.Entries
		s.res.Verified.AuditEntries += int(rep.LastSeq)
	}
	for i := range s.cfg.Cases {
		c := s.plan.Case(i)
		if c.Items == 0 {
			continue
		}
		o := s.orgs[c.Org]
		verifier := s.svc.Evidence
		if s.svc.Verify != nil {
			verifier = s.svc.Verify
		}
		rep, err := verifier.VerifyCase(ctx, o.supervisors[c.Supervisor], c.ID)
		if err != nil {
			return fmt.Errorf("verifying the evidence of case %s: %w", c.ID, err)
		}
		if !rep.OK {
			return fmt.Errorf("%w: evidence of case %s", ErrVerification, c.ID)
		}
		for _, it := range rep.Items {
			s.res.Verified.Items++
			s.res.Verified.Events += it.Events
		}
	}
	return nil
}

// round returns x rounded to the nearest integer, at least lo.
func round(x float64, lo int) int { return max(int(math.Round(x)), lo) }

// rngFor returns the random source of one part of the agency: the same (seed, part, index) always
// gives the same numbers, whatever order the parts are seeded in.
func rngFor(seed uint64, part string, index int) *mrand.Rand {
	h := seed
	for _, c := range part {
		h = h*1099511628211 + uint64(c)
	}
	return mrand.New(mrand.NewPCG(h, uint64(index)*0x9E3779B97F4A7C15+1))
}
