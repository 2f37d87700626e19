package console

import (
	"github.com/childsafe-protocols/caseguide/internal/audit"

	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/httpapi"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/identity"
)

//go:embed templates/*.html templates/shared/*.html
var templateFS embed.FS

// pageSet holds one template per page, each parsed together with the layout.
type pageSet struct{ byName map[string]*template.Template }

// loadPages parses templates/layout.html and the templates shared by several pages
// (templates/shared/*.html, each defining named templates) with every other template; a page is
// named after its file.
func loadPages() (*pageSet, error) {
	layout, err := fs.ReadFile(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console: reading the layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: listing templates: %w", err)
	}
	sharedFiles, err := fs.Glob(templateFS, "templates/shared/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: listing shared templates: %w", err)
	}
	var shared []string
	for _, file := range sharedFiles {
		b, err := fs.ReadFile(templateFS, file)
		if err != nil {
			return nil, fmt.Errorf("console: reading %s: %w", file, err)
		}
		shared = append(shared, string(b))
	}
	ps := &pageSet{byName: map[string]*template.Template{}}
	for _, file := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		body, err := fs.ReadFile(templateFS, file)
		if err != nil {
			return nil, fmt.Errorf("console: reading %s: %w", file, err)
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		for i := 0; err == nil && i < len(shared); i++ {
			_, err = t.New(sharedFiles[i]).Parse(shared[i])
		}
		if err == nil {
			_, err = t.New(name).Parse(string(body))
		}
		if err != nil {
			return nil, fmt.Errorf("console: parsing %s: %w", file, err)
		}
		ps.byName[name] = t
	}
	return ps, nil
}

// funcs are the templates' helpers beyond view's methods.
var funcs = template.FuncMap{
	// dict makes a map of name, value pairs: the argument of a template taking several values.
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	// deref reads the value a pointer points to (nil: the zero value of float64, bool or int).
	"deref": func(v any) any {
		switch p := v.(type) {
		case *float64:
			if p == nil {
				return 0.0
			}
			return *p
		case *bool:
			return p != nil && *p
		case *int:
			if p == nil {
				return 0
			}
			return *p
		case *time.Time:
			if p == nil {
				return time.Time{}
			}
			return *p
		}
		return v
	},
}

// view is what every template gets: the page's own data (Data) and what the layout needs, with
// methods for localized text (T, Plural), dates (Date, DateTime) and numbers (Num, Percent).
type view struct {
	Title   string // localized, without child data (pages name records by id only)
	Lang    string
	Dir     string
	Nav     []navItem
	User    string // the signed-in username ("" on the sign-in page)
	CSRF    string
	Path    string
	Notice  string // localized notice shown above the content
	Locales []i18n.Locale
	Data    any

	cat     *i18n.Catalog
	printer *message.Printer
	assets  interface{ URL(string) string }
}

// navItem is one entry of the header's navigation.
type navItem struct {
	Href, Label string
	Current     bool
}

// T returns message id in the page's locale; args are name, value pairs for its placeholders.
func (v view) T(id string, args ...any) string {
	return v.cat.Message(v.Lang, id, pairs(args))
}

// Plural returns the plural message id for count in the page's locale.
func (v view) Plural(id string, count int) string {
	return v.cat.Plural(v.Lang, id, count, map[string]any{"Count": v.Num(count)})
}

// Num formats a whole number for the locale (digit grouping, the locale's digits).
func (v view) Num(n int) string { return v.printer.Sprint(number.Decimal(n)) }

// Percent formats a share (0 to 1) as a whole percentage for the locale.
func (v view) Percent(f float64) string {
	return v.printer.Sprint(number.Percent(f, number.MaxFractionDigits(0)))
}

// Date formats t's day (a time.Time or *time.Time) in UTC with the locale's pattern
// (console.format.date).
func (v view) Date(x any) string {
	t := asTime(x)
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(v.cat.Message(v.Lang, "console.format.date", nil))
}

// DateTime formats t (a time.Time or *time.Time) in UTC with the locale's pattern
// (console.format.datetime) and "UTC".
func (v view) DateTime(x any) string {
	t := asTime(x)
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(v.cat.Message(v.Lang, "console.format.datetime", nil)) + " UTC"
}

// ISO formats t (a time.Time or *time.Time) for a datetime attribute.
func (v view) ISO(x any) string { return asTime(x).UTC().Format(time.RFC3339) }

