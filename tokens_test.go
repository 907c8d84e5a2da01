package sluice_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

func TestTokensAuthenticate(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		admin, adminSecret, err := b.client.CreateToken(b.ctx, sluice.TokenParams{Name: "ops"})
		if err != nil {
			t.Fatal(err)
		}
		reader, readerSecret, err := b.client.CreateToken(b.ctx, sluice.TokenParams{App: b.app.Name, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(adminSecret, "sluice_") || adminSecret == readerSecret {
			t.Fatalf("token strings %q %q", adminSecret, readerSecret)
		}
		got, err := b.client.Authenticate(b.ctx, adminSecret)
		if err != nil || got.ID != admin.ID || got.AppID != nil {
			t.Fatalf("admin: %v %+v", err, got)
		}
		got, err = b.client.Authenticate(b.ctx, readerSecret)
		if err != nil || got.ID != reader.ID || got.AppID == nil || *got.AppID != b.app.ID || !got.ReadOnly {
			t.Fatalf("reader: %v %+v", err, got)
		}
		tampered := adminSecret[:len(adminSecret)-1] + map[bool]string{true: "A", false: "B"}[adminSecret[len(adminSecret)-1] != 'A']
		swapped := readerSecret[:len("sluice_")+32] + adminSecret[len("sluice_")+32:]
		for name, bad := range map[string]string{"empty": "", "garbage": "hello", "tampered secret": tampered,
			"another token's secret": swapped, "no prefix": strings.TrimPrefix(adminSecret, "sluice_"), "bad hex": "sluice_" + strings.Repeat("z", 32) + adminSecret[39:]} {
			if _, err := b.client.Authenticate(b.ctx, bad); !errors.Is(err, sluice.ErrUnauthorized) {
				t.Errorf("%s: %v, want ErrUnauthorized", name, err)
			}
		}
		if err := b.client.RevokeToken(b.ctx, admin.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.Authenticate(b.ctx, adminSecret); !errors.Is(err, sluice.ErrUnauthorized) {
			t.Fatalf("revoked token: %v", err)
		}
		var fe *sluice.FieldError
		if _, _, err := b.client.CreateToken(b.ctx, sluice.TokenParams{App: "nobody"}); !errors.As(err, &fe) || fe.Field != "app" {
			t.Fatalf("token for an unknown app: %v", err)
		}
		if _, _, err := b.client.CreateToken(b.ctx, sluice.TokenParams{Name: "bad\nname"}); !errors.As(err, &fe) || fe.Field != "name" {
			t.Fatalf("bad name: %v", err)
		}
		list, err := b.client.ListTokens(b.ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("ListTokens: %v %d", err, len(list))
		}
	})
}

func TestReplaysAndPurgesAreAudited(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		b := setup(t, url, nil)
		entries := b.deadLetter(t, "audited", 4)
		ctx := sluice.WithActor(b.ctx, "cli:alice")
		if _, err := b.client.DLQ().Replay(ctx, entries[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.DLQ().ReplayMany(ctx, sluice.Filter{Type: "audited"}, sluice.ReplayOptions{BatchSize: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.client.DLQ().Purge(ctx, sluice.Filter{Type: "audited"}, sluice.PurgeOptions{ReplayedOnly: true}); err != nil {
			t.Fatal(err)
		}
		log, err := b.client.ListAudit(b.ctx, sluice.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			action string
			count  int
		}{{"dlq.purge", 4}, {"dlq.replay_many", 3}, {"dlq.replay", 1}}
		if len(log.Items) != len(want) {
			t.Fatalf("audit log: %+v", log.Items)
		}
		for i, w := range want {
			e := log.Items[i]
			if e.Action != w.action || e.Count != w.count || e.Actor != "cli:alice" {
				t.Errorf("audit %d: %+v, want %s x%d by cli:alice", i, e, w.action, w.count)
			}
		}
		if !strings.Contains(strings.ReplaceAll(string(log.Items[1].Details), " ", ""), `"type":"audited"`) {
			t.Errorf("bulk replay details lack the filter: %s", log.Items[1].Details)
		}
	})
}
