package ferret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
)

// Reading SJSON quickly: FerretDB's stored documents are valid JSON written by SQLite, so the decoder
// skips over what it does not need (jsonMembers, jsonElements) instead of parsing the text into Go
// maps, reads the common scalars directly, and parses each distinct schema element once (elemCache):
// a collection's documents share a few dozen of them.

// elemCache holds parsed schema elements by their text (at most maxCachedElems, each shorter than
// maxCachedElem bytes; parsed elements are never changed).
var (
	elemCache      sync.Map // string -> *sjsonElem
	elemCacheCount atomic.Int64
)

const (
	maxCachedElems = 4096
	maxCachedElem  = 1024
)

// parseElem parses a schema element ({"t": type, "$s": schema, "i": [elems], "s": subtype, "o":
// options}). It returns an error for text that is not such an object.
func parseElem(data []byte) (*sjsonElem, error) {
	if len(data) < maxCachedElem {
		if e, ok := elemCache.Load(string(data)); ok {
			return e.(*sjsonElem), nil
		}
	}
	e := &sjsonElem{}
	var err error
	scanErr := jsonMembers(data, func(key, value []byte) {
		if err != nil {
			return
		}
		switch string(key) {
		case "t":
			e.Type, err = jsonString(value)
		case "$s":
			e.Schema, err = parseSchema(value)
		case "i":
			err = jsonElements(value, func(item []byte) {
				if err != nil {
					return
				}
				var it *sjsonElem
				if it, err = parseElem(item); err == nil {
					e.Items = append(e.Items, it)
				}
			})
		case "s":
			var n int64
			if n, err = strconv.ParseInt(string(value), 10, 8); err == nil {
				sub := byte(n)
				e.Subtype = &sub
			}
		case "o":
			var o string
			if o, err = jsonString(value); err == nil {
				e.Options = &o
			}
		}
	})
	if err = cmpErr(scanErr, err); err != nil {
		return nil, fmt.Errorf("schema element: %w", err)
	}
	if len(data) < maxCachedElem && elemCacheCount.Load() < maxCachedElems {
		if _, loaded := elemCache.LoadOrStore(string(data), e); !loaded {
			elemCacheCount.Add(1)
		}
	}
	return e, nil
}

// parseSchema parses a document's or object's schema ({"p": {key: elem}, "$k": [keys]}).
func parseSchema(data []byte) (*sjsonSchema, error) {
	s := &sjsonSchema{Props: map[string]*sjsonElem{}}
	var err error
	scanErr := jsonMembers(data, func(key, value []byte) {
		if err != nil {
			return
		}
		switch string(key) {
		case "p":
			err = cmpErr(jsonMembers(value, func(k, v []byte) {
				if err != nil {
					return
				}
				var e *sjsonElem
				if e, err = parseElem(v); err == nil {
					s.Props[string(k)] = e
				}
			}), err)
		case "$k":
			err = cmpErr(jsonElements(value, func(item []byte) {
				if err != nil {
					return
				}
				var k string
				if k, err = jsonString(item); err == nil {
					s.Keys = append(s.Keys, k)
				}
			}), err)
		}
	})
	if err = cmpErr(scanErr, err); err != nil {
		return nil, err
	}
	return s, nil
}

// cmpErr returns the first of two errors that is not nil.
func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// jsonString reads a JSON string, directly when it holds no escape.
func jsonString(data []byte) (string, error) {
	if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' && bytes.IndexByte(data, '\\') < 0 {
		return string(data[1 : len(data)-1]), nil
	}
	var s string
	err := json.Unmarshal(data, &s)
	return s, err
}

// jsonInt reads a JSON integer of bits bits, falling back to encoding/json for other spellings.
func jsonInt(data []byte, bits int) (int64, error) {
	if n, err := strconv.ParseInt(string(data), 10, bits); err == nil {
		return n, nil
	}
	if bits == 32 {
		var n int32
		err := json.Unmarshal(data, &n)
		return int64(n), err
	}
	var n int64
	err := json.Unmarshal(data, &n)
	return n, err
}

// jsonElements calls fn with the raw text of every element of the JSON array data, skipping over
// them without parsing. It trusts data to be valid JSON and returns an error only when it is not an
// array or ends early.
func jsonElements(data []byte, fn func(value []byte)) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return fmt.Errorf("not a JSON array")
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return nil
	}
	for i < len(data) {
		end := skipValue(data, i)
		if end > len(data) || end <= i {
			return fmt.Errorf("a JSON value expected at byte %d", i)
		}
		fn(data[i:end])
		i = skipSpace(data, end)
		if i < len(data) && data[i] == ']' {
			return nil
		}
		if i >= len(data) || data[i] != ',' {
			return fmt.Errorf("',' expected at byte %d", i)
		}
		i = skipSpace(data, i+1)
	}
	return fmt.Errorf("the JSON array ends early")
}
