package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	base := server(t).base
	tests := []struct {
		name       string
		method     string
		path       string
		body       []byte
		headers    []string
		wantStatus int
		wantCode   string
		wantField  string
	}{
		{name: "unknown protocol", path: "/v1/protocols/no-such-protocol", wantStatus: 404, wantCode: "protocol_not_found"},
		{name: "unknown version", path: "/v1/protocols/digital-evidence/versions/99", wantStatus: 404, wantCode: "version_not_found"},
		{name: "versions of unknown protocol", path: "/v1/protocols/nope/versions", wantStatus: 404, wantCode: "protocol_not_found"},
		{name: "version not a number", path: "/v1/protocols/digital-evidence/versions/one", wantStatus: 400, wantCode: "validation_failed", wantField: "version"},
		{name: "version zero", path: "/v1/protocols/digital-evidence/versions/0", wantStatus: 400, wantCode: "validation_failed", wantField: "version"},
		{name: "unknown route", path: "/v1/nothing-here", wantStatus: 404, wantCode: "route_not_found"},
		{name: "unknown parameter", path: "/v1/protocols?colour=red", wantStatus: 400, wantCode: "validation_failed", wantField: "colour"},
		{name: "repeated parameter", path: "/v1/protocols?kind=support&kind=evidence", wantStatus: 400, wantCode: "validation_failed", wantField: "kind"},
		{name: "bad kind", path: "/v1/protocols?kind=chat", wantStatus: 400, wantCode: "validation_failed", wantField: "kind"},
		{name: "bad age band", path: "/v1/protocols/child-interview?age_band=toddler", wantStatus: 400, wantCode: "validation_failed", wantField: "age_band"},
		{name: "bad case type in list", path: "/v1/protocols/child-interview?case_type=grooming,phishing", wantStatus: 400, wantCode: "validation_failed", wantField: "case_type[1]"},
		{name: "bad need", path: "/v1/protocols/child-interview?needs=wheelchair", wantStatus: 400, wantCode: "validation_failed", wantField: "needs[0]"},
		{name: "limit too large", path: "/v1/protocols?limit=500", wantStatus: 400, wantCode: "validation_failed", wantField: "limit"},
		{name: "limit not a number", path: "/v1/protocols?limit=ten", wantStatus: 400, wantCode: "validation_failed", wantField: "limit"},
		{name: "forged cursor", path: "/v1/protocols?cursor=bm90LWEtY3Vyc29y", wantStatus: 400, wantCode: "validation_failed", wantField: "cursor"},
		{name: "parameter on bundle", path: "/v1/protocols/bundle?age_band=under_6", wantStatus: 400, wantCode: "validation_failed", wantField: "age_band"},
		{name: "unsupported lang parameter", path: "/v1/protocols?lang=de", wantStatus: 406, wantCode: "language_not_supported"},
		{name: "malformed lang parameter", path: "/v1/locales?lang=!!", wantStatus: 406, wantCode: "language_not_supported"},
		{name: "wrong method", method: http.MethodPost, path: "/v1/protocols", wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "delete a protocol", method: http.MethodDelete, path: "/v1/protocols/digital-evidence", wantStatus: 405, wantCode: "method_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			var body *bytes.Reader
			if tt.body != nil {
				body = bytes.NewReader(tt.body)
			} else {
				body = bytes.NewReader(nil)
			}
			r := do(t, base, method, tt.path, body, tt.headers...)
			if r.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			p := r.problem(t)
			if p.Code != tt.wantCode || p.Status != tt.wantStatus || p.Title == "" || p.Detail == "" || p.RequestID != r.header.Get("X-Request-ID") {
				t.Errorf("problem = %+v", p)
			}
			if strings.Contains(p.Detail, "{{") || strings.Contains(p.Detail, "<no value>") {
				t.Errorf("detail has unfilled template data: %q", p.Detail)
			}
			if tt.wantField != "" {
				found := false
				for _, e := range p.Errors {
					found = found || e.Field == tt.wantField && e.Message != "" && !strings.Contains(e.Message, "{{")
				}
				if !found {
					t.Errorf("no field error for %q in %+v", tt.wantField, p.Errors)
				}
			}
		})
	}
}

