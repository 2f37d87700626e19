package console

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/interview"
)

// reviewData is the interview review page.
type reviewData struct {
	CaseID      string
	V           interview.View
	Steps       []reviewStep
	Timeline    []timelineEntry
	PromptTypes []interview.PromptType
	ByType      []typeCount
	Flags       []flagRow
	Reviews     []reviewEntry
	Interviewer string
	CanReview   bool
	CanAddendum bool
	Errors      []string
	AddendumID  string // a fresh id, so a repeated addendum form changes nothing
}

type reviewStep struct {
	ID, Title string
	Items     []reviewItem
}

type reviewItem struct {
	Field  string // the form field of its comment
	Text   string
	Latest *interview.Mark
}

// timelineEntry is one entry of the prompt log: a prompt (Kind is its type), a break or a wellbeing
// check, in the order they happened.
type timelineEntry struct {
	At    time.Time
	Kind  string // a prompt type, "break" or "wellbeing"
	Label string // localized kind
	Words string // a prompt's words, a break's or check's note
	Until time.Time
}

type typeCount struct {
	Type  interview.PromptType
	Label string
	Count int
}

type flagRow struct {
	Name, Message, Severity string
}

type reviewEntry struct {
	Review interview.Review
	By     string
	Items  []string // "step / item: comment"
}

// reviewPage shows an interview for review: plan, checklist with marks, the prompt log as a
// timeline, measures and flags, earlier reviews, the review form and addenda. It reads through
// interview.Service.Get as GET /v1/cases/{id}/interviews/{interview} does (same scoping, same audit).
func (c *Console) reviewPage(r *request) error {
	return c.showReview(r, fiber.StatusOK, nil)
}

func (c *Console) showReview(r *request, status int, errs []string) error {
	caseID, id := r.c.Params("case"), r.c.Params("interview")
	v, err := c.deps.Interviews.Get(r.ctx(), r.p, caseID, id)
	if err != nil {
		return err
	}
	loc := r.loc.Code
	localized, _ := v.Protocol.Document.Localize(loc)
	stepTitles, itemTexts, phaseTitles := map[string]string{}, map[string]string{}, map[string]string{}
	for _, ph := range localized.Phases {
		phaseTitles[ph.ID] = ph.Title
		for _, st := range ph.Steps {
			stepTitles[st.ID] = st.Title
			for _, it := range st.Checklist {
				itemTexts[st.ID+"/"+it.ID] = it.Text
			}
		}
	}
	d := reviewData{CaseID: caseID, V: v, PromptTypes: interview.PromptTypes, Errors: errs,
		CanReview:   v.Session.Status.InReview() && v.Session.InterviewerID != r.p.UserID,
		CanAddendum: v.Session.Status == interview.StatusApproved, AddendumID: uuid.Must(uuid.NewV7()).String()}
	for _, st := range v.Checklist {
		rs := reviewStep{ID: st.Step.ID, Title: or(stepTitles[st.Step.ID], st.Step.Title)}
		for _, it := range st.Items {
			rs.Items = append(rs.Items, reviewItem{Field: "item." + st.Step.ID + "." + it.Item.ID,
				Text: or(itemTexts[st.Step.ID+"/"+it.Item.ID], it.Item.Text), Latest: it.Latest})
		}
		d.Steps = append(d.Steps, rs)
	}
	cat := c.deps.Catalog
	for _, p := range v.Log.Prompts {
		d.Timeline = append(d.Timeline, timelineEntry{At: p.RecordedAt, Kind: string(p.Type), Label: cat.Message(loc, "console.prompt."+string(p.Type), nil), Words: p.Words})
	}
	for _, b := range v.Log.Breaks {
		d.Timeline = append(d.Timeline, timelineEntry{At: b.StartedAt, Until: b.EndedAt, Kind: "break", Label: cat.Message(loc, "console.review.break", nil), Words: b.Note})
	}
	for _, w := range v.Log.Checks {
		d.Timeline = append(d.Timeline, timelineEntry{At: w.CheckedAt, Kind: "wellbeing", Label: cat.Message(loc, "console.review.wellbeing", nil), Words: w.Note})
	}
	slices.SortStableFunc(d.Timeline, func(a, b timelineEntry) int { return a.At.Compare(b.At) })
	for _, t := range interview.PromptTypes {
		d.ByType = append(d.ByType, typeCount{Type: t, Label: cat.Message(loc, "console.prompt."+string(t), nil), Count: v.Quality.Measures.ByType[t]})
	}
	phaseTitle := func(id string) string { return or(phaseTitles[id], id) }
	for _, f := range v.Quality.Flags {
		d.Flags = append(d.Flags, flagRow{Name: c.flagName(loc, f.Code), Message: c.flagMessage(loc, f, phaseTitle), Severity: string(f.Severity)})
	}
	ids := []string{v.Session.InterviewerID}
	for _, rv := range v.Session.Reviews {
		ids = append(ids, rv.ByUserID)
	}
	names, err := c.deps.Identity.DisplayNames(r.ctx(), r.p.OrgID, ids)
	if err != nil {
		return err
	}
	d.Interviewer = or(names[v.Session.InterviewerID], v.Session.InterviewerID)
	for _, rv := range v.Session.Reviews {
		e := reviewEntry{Review: rv, By: or(names[rv.ByUserID], rv.ByUserID)}
		for _, ic := range rv.ItemComments {
			where := or(stepTitles[ic.StepID], ic.StepID)
			if ic.ItemID != "" {
				where += " / " + or(itemTexts[ic.StepID+"/"+ic.ItemID], ic.ItemID)
			}
			e.Items = append(e.Items, where+": "+ic.Comment)
		}
		d.Reviews = append(d.Reviews, e)
	}
	return c.render(r, status, "review", "console.review.title", d, "")
}

