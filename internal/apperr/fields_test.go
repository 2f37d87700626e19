package apperr

import "testing"

func TestFieldErrors(t *testing.T) {
	t.Parallel()
	var f FieldErrors
	if f.Err() != nil {
		t.Fatal("no field error should give no error")
	}
	if f.Required("name", "  ") || !f.Required("other", "x") {
		t.Error("Required misjudged presence")
	}
	f.MaxLength("name", "ééé", 3)
	f.MaxLength("note", "abcd", 3)
	e := As(f.Err())
	if e == nil || e.Kind != Invalid || len(e.Fields) != 2 || e.Fields[0].Code != "required" || e.Fields[1].Field != "note" {
		t.Fatalf("got %+v", e)
	}
}
