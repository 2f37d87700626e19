package console

import (
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the appointment form's time zones, whatever the host has installed

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/appointment"
)

// appointmentForms are the vocabularies of the appointments' forms. Case review meetings, which
// cover several cases and only supervisors make, are left to the API.
type appointmentForms struct {
	AppointmentKinds    []appointment.Kind
	AppointmentStatuses []appointment.Status
	TimeZones           []string // suggestions; any IANA time zone name is taken
	NewAppointmentID    string
}

// suggestedZones are the time zones the form suggests.
var suggestedZones = []string{"UTC", "Europe/London", "Europe/Paris", "Europe/Madrid", "Europe/Moscow", "Africa/Cairo", "Asia/Riyadh", "Asia/Shanghai", "America/New_York", "America/Mexico_City"}

// newAppointmentForms returns the appointments' forms' vocabularies with a fresh id.
func newAppointmentForms() appointmentForms {
	var kinds []appointment.Kind
	for _, k := range appointment.Kinds {
		if k != appointment.KindCaseReview {
			kinds = append(kinds, k)
		}
	}
	return appointmentForms{AppointmentKinds: kinds, AppointmentStatuses: appointment.Statuses, TimeZones: suggestedZones, NewAppointmentID: newFormID()}
}

// scheduleAppointment is POST /console/cases/{id}/appointments: appointment.Service.Create (as POST
// /v1/cases/{id}/appointments) for this case with the form's id, kind, local start time
// (starts_at, YYYY-MM-DDTHH:MM) in its time zone (time_zone, an IANA name), length in minutes,
// place and participants: the caller when "me" is ticked and the outsiders named one per line of
// "others". A resent form changes nothing.
func (c *Console) scheduleAppointment(r *request) error {
	id := strings.Clone(r.c.Params("case"))
	form := formValues(r, "appointment.", "id", "kind", "starts_at", "time_zone", "duration_minutes", "place", "me", "others")
	var fe apperr.FieldErrors
	d := appointment.Details{Place: first(form, "appointment.place")}
	zone := first(form, "appointment.time_zone")
	loc, err := time.LoadLocation(zone)
	if zone == "" || err != nil || zone == "Local" {
		fe.Add("time_zone", "time_zone", "console.care.field.time_zone", nil)
		loc = time.UTC
	}
	if v := first(form, "appointment.starts_at"); v == "" {
		fe.Add("starts_at", "required", "field.required", nil)
	} else if t, err := time.ParseInLocation("2006-01-02T15:04", v, loc); err != nil {
		fe.Add("starts_at", "datetime", "console.care.field.local_time", nil)
	} else {
		d.StartsAt = t
	}
	if v := first(form, "appointment.duration_minutes"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fe.Add("duration_minutes", "integer", "field.integer", nil)
		}
		d.DurationMinutes = n
	}
	if first(form, "appointment.me") != "" {
		d.Participants = append(d.Participants, appointment.Participant{UserID: r.p.UserID})
	}
	for _, name := range strings.Split(first(form, "appointment.others"), "\n") {
		if name = strings.TrimSpace(name); name != "" {
			d.Participants = append(d.Participants, appointment.Participant{Name: name})
		}
	}
	err = fe.Err()
	if err == nil {
		_, _, err = c.deps.Care.Appointments.Create(r.ctx(), r.p, first(form, "appointment.id"), appointment.Kind(first(form, "appointment.kind")), []string{id}, d)
	}
	return c.afterCareForm(r, id, "appointment.", form, err)
}

// setAppointmentStatus is POST /console/cases/{id}/appointments/{appointment}/status:
// appointment.Service.Update (as PATCH /v1/appointments/{id}) of the status only (done, cancelled,
// missed or scheduled again) at the version the page showed, once the appointment is read (as
// GET /v1/appointments/{id}: same scoping and audit) and found to be about this case (404
// otherwise). A resent form names a stale version: 409, nothing changed.
func (c *Console) setAppointmentStatus(r *request) error {
	id, aid := strings.Clone(r.c.Params("case")), strings.Clone(r.c.Params("appointment"))
	prefix := "status." + aid + "."
	form := formValues(r, prefix, "status")
	cur, err := c.deps.Care.Appointments.Get(r.ctx(), r.p, aid)
	if err != nil {
		return err
	}
	if !slices.Contains(cur.CaseIDs, id) { // another case's appointment: not this page's
		return apperr.New(apperr.NotFound, "appointment_not_found", "ErrAppointmentNotFound", map[string]any{"ID": aid})
	}
	status := appointment.Status(first(form, prefix+"status"))
	_, err = c.deps.Care.Appointments.Update(r.ctx(), r.p, aid, appointment.Update{Status: &status}, formVersion(r))
	return c.afterCareForm(r, id, prefix, form, err)
}
