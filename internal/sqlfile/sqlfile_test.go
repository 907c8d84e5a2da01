package sqlfile

import "testing"

func TestParse(t *testing.T) {
	qs, err := Parse(`-- A file comment before any query is fine.

-- name: One
-- What One does.
SELECT 1;

-- name: Two
SELECT 2
FROM x;
`)
	if err != nil {
		t.Fatal(err)
	}
	if got := qs.Get("One"); got != "-- What One does.\nSELECT 1;" {
		t.Errorf("One = %q", got)
	}
	if got := qs.Get("Two"); got != "SELECT 2\nFROM x;" {
		t.Errorf("Two = %q", got)
	}
	for name, src := range map[string]string{
		"duplicate":     "-- name: A\nSELECT 1;\n-- name: A\nSELECT 2;",
		"empty":         "-- name: A\n-- only a comment\n-- name: B\nSELECT 1;",
		"before a name": "SELECT 1;\n-- name: A\nSELECT 2;",
	} {
		if _, err := Parse(src); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Get of a missing query did not panic")
		}
	}()
	qs.Get("Missing")
}
