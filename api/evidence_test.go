package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func init() {
	// The printable custody record is HTML: validate it as text against the contract.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

type custodyEvent map[string]any

type evidenceItemBody struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	State struct {
		Status          string `json:"status"`
		LegalHold       bool   `json:"legal_hold"`
		IntegrityFailed bool   `json:"integrity_failed"`
	} `json:"state"`
	Head struct {
		Seq     int64  `json:"seq"`
		Hash    string `json:"hash"`
		Receipt string `json:"receipt"`
	} `json:"head"`
	DerivedFromItemID *string `json:"derived_from_item_id"`
}

type appendedBody struct {
	Event   custodyEvent     `json:"event"`
	Item    evidenceItemBody `json:"item"`
	Receipt struct {
		Token    string `json:"token"`
		Kid      string `json:"kid"`
		Seq      int64  `json:"seq"`
		HeadHash string `json:"head_hash"`
	} `json:"receipt"`
}

type chainReport struct {
	OK           bool `json:"ok"`
	Events       int  `json:"events"`
	FirstProblem *struct {
		Seq  int64
		Kind string
	} `json:"first_problem"`
}

func newPhone(id string) map[string]any {
	return map[string]any{"id": id, "kind": "device", "description": "Phone the child handed over, <b>blue</b> case",
		"identifiers": map[string]any{"make": "Acme", "model": "P7", "serial_number": "SN-Kestrel-8812"}, "exhibit_number": "EX-7",
		"acquisition":     map[string]any{"method": "handover", "acquired_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "place": "Family home, Mill Lane", "write_protected": true},
		"legal_authority": map[string]any{"basis": "consent", "reference": "CF-88"}, "seal_number": "S-500"}
}

func event(typ string, fields map[string]any) map[string]any {
	e := map[string]any{"id": uuid.Must(uuid.NewV7()).String(), "type": typ, "recorded_at": time.Now().UTC().Format(time.RFC3339)}
	for k, v := range fields {
		e[k] = v
	}
	return e
}

// newCaseWithWorker creates a case assigned to a new caseworker and returns the case id and the token.
func newCaseWithWorker(t *testing.T, base string) (string, tokens) {
	t.Helper()
	_, _, worker := newUser(t, "caseworker")
	caseID := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, "/v1/cases", worker.AccessToken, newCase(caseID, "Child E.")); r.status != http.StatusCreated {
		t.Fatalf("create case: %d %s", r.status, r.body)
	}
	return caseID, worker
}

