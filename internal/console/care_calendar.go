package console

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/appointment"
)

// calendarData is the calendar page: one week (Monday to Sunday, UTC) of appointments by day, and
// the links to the weeks before and after.
type calendarData struct {
	Week, Prev, Next string // YYYY-MM-DD of the Mondays
	Days             []calendarDay
	Count            int
}

// calendarDay is one day of the week with its appointments, by time.
type calendarDay struct {
	Day          time.Time
	Appointments []appointment.Appointment
}

// calendar is GET /console/calendar?week=YYYY-MM-DD: the appointments of the week holding that day
// (default: this week) through appointment.Service.Calendar, as GET /v1/appointments?from=&to=
// (a supervisor sees the organisation's, a caseworker those of their cases or that they take part
// in; audited as appointment.calendar). A malformed day answers the localized 400 page.
func (c *Console) calendar(r *request) error {
	var fe apperr.FieldErrors
	now := time.Now().UTC()
	if c.deps.Care.Reports != nil && c.deps.Care.Reports.Now != nil {
		now = c.deps.Care.Reports.Now().UTC() // the clock of the services for working across agencies
	}
	day := dateParam(r, "week", time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), &fe)
	if err := fe.Err(); err != nil {
		return err
	}
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	as, err := c.deps.Care.Appointments.Calendar(r.ctx(), r.p, monday, monday.AddDate(0, 0, 7))
	if err != nil {
		return err
	}
	d := calendarData{Week: monday.Format(time.DateOnly), Prev: monday.AddDate(0, 0, -7).Format(time.DateOnly),
		Next: monday.AddDate(0, 0, 7).Format(time.DateOnly), Count: len(as)}
	for i := range 7 {
		cd := calendarDay{Day: monday.AddDate(0, 0, i)}
		for _, a := range as {
			if !a.StartsAt.Before(cd.Day) && a.StartsAt.Before(cd.Day.AddDate(0, 0, 1)) {
				cd.Appointments = append(cd.Appointments, a)
			}
		}
		d.Days = append(d.Days, cd)
	}
	return c.render(r, fiber.StatusOK, "calendar", "console.calendar.title", d, "")
}

// Short returns the first 8 characters of an id (a case's link text).
func (calendarData) Short(id string) string { return id[:min(8, len(id))] }
