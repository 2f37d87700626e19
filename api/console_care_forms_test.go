package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// careFormsCase is a case of its own organisation with the people who act on it in the console.
type careFormsCase struct {
	base, id, page string
	to             testOrg  // another organisation, in the directory
	worker         tokens   // the assigned caseworker (API)
	sup            tokens   // a supervisor (API)
	actors         []string // "supervisor", "assigned caseworker": who may use the forms
	clients        map[string]*consoleClient
}

// newCareFormsCase opens a case assigned to a caseworker and signs in, to the console, a supervisor,
// that caseworker, a caseworker not assigned to it, an auditor, a content editor and another
// organisation's supervisor.
func newCareFormsCase(t *testing.T) *careFormsCase {
	t.Helper()
	base := server(t).base
	o := newOrg(t)
	k := &careFormsCase{base: base, id: newUUID(), to: newOrg(t), actors: []string{"supervisor", "assigned caseworker"}, clients: map[string]*consoleClient{}}
	k.page = "/console/cases/" + k.id
	for _, u := range []struct {
		who  string
		org  testOrg
		role string
		api  *tokens
	}{{"supervisor", o, "supervisor", &k.sup}, {"assigned caseworker", o, "caseworker", &k.worker}, {"unassigned caseworker", o, "caseworker", nil},
		{"auditor", o, "auditor", nil}, {"content editor", o, "content_editor", nil}, {"another organisation", k.to, "supervisor", nil}} {
		name, password, tk := u.org.newUser(t, u.role)
		if u.api != nil {
			*u.api = tk
		}
		k.clients[u.who] = consoleSignIn(t, base, name, password)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases", k.worker.AccessToken, newCase(k.id, "Child F.")); r.status != http.StatusCreated {
		t.Fatalf("create case: %d %s", r.status, r.body)
	}
	return k
}