// An item's life from collection to a lab and back: every step through the API, then the chain
// verifies, its receipts check with the published key alone, its hashes recompute from the JSON, and
// it exports as CASE/UCO JSON-LD and as a printable record in Arabic.
func TestEvidenceItemLifeThroughTheAPI(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	_, _, supervisor := newUser(t, "supervisor")
	tok := worker.AccessToken
	itemID := uuid.Must(uuid.NewV7()).String()
	items := "/v1/cases/" + caseID + "/evidence"
	phone := newPhone(itemID)
	r := post(t, base, http.MethodPost, items, tok, phone)
	if r.status != http.StatusCreated {
		t.Fatalf("create item: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, items, tok, phone); r.status != http.StatusOK {
		t.Errorf("repeated create: %d %s", r.status, r.body)
	}
	events := items + "/" + itemID + "/events"
	lab := map[string]any{"name": "R. Okafor", "organisation": "Regional Forensic Lab"}
	me := map[string]any{"user_id": worker.User.ID}
	copyID := uuid.Must(uuid.NewV7()).String()
	steps := []map[string]any{
		event("sealed", map[string]any{"seal_number": "S-501", "seal_intact": true}),
		event("transferred", map[string]any{"from": me, "to": lab, "purpose": "Extraction", "place": "Station"}),
		event("received", map[string]any{"performed_by": lab, "seal_number": "S-501", "seal_intact": true}),
		event("copied", map[string]any{"performed_by": lab, "derived_item": map[string]any{"id": copyID, "kind": "digital_file", "exhibit_number": "EX-7/1",
			"hashes":          []any{map[string]any{"algorithm": "sha256", "value": strings.Repeat("ab", 32)}},
			"acquisition":     map[string]any{"method": "logical_extraction", "tool": "ExtractKit", "tool_version": "4.2", "acquired_at": time.Now().UTC().Format(time.RFC3339)},
			"legal_authority": map[string]any{"basis": "consent"}}}),
		event("analysed", map[string]any{"performed_by": lab, "note": "Report <script>alert(1)</script> filed"}),
		event("transferred", map[string]any{"from": lab, "to": me}),
		event("received", nil),
		event("stored", map[string]any{"place": "Evidence locker 4"}),
	}
	var last appendedBody
	for i, e := range steps {
		r := post(t, base, http.MethodPost, events, tok, e)
		if r.status != http.StatusCreated {
			t.Fatalf("step %d (%s): %d %s", i, e["type"], r.status, r.body)
		}
		r.json(t, &last)
	}
	if r := post(t, base, http.MethodPost, events, tok, steps[2]); r.status != http.StatusOK {
		t.Errorf("a retried event: %d %s", r.status, r.body)
	}
	if last.Item.State.Status != "in_storage" || last.Item.Head.Seq != 9 || last.Receipt.Seq != 9 {
		t.Errorf("after the life: %+v, receipt %+v", last.Item, last.Receipt)
	}
	checkReceipt(t, base, last.Receipt.Token, itemID, last.Receipt.HeadHash)

	auth := "Authorization: Bearer " + tok
	var rep chainReport
	get(t, base, items+"/"+itemID+"/verify?receipt="+last.Receipt.Token, auth).json(t, &rep)
	if !rep.OK || rep.Events != 9 {
		t.Errorf("verify: %+v", rep)
	}
	var caseRep struct {
		OK    bool
		Items []chainReport
	}
	get(t, base, "/v1/cases/"+caseID+"/evidence-verification", "Authorization: Bearer "+supervisor.AccessToken).json(t, &caseRep)
	if !caseRep.OK || len(caseRep.Items) != 2 {
		t.Errorf("case verification: %+v", caseRep)
	}

	// The chain, page by page; every hash recomputes from the JSON with a plain JSON encoder.
	var chain []custodyEvent
	path := events + "?limit=4"
	for path != "" {
		var page struct {
			Items      []custodyEvent `json:"items"`
			NextCursor *string        `json:"next_cursor"`
		}
		get(t, base, path, auth).json(t, &page)
		chain = append(chain, page.Items...)
		path = ""
		if page.NextCursor != nil {
			path = events + "?limit=4&cursor=" + *page.NextCursor
		}
	}
	if len(chain) != 9 {
		t.Fatalf("%d events read", len(chain))
	}
	prev := strings.Repeat("0", 64)
	for _, e := range chain {
		if e["prev_hash"] != prev || recomputeHash(t, e) != e["hash"] {
			t.Errorf("event %v does not recompute: %v", e["seq"], e["hash"])
		}
		prev, _ = e["hash"].(string)
	}

	// The item's digest, sealed into event 1, recomputes from the item's JSON as the README says.
	var item map[string]any
	get(t, base, items+"/"+itemID, auth).json(t, &item)
	if got := recomputeItemDigest(t, item); got != chain[0]["item_digest"] {
		t.Errorf("item digest %s, event 1 seals %v", got, chain[0]["item_digest"])
	}

	// CASE/UCO JSON-LD.
	r = get(t, base, items+"/"+itemID+"/case-uco", auth)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "application/ld+json") {
		t.Fatalf("export: %d %s", r.status, r.header.Get("Content-Type"))
	}
	checkCaseUCO(t, r.body, 9)

	// The printable record, in Arabic, right to left, escaped.
	r = get(t, base, items+"/"+itemID+"/custody-record?lang=ar", auth)
	html := string(r.body)
	if r.status != http.StatusOK || !strings.Contains(html, `dir="rtl"`) || !strings.Contains(html, `lang="ar"`) ||
		!strings.Contains(html, "سجل سلسلة الحيازة") || strings.Contains(html, "<script>") || strings.Contains(html, "<b>") {
		t.Errorf("custody record: %d %.400s", r.status, html)
	}
	r = get(t, base, items+"/"+itemID+"/custody-record?lang=zh", auth)
	if !strings.Contains(string(r.body), "证据保管链记录") || !strings.Contains(string(r.body), `dir="ltr"`) {
		t.Errorf("custody record in Chinese: %.300s", r.body)
	}

	// Every read and write is in the audit log.
	var log struct {
		Items []struct {
			Action     string `json:"action"`
			ResourceID string `json:"resource_id"`
		}
	}
	get(t, base, "/v1/audit?resource_id="+itemID+"&limit=200", "Authorization: Bearer "+supervisor.AccessToken).json(t, &log)
	var actions []string
	for _, e := range log.Items {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"evidence.create", "evidence.append", "evidence.verify", "evidence.events_read", "evidence.export"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the audit log lacks %s: %v", want, actions)
		}
	}
}

