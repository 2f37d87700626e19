package mongodb

import (
	"context"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/childsafe-protocols/caseguide/internal/ferret"
)

// Lists on the embedded database. FerretDB 1.24 answers every query but {_id: value} by reading,
// decoding and filtering every document of the collection in Go, so a page of a list costs the whole
// collection. With UseTables the stores' queries (filters of equalities, ranges, $in and $exists,
// $and of those, a sort and a limit) are answered instead by SQL on FerretDB's own SQLite tables,
// with expression indexes built from the same index definitions MongoDB gets (EnsureIndexes): a
// page costs an index range scan and the decoding of the documents returned. Writes still go through
// the driver. Queries it cannot translate go to the driver as before. On MongoDB nothing changes:
// the same queries go to the server and use its indexes, correct with any number of instances.

// arrayFields are the fields the stores keep arrays in: an equality on them matches an element.
var arrayFields = map[string]bool{
	"caseworker_ids": true, "former_caseworker_ids": true, "case_types": true, "assigned": true, "records": true,
	"reviews": true, "addenda": true, "hashes": true, "roles": true, "participants": true, "flags": true,
}

// UseTables makes the stores answer their queries on the embedded database from its SQLite tables
// (see above), and creates there the indexes every EnsureIndexes call registered. It returns the
// first index that cannot be created.
func (d *DB) UseTables(ctx context.Context, t *ferret.Tables) error {
	d.tables = t
	for _, coll := range collections { // lookups of several ids ($in) and sorts by id
		d.registerSQLIndex(coll, mongo.IndexModel{Keys: bson.D{{Key: "_id", Value: 1}}})
	}
	for _, ix := range d.sqlIndexes {
		if err := t.Index(ctx, ix.coll, ix.name, ix.fields); err != nil && err != ferret.ErrNoCollection {
			return err
		}
	}
	for _, e := range elementIndexes {
		if err := t.ElementIndex(ctx, e.coll, e.field); err != nil && err != ferret.ErrNoCollection {
			return err
		}
	}
	return nil
}

// ReadFromTables makes the stores answer their queries from the tables of an embedded database that
// another process serves and writes (a command-line tool attached to the running service): reads as
// with UseTables, with the indexes that process created, while conditional writes go to the server
// whole, since this process's document locks do not hold the other's writers back.
func (d *DB) ReadFromTables(t *ferret.Tables) {
	d.tables, d.tablesRead = t, true
}

// elementIndexes are the array fields that get an element table on the embedded database
// (ferret.Tables.ElementIndex): the case list of one caseworker ({org_id, caseworker_ids: id}) reads
// that caseworker's cases from it instead of testing the array of every case of the organisation.
// MongoDB indexes the elements itself (the multikey index org_caseworker).
var elementIndexes = []struct{ coll, field string }{{caseworkCasesCollection, "caseworker_ids"}}

// sqlIndex is an index to create on the embedded database's tables.
type sqlIndex struct {
	coll, name string
	fields     []string
}

// registerSQLIndex remembers index m of coll for UseTables: its keys up to the first array field
// (SQLite indexes a value, not the elements of an array).
func (d *DB) registerSQLIndex(coll string, m mongo.IndexModel) {
	keys, ok := m.Keys.(bson.D)
	if !ok {
		return
	}
	var fields []string
	for _, k := range keys {
		if arrayFields[strings.Split(k.Key, ".")[0]] {
			break
		}
		fields = append(fields, k.Key)
	}
	if len(fields) == 0 {
		return
	}
	name := strings.Join(fields, "_")
	d.sqlIndexMu.Lock()
	defer d.sqlIndexMu.Unlock()
	for _, ix := range d.sqlIndexes {
		if ix.coll == coll && ix.name == name {
			return
		}
	}
	d.sqlIndexes = append(d.sqlIndexes, sqlIndex{coll: coll, name: name, fields: fields})
}

// find runs a find on coll: from the embedded database's tables when UseTables was called and the
// filter and options translate (see translateFind), otherwise through the driver.
func (d *DB) find(ctx context.Context, coll *mongo.Collection, filter bson.D, opts *options.FindOptionsBuilder) (*mongo.Cursor, error) {
	if d.tables == nil {
		return coll.Find(ctx, filter, opts)
	}
	q, ok := translateFind(filter, opts)
	if !ok {
		return coll.Find(ctx, filter, opts)
	}
	docs, err := d.tables.Find(ctx, coll.Name(), q)
	if err != nil {
		return nil, err
	}
	list := make([]any, len(docs))
	for i, doc := range docs {
		list[i] = doc
	}
	return mongo.NewCursorFromDocuments(list, nil, nil)
}