// formID returns the client id the case page's form (by its element id) holds, failing without one.
func formID(t *testing.T, r *consoleResponse, form string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + form + `"[^>]*>(?s:.*?)name="id" value="([^"]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("the page has no %s with an id: %d %.300s", form, r.status, r.body)
	}
	return m[1]
}

// consents returns the case's consents by id as the API lists them: true when withdrawn.
func (k *careFormsCase) consents(t *testing.T) map[string]bool {
	t.Helper()
	var list struct {
		Items []struct {
			ID         string `json:"id"`
			Withdrawal any    `json:"withdrawal"`
		} `json:"items"`
	}
	get(t, k.base, "/v1/cases/"+k.id+"/consents", bearer(k.sup)).json(t, &list)
	out := map[string]bool{}
	for _, c := range list.Items {
		out[c.ID] = c.Withdrawal != nil
	}
	return out
}

// services returns the case's services' statuses by id as the API lists them.
func (k *careFormsCase) services(t *testing.T) map[string]string {
	t.Helper()
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	get(t, k.base, "/v1/cases/"+k.id+"/services", bearer(k.sup)).json(t, &list)
	out := map[string]string{}
	for _, s := range list.Items {
		out[s.ID] = s.Status
	}
	return out
}

// formAppointment is an appointment as the API lists it.
type formAppointment struct {
	Status       string    `json:"status"`
	StartsAt     time.Time `json:"starts_at"`
	Participants []struct {
		UserID string `json:"user_id"`
		Name   string `json:"name"`
	} `json:"participants"`
}

// appointments returns the case's appointments by id as the API lists them.
func (k *careFormsCase) appointments(t *testing.T) map[string]formAppointment {
	t.Helper()
	var list struct {
		Items []struct {
			ID string `json:"id"`
			formAppointment
		} `json:"items"`
	}
	get(t, k.base, "/v1/cases/"+k.id+"/appointments", bearer(k.sup)).json(t, &list)
	out := map[string]formAppointment{}
	for _, a := range list.Items {
		out[a.ID] = a.formAppointment
	}
	return out
}

// referrals returns how many referrals the API lists as sent from the case.
func (k *careFormsCase) referrals(t *testing.T) int {
	t.Helper()
	var list struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	get(t, k.base, "/v1/cases/"+k.id+"/referrals", bearer(k.sup)).json(t, &list)
	return len(list.Items)
}

// consent records a consent through the API and returns its id.
func (k *careFormsCase) consent(t *testing.T) string {
	t.Helper()
	id := newUUID()
	if r := post(t, k.base, http.MethodPost, "/v1/cases/"+k.id+"/consents", k.worker.AccessToken, map[string]any{"id": id,
		"given_by": "caregiver", "purposes": []string{"services"}, "parts": []string{"needs"}}); r.status != http.StatusCreated {
		t.Fatalf("consent: %d %s", r.status, r.body)
	}
	return id
}

// careFormCase is one case page form: prepare returns the path to post to and the record the
// post acts on ("" for a new one, whose id the form holds); good and bad are its values; badField
// is the element id of bad's field error; state counts what the form changes (as the API reads it).
type careFormCase struct {
	name     string
	form     string // the form's element id, holding the new record's id; "" for a form acting on a record
	prepare  func(t *testing.T, k *careFormsCase) (path, record string)
	good     url.Values
	bad      url.Values
	badField string
	state    func(t *testing.T, k *careFormsCase) int
	audit    string
	conflict url.Values // the id again with other values: 409 and a fresh id (forms with a new record)
	replay   int        // the status a replayed POST answers: 303 (the id makes it a no-op) or 409 (a stale version)
}

// Each form of the case page succeeds for a supervisor and the assigned caseworker, writing the
// audit entry /v1 writes; a resent POST changes nothing more; bad input comes back at its field with
// nothing changed; a caseworker not assigned and another organisation get 404, auditors and content
// editors 403.
func TestConsoleCareForms(t *testing.T) {
	t.Parallel()
	forms := []careFormCase{
		{name: "record a consent", form: "consent-form",
			prepare: func(t *testing.T, k *careFormsCase) (string, string) { return k.page + "/consents", "" },
			good: url.Values{"giver": {"statutory_duty"}, "purposes": {"information_sharing", "services"}, "parts": {"profile", "needs"},
				"organisation_ids": {"{to}", ""}, "valid_until": {"2099-12-31"}, "note": {"Order 12/4"}},
			bad:      url.Values{"purposes": {"services"}, "parts": {"needs"}},
			badField: "consent-giver-error",
			conflict: url.Values{"giver": {"child"}, "purposes": {"services"}, "parts": {"needs"}},
			state:    func(t *testing.T, k *careFormsCase) int { return len(k.consents(t)) },
			audit:    "consent.create", replay: http.StatusSeeOther},
		{name: "withdraw a consent",
			prepare: func(t *testing.T, k *careFormsCase) (string, string) {
				id := k.consent(t)
				return k.page + "/consents/" + id + "/withdraw", id
			},
			good:     url.Values{"version": {"1"}, "note": {"The caregiver changed their mind"}},
			bad:      url.Values{"version": {"1"}, "note": {strings.Repeat("x", 2001)}},
			badField: "withdraw-note-error-",
			state: func(t *testing.T, k *careFormsCase) (n int) {
				for _, w := range k.consents(t) {
					if w {
						n++
					}
				}
				return n
			},
			audit: "consent.withdraw", replay: http.StatusConflict},
		{name: "add a service", form: "service-form",
			prepare:  func(t *testing.T, k *careFormsCase) (string, string) { return k.page + "/services", "" },
			good:     url.Values{"discipline": {"therapy"}, "status": {"in_progress"}, "provider": {"Trauma unit"}},
			bad:      url.Values{"discipline": {""}, "status": {"planned"}},
			badField: "service-discipline-error",
			conflict: url.Values{"discipline": {"legal"}, "status": {"planned"}},
			state:    func(t *testing.T, k *careFormsCase) int { return len(k.services(t)) },
			audit:    "case_service.create", replay: http.StatusSeeOther},
		{name: "update a service",
			prepare: func(t *testing.T, k *careFormsCase) (string, string) {
				id := newUUID()
				if r := post(t, k.base, http.MethodPost, "/v1/cases/"+k.id+"/services", k.worker.AccessToken, map[string]any{"id": id, "discipline": "therapy"}); r.status != http.StatusCreated {
					t.Fatalf("service: %d %s", r.status, r.body)
				}
				return k.page + "/services/" + id + "/update", id
			},
			good:     url.Values{"version": {"1"}, "status": {"completed"}, "sessions": {"5"}},
			bad:      url.Values{"version": {"1"}, "status": {"completed"}, "sessions": {"many"}},
			badField: "service-sessions-error-",
			state: func(t *testing.T, k *careFormsCase) (n int) {
				for _, s := range k.services(t) {
					if s == "completed" {
						n++
					}
				}
				return n
			},
			audit: "case_service.update", replay: http.StatusConflict},
		{name: "schedule an appointment", form: "appointment-form",
			prepare: func(t *testing.T, k *careFormsCase) (string, string) { return k.page + "/appointments", "" },
			good: url.Values{"kind": {"forensic_interview"}, "starts_at": {"2030-05-01T09:30"}, "time_zone": {"Europe/Paris"}, "duration_minutes": {"90"},
				"place": {"Suite B"}, "me": {"yes"}, "others": {"Dr. Amal Haddad\r\n\r\nMs. Lin, interpreter"}},
			bad:      url.Values{"kind": {"forensic_interview"}, "starts_at": {"2030-05-01T09:30"}, "time_zone": {"Mars/Olympus"}},
			badField: "appointment-time-zone-error",
			conflict: url.Values{"kind": {"therapy"}, "starts_at": {"2030-05-02T10:00"}, "time_zone": {"UTC"}},
			state:    func(t *testing.T, k *careFormsCase) int { return len(k.appointments(t)) },
			audit:    "appointment.create", replay: http.StatusSeeOther},
		{name: "mark an appointment done",
			prepare: func(t *testing.T, k *careFormsCase) (string, string) {
				id := newUUID()
				if r := post(t, k.base, http.MethodPost, "/v1/cases/"+k.id+"/appointments", k.worker.AccessToken, map[string]any{"id": id, "kind": "therapy",
					"starts_at": "2030-06-01T08:00:00Z"}); r.status != http.StatusCreated {
					t.Fatalf("appointment: %d %s", r.status, r.body)
				}
				return k.page + "/appointments/" + id + "/status", id
			},
			good:     url.Values{"version": {"1"}, "status": {"done"}},
			bad:      url.Values{"version": {"1"}, "status": {"finished"}},
			badField: "appointment-status-error-",
			state: func(t *testing.T, k *careFormsCase) (n int) {
				for _, a := range k.appointments(t) {
					if a.Status == "done" {
						n++
					}
				}
				return n
			},
			audit: "appointment.update", replay: http.StatusConflict},
		{name: "send a referral", form: "referral-form",
			prepare: func(t *testing.T, k *careFormsCase) (string, string) {
				if r := post(t, k.base, http.MethodPost, "/v1/cases/"+k.id+"/consents", k.worker.AccessToken, map[string]any{"id": newUUID(),
					"given_by": "legal_guardian", "purposes": []string{"information_sharing"}, "organisation_ids": []string{k.to.id}, "parts": []string{"profile"}}); r.status != http.StatusCreated {
					t.Fatalf("consent: %d %s", r.status, r.body)
				}
				return k.page + "/referrals", ""
			},
			good:     url.Values{"to_org_id": {"{to}"}, "service": {"therapy"}, "urgency": {"urgent"}, "parts": {"profile"}, "note": {"Please call first"}},
			bad:      url.Values{"to_org_id": {"{to}"}, "service": {"therapy"}, "urgency": {"routine"}, "parts": {"profile", "case_types"}},
			badField: "referral-parts-error",
			conflict: url.Values{"to_org_id": {"{to}"}, "service": {"therapy"}, "urgency": {"routine"}, "parts": {"profile"}},
			state:    func(t *testing.T, k *careFormsCase) int { return k.referrals(t) },
			audit:    "referral.create", replay: http.StatusSeeOther},
	}
	k := newCareFormsCase(t)
	k.good(t, forms)
	// the appointments scheduled in Paris time, with their caller and two outsiders
	scheduled := 0
	for _, a := range k.appointments(t) {
		if a.StartsAt.Equal(time.Date(2030, 5, 1, 7, 30, 0, 0, time.UTC)) {
			scheduled++
			if len(a.Participants) != 3 || a.Participants[0].UserID == "" || a.Participants[1].Name != "Dr. Amal Haddad" || a.Participants[2].Name != "Ms. Lin, interpreter" {
				t.Errorf("the participants: %+v", a.Participants)
			}
		}
	}
	if scheduled != len(k.actors) {
		t.Errorf("%d appointments at 07:30 UTC, want %d", scheduled, len(k.actors))
	}
	// an appointment of another case of the organisation is not this page's to change
	otherCase, otherAppointment := newUUID(), newUUID()
	if r := post(t, k.base, http.MethodPost, "/v1/cases", k.worker.AccessToken, newCase(otherCase, "Child G.")); r.status != http.StatusCreated {
		t.Fatalf("case: %d %s", r.status, r.body)
	}
	if r := post(t, k.base, http.MethodPost, "/v1/cases/"+otherCase+"/appointments", k.worker.AccessToken, map[string]any{"id": otherAppointment,
		"kind": "therapy", "starts_at": "2030-06-01T08:00:00Z"}); r.status != http.StatusCreated {
		t.Fatalf("appointment: %d %s", r.status, r.body)
	}
	if r := k.clients["supervisor"].post(k.page+"/appointments/"+otherAppointment+"/status", url.Values{"version": {"1"}, "status": {"done"}}); r.status != http.StatusNotFound {
		t.Errorf("another case's appointment through this case's page: %d", r.status)
	}
	// the page shows what the forms recorded, the updated service's sessions in its form
	checkPage(t, k.clients["supervisor"].get(k.page+"?lang=fr"), http.StatusOK, []string{"<td>" + k.to.id + "</td>", "Trauma unit", "Séances : 5", `inputmode="numeric" value="5"`, "Retiré le"}, nil)
	for _, f := range forms {
		t.Run(f.name+": refused", func(t *testing.T) {
			path, _ := f.prepare(t, k)
			before := f.state(t, k)
			for who, want := range map[string]int{"unassigned caseworker": http.StatusNotFound, "another organisation": http.StatusNotFound,
				"auditor": http.StatusForbidden, "content editor": http.StatusForbidden} {
				cc := k.clients[who]
				cc.t = t
				values := k.values(f.good)
				if f.form != "" {
					values.Set("id", newUUID())
				}
				if r := cc.post(path, values); r.status != want {
					t.Errorf("%s: %d, want %d", who, r.status, want)
				}
			}
			if after := f.state(t, k); after != before {
				t.Errorf("refused posts changed the case: %d, then %d", before, after)
			}
		})
	}
}

// good runs each form as each actor: bad input, success, the replay, the audit entry and (for a
// new record) an id reused for other content.
func (k *careFormsCase) good(t *testing.T, forms []careFormCase) {
	t.Helper()
	for _, who := range k.actors {
		for _, f := range forms {
			t.Run(who+": "+f.name, func(t *testing.T) {
				cc := k.clients[who]
				cc.t = t
				path, record := f.prepare(t, k)
				page := cc.get(k.page)
				checkPage(t, page, http.StatusOK, []string{`action="` + path + `"`}, nil)
				before := f.state(t, k)
				bad := k.values(f.bad)
				if f.form != "" {
					bad.Set("id", formID(t, page, f.form))
				}
				badField := f.badField
				if strings.HasSuffix(badField, "-") {
					badField += record
				}
				checkPage(t, cc.post(path, bad), http.StatusBadRequest, []string{`id="` + badField + `"`, `aria-invalid="true"`}, nil)
				if after := f.state(t, k); after != before {
					t.Fatalf("bad input changed the case: %d, then %d", before, after)
				}
				good := k.values(f.good)
				if f.form != "" {
					record = formID(t, cc.get(k.page), f.form)
					good.Set("id", record)
				}
				if r := cc.post(path, good); r.status != http.StatusSeeOther || r.location() != k.page {
					t.Fatalf("%d %s %.600s", r.status, r.location(), r.body)
				}
				if after := f.state(t, k); after != before+1 {
					t.Fatalf("after the form: %d, then %d", before, after)
				}
				if r := cc.post(path, good); r.status != f.replay {
					t.Errorf("the replayed POST: %d, want %d", r.status, f.replay)
				} else if r.status == http.StatusConflict && !strings.Contains(r.body, `role="alert"`) {
					t.Errorf("the replayed POST's 409 page says nothing: %.300s", r.body)
				}
				if after := f.state(t, k); after != before+1 {
					t.Errorf("after the replayed POST: %d, then %d", before, after)
				}
				checkReferralAudit(t, k.base, k.sup, record, f.audit)
				if f.conflict == nil {
					return
				}
				other := k.values(f.conflict)
				other.Set("id", record)
				r := cc.post(path, other)
				checkPage(t, r, http.StatusConflict, []string{`id="` + f.form + `-error"`}, nil)
				if fresh := formID(t, r, f.form); fresh == record {
					t.Errorf("the form after a conflict holds the used id %s", fresh)
				}
				if after := f.state(t, k); after != before+1 {
					t.Errorf("after the conflict: %d, then %d", before, after)
				}
			})
		}
	}
}

// values copies form values, "{to}" replaced by the other organisation's id.
func (k *careFormsCase) values(v url.Values) url.Values {
	out := url.Values{}
	for name, vs := range v {
		for _, x := range vs {
			out[name] = append(out[name], strings.ReplaceAll(x, "{to}", k.to.id))
		}
	}
	return out
}
