package ferret

import (
	"bytes"
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
	fields, err := jsonObject(data)
	if err != nil {
		return nil, fmt.Errorf("stored document: %w", err)
	}
	sch, err := parseSchema(fields["$s"])
	if err != nil {
		return nil, fmt.Errorf("stored document's schema: %w", err)
	}
	delete(fields, "$s")
	d, err := sjsonDocument(fields, sch)
	if err != nil {
		return nil, err
	}
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("stored document: %w", err)
	}
	return raw, nil
}

// decodeSJSONFields returns the BSON document of the named top-level fields of the stored document
// data (a field it lacks is left out), decoding only them: the rest of the document is skipped over,
// not parsed. It returns an error for a document that is not a JSON object, or sjsonValue's errors.
func decodeSJSONFields(data []byte, fields []string) (bson.Raw, error) {
	values := make([][]byte, len(fields))
	var schema []byte
	err := jsonMembers(data, func(key, value []byte) {
		if string(key) == "$s" {
			schema = value
			return
		}
		for i, f := range fields {
			if string(key) == f {
				values[i] = value
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("stored document: %w", err)
	}
	types := make([][]byte, len(fields))
	if schema != nil {
		err = jsonMembers(schema, func(key, value []byte) {
			if string(key) != "p" {
				return
			}
			err = jsonMembers(value, func(key, value []byte) {
				for i, f := range fields {
					if string(key) == f {
						types[i] = value
					}
				}
			})
		})
		if err != nil {
			return nil, fmt.Errorf("stored document's schema: %w", err)
		}
	}
	d := make(bson.D, 0, len(fields))
	for i, f := range fields {
		if values[i] == nil {
			continue
		}
		var e *sjsonElem // none for a stored null
		if types[i] != nil {
			if e, err = parseElem(types[i]); err != nil {
				return nil, fmt.Errorf("stored document's schema of %s: %w", f, err)
			}
		}
		v, err := sjsonValue(values[i], e)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		d = append(d, bson.E{Key: f, Value: v})
	}
	raw, err := bson.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("stored document: %w", err)
	}
	return raw, nil
}

// jsonMembers calls fn with the key (escapes decoded) and the raw value of every member of the JSON object data, skipping over the values without parsing them. It
// trusts data to be valid JSON (what SQLite stored) and returns an error only when it is not an
// object or ends early.
func jsonMembers(data []byte, fn func(key, value []byte)) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return fmt.Errorf("not a JSON object")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for i < len(data) {
		if data[i] != '"' {
			return fmt.Errorf("a JSON object's key expected at byte %d", i)
		}
		end := skipString(data, i)
		if end > len(data) {
			return fmt.Errorf("the JSON object ends early")
		}
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 { // rare: decode the escapes
			var k string
			if err := json.Unmarshal(data[i:end], &k); err != nil {
				return fmt.Errorf("a JSON object's key at byte %d: %w", i, err)
			}
			key = []byte(k)
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return fmt.Errorf("':' expected at byte %d", i)
		}
		i = skipSpace(data, i+1)
		end = skipValue(data, i)
		if end > len(data) || end <= i {
			return fmt.Errorf("a JSON value expected at byte %d", i)
		}
		fn(key, data[i:end])
		i = skipSpace(data, end)
		if i < len(data) && data[i] == '}' {
			return nil
		}
		if i >= len(data) || data[i] != ',' {
			return fmt.Errorf("',' expected at byte %d", i)
		}
		i = skipSpace(data, i+1)
	}
	return fmt.Errorf("the JSON object ends early")
}

// skipSpace returns the index of the first byte at or after i that is not JSON white space.
func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\r' || data[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string starting at data[i] (a '"').
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(data) + 1
}

// skipValue returns the index just past the JSON value starting at data[i].
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				i = skipString(data, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return len(data) + 1
	}
	for ; i < len(data); i++ {
		switch data[i] {
		case ',', '}', ']', ' ', '\n', '\r', '\t':
			return i
		}
	}
	return i
}

// jsonObject returns the members of a JSON object by key, their values raw.
func jsonObject(data []byte) (map[string][]byte, error) {
	fields := map[string][]byte{}
	err := jsonMembers(data, func(k, v []byte) { fields[string(k)] = v })
	return fields, err
}

func sjsonDocument(fields map[string][]byte, sch *sjsonSchema) (bson.D, error) {
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

func sjsonValue(data []byte, e *sjsonElem) (any, error) {
	if string(data) == "null" {
		return nil, nil
	}
	if e == nil {
		return nil, fmt.Errorf("stored value without a type")
	}
	switch e.Type {
	case "object":
		fields, err := jsonObject(data)
		if err != nil {
			return nil, err
		}
		return sjsonDocument(fields, e.Schema)
	case "array":
		var items [][]byte
		if err := jsonElements(data, func(v []byte) { items = append(items, v) }); err != nil {
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
		return jsonString(data)
	case "bool":
		switch string(data) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("stored bool %.20s", data)
	case "int":
		n, err := jsonInt(data, 32)
		return int32(n), err
	case "long":
		return jsonInt(data, 64)
	case "double":
		return sjsonDouble(data)
	case "date":
		ms, err := jsonInt(data, 64)
		if err != nil {
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
func sjsonDouble(data []byte) (float64, error) {
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
