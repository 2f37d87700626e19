package i18n

import (
	"testing"
	"testing/fstest"
	"unsafe"
)

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	fsys := fstest.MapFS{}
	for _, code := range supported {
		fsys[code+".yaml"] = &fstest.MapFile{Data: []byte("greeting: hello " + code + "\nduration.hours:\n  one: \"{{.Count}} hour\"\n  other: \"{{.Count}} hours\"\n")}
	}
	delete(fsys, "fr.yaml")
	fsys["fr.yaml"] = &fstest.MapFile{Data: []byte("duration.hours:\n  one: \"{{.Count}} heure\"\n  other: \"{{.Count}} heures\"\n")}
	c, err := New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	c := testCatalog(t)
	tests := []struct {
		name, explicit, accept string
		want                   string
		wantErr                bool
	}{
		{"nothing asked: source locale", "", "", "en", false},
		{"accept-language exact", "", "fr", "fr", false},
		{"accept-language regional variant", "", "es-MX,es;q=0.9", "es", false},
		{"accept-language by quality", "", "de;q=0.9, ar;q=0.8", "ar", false},
		{"accept-language unsupported falls back", "", "de-DE", "en", false},
		{"accept-language garbage falls back", "", ";;;q=x", "en", false},
		{"explicit wins over header", "ru", "fr", "ru", false},
		{"explicit chinese simplified", "zh-Hans", "", "zh", false},
		{"explicit unsupported", "de", "fr", "en", true},
		{"explicit malformed", "no such tag!", "", "en", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.Negotiate(tt.explicit, tt.accept)
			if (err != nil) != tt.wantErr || got.Code != tt.want {
				t.Errorf("Negotiate(%q, %q) = %s, %v; want %s, error %v", tt.explicit, tt.accept, got.Code, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	t.Parallel()
	c := testCatalog(t)
	if got := c.Message("ar", "greeting", nil); got != "hello ar" {
		t.Errorf("ar greeting = %q", got)
	}
	if got := c.Message("fr", "greeting", nil); got != "hello en" {
		t.Errorf("fr greeting should fall back to English, got %q", got)
	}
	if got := c.Message("en", "missing.id", nil); got != "missing.id" {
		t.Errorf("missing id = %q", got)
	}
	if got := c.Plural("fr", "duration.hours", 1, nil); got != "1 heure" {
		t.Errorf("plural one = %q", got)
	}
	if got := c.Plural("fr", "duration.hours", 24, nil); got != "24 heures" {
		t.Errorf("plural other = %q", got)
	}
	if got := c.Completeness("fr"); got != 0.5 {
		t.Errorf("fr completeness = %v, want 0.5", got)
	}
	if l, _ := c.Locale("ar"); l.Dir != "rtl" || l.NativeName == "" {
		t.Errorf("arabic locale = %+v", l)
	}
}

// The memo must not keep the caller's string memory: a buffer reused for the next request (as
// fasthttp does) must not change the key an earlier negotiation is remembered under.
func TestNegotiateCopiesItsKeys(t *testing.T) {
	t.Parallel()
	c := testCatalog(t)
	buf := []byte("fr")
	if l, _ := c.Negotiate("", unsafe.String(&buf[0], len(buf))); l.Code != "fr" {
		t.Fatalf("fr negotiated %s", l.Code)
	}
	copy(buf, "ar") // the request buffer is reused
	c.negotiated.Range(func(k, v any) bool {
		if key, n := k.(negotiationKey), v.(negotiation); key.accept == "ar" && n.locale.Code != "ar" {
			t.Errorf("the memo now says %q negotiates %s", key.accept, n.locale.Code)
		}
		return true
	})
}
