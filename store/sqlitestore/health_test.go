package sqlitestore_test

import (
	"context"
	"strings"
	"testing"
)

// TestHealthWarnsWhenSynchronousIsOff turns synchronous OFF on the only reader connection
// (which Health reads through); the store never sets OFF itself.
func TestHealthWarnsWhenSynchronousIsOff(t *testing.T) {
	t.Parallel()
	s := open(t, "sqlite:"+t.TempDir()+"/h.db?readers=1")
	ctx := context.Background()
	try(s.MigrateUp(ctx)).must(t)
	if h := try(s.Health(ctx)).must(t); len(h.Warnings) != 0 {
		t.Fatalf("warnings with synchronous=full: %q", h.Warnings)
	}
	if _, err := s.Readers().ExecContext(ctx, "PRAGMA synchronous = OFF"); err != nil {
		t.Fatal(err)
	}
	h := try(s.Health(ctx)).must(t)
	if len(h.Warnings) != 1 || !strings.Contains(h.Warnings[0], "synchronous is OFF") {
		t.Fatalf("warnings with synchronous=OFF: %q", h.Warnings)
	}
}