// review records the supervisor's decision through interview.Service.Review (as POST
// /v1/cases/{id}/interviews/{interview}/review does): approve or return, with an overall comment
// and comments per checklist item. Errors are shown above the form.
func (c *Console) review(r *request) error {
	caseID, id := r.c.Params("case"), r.c.Params("interview")
	version, _ := strconv.ParseInt(r.c.FormValue("version"), 10, 64)
	in := interview.ReviewInput{Decision: interview.Decision(r.c.FormValue("decision")), Comment: strings.TrimSpace(r.c.FormValue("comment"))}
	var fields []string
	r.c.Request().PostArgs().VisitAll(func(k, v []byte) {
		key, text := string(k), strings.TrimSpace(string(v))
		if strings.HasPrefix(key, "item.") && text != "" {
			fields = append(fields, key)
			step, item, _ := strings.Cut(strings.TrimPrefix(key, "item."), ".")
			in.ItemComments = append(in.ItemComments, interview.ItemComment{StepID: step, ItemID: item, Comment: text})
		}
	})
	_, err := c.deps.Interviews.Review(r.ctx(), r.p, caseID, id, in, version)
	if e := apperr.As(err); e != nil && (e.Kind == apperr.Invalid || e.Kind == apperr.Conflict) {
		msgs := []string{c.deps.Catalog.Message(r.loc.Code, e.MessageID, c.labels(r.loc.Code, e.Data))}
		for _, f := range e.Fields {
			msgs = append(msgs, c.fieldMessage(r.loc.Code, f))
		}
		return c.showReview(r, httpapi.StatusOf(e.Kind), msgs)
	}
	if err != nil {
		return err
	}
	notice := "approved"
	if in.Decision == interview.DecisionReturn {
		notice = "returned"
	}
	return r.c.Redirect(Prefix+"/?notice="+notice, fiber.StatusSeeOther)
}

// addAddendum adds a supervisor's correction to an approved interview (as POST …/addenda does).
func (c *Console) addAddendum(r *request) error {
	caseID, id := r.c.Params("case"), r.c.Params("interview")
	addID := r.c.FormValue("addendum_id")
	if _, err := uuid.Parse(addID); err != nil {
		addID = uuid.Must(uuid.NewV7()).String()
	}
	_, err := c.deps.Interviews.AddAddendum(r.ctx(), r.p, caseID, id, interview.NewAddendum{ID: addID,
		Text: strings.TrimSpace(r.c.FormValue("text")), RecordedAt: time.Now().UTC()})
	if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid {
		msgs := []string{c.deps.Catalog.Message(r.loc.Code, e.MessageID, c.labels(r.loc.Code, e.Data))}
		for _, f := range e.Fields {
			msgs = append(msgs, c.fieldMessage(r.loc.Code, f))
		}
		return c.showReview(r, fiber.StatusBadRequest, msgs)
	}
	if err != nil {
		return err
	}
	return r.c.Redirect(r.c.Path()[:len(r.c.Path())-len("/addenda")], fiber.StatusSeeOther)
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
