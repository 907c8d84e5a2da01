package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/store"
)

// testTrace is a trace context as the sluice package writes one.
var testTrace = &store.TraceContext{
	TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	TraceState:  "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
}

func testTagsTrace(t *testing.T, r *suite) {
	r.run(t, "KeptThroughInsertClaimDeadLetterAndReplay", func(t *testing.T, b *bundle) {
		tags := []string{"customer:acme", `odd"tag\x`, "env=prod"}
		j := newJob(b.app.ID, "tagged")
		j.Queue, j.Tags, j.Trace = uniqueName("q"), tags, testTrace
		plain := newJob(b.app.ID, "tagged")
		plain.Queue = j.Queue
		inserted := b.insertNew(t, j, plain)
		for i, want := range []store.InsertJob{j, plain} {
			got := b.getJob(t, want.ID)
			wantSameJob(t, inserted[i], got, "InsertJobs' job against GetJob")
			if !slices.Equal(got.Tags, want.Tags) || !eqTrace(got.Trace, want.Trace) {
				t.Fatalf("job %d: tags %q, trace %+v; want %q, %+v", i, got.Tags, got.Trace, want.Tags, want.Trace)
			}
		}
		if got := b.getJob(t, plain.ID); got.Tags != nil || got.Trace != nil {
			t.Fatalf("a job without tags or trace reads back %q, %+v", got.Tags, got.Trace)
		}
		claimed, token := b.claim(t, j.Queue, []string{"tagged"}, 10, time.Hour)
		if len(claimed) != 2 {
			t.Fatalf("claimed %d jobs", len(claimed))
		}
		for _, c := range claimed {
			wantSameJob(t, c, b.getJob(t, c.ID), "a claimed job")
		}
		b.finish(t, store.Finish{Lease: store.Lease{JobID: j.ID, Token: token}, Outcome: store.OutcomeDeadLetter, Error: "boom"},
			store.Finish{Lease: store.Lease{JobID: plain.ID, Token: token}, Outcome: store.OutcomeDeadLetter, Error: "boom"})
		dead := must(deadOf(b.ctx, b.s, []uuid.UUID{j.ID, plain.ID}))(t)
		if !slices.Equal(dead[0].Tags, tags) || !eqTrace(dead[0].Trace, testTrace) {
			t.Fatalf("the entry has tags %q, trace %+v", dead[0].Tags, dead[0].Trace)
		}
		if dead[1].Tags != nil || dead[1].Trace != nil {
			t.Fatalf("the plain entry has tags %q, trace %+v", dead[1].Tags, dead[1].Trace)
		}
		if got := dead[0].Trace.TraceID(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Fatalf("TraceID() = %q", got)
		}
		for _, d := range dead {
			job := b.replay(t, d.ID)
			if !slices.Equal(job.Tags, d.Tags) || !eqTrace(job.Trace, d.Trace) {
				t.Fatalf("the replay of %s has tags %q, trace %+v; want %q, %+v", d.ID, job.Tags, job.Trace, d.Tags, d.Trace)
			}
			wantSameJob(t, job, b.getJob(t, job.ID), "a replayed job")
		}
	})

	r.run(t, "FilterByTag", func(t *testing.T, b *bundle) {
		e := b.kill(t,
			deadSpec{appID: b.app.ID, typ: "a", tags: []string{"red", "blue"}},  // 0
			deadSpec{appID: b.app.ID, typ: "b", tags: []string{"blue"}},         // 1
			deadSpec{appID: b.app2.ID, typ: "a", tags: []string{"red"}},         // 2
			deadSpec{appID: b.app.ID, typ: "a"},                                 // 3
			deadSpec{appID: b.app2.ID, typ: "b", tags: []string{"reddish"}},     // 4
			deadSpec{appID: b.app.ID, typ: "a", tags: []string{"red", "green"}}, // 5
		)
		b.replay(t, e[5].ID)
		e[5] = b.getDead(t, e[5].ID)
		for _, c := range []struct {
			name string
			f    store.DeadFilter
			n    int
		}{
			{"tag", store.DeadFilter{Tag: "red"}, 2},
			{"tag, replayed too", store.DeadFilter{Tag: "red", IncludeReplayed: true}, 3},
			{"tag is whole", store.DeadFilter{Tag: "re"}, 0},
			{"tag and app", store.DeadFilter{Tag: "red", AppID: &b.app.ID}, 1},
			{"tag and type", store.DeadFilter{Tag: "blue", Type: "b"}, 1},
			{"tag and group", store.DeadFilter{Tag: "blue", Group: e[1].ErrorSignature}, 2},
			{"tag of none", store.DeadFilter{Tag: "purple"}, 0},
			{"injection", store.DeadFilter{Tag: "' OR 1=1 --"}, 0},
		} {
			want := matching(e, c.f)
			if len(want) != c.n {
				t.Fatalf("the model of %s matches %d, want %d", c.name, len(want), c.n)
			}
			got := must(allDead(b.ctx, b.s, c.f))(t)
			wantIDs(t, deadIDs(got), want, "ListDead with "+c.name)
			if n := must(b.s.CountDead(b.ctx, c.f))(t); n != int64(len(want)) {
				t.Fatalf("CountDead with %s = %d, want %d", c.name, n, len(want))
			}
		}
		groups := must(b.s.DeadGroups(b.ctx, store.DeadFilter{Tag: "blue"}, 10))(t)
		var n int64
		for _, g := range groups {
			n += g.Count
		}
		if n != 2 {
			t.Fatalf("DeadGroups with a tag counts %d entries, want 2: %+v", n, groups)
		}
		res := must(b.s.ReplayDeadBatch(b.ctx, store.DeadFilter{Tag: "blue"}, store.ReplayBatch{Limit: 10, Defaults: testDefaults}))(t)
		if res.Considered != 2 || res.Replayed != 2 {
			t.Fatalf("ReplayDeadBatch with a tag = %+v, want 2 replayed", res)
		}
		for _, i := range []int{0, 1} {
			jobs := b.jobsReplayedFrom(t, e[i].ID)
			if len(jobs) != 1 || !slices.Equal(jobs[0].Tags, e[i].Tags) {
				t.Fatalf("entry %d was replayed as %+v", i, jobs)
			}
		}
		purged := must(b.s.PurgeDeadBatch(b.ctx, store.DeadFilter{Tag: "red", IncludeReplayed: true}, store.PurgeBatch{Limit: 10}))(t)
		if purged != 3 {
			t.Fatalf("PurgeDeadBatch with a tag deleted %d, want 3", purged)
		}
		left := deadIDs(b.everything(t))
		wantIDSet(t, left, []uuid.UUID{e[1].ID, e[3].ID, e[4].ID}, "the entries left")

		op := b.newOp(t, b.app2.ID, "b", func(o *store.ReplayOp) { o.Tag = "reddish" })
		if got := must(b.s.GetReplayOp(b.ctx, op.ID))(t); got.Tag != "reddish" || got.Filter().Tag != "reddish" {
			t.Fatalf("the operation's tag reads back as %q", got.Tag)
		}
	})

	r.run(t, "ListJobsByTag", func(t *testing.T, b *bundle) {
		var jobs []store.InsertJob
		for i, tags := range [][]string{{"x"}, nil, {"y", "x"}, {"xx"}} {
			j := newJob(b.app.ID, "t")
			if i == 3 {
				j.AppID = b.app2.ID
			}
			j.Tags = tags
			jobs = append(jobs, j)
		}
		b.insertNew(t, jobs...)
		got := must(allJobs(b.ctx, b.s, store.JobFilter{Tag: "x"}))(t)
		wantIDs(t, jobIDs(got), newestFirst([]uuid.UUID{jobs[0].ID, jobs[2].ID}), "ListJobs with a tag")
		got = must(allJobs(b.ctx, b.s, store.JobFilter{Tag: "x", AppID: &b.app.ID, Status: store.StatusPending}))(t)
		wantIDs(t, jobIDs(got), newestFirst([]uuid.UUID{jobs[0].ID, jobs[2].ID}), "ListJobs with a tag, app and status")
		page := must(b.s.ListJobs(b.ctx, store.JobFilter{Tag: "x"}, store.Page{Limit: 1}))(t)
		wantIDs(t, jobIDs(page), []uuid.UUID{jobs[2].ID}, "the first page of one")
		page = must(b.s.ListJobs(b.ctx, store.JobFilter{Tag: "x"}, store.Page{Limit: 1, Before: &jobs[2].ID}))(t)
		wantIDs(t, jobIDs(page), []uuid.UUID{jobs[0].ID}, "the second page of one")
	})
}
