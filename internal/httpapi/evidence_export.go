package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/evidence"
	"github.com/childsafe-protocols/caseguide/internal/i18n"
)

// caseUCOContext is the JSON-LD context of the CASE/UCO export: the published CASE 1.x and UCO 1.x
// namespaces, and this service's own terms for the hash chain (cg:).
var caseUCOContext = map[string]any{
	"kb":                 "urn:caseguide:kb:",
	"cg":                 "urn:caseguide:ontology:",
	"case-investigation": "https://ontology.caseontology.org/case/investigation/",
	"uco-action":         "https://ontology.unifiedcyberontology.org/uco/action/",
	"uco-core":           "https://ontology.unifiedcyberontology.org/uco/core/",
	"uco-identity":       "https://ontology.unifiedcyberontology.org/uco/identity/",
	"uco-location":       "https://ontology.unifiedcyberontology.org/uco/location/",
	"uco-observable":     "https://ontology.unifiedcyberontology.org/uco/observable/",
	"uco-tool":           "https://ontology.unifiedcyberontology.org/uco/tool/",
	"uco-types":          "https://ontology.unifiedcyberontology.org/uco/types/",
	"uco-vocabulary":     "https://ontology.unifiedcyberontology.org/uco/vocabulary/",
	"xsd":                "http://www.w3.org/2001/XMLSchema#",
}

// hashMethods maps hash algorithms to UCO's HashNameVocab (pdq has no entry there: a plain string).
var hashMethods = map[string]string{"md5": "MD5", "sha1": "SHA1", "sha256": "SHA256", "sha512": "SHA512", "sha3_256": "SHA3-256"}

func ref(id string) map[string]any { return map[string]any{"@id": id} }

func typed(t, v string) map[string]any { return map[string]any{"@type": t, "@value": v} }

func xsdTime(t time.Time) map[string]any {
	return typed("xsd:dateTime", t.UTC().Format(evidence.TimeLayout))
}

func ucoHash(id string, h evidence.Hash) map[string]any {
	var method any = strings.ToUpper(h.Algorithm)
	if m, ok := hashMethods[h.Algorithm]; ok {
		method = typed("uco-vocabulary:HashNameVocab", m)
	}
	return map[string]any{"@id": id, "@type": "uco-types:Hash", "uco-types:hashMethod": method,
		"uco-types:hashValue": typed("xsd:hexBinary", h.Value)}
}

