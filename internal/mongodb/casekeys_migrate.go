package mongodb

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/childsafe-protocols/caseguide/internal/fieldcrypt"
)

// migrateToCaseKeys (schema version 1 to 2) re-encrypts, under each case's own data key, every field
// value of case data that was encrypted directly under the key ring: cases, runs (step records),
// interview sessions and logs, evidence items and custody events. Each document is read with the
// store's own conversion (which knows every encrypted field and its aad); each ring token met is
// decrypted and encrypted again under the case key with the same aad, and the document is rewritten
// with the new tokens in place of the old ones (tokens are random, so replacing by value is exact).
// It is idempotent: a document with no ring token left is not touched. The custody chains' hashes
// cover the plaintext, which does not change. It returns the first error.
func migrateToCaseKeys(ctx context.Context, d *DB, ring *fieldcrypt.KeyRing) error {
	ck := d.CaseKeys(ring)
	type step struct {
		coll    string
		convert func(keyScope, bson.Raw) error
	}
	steps := []step{
		{caseworkCasesCollection, func(k keyScope, raw bson.Raw) error {
			return migrateDoc(raw, func(doc caseworkCaseDoc) error { _, err := fromCaseworkCaseDoc(k, doc); return err })
		}},
		{caseworkRunsCollection, func(k keyScope, raw bson.Raw) error {
			return migrateDoc(raw, func(doc caseworkRunDoc) error { _, err := fromCaseworkRunDoc(k, doc); return err })
		}},
		{interviewSessionsCollection, func(k keyScope, raw bson.Raw) error {
			return migrateDoc(raw, func(doc interviewSessionDoc) error { _, err := fromInterviewSessionDoc(k, doc); return err })
		}},
		{interviewLogsCollection, func(k keyScope, raw bson.Raw) error {
			return migrateDoc(raw, func(doc interviewLogDoc) error { _, err := fromInterviewLogDoc(k, doc); return err })
		}},
		{evidenceItemsCollection, func(k keyScope, raw bson.Raw) error {
			return migrateDoc(raw, func(doc evidenceItemDoc) error { _, err := fromEvidenceItemDoc(k, doc); return err })
		}},
		{evidenceEventsCollection, func(k keyScope, raw bson.Raw) error {
			return migrateDoc(raw, func(doc evidenceEventDoc) error {
				if e := fromEvidenceEventDoc(k, doc); e.Unreadable {
					return fmt.Errorf("custody event %s does not decrypt", doc.ID)
				}
				return nil
			})
		}},
	}
	for _, st := range steps {
		coll := d.db.Collection(st.coll)
		cur, err := coll.Find(ctx, bson.D{})
		if err != nil {
			return fmt.Errorf("reading %s: %w", st.coll, err)
		}
		for cur.Next(ctx) {
			raw := append(bson.Raw(nil), cur.Current...)
			moved := map[string]string{}
			if err := st.convert(keyScope{ctx: ctx, ck: ck, migrate: moved}, raw); err != nil {
				_ = cur.Close(ctx)
				return fmt.Errorf("re-encrypting %s %v: %w", st.coll, raw.Lookup("_id"), err)
			}
			if len(moved) == 0 {
				continue
			}
			var doc bson.D
			if err := bson.Unmarshal(raw, &doc); err != nil {
				_ = cur.Close(ctx)
				return fmt.Errorf("reading %s %v: %w", st.coll, raw.Lookup("_id"), err)
			}
			doc = replaceTokens(doc, moved).(bson.D)
			if _, err := coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: raw.Lookup("_id")}}, doc); err != nil {
				_ = cur.Close(ctx)
				return fmt.Errorf("rewriting %s %v: %w", st.coll, raw.Lookup("_id"), err)
			}
		}
		if err := cur.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", st.coll, err)
		}
		_ = cur.Close(ctx)
	}
	return nil
}

// migrateDoc decodes raw as D and runs convert on it.
func migrateDoc[D any](raw bson.Raw, convert func(D) error) error {
	var doc D
	if err := bson.Unmarshal(raw, &doc); err != nil {
		return err
	}
	return convert(doc)
}

// replaceTokens returns v with every string that is a key of moved replaced by its value, at any depth.
func replaceTokens(v any, moved map[string]string) any {
	switch x := v.(type) {
	case string:
		if re, ok := moved[x]; ok {
			return re
		}
		return x
	case bson.D:
		for i := range x {
			x[i].Value = replaceTokens(x[i].Value, moved)
		}
		return x
	case bson.A:
		for i := range x {
			x[i] = replaceTokens(x[i], moved)
		}
		return x
	case bson.M:
		for k, e := range x {
			x[k] = replaceTokens(e, moved)
		}
		return x
	case []any:
		for i := range x {
			x[i] = replaceTokens(x[i], moved)
		}
		return x
	}
	return v
}
