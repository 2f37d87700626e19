package mongodb

import "time"

// SetCoachingClock sets the clock that decides when a coaching snapshot is read in full again
// (tests).
func (d *DB) SetCoachingClock(now func() time.Time) {
	d.coaching.setClock(now)
}
