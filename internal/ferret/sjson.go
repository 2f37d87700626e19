package ferret

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// FerretDB 1.24's SQLite handler stores each document as "SJSON": the document's fields as JSON, plus
// a field "$s" holding a schema that gives every value its BSON type and every document its key
// order ({"p": {key: elem}, "$k": [keys]}, elem {"t": type, "$s": schema for objects, "i": [elem]
// for arrays, "s": binary subtype}). Dates are milliseconds since the epoch, binary data base64.
// decodeSJSON turns one stored document back into BSON, as FerretDB itself would answer it.

// sjsonSchema is the schema of one document or object.
type sjsonSchema struct {
	Props map[string]*sjsonElem `json:"p"`
	Keys  []string              `json:"$k"`
}

// sjsonElem is the type of one value.
type sjsonElem struct {
	Type    string       `json:"t"`
	Schema  *sjsonSchema `json:"$s"`
	Items   []*sjsonElem `json:"i"`
	Subtype *byte        `json:"s"`
	Options *string      `json:"o"`
}

// decodeSJSON returns the BSON document stored as data. It returns an error for a value whose type
// it does not know or that does not match its schema.
func decodeSJSON(data []byte) (bson.Raw, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("stored document: %w", err)
	}
	var sch sjsonSchema
	if err := json.Unmarshal(fields["$s"], &sch); err != nil {
		return nil, fmt.Errorf("stored document's schema: %w", err)
	}
	delete(fields, "$s")
	d, err := sjsonDocument(fields, &sch)
	if err != nil {
		return nil, err
	}
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("stored document: %w", err)
	}
	return raw, nil
}

func sjsonDocument(fields map[string]json.RawMessage, sch *sjsonSchema) (bson.D, error) {
	if len(fields) == 0 {
		return bson.D{}, nil
	}
	if sch == nil || len(sch.Keys) != len(fields) {
		return nil, fmt.Errorf("stored document: its schema does not match its %d fields", len(fields))
	}
	d := make(bson.D, 0, len(sch.Keys))
	for _, k := range sch.Keys {
		v, err := sjsonValue(fields[k], sch.Props[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		d = append(d, bson.E{Key: k, Value: v})
	}
	return d, nil
}

func sjsonValue(data json.RawMessage, e *sjsonElem) (any, error) {
	if string(data) == "null" {
		return nil, nil
	}
	if e == nil {
		return nil, fmt.Errorf("stored value without a type")
	}
	switch e.Type {
	case "object":
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			return nil, err
		}
		return sjsonDocument(fields, e.Schema)
	case "array":
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, err
		}
		if len(items) != len(e.Items) {
			return nil, fmt.Errorf("stored array: %d values, %d types", len(items), len(e.Items))
		}
		a := make(bson.A, len(items))
		for i, it := range items {
			v, err := sjsonValue(it, e.Items[i])
			if err != nil {
				return nil, err
			}
			a[i] = v
		}
		return a, nil
	case "string":
		var s string
		err := json.Unmarshal(data, &s)
		return s, err
	case "bool":
		var b bool
		err := json.Unmarshal(data, &b)
		return b, err
	case "int":
		var n int32
		err := json.Unmarshal(data, &n)
		return n, err
	case "long":
		var n int64
		err := json.Unmarshal(data, &n)
		return n, err
	case "double":
		return sjsonDouble(data)
	case "date":
		var ms int64
		if err := json.Unmarshal(data, &ms); err != nil {
			return nil, err
		}
		return bson.NewDateTimeFromTime(time.UnixMilli(ms)), nil
	case "binData":
		var b []byte
		if err := json.Unmarshal(data, &b); err != nil {
			return nil, err
		}
		var sub byte
		if e.Subtype != nil {
			sub = *e.Subtype
		}
		return bson.Binary{Subtype: sub, Data: b}, nil
	case "objectId":
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		return bson.ObjectIDFromHex(s)
	case "timestamp":
		var n uint64
		if err := json.Unmarshal(data, &n); err != nil {
			return nil, err
		}
		return bson.Timestamp{T: uint32(n >> 32), I: uint32(n)}, nil
	case "regex":
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, err
		}
		opts := ""
		if e.Options != nil {
			opts = *e.Options
		}
		return bson.Regex{Pattern: s, Options: opts}, nil
	}
	return nil, fmt.Errorf("stored value of unknown type %q", e.Type)
}

// sjsonDouble reads a double, written as a JSON number or, for the values JSON lacks, as a string.
func sjsonDouble(data json.RawMessage) (float64, error) {
	var f float64
	if err := json.Unmarshal(data, &f); err == nil {
		return f, nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return 0, err
	}
	switch s {
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	case "NaN":
		return math.NaN(), nil
	}
	return 0, fmt.Errorf("stored double %q", s)
}
