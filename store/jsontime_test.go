package store_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

func TestTimesMarshalAsMillisecondRFC3339(t *testing.T) {
	at := time.Date(2026, 11, 26, 23, 46, 49, 940_123_000, time.FixedZone("CET", 3600))
	job := store.Job{ID: uuid.New(), RunAt: at, CreatedAt: at, StartedAt: &at, Payload: json.RawMessage(`{}`)}
	b, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"runAt":"2026-11-26T22:46:49.940Z"`, `"startedAt":"2026-11-26T22:46:49.940Z"`, `"createdAt":"2026-11-26T22:46:49.940Z"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), "completedAt") || strings.Contains(string(b), "leaseToken") {
		t.Errorf("%s shows unset or secret fields", b)
	}
	var back store.Job
	if err := json.Unmarshal(b, &back); err != nil || !back.RunAt.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("round trip: %v %v", err, back.RunAt)
	}
	dead, _ := json.Marshal(store.DeadJob{FailedAt: at, ErrorHistory: []store.ErrorRecord{{Error: "x", Timestamp: 1}}})
	if !strings.Contains(string(dead), `"failedAt":"2026-11-26T22:46:49.940Z","replayedAt":null`) ||
		!strings.Contains(string(dead), `"errorHistory":[{"error":"x","timestamp":1}]`) {
		t.Errorf("dead job JSON: %s", dead)
	}
	tok, _ := json.Marshal(store.Token{CreatedAt: at, RevokedAt: &at, SecretHash: []byte("hash")})
	if !strings.Contains(string(tok), `"createdAt":"2026-11-26T22:46:49.940Z"`) || !strings.Contains(string(tok), `"revokedAt":"2026-11-26T22:46:49.940Z"`) ||
		strings.Contains(string(tok), "expiresAt") || strings.Contains(strings.ToLower(string(tok)), "hash") {
		t.Errorf("token JSON: %s", tok)
	}
	audit, _ := json.Marshal(store.AuditEntry{At: at, Details: json.RawMessage(`{}`)})
	if !strings.Contains(string(audit), `"at":"2026-11-26T22:46:49.940Z"`) {
		t.Errorf("audit entry JSON: %s", audit)
	}
}
