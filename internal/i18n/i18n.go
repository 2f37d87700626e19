// Package i18n wraps go-i18n and golang.org/x/text/language: the supported locales, language
// negotiation, and the API's localized messages read from the locales/ message files.
package i18n

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Locale is a supported locale.
type Locale struct {
	Code        string       // BCP 47 code used in the API and in file names: en, ar, ...
	Tag         language.Tag // parsed code
	Dir         string       // text direction: ltr or rtl
	NativeName  string       // the locale's name in itself
	EnglishName string
}

// SourceLocale is the locale messages and protocol content are written in; it is the fallback.
const SourceLocale = "en"

// supported are the six official UN languages, the source locale first.
var supported = []string{"en", "ar", "es", "fr", "ru", "zh"}

// Codes returns the codes of the supported locales, the source locale first.
func Codes() []string { return slices.Clone(supported) }

// Catalog holds the supported locales and their messages.
type Catalog struct {
	locales    []Locale
	byCode     map[string]Locale
	matcher    language.Matcher
	localizers map[string]*i18n.Localizer
	ids        map[string][]string // message ids per locale

	negotiated sync.Map // negotiationKey -> negotiation: clients send the same few headers again and again
	memoized   atomic.Int64
}

type negotiationKey struct{ explicit, accept string }

type negotiation struct {
	locale Locale
	err    error
}

// maxMemoized bounds the negotiation memo; past it, results are computed and not kept.
const maxMemoized = 4096

// New reads the go-i18n message files of every supported locale from fsys (see MessageFiles).
// It returns an error when a <code>.yaml file is missing or a file cannot be parsed.
func New(fsys fs.FS) (*Catalog, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	c := &Catalog{byCode: map[string]Locale{}, localizers: map[string]*i18n.Localizer{}, ids: map[string][]string{}}
	tags := make([]language.Tag, 0, len(supported))
	for _, code := range supported {
		tag := language.MustParse(code)
		files, err := MessageFiles(fsys, code)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			b, err := fs.ReadFile(fsys, file)
			if err != nil {
				return nil, fmt.Errorf("reading messages for %s: %w", code, err)
			}
			mf, err := bundle.ParseMessageFileBytes(b, path.Base(file))
			if err != nil {
				return nil, fmt.Errorf("parsing %s: %w", file, err)
			}
			for _, m := range mf.Messages {
				c.ids[code] = append(c.ids[code], m.ID)
			}
		}
		slices.Sort(c.ids[code])
		dir := "ltr"
		if code == "ar" {
			dir = "rtl"
		}
		l := Locale{Code: code, Tag: tag, Dir: dir, NativeName: display.Self.Name(tag), EnglishName: display.English.Languages().Name(tag)}
		c.locales = append(c.locales, l)
		c.byCode[code] = l
		c.localizers[code] = i18n.NewLocalizer(bundle, code)
		tags = append(tags, tag)
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// MessageFiles names the message files of locale code in fsys: <code>.yaml (the API's messages,
// required) and every <part>.<code>.yaml beside it (for example console.<code>.yaml, the console's
// strings), sorted. It returns an error when <code>.yaml is missing.
func MessageFiles(fsys fs.FS, code string) ([]string, error) {
	if _, err := fs.Stat(fsys, code+".yaml"); err != nil {
		return nil, fmt.Errorf("reading messages for %s: %w", code, err)
	}
	parts, err := fs.Glob(fsys, "*."+code+".yaml")
	if err != nil {
		return nil, fmt.Errorf("listing messages for %s: %w", code, err)
	}
	return append([]string{code + ".yaml"}, parts...), nil
}

// Locales returns the supported locales, the source locale first.
func (c *Catalog) Locales() []Locale { return slices.Clone(c.locales) }

// Locale returns the supported locale with this exact code.
func (c *Catalog) Locale(code string) (Locale, bool) {
	l, ok := c.byCode[code]
	return l, ok
}

// ErrUnsupported is returned by Negotiate when an explicitly requested language is not supported.
var ErrUnsupported = errors.New("language not supported")

// Negotiate chooses the response locale. explicit (the ?lang= parameter) wins when set: a tag that
// matches no supported locale returns ErrUnsupported. Otherwise acceptLanguage is matched and,
// when nothing matches, the source locale is used (the documented fallback).
func (c *Catalog) Negotiate(explicit, acceptLanguage string) (Locale, error) {
	key := negotiationKey{explicit, acceptLanguage}
	if n, ok := c.negotiated.Load(key); ok {
		return n.(negotiation).locale, n.(negotiation).err
	}
	l, err := c.negotiate(explicit, acceptLanguage)
	if len(explicit)+len(acceptLanguage) <= 256 && c.memoized.Load() < maxMemoized {
		// Clone: callers may pass strings that alias a reused request buffer (fasthttp).
		key = negotiationKey{strings.Clone(explicit), strings.Clone(acceptLanguage)}
		if _, loaded := c.negotiated.LoadOrStore(key, negotiation{l, err}); !loaded {
			c.memoized.Add(1)
		}
	}
	return l, err
}

func (c *Catalog) negotiate(explicit, acceptLanguage string) (Locale, error) {
	if explicit != "" {
		tag, err := language.Parse(explicit)
		if err != nil {
			return c.byCode[SourceLocale], ErrUnsupported
		}
		_, i, conf := c.matcher.Match(tag)
		if conf < language.High {
			return c.byCode[SourceLocale], ErrUnsupported
		}
		return c.locales[i], nil
	}
	if acceptLanguage == "" {
		return c.byCode[SourceLocale], nil
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return c.byCode[SourceLocale], nil
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return c.byCode[SourceLocale], nil
	}
	return c.locales[i], nil
}

// Message returns message id in locale with data filled in, falling back to the source locale, and
// to the id itself when the message does not exist anywhere (so a missing message is visible, never fatal).
func (c *Catalog) Message(locale, id string, data map[string]any) string {
	return c.localize(locale, &i18n.LocalizeConfig{MessageID: id, TemplateData: data})
}

// Plural returns the plural message id in locale for count; data may be nil ({{.Count}} is set).
func (c *Catalog) Plural(locale, id string, count int, data map[string]any) string {
	d := map[string]any{"Count": count}
	for k, v := range data {
		d[k] = v
	}
	return c.localize(locale, &i18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: count})
}

func (c *Catalog) localize(locale string, lc *i18n.LocalizeConfig) string {
	lz, ok := c.localizers[locale]
	if !ok {
		lz = c.localizers[SourceLocale]
	}
	s, err := lz.Localize(lc)
	if s == "" && err != nil {
		return lc.MessageID
	}
	return s
}

// MessageIDs returns the sorted message ids of locale's file.
func (c *Catalog) MessageIDs(locale string) []string { return slices.Clone(c.ids[locale]) }

// Completeness returns the share of the source locale's messages that locale translates.
func (c *Catalog) Completeness(locale string) float64 {
	src := c.ids[SourceLocale]
	if len(src) == 0 {
		return 1
	}
	n := 0
	for _, id := range src {
		if _, found := slices.BinarySearch(c.ids[locale], id); found {
			n++
		}
	}
	return float64(n) / float64(len(src))
}

// List joins values for display in a message ("a, b, c").
func List(values []string) string { return strings.Join(values, ", ") }
