// Package authoring is the content editors' workflow around the protocol library: drafts of a new
// protocol or of a new version (structure, source text and translations, validated on every save by
// the protocol validator), translation status per locale (missing, stale) with XLIFF 2.0 exchange,
// review by a second editor, publishing through the protocol service (immutable, numbered versions),
// retirement, differences between versions, usage counts per version, and the protocols/ file format
// round trip. It never reads case content: usage is counted by the Store.
package authoring
