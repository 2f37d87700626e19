package ferret

import (
	"fmt"
	"testing"
)

// jsonMembers finds every member of an object without parsing the values, whatever they hold
// (strings with escaped quotes and brackets, nested objects and arrays, numbers, literals, spaces).
func TestJSONMembers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, want string
	}{
		{"empty", ` { } `, ``},
		{"scalars", `{"a":1,"b":-2.5e3,"c":true,"d":null}`, `a=1;b=-2.5e3;c=true;d=null;`},
		{"strings with escapes and brackets", `{"a":"x\"}{[","b\"k":"\\","c":""}`, `a="x\"}{[";b"k="\\";c="";`},
		{"nested", `{"a":{"b":[1,{"c":"]"}],"d":{}},"e":[]}`, `a={"b":[1,{"c":"]"}],"d":{}};e=[];`},
		{"spaces", "{ \"a\" :\t[ 1 , 2 ] ,\n\"b\" : \"x\" }", `a=[ 1 , 2 ];b="x";`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ""
			if err := jsonMembers([]byte(tt.data), func(k, v []byte) { got += fmt.Sprintf("%s=%s;", k, v) }); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{``, `[1]`, `{"a":1`, `{"a" 1}`, `{"a":1 "b":2}`} {
		if err := jsonMembers([]byte(bad), func(k, v []byte) {}); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
