package evidence

import (
	"strings"
	"time"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
)

// Limits of ListItems.
const (
	DefaultItemPage = 50  // used when the limit asked for is below 1
	MaxItemPage     = 200 // larger limits are cut to this
)

// ItemKey is where an item sits in a case's list: by creation time, then id. The zero key is before
// every item.
type ItemKey struct {
	CreatedAt time.Time
	ID        string
}

// String encodes the key (a page cursor's content).
func (k ItemKey) String() string {
	return k.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + k.ID
}

// parseItemKey decodes what ItemKey.String made. It returns an Invalid *apperr.Error naming the
// cursor for anything else.
func parseItemKey(s string) (ItemKey, error) {
	at, id, ok := strings.Cut(s, "|")
	t, err := time.Parse(time.RFC3339Nano, at)
	if !ok || err != nil || id == "" {
		return ItemKey{}, apperr.Validation(apperr.FieldError{Field: "cursor", Code: "cursor", MessageID: "field.cursor"})
	}
	return ItemKey{CreatedAt: t, ID: id}, nil
}

// ItemPage is one page of a case's items. Next is the cursor of the following page ("" on the last).
type ItemPage struct {
	Items []Item
	Next  string
}