// A body over BODY_LIMIT_BYTES is refused from its Content-Length, before it is read, with a
// localized problem. (Sent by hand: an HTTP client would fail writing the body the server refuses.)
func TestOversizedBody(t *testing.T) {
	t.Parallel()
	base := server(t).base
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/protocols HTTP/1.1\r\nHost: test\r\nAccept-Language: es\r\nX-Request-ID: big-1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", 2<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := &response{status: resp.StatusCode, header: resp.Header, body: body, raw: body}
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d: %s", r.status, body)
	}
	p := r.problem(t)
	if p.Code != "body_too_large" || p.RequestID != "big-1" || r.header.Get("Content-Language") != "es" || !strings.Contains(p.Detail, "1048576") {
		t.Errorf("problem %+v, Content-Language %q", p, r.header.Get("Content-Language"))
	}
	if err := contract.Components.Schemas["Problem"].Value.VisitJSON(mustJSON(t, body)); err != nil {
		t.Errorf("not a Problem: %v", err)
	}
}

func mustJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return v
}

// Problems are written in the negotiated language, field names included.
func TestProblemsAreLocalized(t *testing.T) {
	t.Parallel()
	base := server(t).base
	english := get(t, base, "/v1/protocols?age_band=toddler").problem(t)
	for _, lang := range []string{"ar", "es", "fr", "ru", "zh"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			r := get(t, base, "/v1/protocols?age_band=toddler", "Accept-Language: "+lang)
			p := r.problem(t)
			if r.header.Get("Content-Language") != lang {
				t.Errorf("Content-Language = %q", r.header.Get("Content-Language"))
			}
			if p.Title == english.Title || p.Detail == english.Detail || p.Errors[0].Message == english.Errors[0].Message {
				t.Errorf("not translated: %+v", p)
			}
			if strings.Contains(p.Errors[0].Message, "age band") {
				t.Errorf("field name left in English: %q", p.Errors[0].Message)
			}
		})
	}
}

func TestConditionalAndCompressedResponses(t *testing.T) {
	t.Parallel()
	base := server(t).base
	paths := []string{
		"/v1/protocols", "/v1/protocols/child-interview", "/v1/protocols/child-interview?age_band=under_6",
		"/v1/protocols/child-interview/versions", "/v1/protocols/child-interview/versions/1", "/v1/protocols/bundle",
		"/v1/locales", "/openapi.yaml", "/v1/schemas/protocol.schema.json", "/v1/schemas/translation.schema.json",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			plain := get(t, base, path, "Accept-Language: fr")
			etag := plain.header.Get("ETag")
			if plain.status != 200 || etag == "" || plain.header.Get("Content-Encoding") != "" {
				t.Fatalf("status %d ETag %q encoding %q", plain.status, etag, plain.header.Get("Content-Encoding"))
			}
			zipped := get(t, base, path, "Accept-Language: fr", "Accept-Encoding: gzip, br")
			if wantGzip := len(plain.raw) >= 1024; (zipped.header.Get("Content-Encoding") == "gzip") != wantGzip || !bytes.Equal(zipped.body, plain.body) || wantGzip && len(zipped.raw) >= len(plain.raw) {
				t.Errorf("gzip: encoding %q, %d bytes for %d", zipped.header.Get("Content-Encoding"), len(zipped.raw), len(plain.raw))
			}
			if zipped.header.Get("ETag") != etag {
				t.Errorf("the ETag changed with the encoding")
			}
			for _, inm := range []string{etag, strings.TrimPrefix(etag, "W/"), `"other", ` + etag, "*"} {
				nm := get(t, base, path, "Accept-Language: fr", "If-None-Match: "+inm)
				if nm.status != http.StatusNotModified || len(nm.raw) != 0 || nm.header.Get("ETag") != etag {
					t.Errorf("If-None-Match %s: status %d, %d bytes", inm, nm.status, len(nm.raw))
				}
			}
			if stale := get(t, base, path, "Accept-Language: fr", `If-None-Match: W/"stale"`); stale.status != 200 {
				t.Errorf("stale ETag answered %d", stale.status)
			}
			vary := strings.Join(plain.header.Values("Vary"), ",")
			if !strings.Contains(vary, "Accept-Language") || !strings.Contains(vary, "Accept-Encoding") || plain.header.Get("Content-Language") != "fr" {
				t.Errorf("Vary %q, Content-Language %q", vary, plain.header.Get("Content-Language"))
			}
		})
	}
	en := get(t, base, "/v1/protocols/child-interview")
	fr := get(t, base, "/v1/protocols/child-interview?lang=fr")
	if en.header.Get("ETag") == fr.header.Get("ETag") {
		t.Error("two languages share an ETag")
	}
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	base := server(t).base
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"client id echoed", "mobile-7f3a.42", true},
		{"none sent: generated", "", false},
		{"unsafe id replaced", "abc def<script>", false},
		{"overlong id replaced", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var headers []string
			if tt.sent != "" {
				headers = append(headers, "X-Request-ID: "+tt.sent)
			}
			got := get(t, base, "/healthz", headers...).header.Get("X-Request-ID")
			if tt.echoed && got != tt.sent || !tt.echoed && (got == "" || got == tt.sent) {
				t.Errorf("X-Request-ID = %q for %q", got, tt.sent)
			}
		})
	}
}