// each calls fn with every document of coll matching filter in opts' order, streaming them from the
// embedded database's tables when it can (see find), otherwise through a driver cursor. It returns
// fn's first error as is, or the database's or driver's error.
func (d *DB) each(ctx context.Context, coll *mongo.Collection, filter bson.D, opts *options.FindOptionsBuilder, fn func(bson.Raw) error) error {
	if d.tables != nil {
		if q, ok := translateFind(filter, opts); ok {
			return d.tables.Each(ctx, coll.Name(), q, fn)
		}
	}
	cur, err := coll.Find(ctx, filter, opts)
	if err != nil {
		return err
	}
	defer cur.Close(context.WithoutCancel(ctx))
	for cur.Next(ctx) {
		if err := fn(cur.Current); err != nil {
			return err
		}
	}
	return cur.Err()
}

// translateFind turns a filter and find options into a query on the tables; ok is false when they
// hold anything it does not translate (a skip, an operator other than the comparisons, $in, $exists,
// $and and $or, a path through an array).
func translateFind(filter bson.D, opts *options.FindOptionsBuilder) (ferret.Query, bool) {
	var q ferret.Query
	if !translateFilter(filter, &q.Where) {
		return q, false
	}
	if opts == nil {
		return q, true
	}
	var fo options.FindOptions
	for _, set := range opts.List() {
		if err := set(&fo); err != nil {
			return q, false
		}
	}
	if fo.Skip != nil && *fo.Skip != 0 {
		return q, false
	}
	if fo.Limit != nil && *fo.Limit > 0 {
		q.Limit = *fo.Limit
	}
	if fo.Projection != nil {
		fields, ok := inclusion(fo.Projection)
		if !ok {
			return q, false
		}
		q.Fields = fields
	}
	if fo.Sort != nil {
		sort, ok := fo.Sort.(bson.D)
		if !ok {
			return q, false
		}
		for _, e := range sort {
			dir, ok := sortDirection(e.Value)
			if !ok || arrayFields[strings.Split(e.Key, ".")[0]] {
				return q, false
			}
			q.Order = append(q.Order, ferret.Sort{Field: e.Key, Desc: dir < 0})
		}
	}
	return q, true
}

// inclusion returns the fields of a projection that names top-level fields to include (value 1 or
// true), with _id first unless it is excluded (_id: 0), as MongoDB returns them; ok is false for any
// other projection (nested paths, exclusions, operators).
func inclusion(p any) (fields []string, ok bool) {
	d, ok := p.(bson.D)
	if !ok || len(d) == 0 {
		return nil, false
	}
	withID := true
	for _, e := range d {
		on, ok := projectionFlag(e.Value)
		if !ok || strings.Contains(e.Key, ".") || strings.HasPrefix(e.Key, "$") {
			return nil, false
		}
		switch {
		case e.Key == "_id":
			withID = on
		case !on:
			return nil, false // an exclusion
		default:
			fields = append(fields, e.Key)
		}
	}
	if withID {
		fields = append([]string{"_id"}, fields...)
	}
	return fields, len(fields) > 0
}

// projectionFlag reads a projection's 1/0 (or true/false).
func projectionFlag(v any) (on, ok bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int:
		return x != 0, x == 0 || x == 1
	case int32:
		return x != 0, x == 0 || x == 1
	case int64:
		return x != 0, x == 0 || x == 1
	}
	return false, false
}

func sortDirection(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, x == 1 || x == -1
	case int32:
		return int(x), x == 1 || x == -1
	case int64:
		return int(x), x == 1 || x == -1
	}
	return 0, false
}

var comparisons = map[string]ferret.Op{"$eq": ferret.Eq, "$ne": ferret.Ne, "$gt": ferret.Gt, "$gte": ferret.Gte,
	"$lt": ferret.Lt, "$lte": ferret.Lte, "$in": ferret.In, "$exists": ferret.Exists}

