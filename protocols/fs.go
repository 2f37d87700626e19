// Package protocols holds the protocol library the service ships (one folder per protocol: protocol.yaml
// and one translation file per locale) and the JSON Schemas of those files, embedded in the binary.
package protocols

import "embed"

// FS is the shipped library: the protocol folders and the schema files at its root.
//
//go:embed */*.yaml *.schema.json
var FS embed.FS

// ProtocolSchema is the JSON Schema of protocol.yaml.
//
//go:embed protocol.schema.json
var ProtocolSchema []byte

// TranslationSchema is the JSON Schema of a translation file.
//
//go:embed translation.schema.json
var TranslationSchema []byte
