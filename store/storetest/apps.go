package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/sluicehq/sluice/store"
)

func wantSameApp(t *testing.T, got, want store.App, what string) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("%s: got app %+v, want %+v", what, got, want)
	}
}

func testApps(t *testing.T, r *suite) {
	r.run(t, "CreateAndGet", func(t *testing.T, b *bundle) {
		before := b.dbNow(t)
		id := newID()
		name := "ünïcødé app 名前 ✓"
		app := must(b.s.CreateApp(b.ctx, store.App{ID: id, Name: name}))(t)
		after := b.dbNow(t)
		if app.ID != id || app.Name != name {
			t.Fatalf("CreateApp returned %+v, want id %s and name %q", app, id, name)
		}
		wantBetween(t, app.CreatedAt, before, after, "CreatedAt")
		wantSameApp(t, must(b.s.GetApp(b.ctx, id))(t), app, "GetApp")
		wantSameApp(t, must(b.s.GetAppByName(b.ctx, name))(t), app, "GetAppByName")
	})

	r.run(t, "DuplicateNameIsConflict", func(t *testing.T, b *bundle) {
		id := newID()
		_, err := b.s.CreateApp(b.ctx, store.App{ID: id, Name: b.app.Name})
		var fe *store.FieldError
		if !errors.As(err, &fe) || fe.Field != "name" {
			t.Fatalf("CreateApp with a taken name: got %v, want a *store.FieldError on \"name\"", err)
		}
		wantErrIs(t, err, store.ErrConflict, "CreateApp with a taken name")
		_, err = b.s.GetApp(b.ctx, id)
		wantErrIs(t, err, store.ErrNotFound, "GetApp of the refused app")
		wantSameApp(t, must(b.s.GetAppByName(b.ctx, b.app.Name))(t), b.app, "the app that holds the name")
		// Names are compared exactly: another case is another name.
		upper := b.createApp(t, "ALPHA")
		wantSameApp(t, must(b.s.GetAppByName(b.ctx, "ALPHA"))(t), upper, "GetAppByName(ALPHA)")
		wantSameApp(t, must(b.s.GetAppByName(b.ctx, "alpha"))(t), b.app, "GetAppByName(alpha)")
	})

	r.run(t, "ListOrderedByName", func(t *testing.T, b *bundle) {
		// Byte order, whatever the database's locale: upper case before lower, digits and
		// punctuation by code point, non-ASCII last.
		for _, name := range []string{"zeta", "Zeta", "éclair", "_under", "beta-2", "123", "Alpha", "a b"} {
			b.createApp(t, name)
		}
		apps := must(b.s.ListApps(b.ctx))(t)
		var got []string
		for _, a := range apps {
			got = append(got, a.Name)
		}
		want := []string{"123", "Alpha", "Zeta", "_under", "a b", "alpha", "beta", "beta-2", "zeta", "éclair"}
		if !slices.Equal(got, want) {
			t.Fatalf("ListApps names = %q, want %q", got, want)
		}
		for _, a := range apps {
			wantSameApp(t, a, must(b.s.GetApp(b.ctx, a.ID))(t), "ListApps entry")
		}
	})

	r.run(t, "NotFound", func(t *testing.T, b *bundle) {
		_, err := b.s.GetApp(b.ctx, newID())
		wantErrIs(t, err, store.ErrNotFound, "GetApp of an unknown id")
		_, err = b.s.GetAppByName(b.ctx, "no-such-app")
		wantErrIs(t, err, store.ErrNotFound, "GetAppByName of an unknown name")
		_, err = b.s.GetAppByName(b.ctx, "Alpha")
		wantErrIs(t, err, store.ErrNotFound, "GetAppByName in another case")
	})
}
