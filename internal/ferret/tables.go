package ferret

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// Tables answers queries on the embedded database's collections by reading FerretDB's SQLite tables
// directly, with SQL filters, sorts and limits that SQLite's indexes serve (see Tables.Index).
// FerretDB 1.24's SQLite handler pushes down only a filter that is exactly {_id: value}: every
// other query reads, decodes and filters every document of the collection in Go (100–200 µs each).
// Writes still go through FerretDB (and the MongoDB driver); SQLite's write-ahead log lets this
// reader see every write FerretDB has committed, so a read after an acknowledged write sees it.
type Tables struct {
	db     *sql.DB
	mu     sync.Mutex
	tables map[string]string // collection -> table
	sides  map[string]string // collection + "." + array field -> its element table (ElementIndex)
}

// Tables opens the SQLite file of database name for direct reads. It returns an error when the file
// cannot be opened.
func (s *Server) Tables(name string) (*Tables, error) { return OpenTables(s.dir, name) }

// OpenTables opens the SQLite file of database name in dataDir for direct reads, for a process that
// works beside the service serving that folder (a command-line tool attached to it, see Attach): that
// process only reads the tables, and writes through the service's FerretDB. It returns an error when
// the file cannot be opened.
func OpenTables(dataDir, name string) (*Tables, error) {
	file := DatabaseFile(dataDir, name)
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", file, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return &Tables{db: db, tables: map[string]string{}, sides: map[string]string{}}, nil
}

// Close closes the SQLite handle.
func (t *Tables) Close() error { return t.db.Close() }

// ErrNoCollection is returned for a collection FerretDB has not created (it holds no documents).
var ErrNoCollection = errors.New("no such collection")

// table returns the SQLite table of collection coll.
func (t *Tables) table(ctx context.Context, coll string) (string, error) {
	t.mu.Lock()
	name, ok := t.tables[coll]
	t.mu.Unlock()
	if ok {
		return name, nil
	}
	err := t.db.QueryRowContext(ctx, `SELECT table_name FROM _ferretdb_collections WHERE name = ?`, coll).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoCollection
	}
	if err != nil {
		return "", fmt.Errorf("looking up collection %s: %w", coll, err)
	}
	t.mu.Lock()
	t.tables[coll] = name
	t.mu.Unlock()
	return name, nil
}

