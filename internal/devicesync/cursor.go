package devicesync

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// cursor is the position of a device in its organisation's change sequence. A pull goes through
// passes: a pass delivers the changes with After < change_seq <= UpTo (After 0: a snapshot) in
// order, page by page; Pos is how far it got. UpTo is a watermark (mongodb.DB.ChangeWatermark), so
// no number at or below it can still be written later: a finished pass never has to look back.
type cursor struct {
	Version int    `json:"v"`
	User    string `json:"u"` // a cursor is valid only for the user it was issued to
	After   int64  `json:"a"`
	UpTo    int64  `json:"t"`
	Pos     int64  `json:"p"`
	Library string `json:"l"` // fingerprint of the library the device has
}

const cursorVersion = 1

func (c cursor) encode() string {
	b, _ := json.Marshal(c) // cannot fail: plain fields
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor this service issued to user; ok is false for anything else.
func decodeCursor(s, user string) (cursor, bool) {
	if s == "" || len(s) > 512 || strings.ContainsAny(s, "=+/") {
		return cursor{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil {
		return cursor{}, false
	}
	if c.Version != cursorVersion || c.User != user || c.After < 0 || c.UpTo < c.After || c.Pos < c.After || c.Pos > c.UpTo {
		return cursor{}, false
	}
	return c, true
}