// translateFilter appends the conditions of filter to out; it reports false for what it does not
// translate.
func translateFilter(filter bson.D, out *[]ferret.Cond) bool {
	for _, e := range filter {
		if e.Key == "$and" {
			parts, ok := e.Value.(bson.A)
			if !ok {
				return false
			}
			for _, p := range parts {
				sub, ok := p.(bson.D)
				if !ok || !translateFilter(sub, out) {
					return false
				}
			}
			continue
		}
		if e.Key == "$or" {
			branches, ok := e.Value.(bson.A)
			if !ok || len(branches) == 0 {
				return false
			}
			var groups [][]ferret.Cond
			for _, br := range branches {
				sub, ok := br.(bson.D)
				var conds []ferret.Cond
				if !ok || !translateFilter(sub, &conds) || len(conds) == 0 {
					return false
				}
				groups = append(groups, conds)
			}
			*out = append(*out, ferret.Cond{Op: ferret.Or, Value: groups})
			continue
		}
		if strings.HasPrefix(e.Key, "$") {
			return false
		}
		parts := strings.Split(e.Key, ".")
		array := arrayFields[parts[0]]
		if array && len(parts) > 1 {
			return false // a path through an array
		}
		ops, isDoc := e.Value.(bson.D)
		if !isDoc || len(ops) == 0 || !strings.HasPrefix(ops[0].Key, "$") {
			if !scalar(e.Value) {
				return false
			}
			*out = append(*out, ferret.Cond{Field: e.Key, Op: ferret.Eq, Value: e.Value, Array: array})
			continue
		}
		for _, op := range ops {
			c, ok := comparisons[op.Key]
			if !ok {
				return false
			}
			v := op.Value
			switch c {
			case ferret.In:
				list, ok := inList(v)
				if !ok {
					return false
				}
				v = list
			case ferret.Exists:
				if _, ok := v.(bool); !ok {
					return false
				}
			default:
				if !scalar(v) || (array && c != ferret.Eq && c != ferret.Ne) {
					return false
				}
			}
			*out = append(*out, ferret.Cond{Field: e.Key, Op: c, Value: v, Array: array})
		}
	}
	return true
}

// scalar reports whether v is a value the tables compare as MongoDB does.
func scalar(v any) bool {
	switch v.(type) {
	case nil, string, bool, int, int32, int64, time.Time, bson.DateTime:
		return true
	}
	return false
}

// inList returns the values of an $in list.
func inList(v any) ([]any, bool) {
	var out []any
	switch x := v.(type) {
	case bson.A:
		out = x
	case []string:
		for _, s := range x {
			out = append(out, s)
		}
	case []any:
		out = x
	default:
		return nil, false
	}
	for _, e := range out {
		if !scalar(e) {
			return nil, false
		}
	}
	return out, true
}

// Find runs a query as the stores run theirs: on the embedded database with UseTables, from its
// tables when the query translates, otherwise through the driver. It is for tests and tooling
// that check the two answer alike. It returns the database's or driver's error.
func (d *DB) Find(ctx context.Context, coll string, filter bson.D, opts *options.FindOptionsBuilder) (*mongo.Cursor, error) {
	return d.find(ctx, d.db.Collection(coll), filter, opts)
}

// TablesPlan returns SQLite's plan (ferret.Tables.Plan) of a query as find would run it on the
// embedded database's tables; ok is false without UseTables or when the query does not translate
// (it goes to the driver). It is for tests that check a query uses an index, and returns the
// tables' error.
func (d *DB) TablesPlan(ctx context.Context, coll string, filter bson.D, opts *options.FindOptionsBuilder) (plan []string, ok bool, err error) {
	if d.tables == nil {
		return nil, false, nil
	}
	q, ok := translateFind(filter, opts)
	if !ok {
		return nil, false, nil
	}
	plan, err = d.tables.Plan(ctx, coll, q)
	return plan, true, err
}

// Collection returns collection name of the database, for tests and tooling.
func (d *DB) Collection(name string) *mongo.Collection { return d.db.Collection(name) }

// Translates reports whether the embedded database's tables answer a query of this filter and
// options (see find); the others go to the driver. For tests.
func Translates(filter bson.D, opts *options.FindOptionsBuilder) bool {
	_, ok := translateFind(filter, opts)
	return ok
}