// Index creates (when missing) an SQLite index on the values of fields (dotted paths into
// sub-documents, never into arrays) of collection coll, which the queries of Find use for their
// filters and sorts. FerretDB neither lists nor maintains its own metadata for it; SQLite keeps it
// up to date on every write and drops it with the collection. It returns SQLite's error.
func (t *Tables) Index(ctx context.Context, coll, name string, fields []string) error {
	table, err := t.table(ctx, coll)
	if err != nil {
		return err
	}
	exprs := make([]string, len(fields))
	for i, f := range fields {
		if !validField(f) {
			return fmt.Errorf("index %s: field name %q", name, f)
		}
		exprs[i] = fieldExpr(f)
	}
	q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s (%s)`, quote(table+"_cg_"+name), quote(table), strings.Join(exprs, ", "))
	if _, err := t.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("creating index %s on %s: %w", name, coll, err)
	}
	return nil
}

// Op is a comparison of a Cond.
type Op string

// The comparisons, with MongoDB's meaning for scalar fields (see Cond.Array for array fields).
const (
	Eq     Op = "="
	Ne     Op = "<>"
	Gt     Op = ">"
	Gte    Op = ">="
	Lt     Op = "<"
	Lte    Op = "<="
	In     Op = "in"     // Value is a []any
	Exists Op = "exists" // Value is a bool
	Or     Op = "or"     // Value is a [][]Cond: at least one list holds entirely (Field is unused)
)

// Cond is one condition on a field. Value is a string, bool, int, int32, int64, time.Time (compared
// as BSON dates are stored: milliseconds), nil (Eq: missing or null), or for In a []any of those.
type Cond struct {
	Field string
	Op    Op
	Value any
	// Array marks a field holding an array: Eq and In match when an element matches (MongoDB's
	// rule), Ne when none does.
	Array bool
}

// Sort orders by a field, descending when Desc.
type Sort struct {
	Field string
	Desc  bool
}

// Query is a find: every condition holds, ordered, at most Limit documents (0: all). Fields, when
// set, names the only top-level fields to return (a projection): only they are decoded, so a list that needs a few fields of large documents does not pay for the rest. A
// named field a document lacks is left out of it.
type Query struct {
	Where  []Cond
	Order  []Sort
	Limit  int64
	Fields []string
}

// Find returns the documents of collection coll matching q, in BSON as the driver would read them.
// A collection that does not exist has none. It returns Each's errors.
func (t *Tables) Find(ctx context.Context, coll string, q Query) ([]bson.Raw, error) {
	var out []bson.Raw
	err := t.Each(ctx, coll, q, func(doc bson.Raw) error {
		out = append(out, doc)
		return nil
	})
	return out, err
}

// Each calls fn with every document of collection coll matching q, in order, reading them as it
// goes (for scans too large to hold). It returns fn's first error as is, an error for a value type
// Cond does not take, SQLite's error, or an error for a stored document that cannot be decoded.
func (t *Tables) Each(ctx context.Context, coll string, q Query, fn func(bson.Raw) error) error {
	table, err := t.table(ctx, coll)
	if errors.Is(err, ErrNoCollection) {
		return nil
	}
	if err != nil {
		return err
	}
	query, args, err := q.sql(table, t.side(coll))
	if err != nil {
		return err
	}
	rows, err := t.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("querying %s: %w", coll, err)
	}
	defer rows.Close()
	var text []byte
	for rows.Next() {
		if err := rows.Scan(&text); err != nil {
			return fmt.Errorf("reading %s: %w", coll, err)
		}
		var doc bson.Raw
		var err error
		if len(q.Fields) == 0 {
			doc, err = decodeSJSON(text)
		} else {
			doc, err = decodeSJSONFields(text, q.Fields)
		}
		if err != nil {
			return fmt.Errorf("decoding a document of %s: %w", coll, err)
		}
		if err := fn(doc); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", coll, err)
	}
	return nil
}

// sql returns the SELECT of q on table, with its arguments. side gives the element table of an
// array field (ElementIndex): the first condition of q that is an equality on such a field reads
// the matching ids from it and joins the collection's table by _id, the element table first; the
// condition is still tested on each document joined.
func (q Query) sql(table string, side func(field string) string) (string, []any, error) {
	var b strings.Builder
	var args []any
	for _, f := range q.Fields {
		if !validField(f) || strings.Contains(f, ".") {
			return "", nil, fmt.Errorf("projected field name %q", f)
		}
	}
	fmt.Fprintf(&b, `SELECT _ferretdb_sjson FROM %s`, quote(table))
	joined := false
	for _, c := range q.Where {
		if c.Array && c.Op == Eq && c.Value != nil && side != nil && side(c.Field) != "" {
			v, err := sqlValue(c.Value)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", c.Field, err)
			}
			b.Reset()
			fmt.Fprintf(&b, `SELECT %s._ferretdb_sjson FROM %s AS cg_side CROSS JOIN %s ON %s = cg_side.id WHERE cg_side.elem = ?`,
				quote(table), quote(side(c.Field)), quote(table), quote(table)+"."+fieldExpr("_id"))
			args = append(args, v)
			joined = true
			break
		}
	}
	for i, c := range q.Where {
		if i == 0 && len(args) == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		cond, cargs, err := c.sql()
		if err != nil {
			return "", nil, err
		}
		b.WriteString(cond)
		args = append(args, cargs...)
		if joined && c.Field == "_id" && c.Op != Ne && c.Op != In && c.Op != Exists && c.Op != Or && c.Value != nil {
			// the same bound on the element table's ids, which it holds in order
			v, err := sqlValue(c.Value)
			if err != nil {
				return "", nil, err
			}
			fmt.Fprintf(&b, ` AND cg_side.id %s ?`, c.Op)
			args = append(args, v)
		}
	}
	for i, s := range q.Order {
		if !validField(s.Field) {
			return "", nil, fmt.Errorf("field name %q", s.Field)
		}
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		if joined && s.Field == "_id" {
			b.WriteString("cg_side.id") // the same value, in the element table's key order: no sort
		} else {
			b.WriteString(fieldExpr(s.Field))
		}
		if s.Desc {
			b.WriteString(" DESC")
		}
	}
	if q.Limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", q.Limit)
	}
	return b.String(), args, nil
}

// sql returns the SQL of one condition and its arguments.
func (c Cond) sql() (string, []any, error) {
	if c.Op == Or {
		groups, ok := c.Value.([][]Cond)
		if !ok || len(groups) == 0 {
			return "", nil, fmt.Errorf("$or: %T", c.Value)
		}
		var parts []string
		var args []any
		for _, g := range groups {
			var conds []string
			for _, sub := range g {
				q, a, err := sub.sql()
				if err != nil {
					return "", nil, err
				}
				conds = append(conds, q)
				args = append(args, a...)
			}
			parts = append(parts, "("+strings.Join(conds, " AND ")+")")
		}
		return "(" + strings.Join(parts, " OR ") + ")", args, nil
	}
	if !validField(c.Field) {
		return "", nil, fmt.Errorf("field name %q", c.Field)
	}
	expr := fieldExpr(c.Field)
	elems := fmt.Sprintf(`(SELECT value FROM json_each(_ferretdb_sjson, %s))`, pathLiteral(c.Field))
	switch c.Op {
	case Exists:
		want, ok := c.Value.(bool)
		if !ok {
			return "", nil, fmt.Errorf("$exists of %s: %T", c.Field, c.Value)
		}
		if want {
			return fmt.Sprintf(`json_type(_ferretdb_sjson, %s) IS NOT NULL`, pathLiteral(c.Field)), nil, nil
		}
		return fmt.Sprintf(`json_type(_ferretdb_sjson, %s) IS NULL`, pathLiteral(c.Field)), nil, nil
	case In:
		vals, ok := c.Value.([]any)
		if !ok || len(vals) == 0 {
			return "0", nil, nil
		}
		args := make([]any, len(vals))
		for i, v := range vals {
			a, err := sqlValue(v)
			if err != nil {
				return "", nil, fmt.Errorf("$in of %s: %w", c.Field, err)
			}
			args[i] = a
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
		if c.Array {
			return fmt.Sprintf(`EXISTS (SELECT 1 FROM json_each(_ferretdb_sjson, %s) WHERE value IN (%s))`, pathLiteral(c.Field), marks), args, nil
		}
		return fmt.Sprintf(`%s IN (%s)`, expr, marks), args, nil
	case Eq, Ne, Gt, Gte, Lt, Lte:
	default:
		return "", nil, fmt.Errorf("unknown comparison %q", c.Op)
	}
	v, err := sqlValue(c.Value)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", c.Field, err)
	}
	switch {
	case v == nil && c.Op == Eq:
		return expr + " IS NULL", nil, nil
	case v == nil && c.Op == Ne:
		return expr + " IS NOT NULL", nil, nil
	case v == nil:
		return "0", nil, nil
	case c.Array && c.Op == Eq:
		return fmt.Sprintf(`? IN %s`, elems), []any{v}, nil
	case c.Array && c.Op == Ne:
		return fmt.Sprintf(`? NOT IN %s`, elems), []any{v}, nil
	case c.Op == Ne:
		return expr + " IS NOT ?", []any{v}, nil
	}
	return fmt.Sprintf(`%s %s ?`, expr, c.Op), []any{v}, nil
}

// sqlValue converts a condition's value to what SQLite compares with the stored one.
func sqlValue(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case time.Time:
		return x.UnixMilli(), nil
	case bson.DateTime:
		return int64(x), nil
	}
	return nil, fmt.Errorf("a value of type %T cannot be compared", v)
}

// fieldExpr is the SQL expression of a field's value, the same in queries and in indexes (SQLite
// uses an index only for the very expression it was built on).
func fieldExpr(field string) string { return "_ferretdb_sjson->>" + pathLiteral(field) }

// pathLiteral is the SQL string literal of the JSON path of a dotted field (checked by validField).
func pathLiteral(field string) string { return "'$." + field + "'" }

// validField reports whether field is a dotted path of names of letters, digits and underscores
// (what pathLiteral may put in a literal as it is).
func validField(field string) bool {
	if field == "" || strings.HasPrefix(field, ".") || strings.HasSuffix(field, ".") || strings.Contains(field, "..") {
		return false
	}
	return !strings.ContainsFunc(field, func(r rune) bool {
		return !(r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	})
}

// Plan returns SQLite's plan of q on collection coll (the detail column of EXPLAIN QUERY PLAN, one
// line a step, such as "SEARCH t USING INDEX i (...)"), for tests that check a query uses an index.
// It returns ErrNoCollection, an error for a condition Find would refuse, or SQLite's error.
func (t *Tables) Plan(ctx context.Context, coll string, q Query) ([]string, error) {
	table, err := t.table(ctx, coll)
	if err != nil {
		return nil, err
	}
	query, args, err := q.sql(table, t.side(coll))
	if err != nil {
		return nil, err
	}
	rows, err := t.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return nil, fmt.Errorf("explaining a query of %s: %w", coll, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return nil, fmt.Errorf("reading the plan of a query of %s: %w", coll, err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the plan of a query of %s: %w", coll, err)
	}
	return plan, nil
}
