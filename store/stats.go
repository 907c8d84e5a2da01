package store

import (
	"sort"

	"github.com/google/uuid"
)

// StatsBuilder merges per-app, per-type counts from the jobs and job_dlq tables into
// TypeStats, for the stores' Stats.
type StatsBuilder struct {
	m map[statsKey]*TypeStats
}

type statsKey struct {
	app uuid.UUID
	typ string
}

// Get returns the counts of one app and type, creating them if new.
func (b *StatsBuilder) Get(app uuid.UUID, jobType string) *TypeStats {
	if b.m == nil {
		b.m = map[statsKey]*TypeStats{}
	}
	k := statsKey{app, jobType}
	if s, ok := b.m[k]; ok {
		return s
	}
	s := &TypeStats{AppID: app, Type: jobType}
	b.m[k] = s
	return s
}

// Result returns every count, ordered by app id then type.
func (b *StatsBuilder) Result() []TypeStats {
	out := make([]TypeStats, 0, len(b.m))
	for _, s := range b.m {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := compareUUID(out[i].AppID, out[j].AppID); c != 0 {
			return c < 0
		}
		return out[i].Type < out[j].Type
	})
	return out
}

func compareUUID(a, b uuid.UUID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
