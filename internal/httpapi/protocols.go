package httpapi

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/childsafe-protocols/caseguide/internal/apperr"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
)

const (
	defaultPageSize = 50
	maxPageSize     = 200
	// revalidate lets clients and proxies keep a copy but check it (cheaply, with If-None-Match) before use.
	revalidate = "public, no-cache"
	// immutable is for a numbered version: its content never changes.
	immutable = "public, max-age=86400"
)

type listQuery struct {
	Kind     string `query:"kind" validate:"omitempty,kind"`
	AgeBand  string `query:"age_band" validate:"omitempty,age_band"`
	CaseType string `query:"case_type" validate:"omitempty,case_type"`
	Limit    int    `query:"limit" validate:"min=1,max=200"`
}

type protocolList struct {
	Locale     string            `json:"locale"`
	Items      []protocolSummary `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

// listProtocols answers GET /v1/protocols: localized summaries of the latest versions, filtered and paged.
func (s *Server) listProtocols(c *fiber.Ctx) error {
	q := readQuery(c, "kind", "age_band", "case_type", "limit", "cursor")
	lq := listQuery{Kind: q.str("kind"), AgeBand: q.str("age_band"), CaseType: q.str("case_type"),
		Limit: q.integer("limit", defaultPageSize)}
	after := q.cursor()
	if err := q.done(s.validate, &lq); err != nil {
		return err
	}
	loc := s.locale(c)
	lib := s.deps.Protocols.Snapshot()
	key := fmt.Sprintf("list|%d|%s|%s|%s|%s|%d|%s", lib.Generation, loc.Code, lq.Kind, lq.AgeBand, lq.CaseType, lq.Limit, after)
	b, err := s.cache.get(key, func() (*body, error) {
		l := labeler{s.deps.Catalog, loc.Code}
		list := protocolList{Locale: loc.Code, Items: []protocolSummary{}}
		for _, v := range lib.Latest {
			p := &v.Document.Protocol
			if v.ProtocolID <= after || v.Retired ||
				lq.Kind != "" && string(p.Kind) != lq.Kind ||
				lq.AgeBand != "" && !slices.Contains(p.AgeBands, protocol.AgeBand(lq.AgeBand)) ||
				lq.CaseType != "" && !slices.Contains(p.CaseTypes, protocol.CaseType(lq.CaseType)) {
				continue
			}
			if len(list.Items) == lq.Limit {
				list.NextCursor = cursorOrNil(list.Items[len(list.Items)-1].ID)
				break
			}
			list.Items = append(list.Items, toSummaryView(v, l))
		}
		return newBody(list, fiber.MIMEApplicationJSON)
	})
	if err != nil {
		return err
	}
	return send(c, b, revalidate)
}

type situationQuery struct {
	AgeBand   string   `query:"age_band" validate:"omitempty,age_band"`
	CaseTypes []string `query:"case_type" validate:"omitempty,dive,case_type"`
	Needs     []string `query:"needs" validate:"omitempty,dive,need"`
}

// readSituation parses the age_band, case_type and needs parameters that select applicable steps.
func (s *Server) readSituation(c *fiber.Ctx) (protocol.Situation, error) {
	q := readQuery(c, "age_band", "case_type", "needs")
	sq := situationQuery{AgeBand: q.str("age_band"), CaseTypes: q.list("case_type"), Needs: q.list("needs")}
	if err := q.done(s.validate, &sq); err != nil {
		return protocol.Situation{}, err
	}
	sit := protocol.Situation{AgeBand: protocol.AgeBand(sq.AgeBand)}
	if sq.CaseTypes != nil {
		sit.CaseTypes = make([]protocol.CaseType, len(sq.CaseTypes))
		for i, t := range sq.CaseTypes {
			sit.CaseTypes[i] = protocol.CaseType(t)
		}
		slices.Sort(sit.CaseTypes)
	}
	if sq.Needs != nil {
		sit.Needs = make([]protocol.Need, len(sq.Needs))
		for i, n := range sq.Needs {
			sit.Needs[i] = protocol.Need(n)
		}
		slices.Sort(sit.Needs)
	}
	return sit, nil
}

func situationKey(s protocol.Situation) string {
	if s.IsZero() {
		return ""
	}
	key := func(vals []string) string {
		if vals == nil {
			return "?"
		}
		return strings.Join(vals, ",")
	}
	v := toSituationView(s)
	return string(s.AgeBand) + "|" + key(v.CaseTypes) + "|" + key(v.Needs)
}

// getProtocol answers GET /v1/protocols/{id}: the latest version in full, localized, optionally
// reduced to the steps that apply to a situation.
func (s *Server) getProtocol(c *fiber.Ctx) error {
	sit, err := s.readSituation(c)
	if err != nil {
		return err
	}
	v, err := s.deps.Protocols.Latest(c.Params("id"))
	if err != nil {
		return err
	}
	return s.sendDocument(c, v, sit, revalidate)
}

// getVersion answers GET /v1/protocols/{id}/versions/{version}.
func (s *Server) getVersion(c *fiber.Ctx) error {
	sit, err := s.readSituation(c)
	if err != nil {
		return err
	}
	number, err := c.ParamsInt("version")
	if err != nil {
		return apperr.Validation(apperr.FieldError{Field: "version", Code: "integer", MessageID: "field.integer"})
	}
	if number < 1 {
		return apperr.Validation(apperr.FieldError{Field: "version", Code: "min", MessageID: "field.min", Data: map[string]any{"Min": 1}})
	}
	v, err := s.deps.Protocols.Version(c.UserContext(), c.Params("id"), number)
	if err != nil {
		return err
	}
	return s.sendDocument(c, v, sit, immutable)
}

func (s *Server) sendDocument(c *fiber.Ctx, v protocol.Version, sit protocol.Situation, cacheControl string) error {
	loc := s.locale(c)
	key := "doc|" + v.ProtocolID + "|" + strconv.Itoa(v.Number) + "|" + loc.Code + "|" + situationKey(sit)
	b, err := s.cache.get(key, func() (*body, error) {
		return newBody(toDocumentView(v, loc, labeler{s.deps.Catalog, loc.Code}, sit), fiber.MIMEApplicationJSON)
	})
	if err != nil {
		return err
	}
	return send(c, b, cacheControl)
}

type versionList struct {
	ProtocolID string        `json:"protocol_id"`
	Items      []versionView `json:"items"`
}

// listVersions answers GET /v1/protocols/{id}/versions, oldest first.
func (s *Server) listVersions(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	id := c.Params("id")
	latest, err := s.deps.Protocols.Latest(id)
	if err != nil {
		return err
	}
	b, err := s.cache.get(fmt.Sprintf("versions|%s|%d", id, latest.Number), func() (*body, error) {
		vs, err := s.deps.Protocols.Versions(c.UserContext(), id)
		if err != nil {
			return nil, err
		}
		list := versionList{ProtocolID: latest.ProtocolID, Items: make([]versionView, len(vs))}
		for i, v := range vs {
			list.Items[i] = toVersionView(v)
		}
		return newBody(list, fiber.MIMEApplicationJSON)
	})
	if err != nil {
		return err
	}
	return send(c, b, revalidate)
}

type bundleView struct {
	Locale    string             `json:"locale"`
	Dir       string             `json:"dir"`
	Protocols []protocolDocument `json:"protocols"`
}

// bundle answers GET /v1/protocols/bundle: every latest version in full, localized, for offline use.
func (s *Server) bundle(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	loc := s.locale(c)
	lib := s.deps.Protocols.Snapshot()
	b, err := s.cache.get("bundle|"+strconv.FormatUint(lib.Generation, 10)+"|"+loc.Code, func() (*body, error) {
		l := labeler{s.deps.Catalog, loc.Code}
		bv := bundleView{Locale: loc.Code, Dir: loc.Dir, Protocols: make([]protocolDocument, 0, len(lib.Latest))}
		for _, v := range lib.Latest {
			if v.Retired { // retired protocols are not bundled; pinned runs read their versions by number
				continue
			}
			bv.Protocols = append(bv.Protocols, toDocumentView(v, loc, l, protocol.Situation{}))
		}
		return newBody(bv, fiber.MIMEApplicationJSON)
	})
	if err != nil {
		return err
	}
	return send(c, b, revalidate)
}
