package redact

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/store"
)

func TestPayload(t *testing.T) {
	r, err := Parse("redact", []string{"card.number", "items[*].ssn", "[*].token", "secrets.*", "invoice.charge:cvc", "a.b[*][*]"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ, in, want string
	}{
		{"t", `{"card":{"number":"4111 1111","exp":"12/30"},"n":12345678901234567890}`,
			`{"card":{"exp":"12/30","number":"[redacted]"},"n":12345678901234567890}`},
		{"t", `{"card":{"number":{"deep":1}}}`, `{"card":{"number":"[redacted]"}}`},
		{"t", `{"items":[{"ssn":"1"},{"x":2},{"ssn":null},"s"]}`, `{"items":[{"ssn":"[redacted]"},{"x":2},{"ssn":"[redacted]"},"s"]}`},
		{"t", `[{"token":"a"},{"token":"b","k":"<v>"}]`, `[{"token":"[redacted]"},{"k":"<v>","token":"[redacted]"}]`},
		{"t", `{"secrets":{"a":1,"b":[2]}}`, `{"secrets":{"a":"[redacted]","b":"[redacted]"}}`},
		{"invoice.charge", `{"cvc":"123"}`, `{"cvc":"[redacted]"}`},
		{"other", `{"cvc":"123"}`, `{"cvc":"123"}`},
		{"t", `{"a":{"b":[[1,2],[3]]}}`, `{"a":{"b":[["[redacted]","[redacted]"],["[redacted]"]]}}`},
		{"t", `{"card":"not an object","items":{"ssn":1}}`, `{"card":"not an object","items":{"ssn":1}}`},
		{"t", `{"c\u0061rd":{"number":"1"}}`, `{"card":{"number":"[redacted]"}}`},
		{"t", `{"unrelated": true}`, `{"unrelated": true}`},
	} {
		in := json.RawMessage(c.in)
		got := string(r.Payload(c.typ, in))
		if got != c.want {
			t.Errorf("Payload(%s, %s) = %s, want %s", c.typ, c.in, got, c.want)
		}
		if string(in) != c.in {
			t.Errorf("Payload changed its input to %s", in)
		}
	}
	var none *Redactor
	if got := string(none.Payload("t", json.RawMessage(`{"card":1}`))); got != `{"card":1}` {
		t.Errorf("the nil Redactor masked: %s", got)
	}
}

func TestParseRefusesBadPaths(t *testing.T) {
	for _, spec := range []string{"", "a..b", ".a", "a.", "a[0]", "a[*", "a]", "a b", "a,b", "x y:a", ":a", "t:", "a*b", "a\x00"} {
		_, err := Parse("redact", []string{"ok.path", spec})
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "redact[1]" {
			t.Errorf("Parse(%q) = %v, want a field error on redact[1]", spec, err)
		}
	}
	if r, err := Parse("redact", nil); r != nil || err != nil {
		t.Errorf("Parse(nil) = %v, %v", r, err)
	}
}
