// Package locales holds the go-i18n message files of the API's own messages (errors, validation
// messages, field names, vocabulary labels), one file per locale, embedded in the binary.
package locales

import "embed"

// FS holds one <locale>.yaml message file per supported locale.
//
//go:embed *.yaml
var FS embed.FS
