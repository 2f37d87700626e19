package main

import _ "embed"

// openAPI is the API contract, served at /openapi.yaml and used by the tests to validate responses.
//
//go:embed openapi.yaml
var openAPI []byte
