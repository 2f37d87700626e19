package ferret

import (
	"context"
	"fmt"
	"strings"
)

// ElementIndex gives array field (a top-level field) of collection coll an element table: one row
// (element, document _id) for each scalar element of the field in each document, kept by SQLite
// triggers on the collection's table as FerretDB inserts, updates and deletes documents, and filled
// from the documents already there when the triggers are created. SQLite's expression indexes hold
// a value, not the elements of an array, so an equality on such a field (MongoDB's "an element
// matches") otherwise tests the array of every document the rest of the query leaves; with the
// element table, Find reads the matching ids from its primary key and joins the documents by _id.
// It is idempotent; a collection that FerretDB drops and creates again (the service never does)
// gets its triggers back only at the next call. It returns ErrNoCollection, an error for a field
// name it does not take, or SQLite's error.
func (t *Tables) ElementIndex(ctx context.Context, coll, field string) error {
	if !validField(field) || strings.Contains(field, ".") {
		return fmt.Errorf("element index of %s: field name %q", coll, field)
	}
	table, err := t.table(ctx, coll)
	if err != nil {
		return err
	}
	side := table + "_cg_elems_" + field
	conn, err := t.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("element index of %s.%s: %w", coll, field, err)
	}
	defer conn.Close()
	var have int
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN (?, ?, ?)`,
		side+"_ins", side+"_upd", side+"_del").Scan(&have); err != nil {
		return fmt.Errorf("element index of %s.%s: %w", coll, field, err)
	}
	if have < 3 { // new, or its collection's table was dropped with its triggers: built again
		id := func(row string) string { return row + "." + fieldExpr("_id") }
		elems := func(row string) string {
			return fmt.Sprintf(`SELECT value, %s FROM json_each(%s._ferretdb_sjson, %s) WHERE type NOT IN ('null', 'object', 'array')`,
				id(row), row, pathLiteral(field))
		}
		s, tb := quote(side), quote(table)
		stmts := []string{
			`BEGIN IMMEDIATE`, // FerretDB's writes wait: each document is either filled in below or seen by a trigger
			fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (elem NOT NULL, id NOT NULL, PRIMARY KEY (elem, id)) WITHOUT ROWID`, s),
			fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (id)`, quote(side+"_id"), s),
			fmt.Sprintf(`DELETE FROM %s`, s),
			fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER INSERT ON %s BEGIN INSERT OR IGNORE INTO %s (elem, id) %s; END`,
				quote(side+"_ins"), tb, s, elems("NEW")),
			fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER UPDATE ON %s BEGIN DELETE FROM %s WHERE id = %s; INSERT OR IGNORE INTO %s (elem, id) %s; END`,
				quote(side+"_upd"), tb, s, id("OLD"), s, elems("NEW")),
			fmt.Sprintf(`CREATE TRIGGER IF NOT EXISTS %s AFTER DELETE ON %s BEGIN DELETE FROM %s WHERE id = %s; END`,
				quote(side+"_del"), tb, s, id("OLD")),
			fmt.Sprintf(`INSERT OR IGNORE INTO %s (elem, id) SELECT j.value, %s FROM %s AS d, json_each(d._ferretdb_sjson, %s) AS j WHERE j.type NOT IN ('null', 'object', 'array')`,
				s, id("d"), tb, pathLiteral(field)),
			`COMMIT`,
		}
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
				return fmt.Errorf("element index of %s.%s: %w", coll, field, err)
			}
		}
	}
	t.mu.Lock()
	t.sides[coll+"."+field] = side
	t.mu.Unlock()
	return nil
}

// side returns the function giving the element table of an array field of coll ("": none).
func (t *Tables) side(coll string) func(field string) string {
	return func(field string) string {
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.sides[coll+"."+field]
	}
}
