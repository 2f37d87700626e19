// Package protocol is the protocol library: the content model of step-by-step protocols (phases,
// steps, checklists, phrasings per age band, conditions), its validation, its localization, and the
// service that publishes versions and serves them. The file format under protocols/ is this content
// model written as YAML; see protocols/README.md.
package protocol
