package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice"
)

// TestRetentionCommands runs sluice retention set | list | run [--dry-run] | reports |
// dismiss | delete against both stores: a max count deletes the oldest un-replayed entries,
// exported first, and leaves a report until it is dismissed.
func TestRetentionCommands(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.ok("apps", "create", "billing")
		e.deadLetter(failing("billing", "ret", "boom 1"), failing("billing", "ret", "boom 2"), failing("billing", "ret", "boom 3"))

		e.fail(2, []string{"--kind"}, "retention", "set", "--max-age", "1h")
		e.fail(2, []string{"--kind"}, "retention", "set", "--kind", "forever", "--max-age", "1h")
		e.fail(2, []string{"--max-age"}, "retention", "set", "--kind", "unreplayed")
		e.fail(2, []string{"--max-age"}, "retention", "set", "--kind", "unreplayed", "--max-age", "banana")
		e.fail(2, []string{"--max-count"}, "retention", "set", "--kind", "unreplayed", "--max-count", "-1")
		e.fail(2, []string{"--app"}, "retention", "set", "--kind", "unreplayed", "--max-count", "1", "--app", "nobody")
		e.fail(2, []string{"--export-dir"}, "retention", "run", "--export-dir", filepath.Join(t.TempDir(), "missing"))
		e.fail(2, []string{"--retention-export-dir"}, "serve", "--retention-export-dir", filepath.Join(t.TempDir(), "missing"))

		var p sluice.RetentionPolicy
		e.json(&p, "retention", "set", "--kind", "unreplayed", "--app", "billing", "--type", "ret", "--max-count", "1")
		if p.Kind != sluice.RetainUnreplayed || p.MaxCount != 1 || p.Type != "ret" || p.AppID == nil {
			t.Fatalf("retention set: %+v", p)
		}
		out := e.ok("retention", "set", "--kind", "completed", "--max-age", "3d").stdout
		if !strings.Contains(out, "3d") || !strings.Contains(out, "every app") {
			t.Fatalf("retention set (human):\n%s", out)
		}
		var list sluice.Page[sluice.RetentionPolicy]
		e.json(&list, "retention", "list")
		if len(list.Items) != 2 {
			t.Fatalf("retention list: %+v", list.Items)
		}
		if out := e.ok("retention", "list").stdout; !strings.Contains(out, "billing") || !strings.Contains(out, "unreplayed") {
			t.Fatalf("retention list (human):\n%s", out)
		}

		var dry sluice.RetentionResult
		e.json(&dry, "retention", "run", "--dry-run")
		if !dry.DryRun || dry.Deleted[sluice.RetainUnreplayed] != 2 {
			t.Fatalf("retention run --dry-run: %+v", dry)
		}
		if n := e.deadCount(e.client()); n != 3 {
			t.Fatalf("%d entries after a dry run, want 3", n)
		}

		dir := t.TempDir()
		out = e.ok("retention", "run", "--export-dir", dir).stdout
		if !strings.Contains(out, "Deleted 2 rows") || !strings.Contains(out, "billing") || !strings.Contains(out, "unreplayed") {
			t.Fatalf("retention run:\n%s", out)
		}
		if n := e.deadCount(e.client()); n != 1 {
			t.Fatalf("%d entries after the run, want 1", n)
		}
		files, _ := filepath.Glob(filepath.Join(dir, "dlq-trimmed-*.jsonl"))
		if len(files) != 1 {
			t.Fatalf("export files: %v", files)
		}
		raw, _ := os.ReadFile(files[0])
		if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"originalJobId"`) {
			t.Fatalf("export:\n%s", raw)
		}

		var reps sluice.Page[sluice.TrimReport]
		e.json(&reps, "retention", "reports")
		if len(reps.Items) != 1 || reps.Items[0].Count != 2 || reps.Items[0].ExportFile != files[0] {
			t.Fatalf("retention reports: %+v", reps.Items)
		}
		if out := e.ok("retention", "reports").stdout; !strings.Contains(out, "billing") || !strings.Contains(out, files[0]) {
			t.Fatalf("retention reports (human):\n%s", out)
		}
		e.ok("retention", "dismiss", reps.Items[0].ID.String())
		e.json(&reps, "retention", "reports")
		if len(reps.Items) != 0 {
			t.Fatalf("reports after dismissing: %+v", reps.Items)
		}
		e.json(&reps, "retention", "reports", "--all")
		if len(reps.Items) != 1 || !strings.HasPrefix(reps.Items[0].DismissedBy, "cli:") {
			t.Fatalf("retention reports --all: %+v", reps.Items)
		}
		e.fail(1, []string{"no trim report"}, "retention", "dismiss", "01938c5e-7a8b-7cde-8f01-23456789abcd")

		e.ok("retention", "delete", p.ID.String())
		e.fail(1, []string{"no retention policy"}, "retention", "delete", p.ID.String())
		// The policies' changes are in the audit log, by the command-line user.
		audit, err := e.client().ListAudit(t.Context(), sluice.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range audit.Items {
			if !strings.HasPrefix(a.Actor, "cli:") {
				t.Errorf("audit row %+v, want a cli: actor", a)
			}
			actions = append(actions, a.Action)
		}
		if strings.Join(actions, " ") != "retention.delete retention.create retention.create" {
			t.Fatalf("audit actions %v", actions)
		}
	})
}