func asTime(x any) time.Time {
	switch t := x.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

// Asset returns the fingerprinted URL of an asset.
func (v view) Asset(name string) string { return v.assets.URL(name) }

func pairs(args []any) map[string]any {
	if len(args) == 0 {
		return nil
	}
	m := make(map[string]any, len(args)/2)
	for i := 0; i+1 < len(args); i += 2 {
		if k, ok := args[i].(string); ok {
			m[k] = args[i+1]
		}
	}
	return m
}

// render writes page name with data in r's locale: title and notice are message ids ("" for none).
func (c *Console) render(r *request, status int, name, title string, data any, notice string) error {
	t, ok := c.pages.byName[name]
	if !ok {
		return errorf("no template %q", name)
	}
	v := c.newView(r, title, data)
	if notice != "" {
		v.Notice = c.deps.Catalog.Message(r.loc.Code, notice, nil)
	}
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		return errorf("rendering %s: %w", name, err)
	}
	r.c.Status(status)
	r.c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	r.c.Set(fiber.HeaderContentLanguage, r.loc.Code)
	r.c.Vary(fiber.HeaderAcceptEncoding)
	if buf.Len() >= 1024 && r.c.Context().Request.Header.HasAcceptEncoding("gzip") {
		var z bytes.Buffer
		zw := gzipPool.Get().(*gzip.Writer)
		zw.Reset(&z)
		_, _ = zw.Write(buf.Bytes())
		_ = zw.Close()
		gzipPool.Put(zw)
		r.c.Set(fiber.HeaderContentEncoding, "gzip")
		return r.c.Send(z.Bytes())
	}
	return r.c.Send(bytes.Clone(buf.Bytes()))
}

var (
	bufPool  = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed); return w }}
)

func (c *Console) newView(r *request, title string, data any) view {
	v := view{Lang: r.loc.Code, Dir: r.loc.Dir, Path: r.c.Path(), Data: data, Locales: c.deps.Catalog.Locales(),
		cat: c.deps.Catalog, printer: message.NewPrinter(r.loc.Tag), assets: c.assets, Nav: c.navFor(r), CSRF: r.csrfToken()}
	if r.signedIn {
		v.User = r.p.Username
	}
	v.Title = c.deps.Catalog.Message(r.loc.Code, title, nil)
	return v
}

type errorData struct {
	Status    int
	Heading   string
	Detail    string
	Fields    []string
	RequestID string
}

// fail answers an error as the console does: sign-in and password-change redirects (303), or a
// localized error page with the status the API would give (403, 404, 409...). Unexpected errors are
// logged with the request id and shown without internals.
func (c *Console) fail(r *request, err error) error {
	switch {
	case errors.Is(err, errSignInFirst):
		next := ""
		if r.c.Method() == fiber.MethodGet {
			next = "?next=" + r.c.Path() // paths carry ids only, never child data
		}
		return r.c.Redirect(Prefix+"/login"+next, fiber.StatusSeeOther)
	case errors.Is(err, errChangePasswordFirst):
		return r.c.Redirect(Prefix+"/password", fiber.StatusSeeOther)
	}
	kind, code, msgID, data := apperr.Internal, "internal", "ErrInternal", map[string]any(nil)
	var fields []apperr.FieldError
	var denial identity.Denial
	var locked *identity.LockedError
	switch e := apperr.As(err); {
	case e != nil:
		kind, code, msgID, data, fields = e.Kind, e.Code, e.MessageID, e.Data, e.Fields
	case errors.As(err, &denial):
		kind, code, msgID = apperr.Unauthorized, denial.Code(), denial.MessageID()
		if denial == identity.ErrForbidden {
			kind = apperr.Forbidden
		}
	case errors.As(err, &locked):
		kind, code, msgID = apperr.TooManyRequests, locked.Code(), locked.MessageID()
		data = map[string]any{"Seconds": int(locked.RetryAfter.Seconds() + 0.999)}
	}
	status := httpapi.StatusOf(kind)
	if status >= 500 {
		c.deps.Log.ErrorContext(r.ctx(), "console request failed", "request_id", audit.RequestID(r.ctx()),
			"route", r.c.Route().Path, "code", code, "error", err.Error())
	}
	cat, loc := c.deps.Catalog, r.loc.Code
	d := errorData{Status: status, Heading: cat.Message(loc, "problem."+kind.String(), nil),
		Detail: cat.Message(loc, msgID, c.labels(loc, data)), RequestID: audit.RequestID(r.ctx())}
	for _, f := range fields {
		d.Fields = append(d.Fields, c.fieldMessage(loc, f))
	}
	return c.render(r, status, "error", "problem."+kind.String(), d, "")
}

// fieldMessage localizes a field error with its field's label (fieldname.<field>, else the name).
func (c *Console) fieldMessage(loc string, f apperr.FieldError) string {
	name := f.Field
	if label := c.deps.Catalog.Message(loc, "fieldname."+f.Field, nil); label != "fieldname."+f.Field {
		name = label
	}
	data := map[string]any{"Field": name}
	maps.Copy(data, c.labels(loc, f.Data))
	return c.deps.Catalog.Message(loc, f.MessageID, data)
}

// labels translates apperr.Label values of data (as the API's problems do).
func (c *Console) labels(loc string, data map[string]any) map[string]any {
	if len(data) == 0 {
		return data
	}
	out := maps.Clone(data)
	for k, v := range data {
		if l, ok := v.(apperr.Label); ok {
			out[k] = c.deps.Catalog.Message(loc, string(l), nil)
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
