package seed

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

// Proportions of the agency per case, from the five-year size an agency of 10,000 cases reaches:
// 5,000 interview sessions of about 100 prompts, 30,000 evidence items of about 10 custody events,
// and about 2,000,000 audit entries.
const (
	SessionsPerCase   = 0.5
	PromptsPerSession = 100
	ItemsPerCase      = 3
	EventsPerItem     = 10
	CasesPerWorker    = 60  // caseworkers: one per 60 cases of their organisation
	CasesPerLead      = 400 // supervisors: one per 400 cases
	Years             = 5   // device times spread over this many years
)

// Plan is the deterministic outline of the agency: who works where, and what each case holds.
type Plan struct {
	Orgs   []OrgPlan
	seed   uint64
	cases  int
	start  time.Time // the newest case opens just before start
	share  []int     // cases per organisation
	stride int       // deals cases to organisations (see Plan.Case); coprime with cases
}

// OrgPlan is one organisation with its users.
type OrgPlan struct {
	ID, Name string
	Users    []UserPlan
}

// UserPlan is one user to create.
type UserPlan struct {
	Username, DisplayName string
	Roles                 []identity.Role
}

// CasePlan is what one case holds.
type CasePlan struct {
	Index       int
	ID          string
	Org         int // index in Plan.Orgs
	Supervisor  int // index among the organisation's supervisors
	Caseworkers []int
	OpenedAt    time.Time
	Closed      bool
	AgeBand     protocol.AgeBand
	CaseTypes   []protocol.CaseType
	Interpreter bool
	Referral    bool // a second run: medical and psychosocial referral
	Session     bool
	Prompts     int
	SessionEnd  string // draft, submitted, returned, resubmitted, approved
	Items       int
	Reads       int
}

// orgNames are the fictional organisations: a child advocacy centre and its partners.
var orgNames = []struct{ id, name string }{
	{"default", "Riverside Child Advocacy Centre"},
	{"harbour-police", "Harbour Police Child Protection Unit"},
	{"northfield-cps", "Northfield Child Protection Services"},
	{"lakeside-ngo", "Lakeside Children's Support NGO"},
}

// NewPlan outlines an agency of cases cases: one organisation per 2,500 cases (at least two, at most
// four), the first holding most of them.
func NewPlan(cases int, seed uint64, start time.Time) *Plan {
	p := &Plan{seed: seed, cases: cases, start: start.UTC().Truncate(time.Millisecond)}
	// A stride near the golden ratio of the cases, coprime with their number, makes i·stride mod cases
	// a well-mixed permutation of the cases.
	p.stride = max(1, int(float64(cases)*0.6180339887))
	for gcd(p.stride, max(cases, 1)) != 1 {
		p.stride++
	}
	n := min(max(2, cases/2500), len(orgNames))
	// The first organisation holds 70 %, the others share the rest.
	p.share = make([]int, n)
	p.share[0] = cases - (cases*3/10)/(n-1)*(n-1)
	for i := 1; i < n; i++ {
		p.share[i] = (cases * 3 / 10) / (n - 1)
	}
	for i := range n {
		o := OrgPlan{ID: orgNames[i].id, Name: orgNames[i].name}
		slug := o.ID
		if i == 0 {
			slug = "riverside"
		}
		add := func(role identity.Role, what string, k int) {
			for j := 1; j <= k; j++ {
				o.Users = append(o.Users, UserPlan{Username: fmt.Sprintf("%s.%s%d", slug, what, j),
					DisplayName: fmt.Sprintf("%s %d (%s)", displayRole[role], j, o.Name), Roles: []identity.Role{role}})
			}
		}
		add(identity.RoleAdmin, "admin", 1)
		add(identity.RoleAuditor, "auditor", 1)
		if i == 0 {
			add(identity.RoleContentEditor, "editor", 1)
		}
		add(identity.RoleSupervisor, "supervisor", round(float64(p.share[i])/CasesPerLead, 1))
		add(identity.RoleCaseworker, "caseworker", round(float64(p.share[i])/CasesPerWorker, 2))
		p.Orgs = append(p.Orgs, o)
	}
	return p
}

// gcd returns the greatest common divisor of a and b (both positive).
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

