package protocol

import (
	"bytes"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
)

// File is one file of a protocol folder: its path relative to the library root
// (<protocol id>/protocol.yaml, <protocol id>/<locale>.yaml) and its content.
type File struct {
	Path    string
	Content []byte
}

// schemaComment is the first line of protocol.yaml, pointing editors at the schema.
const schemaComment = "# yaml-language-server: $schema=../protocol.schema.json\n"

// Files writes the document in the protocols/ file format: protocol.yaml, then one translation file
// per locale that has strings (locales sorted), each string in source order. LoadDir reads them back
// into a document with the same content hash. It returns an error only when encoding fails.
func (d *Document) Files() ([]File, error) {
	var buf bytes.Buffer
	buf.WriteString(schemaComment)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&d.Protocol); err != nil {
		return nil, fmt.Errorf("encoding %s/protocol.yaml: %w", d.Protocol.ID, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding %s/protocol.yaml: %w", d.Protocol.ID, err)
	}
	files := []File{{Path: d.Protocol.ID + "/protocol.yaml", Content: buf.Bytes()}}
	locales := make([]string, 0, len(d.Translations))
	for l := range d.Translations {
		locales = append(locales, l)
	}
	slices.Sort(locales)
	strs := d.Protocol.Strings()
	for _, l := range locales {
		node := &yaml.Node{Kind: yaml.MappingNode}
		for _, s := range strs {
			if t := d.Translations[l][s.ID]; t != "" {
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.ID},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t})
			}
		}
		if len(node.Content) == 0 {
			continue
		}
		var tb bytes.Buffer
		enc := yaml.NewEncoder(&tb)
		enc.SetIndent(2)
		if err := enc.Encode(node); err != nil {
			return nil, fmt.Errorf("encoding %s/%s.yaml: %w", d.Protocol.ID, l, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encoding %s/%s.yaml: %w", d.Protocol.ID, l, err)
		}
		files = append(files, File{Path: d.Protocol.ID + "/" + l + ".yaml", Content: tb.Bytes()})
	}
	return files, nil
}
