package devicesync

// field is one field of a record of type T that an update (changes of type C) may change, as the
// API names it. Every record type with base-version updates lists its fields this way and merges
// with merge.
type field[T, C any] struct {
	name string
	set  func(C) bool    // the changes touch it
	eq   func(T, C) bool // the record holds the value the changes give it
	put  func(*T, C)     // give it that value (slices cloned)
}

// mergeResult is what merge decided.
type mergeResult[T any] struct {
	want        T        // the current record with the device's changes applied (merged fields only)
	changed     []string // the fields the changes touch
	merged      []string // the fields to write: the device's value differs from the server's
	conflicting []string // the fields the server changed too (or whose base the device did not send)
}

// merge lays the device's changes ch, made at baseVersion from the values base, onto cur, the
// record as the server holds it at curVersion. A field the record already holds as the device wants
// it is left alone. When the versions differ, a field is merged only when the server's value still
// is the device's base value (the server did not change it); otherwise it conflicts. So a field
// conflicts only when the server's value differs both from base and from the device's new value.
func merge[T, C any](fields []field[T, C], cur T, curVersion, baseVersion int64, ch, base C) mergeResult[T] {
	r := mergeResult[T]{want: cur}
	for _, f := range fields {
		if !f.set(ch) {
			continue
		}
		r.changed = append(r.changed, f.name)
		if f.eq(cur, ch) {
			continue // already so
		}
		if curVersion != baseVersion && !(f.set(base) && f.eq(cur, base)) {
			r.conflicting = append(r.conflicting, f.name)
			continue
		}
		f.put(&r.want, ch)
		r.merged = append(r.merged, f.name)
	}
	return r
}