var displayRole = map[identity.Role]string{identity.RoleAdmin: "Administrator", identity.RoleAuditor: "Auditor",
	identity.RoleContentEditor: "Content editor", identity.RoleSupervisor: "Supervisor", identity.RoleCaseworker: "Caseworker"}

// count returns how many users of role r organisation org has.
func (o OrgPlan) count(r identity.Role) int {
	n := 0
	for _, u := range o.Users {
		if u.Roles[0] == r {
			n++
		}
	}
	return n
}

// Case returns the outline of case i (0 ≤ i < cases): the same for the same seed, size and i.
func (p *Plan) Case(i int) CasePlan {
	r := rngFor(p.seed, "case", i)
	c := CasePlan{Index: i}
	// Organisation: cases are dealt to organisations in proportion to their shares, mixed over the
	// years (case i, the i-th to open, takes place i·stride mod cases of the shares' ranges), so that
	// every organisation has cases, interviews and evidence in every period, as an agency does.
	k := i * p.stride % max(p.cases, 1)
	for c.Org = 0; c.Org < len(p.share)-1 && k >= p.share[c.Org]; c.Org++ {
		k -= p.share[c.Org]
	}
	// Cases open evenly over the years, the newest an hour before the start.
	span := time.Duration(Years) * 365 * 24 * time.Hour
	c.OpenedAt = p.start.Add(-time.Hour - span + time.Duration(float64(span)*float64(i)/float64(p.cases)) + time.Duration(r.Int64N(int64(6*time.Hour))))
	c.OpenedAt = c.OpenedAt.Truncate(time.Millisecond)
	c.ID = p.ID(r, c.OpenedAt)
	o := p.Orgs[c.Org]
	c.Supervisor = r.IntN(o.count(identity.RoleSupervisor))
	workers := o.count(identity.RoleCaseworker)
	c.Caseworkers = []int{r.IntN(workers)}
	if r.IntN(5) == 0 && workers > 1 {
		c.Caseworkers = append(c.Caseworkers, (c.Caseworkers[0]+1+r.IntN(workers-1))%workers)
	}
	age := p.start.Sub(c.OpenedAt)
	c.Closed = age > 270*24*time.Hour && r.IntN(100) < 85
	c.AgeBand = pick(r, []protocol.AgeBand{"under_6", "6_to_11", "6_to_11", "12_to_17", "12_to_17", "12_to_17"})
	c.CaseTypes = []protocol.CaseType{pick(r, protocol.CaseTypes)}
	if r.IntN(4) == 0 {
		if t := pick(r, protocol.CaseTypes); t != c.CaseTypes[0] {
			c.CaseTypes = append(c.CaseTypes, t)
		}
	}
	c.Interpreter = r.IntN(8) == 0
	c.Referral = r.IntN(10) < 4
	c.Session = r.Float64() < SessionsPerCase
	c.Prompts = max(20, PromptsPerSession-25+r.IntN(51))
	switch x := r.IntN(100); {
	case c.Closed || age > 60*24*time.Hour || x < 70:
		c.SessionEnd = "approved"
	case x < 80:
		c.SessionEnd = "draft"
	case x < 92:
		c.SessionEnd = "submitted"
	case x < 96:
		c.SessionEnd = "returned"
	default:
		c.SessionEnd = "resubmitted"
	}
	c.Items = 1 + r.IntN(2*ItemsPerCase-1) // 1..5, three on average
	return c
}

// idEpoch stands for the start of a run in the ids: ids carry the time of what they name relative to
// the run's start, so they do not depend on when the seed runs.
var idEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// ID returns the deterministic UUIDv7 of a record made at t (a device time of this plan), its
// random bits from r.
func (p *Plan) ID(r *rand.Rand, t time.Time) string { return uuidAt(r, idEpoch.Add(t.Sub(p.start))) }

// pick returns one element of xs.
func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// uuidAt returns a UUIDv7 for time t whose random bits come from r.
func uuidAt(r *rand.Rand, t time.Time) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	binary.BigEndian.PutUint64(u[8:], r.Uint64())
	x := r.Uint32()
	u[6], u[7] = byte(x>>8), byte(x)
	u[6] = u[6]&0x0f | 0x70
	u[8] = u[8]&0x3f | 0x80
	return u.String()
}
