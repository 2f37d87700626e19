package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
	"github.com/childsafe-protocols/caseguide/internal/config"
	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/internal/seed"
)

const seedUsage = `usage: api seed [-cases N] [-seed N] [-password TEXT] [-reads N] [-workers N] [-bulk=false] [-cpuprofile FILE] [-force]
Fills the configured database (MONGODB_URI, or the embedded one in DATA_DIR) with a fictional agency.`

// seedCommand fills the database with a fictional agency (internal/seed) through the same services
// the API uses, prints the users' sign-in names and their password, and verifies the audit logs and
// custody chains. It refuses a database that already holds records unless -force. It returns an
// error for bad usage, an invalid configuration, an unreachable database, a refused write or a chain
// that does not verify. New password hashes cost passwordCost (zero: identity.DefaultPasswordParams();
// tests pass cheaper ones).
func seedCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, passwordCost identity.PasswordParams) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cases := fs.Int("cases", 200, "cases to create; users, interviews, evidence and audit entries scale with it")
	seedN := fs.Uint64("seed", 1, "the same seed and size give the same agency")
	password := fs.String("password", "", "every seeded user's password (empty: generated and printed once)")
	reads := fs.Int("reads", seed.DefaultReadsPerCase, "case reads per case (each an audit entry); 0 for none")
	workers := fs.Int("workers", 8, "cases seeded at once")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (to see where seeding time goes)")
	bulk := fs.Bool("bulk", true, "stage each case's records in memory through the services and insert them in bulk (false: every write goes to the database as the API's do)")
	force := fs.Bool("force", false, "seed even when the database already holds cases, interviews, evidence or users")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cases < 1 || fs.NArg() > 0 {
		return errors.New(seedUsage)
	}
	if *reads == 0 {
		*reads = -1
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := config.Load(nil, getenv, stderr)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	docs, err := readLibrary(cfg, log)
	if err != nil {
		return err
	}
	db, closeDB, err := openDatabase(ctx, cfg, true, stderr, log)
	if err != nil {
		return err
	}
	defer closeDB()
	suffix := ""
	if held, err := db.HoldsData(ctx); err != nil {
		return err
	} else if held && !*force {
		return errors.New("the database already holds cases, interviews, evidence or users: seed refuses to add a fictional agency to it (use -force to do it anyway, for example on a demo database)")
	} else if held {
		suffix = fmt.Sprintf("-s%d", *seedN)
	}
	sec, err := newSecurity(ctx, cfg, db, passwordCost)
	if err != nil {
		return err
	}
	defer sec.flush(log)
	library := protocol.NewService(db.Protocols(), log)
	if err := publishLibrary(ctx, db, library, docs, log); err != nil {
		return err
	}
	// The stores: the database's, or (bulk) staging in memory that writes each case's documents once
	// it is done (mongodb.Bulk: the same documents, in InsertMany batches).
	var (
		cwStore casework.Store  = db.Casework(sec.keys)
		ivStore interview.Store = db.Interviews(sec.keys)
		evStore evidence.Store  = db.Evidence(sec.keys)
		staging seed.Bulk
	)
	if *bulk {
		b := db.Bulk(sec.keys)
		cwStore, ivStore, evStore, staging = b.Casework(), b.Interviews(), b.Evidence(), b
	}
	cs := casework.NewService(cwStore, library, sec.audit, time.Now).WithDirectory(sec.identity)
	interviews, err := newInterviewsOn(ivStore, cs, library, sec.audit, cfg.InterviewRulesFile)
	if err != nil {
		return err
	}
	ev, err := newEvidenceOn(evStore, sec, cs)
	if err != nil {
		return err
	}
	// The final verification reads what was written, through the database's stores.
	verifyEv, err := newEvidence(db, sec, casework.NewService(db.Casework(sec.keys), library, sec.audit, time.Now).WithDirectory(sec.identity))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeding %d cases (seed %d) into %s\n", *cases, *seedN, where(cfg))
	res, err := seed.Run(ctx, seed.Services{Identity: sec.identity, Orgs: db.Identity(), Cases: cs, Interviews: interviews, Evidence: ev, Audit: sec.audit, Bulk: staging, Verify: verifyEv},
		seed.Config{Cases: *cases, Seed: *seedN, Password: *password, ReadsPerCase: *reads, Workers: *workers, Suffix: suffix, Progress: stdout})
	if err != nil {
		return fmt.Errorf("%w\n%w", err, describe(err))
	}
	printSeeded(stdout, res, *password == "")
	return nil
}

// where names the database seeded, without credentials.
func where(cfg config.Config) string {
	if cfg.MongoDBURI != "" {
		return config.MaskURI(cfg.MongoDBURI) + " database " + cfg.MongoDBDatabase
	}
	return "the embedded database in " + cfg.DataDir
}

// printSeeded prints the counts, the verification and the sign-in names (and the generated password).
func printSeeded(w io.Writer, res *seed.Result, generated bool) {
	c := &res.Counts
	fmt.Fprintf(w, "seeded in %s: %d organisations, %d users, %d cases, %d protocol runs with %d step records, %d interviews with %d prompts, %d evidence items with %d custody events, %d case reads\n",
		res.Duration.Round(time.Second), len(res.Orgs), len(res.Users), c.Cases.Load(), c.Runs.Load(), c.StepRecords.Load(), c.Sessions.Load(),
		c.Prompts.Load(), c.Items.Load(), c.CustodyEvents.Load(), c.CaseReads.Load())
	orgs := make([]string, 0, len(res.AuditLogs))
	for o := range res.AuditLogs {
		orgs = append(orgs, o)
	}
	sort.Strings(orgs)
	for _, o := range orgs {
		fmt.Fprintf(w, "audit log of %s: %d entries, verified (%d after its last signed checkpoint read)\n", o, res.AuditLogs[o], res.AuditChecked[o])
	}
	fmt.Fprintf(w, "custody chains: %d items with %d events, verified\n", res.Verified.Items, res.Verified.Events)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORGANISATION\tUSERNAME\tROLES")
	for _, u := range res.Users {
		roles := make([]string, len(u.Roles))
		for i, r := range u.Roles {
			roles[i] = string(r)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", u.OrgID, u.Username, strings.Join(roles, ","))
	}
	tw.Flush()
	if generated {
		fmt.Fprintf(w, "password of every seeded user (shown only now): %s\n", res.Password)
	} else {
		fmt.Fprintln(w, "password of every seeded user: the one given with -password")
	}
}
