// Package assets holds the console's static files (style sheet, icon), embedded in the binary and
// served under fingerprinted names: the content's hash is part of the URL, so browsers may keep
// each file forever and a new version is a new URL.
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"
)

//go:embed *.css *.svg
var files embed.FS

// File is one asset as served.
type File struct {
	Name        string // fingerprinted: console.3f2a9c1b0d4e.css
	ContentType string
	Body        []byte
	Gzip        []byte // Body compressed; nil when compression does not make it smaller
	ETag        string
}

// Set is the console's assets by their fingerprinted names.
type Set struct {
	byName map[string]*File
	urls   map[string]string // plain name -> URL path
	prefix string
}

// Load fingerprints every embedded asset; prefix is the URL path they are served under
// ("/console/assets/"). It returns an error when the embedded files cannot be read.
func Load(prefix string) (*Set, error) {
	s := &Set{byName: map[string]*File{}, urls: map[string]string{}, prefix: prefix}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("reading the console's assets: %w", err)
	}
	for _, e := range entries {
		body, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("reading asset %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:6])
		ext := path.Ext(e.Name())
		name := strings.TrimSuffix(e.Name(), ext) + "." + hash + ext
		f := &File{Name: name, ContentType: mime.TypeByExtension(ext), Body: body, ETag: `"` + hash + `"`}
		if f.ContentType == "" {
			f.ContentType = "application/octet-stream"
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body) {
			f.Gzip = buf.Bytes()
		}
		s.byName[name] = f
		s.urls[e.Name()] = prefix + name
	}
	return s, nil
}

// URL returns the fingerprinted URL path of the asset named plain ("console.css"); it panics for an
// unknown name, which is a programming error found by any test that renders the page.
func (s *Set) URL(plain string) string {
	u, ok := s.urls[plain]
	if !ok {
		panic("console: no asset named " + plain)
	}
	return u
}

// Get returns the asset with fingerprinted name, or false.
func (s *Set) Get(name string) (*File, bool) {
	f, ok := s.byName[name]
	return f, ok
}
