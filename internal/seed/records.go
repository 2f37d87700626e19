package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/identity"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// session plans, runs, logs and (as c.SessionEnd says) submits and reviews an interview of the child.
func (s *seeder) session(ctx context.Context, worker, sup identity.Principal, c CasePlan, r *rand.Rand, clock *deviceClock) error {
	scheduled := clock.next(r, 10*24*time.Hour)
	id := s.plan.ID(r, scheduled)
	plan := interview.Plan{ScheduledAt: &scheduled, Place: "Interview room 2, Riverside centre", ChildFriendlyRoom: true,
		Participants: []interview.Participant{
			{Role: interview.RoleInterviewer, Name: worker.Username, UserID: worker.UserID},
			{Role: interview.RoleObserver, Name: "Detective Constable A. Moreau"},
			{Role: interview.RoleSupportPerson, Name: "Support worker J. Okafor"}},
		Recording: interview.Recording{Recorded: true, Device: "Room 2 recorder", FileName: fmt.Sprintf("interview-%s.mp4", id[:8]), SHA256: hexHash(id)},
		Consent:   interview.Consent{ChildInformed: true, CaregiverInformed: true, ConsentObtained: true}}
	if c.Interpreter {
		plan.Participants = append(plan.Participants, interview.Participant{Role: interview.RoleInterpreter, Name: "Accredited interpreter", Language: "ar"})
	}
	view, _, err := s.svc.Interviews.Create(ctx, worker, c.ID, interview.NewSession{ID: id, ProtocolID: interviewProtocol, Plan: plan})
	if err != nil {
		return fmt.Errorf("creating the interview: %w", err)
	}
	started := clock.next(r, 30*time.Minute)
	// Prompts about every 25 s, most of them open, as a trained interviewer's are.
	var e interview.Entries
	t := started
	for k := range c.Prompts {
		t = t.Add(10*time.Second + time.Duration(r.IntN(30))*time.Second)
		typ := interview.PromptInvitation
		switch x := r.IntN(100); {
		case x < 30:
			typ = interview.PromptCuedInvitation
		case x < 60:
			typ = interview.PromptDirective
		case x < 72:
			typ = interview.PromptOptionPosing
		case x < 74:
			typ = interview.PromptSuggestive
		}
		e.Prompts = append(e.Prompts, interview.Prompt{ClientID: fmt.Sprintf("p%03d", k), Type: typ, RecordedAt: t})
	}
	// A session of the newest cases would end after the run's start (its clock stops there): move it
	// back so that it ends then (devices may not record times in the future).
	if end := t.Add(2 * time.Minute); end.After(s.now) {
		shift := end.Sub(s.now)
		started, t = started.Add(-shift), t.Add(-shift)
		for k := range e.Prompts {
			e.Prompts[k].RecordedAt = e.Prompts[k].RecordedAt.Add(-shift)
		}
	}
	e.Breaks = []interview.Break{{ClientID: "b1", StartedAt: t.Add(-20 * time.Minute), EndedAt: t.Add(-12 * time.Minute), Note: "Team consulted; two questions relayed."}}
	e.Checks = []interview.WellbeingCheck{{ClientID: "w1", CheckedAt: t.Add(-25 * time.Minute), Note: "Child asked for water; calm."}}
	for _, step := range view.Checklist {
		for _, it := range step.Items {
			e.Marks = append(e.Marks, interview.Mark{ClientID: "m-" + step.Step.ID + "-" + it.Item.ID, StepID: step.Step.ID, ItemID: it.Item.ID, Done: true, RecordedAt: t})
		}
	}
	ended := t.Add(2 * time.Minute)
	if ended.After(s.now) {
		started, ended = s.now.Add(-time.Hour), s.now
	}
	clock.t = ended
	if view, err = s.svc.Interviews.Update(ctx, worker, c.ID, id, interview.SessionUpdate{StartedAt: &started, EndedAt: &ended}, view.Session.Version); err != nil {
		return fmt.Errorf("recording the interview's times: %w", err)
	}
	for len(e.Prompts)+len(e.Marks) > 0 || len(e.Breaks) > 0 {
		var batch interview.Entries
		n := min(len(e.Prompts), 50)
		batch.Prompts, e.Prompts = e.Prompts[:n], e.Prompts[n:]
		if len(e.Prompts) == 0 {
			batch.Breaks, batch.Checks, batch.Marks = e.Breaks, e.Checks, e.Marks
			e.Breaks, e.Checks, e.Marks = nil, nil, nil
		}
		if view, err = s.svc.Interviews.AppendLog(ctx, worker, c.ID, id, batch); err != nil {
			return fmt.Errorf("logging the interview: %w", err)
		}
	}
	s.res.Counts.Sessions.Add(1)
	s.res.Counts.Prompts.Add(int64(c.Prompts))
	if c.SessionEnd == "draft" {
		return nil
	}
	if view, err = s.svc.Interviews.Submit(ctx, worker, c.ID, id, view.Session.Version); err != nil {
		return fmt.Errorf("submitting the interview: %w", err)
	}
	if c.SessionEnd == "submitted" {
		return nil
	}
	if c.SessionEnd != "approved" || r.IntN(5) == 0 { // some approved ones were returned once first
		ret := interview.ReviewInput{Decision: interview.DecisionReturn, Comment: "Please add the reason for the two option-posing questions in the narrative phase."}
		if view, err = s.svc.Interviews.Review(ctx, sup, c.ID, id, ret, view.Session.Version); err != nil {
			return fmt.Errorf("returning the interview: %w", err)
		}
		if c.SessionEnd == "returned" {
			return nil
		}
		if view, err = s.svc.Interviews.Submit(ctx, worker, c.ID, id, view.Session.Version); err != nil {
			return fmt.Errorf("resubmitting the interview: %w", err)
		}
		if c.SessionEnd == "resubmitted" {
			return nil
		}
	}
	if _, err = s.svc.Interviews.Review(ctx, sup, c.ID, id, interview.ReviewInput{Decision: interview.DecisionApprove, Comment: "Good use of open prompts."}, view.Session.Version); err != nil {
		return fmt.Errorf("approving the interview: %w", err)
	}
	return nil
}

