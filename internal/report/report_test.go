package report

import "testing"

func TestShowAndFigures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "<5"}, {4, "<5"}, {5, "5"}, {12, "12"}} {
		if got := Show(tc.n); got != tc.want {
			t.Errorf("Show(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name   string
		values []float64
		median float64
	}{{"odd", []float64{1, 2, 3, 4, 5}, 3}, {"even", []float64{1, 2, 3, 4, 5, 7}, 3.5}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := median(tc.values); got != tc.median {
				t.Errorf("median %v, want %v", got, tc.median)
			}
		})
	}
	if f := figure(4, func() float64 { return 1 }); f.Value != nil {
		t.Errorf("a figure of 4 values is shown: %v", *f.Value)
	}
	if f := figure(5, func() float64 { return 2.0 / 3 }); f.Value == nil || *f.Value != 0.667 {
		t.Errorf("a figure of 5 values: %v", f.Value)
	}
}
