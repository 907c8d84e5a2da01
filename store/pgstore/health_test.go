package pgstore_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/store/pgstore"
)

// TestHealthWarnsWhenSynchronousCommitIsOff opens the store with synchronous_commit off for
// its sessions (fsync is server-wide and cannot be turned off for one test).
func TestHealthWarnsWhenSynchronousCommitIsOff(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	u.RawQuery = q.Encode()
	s, err := pgstore.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, err := s.Health(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, w := range h.Warnings {
		found = found || strings.Contains(w, "synchronous_commit is off")
	}
	if !found {
		t.Fatalf("warnings with synchronous_commit=off: %q", h.Warnings)
	}
}