// caseUCOGraph builds the export: the investigation (the case), the item as an observable with its
// hash facet, its provenance record (exhibit and root exhibit numbers), and one InvestigativeAction
// per custody event (performer, location, instrument, object, result, time), each carrying its place
// in the hash chain (cg:seq, cg:previousHash, cg:chainHash). Items flagged as suspected abuse
// material carry hashes, the category and the law-enforcement reference only.
func caseUCOGraph(it evidence.Item, events []evidence.Event, rep evidence.Report) map[string]any {
	var graph []any
	seen := map[string]bool{}
	add := func(node map[string]any) {
		if id, _ := node["@id"].(string); !seen[id] {
			seen[id] = true
			graph = append(graph, node)
		}
	}
	itemID := "kb:evidence-item-" + it.ID
	recordID := "kb:provenance-record-" + it.ID
	party := func(p evidence.Party) string {
		if p.IsZero() {
			return ""
		}
		if p.UserID != "" {
			id := "kb:identity-user-" + p.UserID
			add(map[string]any{"@id": id, "@type": "uco-identity:Identity", "uco-core:name": p.UserID})
			return id
		}
		sum := sha256.Sum256([]byte(p.Name + "\x00" + p.Organisation))
		id := "kb:identity-person-" + hex.EncodeToString(sum[:8])
		person := map[string]any{"@id": id, "@type": "uco-identity:Person", "uco-core:name": p.Name}
		if p.Organisation != "" {
			person["uco-core:description"] = p.Organisation
		}
		add(person)
		return id
	}
	location := func(key, place string) string {
		if place == "" {
			return ""
		}
		id := "kb:location-" + key
		add(map[string]any{"@id": id, "@type": "uco-location:Location", "uco-core:description": place})
		return id
	}

	actions := []any{}
	for _, e := range events {
		actions = append(actions, ref(fmt.Sprintf("kb:investigative-action-%s-%d", it.ID, e.Seq)))
	}
	add(map[string]any{"@id": "kb:investigation-" + it.CaseID, "@type": "case-investigation:Investigation",
		"uco-core:name": "Case " + it.CaseID, "case-investigation:focus": "Chain of custody of evidence item " + it.ID,
		"uco-core:object": append([]any{ref(recordID)}, actions...)})

	hashes := []any{}
	for _, h := range it.Hashes {
		hashes = append(hashes, ucoHash(fmt.Sprintf("kb:hash-%s-%s", it.ID, h.Algorithm), h))
	}
	facets := []any{map[string]any{"@id": "kb:content-data-facet-" + it.ID, "@type": "uco-observable:ContentDataFacet", "uco-observable:hash": hashes}}
	itemType := "uco-observable:ObservableObject"
	switch it.Kind {
	case evidence.KindDevice:
		itemType = "uco-observable:Device"
		if id := it.Identifiers; id.Model != "" || id.SerialNumber != "" {
			facets = append(facets, map[string]any{"@id": "kb:device-facet-" + it.ID, "@type": "uco-observable:DeviceFacet",
				"uco-observable:model": id.Model, "uco-observable:serialNumber": id.SerialNumber})
		}
	case evidence.KindDigitalFile, evidence.KindScreenshot, evidence.KindChatExport, evidence.KindRecording:
		itemType = "uco-observable:File"
	case evidence.KindURL:
		itemType = "uco-observable:URL"
		if it.Identifiers.URL != "" {
			facets = append(facets, map[string]any{"@id": "kb:url-facet-" + it.ID, "@type": "uco-observable:URLFacet", "uco-observable:fullValue": it.Identifiers.URL})
		}
	case evidence.KindOnlineAccount:
		itemType = "uco-observable:DigitalAccount"
	}
	item := map[string]any{"@id": itemID, "@type": itemType, "uco-core:hasFacet": facets, "cg:kind": string(it.Kind)}
	if it.SuspectedAbuseMaterial {
		item["cg:suspectedAbuseMaterial"] = true
		item["cg:abuseCategory"] = it.AbuseCategory
		item["cg:lawEnforcementReference"] = it.LawEnforcementReference
	} else if it.Description != "" {
		item["uco-core:description"] = it.Description
	}
	add(item)

	record := map[string]any{"@id": recordID, "@type": "case-investigation:ProvenanceRecord", "uco-core:object": []any{ref(itemID)},
		"cg:chainVerified": rep.OK, "cg:headSequence": rep.HeadSeq}
	if it.ExhibitNumber != "" {
		record["case-investigation:exhibitNumber"] = it.ExhibitNumber
	}
	if root := cmpString(it.RootExhibitNumber, it.ExhibitNumber); root != "" {
		record["case-investigation:rootExhibitNumber"] = root
	}
	if it.Head.Receipt != "" {
		record["cg:signedHeadReceipt"] = it.Head.Receipt
	}
	add(record)
	if it.DerivedFromItemID != "" {
		add(map[string]any{"@id": "kb:relationship-derived-" + it.ID, "@type": "uco-observable:ObservableRelationship",
			"uco-core:source": ref(itemID), "uco-core:target": ref("kb:evidence-item-" + it.DerivedFromItemID),
			"uco-core:kindOfRelationship": "Derived_From", "uco-core:isDirectional": true})
	}

	for _, e := range events {
		id := fmt.Sprintf("kb:investigative-action-%s-%d", it.ID, e.Seq)
		a := map[string]any{"@id": id, "@type": "case-investigation:InvestigativeAction", "uco-core:name": string(e.Type),
			"uco-action:startTime": xsdTime(e.RecordedAt), "cg:receivedTime": xsdTime(e.ReceivedAt),
			"uco-action:object": []any{ref(itemID)}, "uco-action:result": []any{ref(recordID)},
			"cg:sequence": e.Seq, "cg:eventId": e.ID, "cg:recordedBy": e.RecordedBy,
			"cg:previousHash": ucoHash(id+"-previous-hash", evidence.Hash{Algorithm: "sha256", Value: e.PrevHash}),
			"cg:chainHash":    ucoHash(id+"-chain-hash", evidence.Hash{Algorithm: "sha256", Value: e.Hash})}
		if p := party(e.PerformedBy); p != "" {
			a["uco-action:performer"] = ref(p)
		}
		if l := location(fmt.Sprintf("%s-%d", it.ID, e.Seq), e.Place); l != "" {
			a["uco-action:location"] = ref(l)
		}
		if e.Seq == 1 && it.Acquisition.Tool != "" {
			tool := "kb:tool-" + it.ID
			add(map[string]any{"@id": tool, "@type": "uco-tool:Tool", "uco-core:name": it.Acquisition.Tool, "uco-tool:version": it.Acquisition.ToolVersion})
			a["uco-action:instrument"] = ref(tool)
		}
		if desc := strings.TrimSpace(strings.Join([]string{e.Purpose, e.Note}, "\n")); desc != "" {
			a["uco-core:description"] = desc
		}
		if p := party(e.From); p != "" {
			a["cg:releasedBy"] = ref(p)
		}
		if p := party(e.To); p != "" {
			a["cg:receivedBy"] = ref(p)
		}
		if e.SealNumber != "" {
			a["cg:sealNumber"] = e.SealNumber
		}
		if e.SealIntact != nil {
			a["cg:sealIntact"] = *e.SealIntact
		}
		if e.Verified != nil {
			a["cg:verifiedHash"] = ucoHash(id+"-verified-hash", *e.Verified)
			a["cg:hashMatches"] = e.Matches != nil && *e.Matches
		}
		if e.DerivedItem != "" {
			a["uco-action:result"] = []any{ref(recordID), ref("kb:evidence-item-" + e.DerivedItem)}
		}
		if e.CorrectsSeq != 0 {
			a["cg:corrects"] = ref(fmt.Sprintf("kb:investigative-action-%s-%d", it.ID, e.CorrectsSeq))
		}
		if e.Hold != nil {
			a["cg:legalHold"] = *e.Hold
		}
		add(a)
	}
	return map[string]any{"@context": caseUCOContext, "@graph": graph}
}

