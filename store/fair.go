package store

import (
	"bytes"
	"slices"

	"github.com/google/uuid"
)

// AppShare is how many jobs one claim takes of one app's due jobs.
type AppShare struct {
	App uuid.UUID
	N   int
}

// FairShares splits a claim of n jobs between the apps that have due jobs, so that one app's
// flood cannot starve another: each app gets n/len(apps) jobs, and the n%len(apps) left over go
// one each to the apps that come first in turn. The turn starts at the app round%len(apps),
// so that successive rounds favour different apps. With more apps than n, the n apps whose
// turn it is get one job each. Apps with no share are left out.
func FairShares(apps []uuid.UUID, round uint64, n int) []AppShare {
	k := len(apps)
	if k == 0 || n <= 0 {
		return nil
	}
	start := int(round % uint64(k))
	shares := make([]AppShare, 0, min(k, n))
	for i := range k {
		share := n / k
		if i < n%k {
			share++
		}
		if share == 0 {
			break
		}
		shares = append(shares, AppShare{App: apps[(start+i)%k], N: share})
	}
	return shares
}

// ClaimFairly claims up to n jobs from the apps with due jobs, shared as FairShares says, by
// calling claim with each round's shares. An app that gave less than its share has no more
// due jobs (or others hold them); what it left is shared again between the apps that gave
// their whole share and those that had none, until n jobs are claimed or no app can give
// more. Each round's jobs come back interleaved, one app's next job after another's in the
// shares' order, each app's in priority order (ClaimOrder), so that the apps' jobs also
// start in turn. Jobs already claimed are returned even if a later round fails: they are
// leased to the caller, and the next claim meets the error again.
func ClaimFairly(apps []uuid.UUID, round uint64, n int, claim func([]AppShare) ([]Job, error)) ([]Job, error) {
	// The turns go by app id, whatever order the apps were found in.
	apps = slices.SortedFunc(slices.Values(apps), func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	var all []Job
	for n > 0 && len(apps) > 0 {
		shares := FairShares(apps, round, n)
		jobs, err := claim(shares)
		if err != nil {
			if len(all) > 0 {
				return all, nil
			}
			return nil, err
		}
		all = append(all, interleave(shares, jobs)...)
		n -= len(jobs)
		got := make(map[uuid.UUID]int, len(shares))
		for _, j := range jobs {
			got[j.AppID]++
		}
		// Next round: the apps that gave their whole share, then those that had none. Each
		// round claims a job or serves a smaller set of apps, so the rounds end.
		served := make(map[uuid.UUID]bool, len(shares))
		var more []uuid.UUID
		for _, s := range shares {
			served[s.App] = true
			if got[s.App] == s.N && len(jobs) > 0 {
				more = append(more, s.App)
			}
		}
		for _, a := range apps {
			if !served[a] {
				more = append(more, a)
			}
		}
		apps, round = more, 0
	}
	return all, nil
}

// interleave orders one round's jobs: each app's in claim order, the apps taking turns in the
// shares' order.
func interleave(shares []AppShare, jobs []Job) []Job {
	if len(shares) == 1 {
		slices.SortFunc(jobs, ClaimOrder)
		return jobs
	}
	byApp := make(map[uuid.UUID][]Job, len(shares))
	for _, j := range jobs {
		byApp[j.AppID] = append(byApp[j.AppID], j)
	}
	for _, js := range byApp {
		slices.SortFunc(js, ClaimOrder)
	}
	out := make([]Job, 0, len(jobs))
	for i := 0; len(out) < len(jobs) && i < len(jobs); i++ {
		for _, s := range shares {
			if js := byApp[s.App]; i < len(js) {
				out = append(out, js[i])
			}
		}
	}
	return out
}

// ClaimOrder orders one app's due jobs as a claim takes them: priority, then run_at, then id.
func ClaimOrder(a, b Job) int {
	if a.Priority != b.Priority {
		return a.Priority - b.Priority
	}
	if c := a.RunAt.Compare(b.RunAt); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:]) // a UUID's bytes sort as its text does
}