// Access logs carry routes and parameter names, never parameter values (they could identify a child).
func TestAccessLogsCarryNoQueryValues(t *testing.T) {
	t.Parallel()
	s := server(t)
	get(t, s.base, "/v1/protocols/child-interview?age_band=under_6&needs=interpreter", "X-Request-ID: log-check-1")
	get(t, s.base, "/v1/protocols?colour=secret-marker-value", "X-Request-ID: log-check-2")
	logs := s.logs.String()
	for _, id := range []string{"log-check-1", "log-check-2"} {
		if !strings.Contains(logs, `"request_id":"`+id+`"`) {
			t.Errorf("no access log line for %s", id)
		}
	}
	for _, value := range []string{"secret-marker-value", "interpreter", "under_6"} {
		if strings.Contains(logs, value) {
			t.Errorf("the logs contain the query value %q", value)
		}
	}
	if !strings.Contains(logs, `"route":"/v1/protocols/:id"`) {
		t.Error("access logs do not name the route template")
	}
}

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	base := server(t).base
	if r := get(t, base, "/healthz"); r.status != 200 || !strings.Contains(string(r.body), `"ok"`) {
		t.Errorf("healthz: %d %s", r.status, r.body)
	}
	if r := get(t, base, "/readyz"); r.status != 200 || !strings.Contains(string(r.body), `"database":"ok"`) {
		t.Errorf("readyz: %d %s", r.status, r.body)
	}
	get(t, base, "/v1/protocols")
	m := get(t, base, "/metrics")
	for _, want := range []string{`http_requests_total{method="GET",route="/v1/protocols",status="200"}`, "http_request_duration_seconds_bucket", "go_goroutines", "process_resident_memory_bytes"} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if r := get(t, base, "/openapi.yaml"); !bytes.Equal(r.body, openAPI) {
		t.Error("/openapi.yaml does not serve the contract")
	}
}

// TestMethodNotAllowedOnEveryPath sends every path of the contract a method it does not declare: the
// answer is a 405 Problem whose Allow header lists exactly the methods the contract declares there
// (checkContract compares them).
func TestMethodNotAllowedOnEveryPath(t *testing.T) {
	t.Parallel()
	base := server(t).base
	fill := strings.NewReplacer("{", "", "}", "")
	for _, path := range contract.Paths.InMatchingOrder() {
		item := contract.Paths.Value(path)
		method := ""
		for _, m := range []string{http.MethodDelete, http.MethodPut, http.MethodPatch, http.MethodPost} {
			if item.GetOperation(m) == nil {
				method = m
				break
			}
		}
		if method == "" {
			continue
		}
		// A path parameter becomes its own name, which every route segment accepts.
		t.Run(method+" "+path, func(t *testing.T) {
			t.Parallel()
			r := do(t, base, method, fill.Replace(path), nil)
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") == "" {
				t.Errorf("status %d, Allow %q; want 405 with Allow", r.status, r.header.Get("Allow"))
			}
		})
	}
}

// A body whose Content-Length is over BODY_LIMIT_BYTES, sent with Expect: 100-continue, is answered
// 413 at once (no 100 Continue inviting the upload), and oversized bodies are in the access log.
func TestOversizedBodyWithExpectContinue(t *testing.T) {
	t.Parallel()
	s := server(t)
	tests := []struct{ name, expect, requestID string }{
		{"expect 100-continue", "Expect: 100-continue\r\n", "big-continue-1"},
		{"no expectation", "", "big-plain-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /v1/cases HTTP/1.1\r\nHost: test\r\nX-Request-ID: %s\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n",
				tt.requestID, tt.expect, 4<<20)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("first answer %d %s, want 413 before any body is sent", resp.StatusCode, body)
			}
			r := &response{status: resp.StatusCode, header: resp.Header, body: body, raw: body}
			if p := r.problem(t); p.Code != "body_too_large" || p.RequestID != tt.requestID {
				t.Errorf("problem %+v", p)
			}
			logged := false
			for _, line := range strings.Split(s.logs.String(), "\n") {
				logged = logged || strings.Contains(line, `"request_id":"`+tt.requestID+`"`) && strings.Contains(line, `"status":413`)
			}
			if !logged {
				t.Errorf("no access log line for the 413 of %s", tt.requestID)
			}
		})
	}
}
