package store

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
)

func TestFairShares(t *testing.T) {
	apps := make([]uuid.UUID, 5)
	for i := range apps {
		apps[i] = uuid.UUID{byte(i + 1)}
	}
	name := func(id uuid.UUID) int { return int(id[0]) }
	for _, c := range []struct {
		k     int
		round uint64
		n     int
		want  string // app:share in turn
	}{
		{k: 0, n: 10, want: "[]"},
		{k: 3, n: 0, want: "[]"},
		{k: 1, n: 10, want: "[1:10]"},
		{k: 2, n: 10, want: "[1:5 2:5]"},
		{k: 3, n: 10, want: "[1:4 2:3 3:3]"},
		{k: 3, round: 1, n: 10, want: "[2:4 3:3 1:3]"},
		{k: 5, n: 2, want: "[1:1 2:1]"},
		{k: 5, round: 4, n: 2, want: "[5:1 1:1]"},
		{k: 5, round: 7, n: 3, want: "[3:1 4:1 5:1]"},
	} {
		var got []string
		for _, s := range FairShares(apps[:c.k], c.round, c.n) {
			got = append(got, fmt.Sprintf("%d:%d", name(s.App), s.N))
		}
		if g := fmt.Sprint(got); g != c.want {
			t.Errorf("FairShares(%d apps, round %d, %d) = %s, want %s", c.k, c.round, c.n, g, c.want)
		}
	}
}

// TestClaimFairlyPassesOnWhatAnAppCannotTake claims from a fake store whose apps hold a
// fixed number of due jobs.
func TestClaimFairlyPassesOnWhatAnAppCannotTake(t *testing.T) {
	a, b, c := uuid.UUID{1}, uuid.UUID{2}, uuid.UUID{3}
	due := map[uuid.UUID]int{a: 100, b: 1, c: 0}
	rounds := 0
	jobs, err := ClaimFairly([]uuid.UUID{a, b, c}, 0, 9, func(shares []AppShare) ([]Job, error) {
		rounds++
		var out []Job
		for _, s := range shares {
			n := min(s.N, due[s.App])
			due[s.App] -= n
			for range n {
				out = append(out, Job{ID: uuid.Must(uuid.NewV7()), AppID: s.App})
			}
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uuid.UUID]int{}
	for _, j := range jobs {
		got[j.AppID]++
	}
	if len(jobs) != 9 || got[a] != 8 || got[b] != 1 || rounds != 2 {
		t.Fatalf("claimed %d (a %d, b %d) in %d rounds; want 9 (a 8, b 1) in 2", len(jobs), got[a], got[b], rounds)
	}
	if jobs[0].AppID != a || jobs[1].AppID != b || jobs[2].AppID != a {
		t.Fatalf("the first round's jobs do not take turns: %v %v %v", jobs[0].AppID, jobs[1].AppID, jobs[2].AppID)
	}
}
