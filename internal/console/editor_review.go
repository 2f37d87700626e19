package console

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/authoring"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// reviewFunc is one of authoring.Service's Submit, Approve and Return.
type reviewFunc func(ctx context.Context, p identity.Principal, id string, version int64, comment string) (authoring.Draft, error)

// reviewDraft answers POST /console/drafts/{id}/submit, /approve and /return through act (as POST
// /v1/authoring/drafts/{id}/submit, /approve and /return), at the form's version with its comment.
// The second-editor rule is the service's: an author of the draft who approves or returns it gets
// the page again with the service's refusal (403, nothing changed), as does a stale version (409)
// or a draft in another status (400); a missing comment when returning is shown at the field.
// Success goes back to the draft with a notice (303).
func (c *Console) reviewDraft(act reviewFunc, notice string) handler {
	return func(r *request) error {
		id, comment := strings.Clone(r.c.Params("id")), formText(strings.TrimSpace(r.c.FormValue("comment")))
		_, err := act(r.ctx(), r.p, id, formVersion(r), comment)
		if e := apperr.As(err); e != nil && e.Kind == apperr.Invalid && len(e.Fields) > 0 {
			f := draftForm{comment: comment, errors: map[string]string{}}
			for _, fe := range e.Fields {
				f.errors[fe.Field] = c.fieldMessage(r.loc.Code, fe)
			}
			return c.showDraft(r, fiber.StatusBadRequest, id, f)
		}
		if err != nil {
			return c.refused(r, id, err, draftForm{comment: comment})
		}
		return r.c.Redirect(draftPath(id)+"?notice="+notice, fiber.StatusSeeOther)
	}
}

// publishDraft is POST /console/drafts/{id}/publish: authoring.Service.Publish at the form's version
// (as POST /v1/authoring/drafts/{id}/publish). Its refusals (not approved, translations incomplete,
// a newer version published since, stale version) show the draft page with the message.
func (c *Console) publishDraft(r *request) error {
	id := strings.Clone(r.c.Params("id"))
	if _, err := c.deps.Authoring.Publish(r.ctx(), r.p, id, formVersion(r)); err != nil {
		return c.refused(r, id, err, draftForm{})
	}
	return r.c.Redirect(draftPath(id)+"?notice=published", fiber.StatusSeeOther)
}
