package appointment

import (
	"testing"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/casework"
)

func TestMeasureCase(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := casework.Case{ID: "c", OpenedAt: t0}
	acute := c
	acute.Flags = []string{"acute"}
	appt := func(kind Kind, h int, st Status) Appointment {
		return Appointment{ID: string(kind) + string(st), Kind: kind, CaseIDs: []string{"c"}, StartsAt: t0.Add(time.Duration(h) * time.Hour), Status: st}
	}
	for _, tc := range []struct {
		name       string
		c          casework.Case
		appts      []Appointment
		now        time.Duration // after first contact
		interview  MeasureStatus
		medical    MeasureStatus // "" when the standard does not apply
		hoursFirst float64
	}{
		{"nothing yet", c, nil, time.Hour, MeasurePending, "", 0},
		{"booked in time", c, []Appointment{appt(KindForensicInterview, 100, StatusScheduled)}, time.Hour, MeasureScheduled, "", 0},
		{"booked too late", c, []Appointment{appt(KindForensicInterview, 400, StatusScheduled)}, time.Hour, MeasurePending, "", 0},
		{"done in time", c, []Appointment{appt(KindForensicInterview, 100, StatusDone)}, 500 * time.Hour, MeasureMet, "", 100},
		{"done late", c, []Appointment{appt(KindForensicInterview, 400, StatusDone)}, 500 * time.Hour, MeasureLate, "", 400},
		{"deadline passed", c, []Appointment{appt(KindForensicInterview, 300, StatusMissed)}, 337 * time.Hour, MeasureOverdue, "", 0},
		{"acute, examination pending", acute, nil, 71 * time.Hour, MeasurePending, MeasurePending, 0},
		{"acute, examination overdue", acute, nil, 73 * time.Hour, MeasurePending, MeasureOverdue, 0},
		{"acute, examination done", acute, []Appointment{appt(KindMedicalExamination, 20, StatusDone)}, 73 * time.Hour, MeasurePending, MeasureMet, 0},
		{"another case's appointment", c, []Appointment{{Kind: KindForensicInterview, CaseIDs: []string{"d"}, StartsAt: t0, Status: StatusDone}}, time.Hour, MeasurePending, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ms := MeasureCase(tc.c, tc.appts, DefaultStandards(), t0.Add(tc.now))
			want := 1
			if tc.medical != "" {
				want = 2
			}
			if len(ms) != want {
				t.Fatalf("%d measures, want %d: %+v", len(ms), want, ms)
			}
			if ms[0].Status != tc.interview {
				t.Errorf("interview %s, want %s", ms[0].Status, tc.interview)
			}
			if tc.medical != "" && ms[1].Status != tc.medical {
				t.Errorf("medical %s, want %s", ms[1].Status, tc.medical)
			}
			if tc.hoursFirst != 0 && (ms[0].Hours == nil || *ms[0].Hours != tc.hoursFirst) {
				t.Errorf("hours %v, want %v", ms[0].Hours, tc.hoursFirst)
			}
		})
	}
}

func TestStandardsCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		ss   Standards
		ok   bool
	}{
		{"shipped", DefaultStandards(), true},
		{"no code", Standards{{Kind: KindTherapy, WithinHours: 1}}, false},
		{"repeated code", Standards{{Code: "a", Kind: KindTherapy, WithinHours: 1}, {Code: "a", Kind: KindCourt, WithinHours: 1}}, false},
		{"meeting kind", Standards{{Code: "a", Kind: KindCaseReview, WithinHours: 1}}, false},
		{"no hours", Standards{{Code: "a", Kind: KindTherapy}}, false},
		{"unknown flag", Standards{{Code: "a", Kind: KindTherapy, WithinHours: 1, WhenFlag: "urgent"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.ss.Check(); (err == nil) != tc.ok {
				t.Errorf("Check() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