// item logs evidence item k of the case and its custody chain (EventsPerItem events in all).
func (s *seeder) item(ctx context.Context, worker identity.Principal, o *orgPeople, c CasePlan, k int, r *rand.Rand, clock *deviceClock) error {
	at := clock.next(r, 48*time.Hour)
	id := s.plan.ID(r, at)
	kind := pick(r, []evidence.Kind{evidence.KindScreenshot, evidence.KindChatExport, evidence.KindDevice, evidence.KindDigitalFile,
		evidence.KindOnlineAccount, evidence.KindDocument, evidence.KindRecording})
	sum := hexHash(id)
	ni := evidence.NewItem{ID: id, Kind: kind, ExhibitNumber: fmt.Sprintf("EX-%d-%05d-%d", c.OpenedAt.Year(), c.Index+1, k+1),
		Hashes:      []evidence.Hash{{Algorithm: "sha256", Value: sum}},
		Acquisition: evidence.Acquisition{Method: "handover", Tool: "Evidence intake app", ToolVersion: "3.2", At: at, Place: "Riverside centre intake desk"},
		Authority:   evidence.LegalAuthority{Basis: "consent", Reference: fmt.Sprintf("CF-%05d", c.Index+1)}, StorageLocation: "Locker B", SealNumber: fmt.Sprintf("S%07d", r.IntN(1e7))}
	switch kind {
	case evidence.KindDevice:
		ni.Description, ni.Identifiers = "The child's phone, handed over by the caregiver", evidence.Identifiers{Make: "Fairphone", Model: "5", SerialNumber: fmt.Sprintf("FP5%08d", r.IntN(1e8))}
		ni.Acquisition.Method = "seizure"
		ni.Hashes = nil
	case evidence.KindOnlineAccount:
		ni.Description, ni.Identifiers = "Account that contacted the child", evidence.Identifiers{AccountHandle: fmt.Sprintf("user%06d", r.IntN(1e6)), Platform: "ExampleChat"}
		ni.Hashes, ni.Acquisition.Method = nil, "other"
	case evidence.KindDocument:
		ni.Description, ni.Hashes = "Printed messages brought by the caregiver", nil
	default:
		ni.Description = "Messages sent to the child, captured from the child's phone"
		ni.Acquisition.Method = "export"
		if c.CaseTypes[0] == "abuse_material" && r.IntN(3) == 0 {
			ni = evidence.NewItem{ID: id, Kind: evidence.KindDigitalFile, ExhibitNumber: ni.ExhibitNumber, Hashes: ni.Hashes,
				Acquisition: evidence.Acquisition{Method: "download", At: at}, Authority: evidence.LegalAuthority{Basis: "warrant", Reference: fmt.Sprintf("W-%05d", c.Index+1)},
				SealNumber: ni.SealNumber, SuspectedAbuseMaterial: true, AbuseCategory: pick(r, evidence.AbuseCategories),
				LawEnforcementReference: fmt.Sprintf("ICSE-%08d", r.IntN(1e8))}
		}
	}
	item, _, err := s.svc.Evidence.CreateItem(ctx, worker, c.ID, ni)
	if err != nil {
		return fmt.Errorf("logging evidence item %d: %w", k, err)
	}
	s.res.Counts.Items.Add(1)
	lab := evidence.Party{Name: "Examiner R. Lindqvist", Organisation: "Regional digital forensics lab"}
	colleague := evidence.Party{UserID: o.supervisors[c.Supervisor].UserID}
	yes := true
	events := []evidence.NewEvent{
		{Type: evidence.EventSealed, SealNumber: ni.SealNumber, SealIntact: &yes},
		{Type: evidence.EventStored, Place: "Evidence store, locker B"},
		{Type: evidence.EventTransferred, From: colleague, To: lab, Purpose: "Forensic examination"},
		{Type: evidence.EventReceived, PerformedBy: lab, From: colleague},
		{Type: evidence.EventAnalysed, PerformedBy: lab, Purpose: "Extraction and review of messages"},
		{Type: evidence.EventTransferred, From: lab, To: colleague, Purpose: "Return after examination"},
		{Type: evidence.EventReceived, PerformedBy: colleague, From: lab},
		{Type: evidence.EventStored, Place: "Evidence store, locker B", SealNumber: ni.SealNumber, SealIntact: &yes},
		{Type: evidence.EventAccessed, Purpose: "Prepared the exhibit list for the prosecutor"},
	}
	if len(ni.Hashes) > 0 {
		events[8] = evidence.NewEvent{Type: evidence.EventHashVerified, Verified: &evidence.Hash{Algorithm: "sha256", Value: sum}}
	}
	events = events[:EventsPerItem-1]
	for j := range events {
		events[j].RecordedAt = clock.next(r, 12*time.Hour)
		events[j].ID = s.plan.ID(r, events[j].RecordedAt)
	}
	// The whole chain after its "collected" event in one group commit (the same checks, chain and
	// receipts as one Append per event).
	if _, err := s.svc.Evidence.AppendAll(ctx, worker, c.ID, item.ID, events); err != nil {
		return fmt.Errorf("custody events of item %d: %w", k, err)
	}
	s.res.Counts.CustodyEvents.Add(EventsPerItem)
	return nil
}

// hexHash returns a SHA-256 that stands for the content of a seeded file.
func hexHash(s string) string {
	h := sha256.Sum256([]byte("seeded content " + s))
	return hex.EncodeToString(h[:])
}