// recomputeHash computes an event's hash from its JSON as a third party would: the canonical
// encoding is the event's members (id named event_id, hash left out, "v": 1) with sorted keys and no
// whitespace, which Go's encoder writes for these values.
func recomputeHash(t *testing.T, e custodyEvent) string {
	t.Helper()
	m := map[string]any{"v": 1}
	for k, v := range e {
		switch k {
		case "hash":
		case "id":
			m["event_id"] = v
		default:
			m[k] = v
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// recomputeItemDigest computes an item's digest from its JSON as the README describes.
func recomputeItemDigest(t *testing.T, it map[string]any) string {
	t.Helper()
	acq := it["acquisition"].(map[string]any)
	orEmpty := func(v any) any {
		if v == nil {
			return ""
		}
		return v
	}
	m := map[string]any{"v": 1, "item_id": it["id"], "org_id": it["org_id"], "case_id": it["case_id"], "kind": it["kind"],
		"description": it["description"], "identifiers": it["identifiers"], "exhibit_number": it["exhibit_number"],
		"root_exhibit_number": it["root_exhibit_number"], "derived_from_item_id": orEmpty(it["derived_from_item_id"]), "hashes": it["hashes"],
		"acquisition": map[string]any{"method": acq["method"], "tool": acq["tool"], "tool_version": acq["tool_version"], "by": acq["performed_by"],
			"at": acq["acquired_at"], "place": acq["place"], "write_protected": acq["write_protected"]},
		"legal_authority": it["legal_authority"], "storage_location": it["storage_location"], "seal_number": it["seal_number"],
		"suspected_abuse_material": it["suspected_abuse_material"], "abuse_category": orEmpty(it["abuse_category"]),
		"law_enforcement_reference": it["law_enforcement_reference"], "created_at": it["created_at"], "created_by": it["created_by"]}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return hex.EncodeToString(sum[:])
}

// checkReceipt verifies a receipt with nothing but the key published at /v1/keys.
func checkReceipt(t *testing.T, base, token, itemID, headHash string) {
	t.Helper()
	var keys struct{ Keys []map[string]string }
	get(t, base, "/v1/keys").json(t, &keys)
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("receipt %q is not a compact JWS", token)
	}
	var header struct{ Alg, Kid, Typ string }
	var payload struct {
		ItemID   string `json:"item_id"`
		HeadHash string `json:"head_hash"`
		Seq      int64  `json:"seq"`
	}
	for i, dst := range []any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("receipt part %d: %v", i, err)
		}
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	i := slices.IndexFunc(keys.Keys, func(k map[string]string) bool { return k["kid"] == header.Kid })
	if i < 0 || header.Alg != "EdDSA" {
		t.Fatalf("no published key %q (alg %s)", header.Kid, header.Alg)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(keys.Keys[i]["x"])
	if !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Error("the receipt does not verify with the published key")
	}
	if payload.ItemID != itemID || payload.HeadHash != headHash {
		t.Errorf("receipt payload %+v", payload)
	}
}

// checkCaseUCO checks the export is JSON-LD whose terms all come from declared prefixes, with one
// InvestigativeAction per event, a ProvenanceRecord with the exhibit number and Hash facets.
func checkCaseUCO(t *testing.T, body []byte, events int) {
	t.Helper()
	var doc struct {
		Context map[string]string `json:"@context"`
		Graph   []map[string]any  `json:"@graph"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	for _, p := range []string{"case-investigation", "uco-core", "uco-action", "uco-observable", "uco-types", "xsd", "kb"} {
		if doc.Context[p] == "" {
			t.Errorf("the context does not declare %s", p)
		}
	}
	declared := func(term string) bool {
		prefix, _, ok := strings.Cut(term, ":")
		return ok && doc.Context[prefix] != ""
	}
	counts := map[string]int{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				switch k {
				case "@id":
					if s, _ := x.(string); !declared(s) {
						t.Errorf("@id %v is not a compact IRI of a declared prefix", x)
					}
				case "@type":
					s, _ := x.(string)
					if !declared(s) {
						t.Errorf("@type %v is not declared", x)
					}
					counts[s]++
				case "@value":
				default:
					if !declared(k) {
						t.Errorf("term %s is not declared", k)
					}
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, n := range doc.Graph {
		walk(n)
	}
	if counts["case-investigation:InvestigativeAction"] != events || counts["case-investigation:ProvenanceRecord"] != 1 ||
		counts["case-investigation:Investigation"] != 1 || counts["uco-types:Hash"] < 1 || counts["xsd:hexBinary"] < 1 {
		t.Errorf("node types %v", counts)
	}
	if !bytes.Contains(body, []byte(`"case-investigation:exhibitNumber":"EX-7"`)) {
		t.Error("the provenance record lacks the exhibit number")
	}
}

// Who may do what with evidence: the assigned caseworker and the organisation's supervisors; other
// caseworkers get 404, other roles 403; releasing a legal hold is for supervisors.
func TestEvidenceAuthorization(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	itemID := uuid.Must(uuid.NewV7()).String()
	items := "/v1/cases/" + caseID + "/evidence"
	if r := post(t, base, http.MethodPost, items, worker.AccessToken, newPhone(itemID)); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	_, _, stranger := newUser(t, "caseworker")
	_, _, supervisor := newUser(t, "supervisor")
	callers := map[string]struct {
		token string
		want  int
	}{"assigned caseworker": {worker.AccessToken, 200}, "supervisor": {supervisor.AccessToken, 200}, "unassigned caseworker": {stranger.AccessToken, 404}}
	for _, role := range []string{"content_editor", "admin", "auditor"} {
		_, _, tk := newUser(t, role)
		callers[role] = struct {
			token string
			want  int
		}{tk.AccessToken, 403}
	}
	paths := []string{items, items + "/" + itemID, items + "/" + itemID + "/events", items + "/" + itemID + "/verify",
		items + "/" + itemID + "/case-uco", items + "/" + itemID + "/custody-record", "/v1/cases/" + caseID + "/evidence-verification"}
	for name, c := range callers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, p := range paths {
				if r := get(t, base, p, "Authorization: Bearer "+c.token); r.status != c.want {
					t.Errorf("GET %s: %d, want %d", p, r.status, c.want)
				}
			}
			want := c.want
			if want == 200 {
				want = 201
			}
			if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", c.token, event("accessed", nil)); r.status != want {
				t.Errorf("append: %d, want %d", r.status, want)
			}
		})
	}
	hold := event("legal_hold", map[string]any{"legal_hold": true, "purpose": "Court order"})
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, hold); r.status != http.StatusCreated {
		t.Fatalf("placing a hold: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, event("destroyed", nil)); r.status != http.StatusConflict || r.problem(t).Code != "legal_hold" {
		t.Errorf("destroying under hold: %d %s", r.status, r.body)
	}
	release := event("legal_hold", map[string]any{"legal_hold": false, "purpose": "Order lifted"})
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, release); r.status != http.StatusForbidden {
		t.Errorf("a caseworker releasing a hold: %d", r.status)
	}
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", supervisor.AccessToken, release); r.status != http.StatusCreated {
		t.Errorf("a supervisor releasing a hold: %d %s", r.status, r.body)
	}
}

// Bad evidence input: a problem naming the field, and nothing stored.
func TestBadEvidenceInput(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	tok := worker.AccessToken
	items := "/v1/cases/" + caseID + "/evidence"
	itemID := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, items, tok, newPhone(itemID)); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	itemTests := []struct {
		name   string
		mutate func(map[string]any)
		field  string
	}{
		{"thumbnail", func(b map[string]any) { b["thumbnail"] = "iVBORw0KGgo=" }, "thumbnail"},
		{"content", func(b map[string]any) { b["content"] = "aGVsbG8=" }, "content"},
		{"data URI in a description", func(b map[string]any) { b["description"] = "data:image/png;base64,iVBORw0KGgo=" }, "description"},
		{"invalid uuid", func(b map[string]any) { b["id"] = "not-a-uuid" }, "id"},
		{"unknown kind", func(b map[string]any) { b["kind"] = "hologram" }, "kind"},
		{"wrong type", func(b map[string]any) { b["suspected_abuse_material"] = "yes" }, "suspected_abuse_material"},
		{"bad hash", func(b map[string]any) {
			b["hashes"] = []any{map[string]any{"algorithm": "sha256", "value": "xyz"}}
		}, "hashes.value"},
		{"digital without sha256", func(b map[string]any) { b["kind"] = "screenshot" }, "hashes"},
		{"operator injection", func(b map[string]any) { b["identifiers"] = map[string]any{"serial_number": map[string]any{"$ne": ""}} }, "identifiers.serial_number.$ne"},
		{"flagged with a description", func(b map[string]any) {
			b["kind"], b["suspected_abuse_material"], b["abuse_category"], b["law_enforcement_reference"] = "digital_file", true, "category_a", "ICSE-1"
			b["hashes"] = []any{map[string]any{"algorithm": "sha256", "value": strings.Repeat("0", 64)}}
		}, "description"},
		{"acquired in the future", func(b map[string]any) {
			b["acquisition"].(map[string]any)["acquired_at"] = time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
		}, "acquisition.acquired_at"},
	}
	for _, tt := range itemTests {
		t.Run("item: "+tt.name, func(t *testing.T) {
			t.Parallel()
			id := uuid.Must(uuid.NewV7()).String()
			body := newPhone(id)
			tt.mutate(body)
			r := post(t, base, http.MethodPost, items+"?lang=fr", tok, body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if p := r.problem(t); !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == tt.field }) {
				t.Errorf("no error for %s in %+v", tt.field, p.Errors)
			}
			if r := get(t, base, items+"/"+id, "Authorization: Bearer "+tok); r.status != http.StatusNotFound {
				t.Errorf("the refused item exists: %d", r.status)
			}
		})
	}
	events := items + "/" + itemID + "/events"
	_, _, admin := newUser(t, "admin")
	_, _, colleague := newUser(t, "supervisor")
	eventTests := []struct {
		name  string
		body  any
		field string
	}{
		{"malformed JSON", `{"type":`, "body"},
		{"not an object", `[1]`, "body"},
		{"preview", event("accessed", map[string]any{"preview": "aGk="}), "preview"},
		{"unknown type", event("teleported", nil), "type"},
		{"transfer without a recipient", event("transferred", map[string]any{"from": map[string]any{"user_id": worker.User.ID}}), "to"},
		{"verification of an unknown algorithm", event("hash_verified", map[string]any{"verified_hash": map[string]any{"algorithm": "md5", "value": strings.Repeat("a", 32)}}), "verified_hash.algorithm"},
		{"correction of a future event", event("correction", map[string]any{"corrects_seq": 99, "purpose": "typo"}), "corrects_seq"},
		{"collected is not appended", event("collected", nil), "type"},
		{"wrong type", event("note", map[string]any{"seal_intact": "yes"}), "seal_intact"},
		{"operator injection", event("note", map[string]any{"note": map[string]any{"$gt": ""}}), "note.$gt"},
		{"handed to someone who is no user", event("transferred", map[string]any{"from": map[string]any{"user_id": worker.User.ID}, "to": map[string]any{"user_id": uuid.NewString()}}), "to.user_id"},
		{"performed by someone who handles no cases", event("accessed", map[string]any{"performed_by": map[string]any{"user_id": admin.User.ID}}), "performed_by.user_id"},
	}
	for _, tt := range eventTests {
		t.Run("event: "+tt.name, func(t *testing.T) {
			r := post(t, base, http.MethodPost, events+"?lang=ru", tok, tt.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if p := r.problem(t); !slices.ContainsFunc(p.Errors, func(e struct{ Field, Code, Message string }) bool { return e.Field == tt.field }) {
				t.Errorf("no error for %s in %+v", tt.field, p.Errors)
			}
		})
	}
	var page struct{ Items []custodyEvent }
	get(t, base, events, "Authorization: Bearer "+tok).json(t, &page)
	if len(page.Items) != 1 {
		t.Errorf("refused events were stored: %d events", len(page.Items))
	}
	handOver := event("transferred", map[string]any{"from": map[string]any{"user_id": worker.User.ID}, "to": map[string]any{"user_id": colleague.User.ID}})
	if r := post(t, base, http.MethodPost, events, tok, handOver); r.status != http.StatusCreated {
		t.Errorf("a transfer to a supervisor of the organisation: %d %s", r.status, r.body)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?cursor=bogus", "?since=1"} {
		if r := get(t, base, events+q, "Authorization: Bearer "+tok); r.status != http.StatusBadRequest {
			t.Errorf("GET events%s: %d", q, r.status)
		}
	}
	if r := get(t, base, items+"/not-a-uuid", "Authorization: Bearer "+tok); r.status != http.StatusNotFound {
		t.Errorf("an invalid item id: %d", r.status)
	}
}

// Evidence free text and identifiers are encrypted in the database the service runs on.
func TestEvidenceEncryptedAtRest(t *testing.T) {
	t.Parallel()
	s := server(t)
	caseID, worker := newCaseWithWorker(t, s.base)
	itemID := uuid.Must(uuid.NewV7()).String()
	if r := post(t, s.base, http.MethodPost, "/v1/cases/"+caseID+"/evidence", worker.AccessToken, newPhone(itemID)); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	note := "Marmot-note-3319"
	if r := post(t, s.base, http.MethodPost, "/v1/cases/"+caseID+"/evidence/"+itemID+"/events", worker.AccessToken,
		event("note", map[string]any{"note": note, "place": "Ptarmigan Street"})); r.status != http.StatusCreated {
		t.Fatalf("append: %d %s", r.status, r.body)
	}
	db := rawDatabase(t, s)
	secrets := []string{"SN-Kestrel-8812", "Mill Lane", "CF-88", "EX-7", "S-500", note, "Ptarmigan Street", "blue</b> case"}
	for _, coll := range []string{"evidence_items", "evidence_events"} {
		cur, err := db.Collection(coll).Find(context.Background(), bson.D{{Key: "case_id", Value: caseID}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for cur.Next(context.Background()) {
			n++
			for _, secret := range secrets {
				if bytes.Contains(cur.Current, []byte(secret)) {
					t.Errorf("%s holds %q in clear", coll, secret)
				}
			}
		}
		if n == 0 {
			t.Errorf("no documents in %s", coll)
		}
	}
}

// Closing a case never ends its evidence logs: events are still appended and the chain verifies;
// only new items are refused.
func TestEvidenceOutlivesCaseClosure(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	items := "/v1/cases/" + caseID + "/evidence"
	itemID := uuid.Must(uuid.NewV7()).String()
	if r := post(t, base, http.MethodPost, items, worker.AccessToken, newPhone(itemID)); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, "/v1/cases/"+caseID+"/close", worker.AccessToken, map[string]any{"version": 1, "reason": "Investigation ended"}); r.status != http.StatusOK {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, event("returned", map[string]any{"to": map[string]any{"name": "The family"}})); r.status != http.StatusCreated {
		t.Errorf("returning an item of a closed case: %d %s", r.status, r.body)
	}
	var rep chainReport
	get(t, base, items+"/"+itemID+"/verify", "Authorization: Bearer "+worker.AccessToken).json(t, &rep)
	if !rep.OK || rep.Events != 2 {
		t.Errorf("verify after closing: %+v", rep)
	}
	if r := post(t, base, http.MethodPost, items, worker.AccessToken, newPhone(uuid.Must(uuid.NewV7()).String())); r.status != http.StatusBadRequest || r.problem(t).Code != "case_closed" {
		t.Errorf("a new item on a closed case: %d %s", r.status, r.body)
	}
}

// An item flagged as suspected abuse material holds hashes, the category and the law-enforcement
// reference, and nothing that describes it, in the API, the export and the record.
func TestAbuseMaterialRecordsOnlyHashes(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	items := "/v1/cases/" + caseID + "/evidence"
	itemID := uuid.Must(uuid.NewV7()).String()
	flagged := map[string]any{"id": itemID, "kind": "digital_file", "suspected_abuse_material": true, "abuse_category": "category_b",
		"law_enforcement_reference": "ICSE-2026-0042", "exhibit_number": "LE-9",
		"hashes":          []any{map[string]any{"algorithm": "sha256", "value": strings.Repeat("c", 64)}, map[string]any{"algorithm": "pdq", "value": strings.Repeat("d", 64)}},
		"acquisition":     map[string]any{"method": "download", "acquired_at": time.Now().UTC().Format(time.RFC3339)},
		"legal_authority": map[string]any{"basis": "warrant"}}
	if r := post(t, base, http.MethodPost, items, worker.AccessToken, flagged); r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	for name, e := range map[string]map[string]any{
		"a note":    event("accessed", map[string]any{"note": "shows"}),
		"a preview": event("accessed", map[string]any{"preview": "iVBORw0KGgo="}),
	} {
		if r := post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, e); r.status != http.StatusBadRequest {
			t.Errorf("%s on a flagged item: %d", name, r.status)
		}
	}
	auth := "Authorization: Bearer " + worker.AccessToken
	r := get(t, base, items+"/"+itemID+"/case-uco", auth)
	if !bytes.Contains(r.body, []byte(`"cg:abuseCategory":"category_b"`)) || !bytes.Contains(r.body, []byte(`"cg:lawEnforcementReference":"ICSE-2026-0042"`)) {
		t.Errorf("export: %.300s", r.body)
	}
	r = get(t, base, items+"/"+itemID+"/custody-record?lang=es", auth)
	if !strings.Contains(string(r.body), "ICSE-2026-0042") || !strings.Contains(string(r.body), "Presunto material de abuso") {
		t.Errorf("record: %.300s", r.body)
	}
}

// Tampering with the service's own database is found through the API: a deleted event in the
// middle (gap) and an edited one (hash mismatch).
func TestEvidenceTamperingFoundThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := server(t)
	caseID, worker := newCaseWithWorker(t, s.base)
	items := "/v1/cases/" + caseID + "/evidence"
	auth := "Authorization: Bearer " + worker.AccessToken
	db := rawDatabase(t, s)
	raw := db.Collection("evidence_events")
	tests := []struct {
		name   string
		tamper func(itemID string) error
		kind   string
	}{
		{"delete", func(itemID string) error {
			_, err := raw.DeleteOne(context.Background(), bson.D{{Key: "_id", Value: itemID + ":000000000002"}})
			return err
		}, "gap"},
		{"edit", func(itemID string) error {
			_, err := raw.UpdateOne(context.Background(), bson.D{{Key: "_id", Value: itemID + ":000000000002"}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "seal_intact", Value: true}}}})
			return err
		}, "hash_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			itemID := uuid.Must(uuid.NewV7()).String()
			if r := post(t, s.base, http.MethodPost, items, worker.AccessToken, newPhone(itemID)); r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			for _, e := range []map[string]any{event("sealed", map[string]any{"seal_number": "S-2", "seal_intact": false}), event("stored", nil)} {
				if r := post(t, s.base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, e); r.status != http.StatusCreated {
					t.Fatalf("append: %d %s", r.status, r.body)
				}
			}
			if err := tt.tamper(itemID); err != nil {
				t.Fatal(err)
			}
			var rep chainReport
			get(t, s.base, items+"/"+itemID+"/verify", auth).json(t, &rep)
			if rep.OK || rep.FirstProblem == nil || rep.FirstProblem.Kind != tt.kind || rep.FirstProblem.Seq != 2 {
				t.Errorf("report %+v %+v, want %s at 2", rep, rep.FirstProblem, tt.kind)
			}
			var caseRep struct{ OK bool }
			get(t, s.base, "/v1/cases/"+caseID+"/evidence-verification", auth).json(t, &caseRep)
			if caseRep.OK {
				t.Error("the case's evidence verifies after tampering")
			}
		})
	}
}

// A case's items come a page at a time, oldest first, and every item exactly once.
func TestEvidenceItemsPaged(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	items := "/v1/cases/" + caseID + "/evidence"
	var created []string
	for range 5 {
		id := uuid.Must(uuid.NewV7()).String()
		if r := post(t, base, http.MethodPost, items, worker.AccessToken, newPhone(id)); r.status != http.StatusCreated {
			t.Fatalf("create item: %d %s", r.status, r.body)
		}
		created = append(created, id)
	}
	var seen []string
	pages := 0
	for next := items + "?limit=2"; next != ""; pages++ {
		r := get(t, base, next, "Authorization: Bearer "+worker.AccessToken)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", next, r.status, r.body)
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		r.json(t, &page)
		for _, it := range page.Items {
			seen = append(seen, it.ID)
		}
		next = ""
		if page.NextCursor != nil {
			next = items + "?limit=2&cursor=" + *page.NextCursor
		}
	}
	if pages != 3 || !slices.Equal(seen, created) {
		t.Fatalf("%d pages gave %v, want 3 pages giving %v", pages, seen, created)
	}
	for _, bad := range []string{"?cursor=bm9wZQ", "?limit=0", "?limit=201", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("k:not a key"))} {
		if r := get(t, base, items+bad, "Authorization: Bearer "+worker.AccessToken); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, r.status)
		}
	}
}

// An item whose hash check failed does not verify, though its chain is intact: ok is false, integrity
// is failed and the first problem names the hash_verified event; the case's verification says so too.
func TestEvidenceIntegrityFailureIsReported(t *testing.T) {
	t.Parallel()
	base := server(t).base
	caseID, worker := newCaseWithWorker(t, base)
	auth := "Authorization: Bearer " + worker.AccessToken
	items := "/v1/cases/" + caseID + "/evidence"
	tests := []struct {
		name, value string
		ok          bool
		integrity   string
	}{
		{"hash matches", strings.Repeat("ab", 32), true, "intact"},
		{"hash differs", strings.Repeat("cd", 32), false, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			itemID := uuid.Must(uuid.NewV7()).String()
			file := newPhone(itemID)
			file["kind"] = "digital_file"
			file["hashes"] = []any{map[string]any{"algorithm": "sha256", "value": strings.Repeat("ab", 32)}}
			mustStatus(t, post(t, base, http.MethodPost, items, worker.AccessToken, file), http.StatusCreated)
			check := event("hash_verified", map[string]any{"verified_hash": map[string]any{"algorithm": "sha256", "value": tt.value}})
			mustStatus(t, post(t, base, http.MethodPost, items+"/"+itemID+"/events", worker.AccessToken, check), http.StatusCreated)
			var rep struct {
				chainReport
				Integrity string `json:"integrity"`
			}
			get(t, base, items+"/"+itemID+"/verify", auth).json(t, &rep)
			if rep.OK != tt.ok || rep.Integrity != tt.integrity {
				t.Errorf("verify: ok %v integrity %q, want %v %q", rep.OK, rep.Integrity, tt.ok, tt.integrity)
			}
			if !tt.ok && (rep.FirstProblem == nil || rep.FirstProblem.Kind != "integrity_failed" || rep.FirstProblem.Seq != 2) {
				t.Errorf("first problem %+v, want integrity_failed at 2", rep.FirstProblem)
			}
			var caseRep struct {
				OK    bool
				Items []struct {
					ItemID    string `json:"item_id"`
					OK        bool
					Integrity string
				}
			}
			get(t, base, "/v1/cases/"+caseID+"/evidence-verification", auth).json(t, &caseRep)
			for _, it := range caseRep.Items {
				if it.ItemID == itemID && (it.OK != tt.ok || it.Integrity != tt.integrity) {
					t.Errorf("case verification of the item: %+v", it)
				}
			}
			if !tt.ok && caseRep.OK {
				t.Error("the case's evidence verifies with an item that failed its hash check")
			}
		})
	}
}