func cmpString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// exportCaseUCO answers GET /v1/cases/{id}/evidence/{item}/case-uco: the item's chain as a CASE/UCO
// JSON-LD document (application/ld+json).
func (s *Server) exportCaseUCO(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	it, events, rep, err := s.deps.Evidence.Chain(c.UserContext(), principal(c), c.Params("id"), c.Params("item"))
	if err != nil {
		return err
	}
	b, err := CaseUCODocument(it, events, rep)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "application/ld+json")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="custody-`+it.ID+`.jsonld"`)
	return c.Send(b)
}

// CaseUCODocument encodes an item's chain (as evidence.Service.Chain returns it) as the CASE/UCO
// JSON-LD document GET /v1/cases/{id}/evidence/{item}/case-uco serves. It returns the encoder's
// error.
func CaseUCODocument(it evidence.Item, events []evidence.Event, rep evidence.Report) ([]byte, error) {
	return jsonEncode(caseUCOGraph(it, events, rep))
}

// custodyRecordStyle is the record's style sheet (see CustodyRecordStyle).
const custodyRecordStyle = `body{font-family:system-ui,sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #777;padding:.3em .5em;text-align:start;vertical-align:top;font-size:.9em}
th{background:#eee}
.hash{font-family:monospace;font-size:.75em;word-break:break-all}
.ok{color:#064}.bad{color:#a00;font-weight:bold}
.sign td{height:3em}
@media print{body{margin:1cm}}
`

// custodyRecordTemplate is the printable chain-of-custody record. html/template escapes every
// value (all user text goes through {{.}}); labels come from the message catalog.
var custodyRecordTemplate = template.Must(template.New("record").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}" dir="{{.Dir}}">
<head>
<meta charset="utf-8">
<title>{{.L.Title}} {{.Item.ExhibitNumber}}</title>
<style>
` + custodyRecordStyle + `</style>
</head>
<body>
<h1>{{.L.Title}}</h1>
<table>
<tr><th>{{.L.Case}}</th><td>{{.Item.CaseID}}</td></tr>
<tr><th>{{.L.Item}}</th><td>{{.Item.ID}}</td></tr>
<tr><th>{{.L.Kind}}</th><td>{{.KindLabel}}</td></tr>
<tr><th>{{.L.Exhibit}}</th><td>{{.Item.ExhibitNumber}}</td></tr>
<tr><th>{{.L.RootExhibit}}</th><td>{{.Item.RootExhibitNumber}}</td></tr>
{{if .Item.SuspectedAbuseMaterial}}<tr><th>{{.L.AbuseMaterial}}</th><td>{{.Item.AbuseCategory}} — {{.Item.LawEnforcementReference}}</td></tr>
{{else}}<tr><th>{{.L.Description}}</th><td>{{.Item.Description}}</td></tr>
<tr><th>{{.L.Identifiers}}</th><td>{{range .Identifiers}}{{.}}<br>{{end}}</td></tr>{{end}}
<tr><th>{{.L.Hashes}}</th><td>{{range .Item.Hashes}}<div class="hash">{{.Algorithm}}: {{.Value}}</div>{{end}}</td></tr>
<tr><th>{{.L.Acquisition}}</th><td>{{.Item.Acquisition.Method}} · {{.Item.Acquisition.Tool}} {{.Item.Acquisition.ToolVersion}} · {{.AcquiredAt}}</td></tr>
<tr><th>{{.L.Authority}}</th><td>{{.Item.Authority.Basis}} {{.Item.Authority.Reference}}</td></tr>
<tr><th>{{.L.Status}}</th><td>{{.StatusLabel}}{{if .Item.State.LegalHold}} · {{.L.LegalHold}}{{end}}{{if .Item.State.IntegrityFailed}} · <span class="bad">{{.L.IntegrityFailed}}</span>{{end}}</td></tr>
<tr><th>{{.L.Storage}}</th><td>{{.Item.State.StorageLocation}}</td></tr>
<tr><th>{{.L.Seal}}</th><td>{{.Item.State.SealNumber}}</td></tr>
</table>
<h2>{{.L.Events}}</h2>
<table>
<tr><th>{{.L.Seq}}</th><th>{{.L.Type}}</th><th>{{.L.When}}</th><th>{{.L.By}}</th><th>{{.L.FromTo}}</th><th>{{.L.Place}}</th><th>{{.L.Purpose}}</th><th>{{.L.Seal}}</th><th>{{.L.Hash}}</th></tr>
{{range .Events}}<tr><td>{{.Seq}}</td><td>{{.TypeLabel}}</td><td>{{.RecordedAt}}<br><small>{{.ReceivedAt}}</small></td><td>{{.By}}</td><td>{{.FromTo}}</td><td>{{.Place}}</td><td>{{.Purpose}}</td><td>{{.Seal}}</td><td class="hash">{{.Hash}}</td></tr>
{{end}}</table>
<p class="{{if .Report.OK}}ok{{else}}bad{{end}}">{{.Verification}}</p>
<p>{{.ReceiptLine}}</p>
<table class="sign">
<tr><th>{{.L.ReleasedBy}}</th><th>{{.L.ReceivedBy}}</th><th>{{.L.Date}}</th></tr>
<tr><td></td><td></td><td></td></tr>
</table>
<p><small>{{.Generated}}</small></p>
</body>
</html>
`))

type recordLabels struct {
	Title, Case, Item, Kind, Exhibit, RootExhibit, AbuseMaterial, Description, Identifiers, Hashes, Acquisition, Authority,
	Status, LegalHold, IntegrityFailed, Storage, Seal, Events, Seq, Type, When, By, FromTo, Place, Purpose, Hash,
	ReleasedBy, ReceivedBy, Date string
}

type recordEvent struct {
	Seq                                                                       int64
	TypeLabel, RecordedAt, ReceivedAt, By, FromTo, Place, Purpose, Seal, Hash string
}

type recordPage struct {
	Lang, Dir                                                     string
	L                                                             recordLabels
	Item                                                          evidence.Item
	KindLabel, StatusLabel, AcquiredAt, Verification, ReceiptLine string
	Generated                                                     string
	Identifiers                                                   []string
	Events                                                        []recordEvent
	Report                                                        evidence.Report
}

func partyText(p evidence.Party) string {
	switch {
	case p.IsZero():
		return ""
	case p.UserID != "":
		return p.UserID
	case p.Organisation != "":
		return p.Name + " (" + p.Organisation + ")"
	}
	return p.Name
}

// custodyRecord answers GET /v1/cases/{id}/evidence/{item}/custody-record: a printable HTML
// chain-of-custody record in the negotiated language (right to left for Arabic).
func (s *Server) custodyRecord(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	it, events, rep, err := s.deps.Evidence.Chain(c.UserContext(), principal(c), c.Params("id"), c.Params("item"))
	if err != nil {
		return err
	}
	b, err := CustodyRecordHTML(s.deps.Catalog, s.locale(c), it, events, rep, time.Now())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	return c.Send(b)
}

// CustodyRecordStyle is the printable record's only style sheet, inline in its head: a page that
// serves the record under a Content-Security-Policy allows it by this text's hash.
const CustodyRecordStyle = custodyRecordStyle

// CustodyRecordHTML renders an item's chain (as evidence.Service.Chain returns it) as the printable
// chain-of-custody record GET /v1/cases/{id}/evidence/{item}/custody-record serves, in locale loc,
// printed at now. It returns the template's error.
func CustodyRecordHTML(cat *i18n.Catalog, loc i18n.Locale, it evidence.Item, events []evidence.Event, rep evidence.Report, now time.Time) ([]byte, error) {
	m := func(id string, data map[string]any) string {
		return cat.Message(loc.Code, "evidence.record."+id, data)
	}
	t := func(x time.Time) string { return x.UTC().Format("2006-01-02 15:04:05Z") }
	page := recordPage{Lang: loc.Code, Dir: loc.Dir, Item: it, Report: rep,
		L: recordLabels{Title: m("title", nil), Case: m("case", nil), Item: m("item", nil), Kind: m("kind", nil), Exhibit: m("exhibit", nil),
			RootExhibit: m("root_exhibit", nil), AbuseMaterial: m("abuse_material", nil), Description: m("description", nil),
			Identifiers: m("identifiers", nil), Hashes: m("hashes", nil), Acquisition: m("acquisition", nil), Authority: m("authority", nil),
			Status: m("status", nil), LegalHold: m("legal_hold", nil), IntegrityFailed: m("integrity_failed", nil), Storage: m("storage", nil),
			Seal: m("seal", nil), Events: m("events", nil), Seq: m("seq", nil), Type: m("type", nil), When: m("when", nil), By: m("by", nil),
			FromTo: m("from_to", nil), Place: m("place", nil), Purpose: m("purpose", nil), Hash: m("hash", nil),
			ReleasedBy: m("released_by", nil), ReceivedBy: m("received_by", nil), Date: m("date", nil)},
		KindLabel:   cat.Message(loc.Code, "evidence.kind."+string(it.Kind), nil),
		StatusLabel: cat.Message(loc.Code, "evidence.status."+string(it.State.Status), nil),
		AcquiredAt:  t(it.Acquisition.At), Generated: m("generated", map[string]any{"Time": t(now)})}
	for _, v := range []string{it.Identifiers.Make, it.Identifiers.Model, it.Identifiers.SerialNumber, it.Identifiers.AccountHandle,
		it.Identifiers.Platform, it.Identifiers.URL} {
		if v != "" {
			page.Identifiers = append(page.Identifiers, v)
		}
	}
	if rep.OK {
		page.Verification = m("verified", map[string]any{"Count": rep.Events})
	} else {
		page.Verification = m("not_verified", map[string]any{"Problem": rep.FirstProblem.Kind, "Seq": rep.FirstProblem.Seq})
	}
	if rep.ReceiptSeq > 0 {
		page.ReceiptLine = m("receipt", map[string]any{"Seq": rep.ReceiptSeq, "Time": t(rep.ReceiptSignedAt)})
	}
	for _, e := range events {
		fromTo := partyText(e.From)
		if to := partyText(e.To); to != "" {
			fromTo += " → " + to
		}
		purpose := strings.TrimSpace(e.Purpose + "\n" + e.Note)
		seal := e.SealNumber
		if e.SealIntact != nil && !*e.SealIntact {
			seal += " ✗"
		}
		page.Events = append(page.Events, recordEvent{Seq: e.Seq, TypeLabel: cat.Message(loc.Code, "evidence.event."+string(e.Type), nil),
			RecordedAt: t(e.RecordedAt), ReceivedAt: t(e.ReceivedAt), By: partyText(e.PerformedBy), FromTo: fromTo, Place: e.Place,
			Purpose: purpose, Seal: seal, Hash: e.Hash})
	}
	var buf bytes.Buffer
	if err := custodyRecordTemplate.Execute(&buf, page); err != nil {
		return nil, fmt.Errorf("rendering the custody record: %w", err)
	}
	return buf.Bytes(), nil
}
