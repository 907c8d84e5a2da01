package webui_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: the server's, or the
// browser driver's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
