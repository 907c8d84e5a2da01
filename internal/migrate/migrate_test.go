package migrate

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ok := fstest.MapFS{
		"0001_initial.up.sql":   {Data: []byte("CREATE TABLE a (x int);")},
		"0001_initial.down.sql": {Data: []byte("DROP TABLE a;")},
		"0002_more.up.sql":      {Data: []byte("CREATE TABLE b (x int);")},
		"0002_more.down.sql":    {Data: []byte("DROP TABLE b;")},
	}
	files, err := Load(ok)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].Version != 1 || files[1].Name != "more" || files[1].Down != "DROP TABLE b;" {
		t.Fatalf("Load = %+v", files)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"gap": {
			"0001_a.up.sql": {}, "0001_a.down.sql": {}, "0003_c.up.sql": {}, "0003_c.down.sql": {},
		},
		"no down": {"0001_a.up.sql": {Data: []byte("x")}},
		"two names": {
			"0001_a.up.sql": {Data: []byte("x")}, "0001_b.down.sql": {Data: []byte("x")},
		},
		"stray file": {"README": {}},
	} {
		if _, err := Load(fsys); err == nil {
			t.Errorf("%s: loaded without error", name)
		}
	}
}
