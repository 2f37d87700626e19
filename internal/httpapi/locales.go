package httpapi

import (
	"fmt"

	"github.com/gofiber/fiber/v2"
)

type localeList struct {
	Items []localeView `json:"items"`
}

// listLocales answers GET /v1/locales: every supported locale with its native name, text direction
// and how complete its API messages and the published protocols are in it.
func (s *Server) listLocales(c *fiber.Ctx) error {
	if err := readQuery(c).done(s.validate, &struct{}{}); err != nil {
		return err
	}
	lib := s.deps.Protocols.Snapshot()
	b, err := s.cache.get(fmt.Sprintf("locales|%d", lib.Generation), func() (*body, error) {
		list := localeList{}
		for _, l := range s.deps.Catalog.Locales() {
			total, translated := 0, 0
			for _, v := range lib.Latest {
				if v.Retired { // not served any more: its translations no longer matter
					continue
				}
				comp := v.Document.Completeness(l.Code)
				total += comp.Total
				translated += comp.Translated
			}
			protocols := 1.0
			if total > 0 {
				protocols = float64(translated) / float64(total)
			}
			list.Items = append(list.Items, localeView{Code: l.Code, Name: l.NativeName, EnglishName: l.EnglishName, Dir: l.Dir,
				Completeness: completenessView{Messages: s.deps.Catalog.Completeness(l.Code), Protocols: protocols}})
		}
		return newBody(list, fiber.MIMEApplicationJSON)
	})
	if err != nil {
		return err
	}
	return send(c, b, revalidate)
}
