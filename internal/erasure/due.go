package erasure

import (
	"cmp"
	"slices"
)

// sortDue orders cases by closure, oldest first, then id.
func sortDue(ds []Due) {
	slices.SortFunc(ds, func(a, b Due) int {
		return cmp.Or(a.ClosedAt.Compare(b.ClosedAt), cmp.Compare(a.CaseID, b.CaseID))
	})
}
