package httpapi

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/go-playground/validator/v10"
)

// Every domain limit is a validation tag that lets its limit through and refuses one more, with the
// field error of a plain max tag carrying the domain's number.
func TestDomainLimitTags(t *testing.T) {
	t.Parallel()
	va := newValidatorAdapter()
	for tag, n := range domainLimits {
		t.Run(tag, func(t *testing.T) {
			t.Parallel()
			tests := []struct {
				name       string
				at, beyond any
				messageID  string
			}{
				{"text", strings.Repeat("é", n), strings.Repeat("é", n+1), "field.max_length"},
				{"list", make([]int, n), make([]int, n+1), "field.max"},
			}
			for _, tc := range tests {
				if err := va.v.Var(tc.at, tag); err != nil {
					t.Errorf("%s at the limit refused: %v", tc.name, err)
				}
				var verrs validator.ValidationErrors
				if !errors.As(va.v.Var(tc.beyond, tag), &verrs) || len(verrs) != 1 {
					t.Fatalf("%s over the limit: want one validation error", tc.name)
				}
				fe := fieldError(verrs[0])
				if fe.Code != "max" || fe.MessageID != tc.messageID || fe.Data["Max"] != strconv.Itoa(n) {
					t.Errorf("%s over the limit: %+v, want max %d (%s)", tc.name, fe, n, tc.messageID)
				}
			}
		})
	}
}
