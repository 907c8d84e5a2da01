// Package migrate applies a store's embedded, versioned SQL migrations under a lock.
//
// Migrations are files named NNNN_name.up.sql and NNNN_name.down.sql in an fs.FS. Each is
// applied in its own transaction together with the row that records it, so a failed
// migration leaves no trace and a crash between two leaves a consistent version. A Driver
// supplies the lock and the bookkeeping for one database kind.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/store"
)

// File is one migration version with its up and down SQL.
type File struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// Driver is what the runner needs from a database. The runner calls Lock first and the
// returned unlock last; everything in between runs while no other runner can.
type Driver interface {
	// Lock blocks until this runner holds the migration lock (creating the bookkeeping table
	// if needed) and returns the function that releases it.
	Lock(ctx context.Context) (unlock func(), err error)
	// Applied returns the applied versions and when each was applied.
	Applied(ctx context.Context) (map[int]time.Time, error)
	// Apply runs sql and records (up) or forgets (down) the version, in one transaction.
	Apply(ctx context.Context, f File, up bool) error
}

var fileName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$`)

// Load reads the migrations in the root of fsys. Every version needs both an up and a down
// file, and versions must count up from 1 without gaps.
func Load(fsys fs.FS) ([]File, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]*File{}
	for _, e := range entries {
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrate: unexpected file %q", e.Name())
		}
		v, _ := strconv.Atoi(m[1])
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		f := byVersion[v]
		if f == nil {
			f = &File{Version: v, Name: m[2]}
			byVersion[v] = f
		} else if f.Name != m[2] {
			return nil, fmt.Errorf("migrate: version %d has two names, %q and %q", v, f.Name, m[2])
		}
		if m[3] == "up" {
			f.Up = string(body)
		} else {
			f.Down = string(body)
		}
	}
	files := make([]File, 0, len(byVersion))
	for v := 1; v <= len(byVersion); v++ {
		f := byVersion[v]
		if f == nil {
			return nil, fmt.Errorf("migrate: version %04d is missing", v)
		}
		if f.Up == "" || f.Down == "" {
			return nil, fmt.Errorf("migrate: version %04d_%s needs both up and down files", v, f.Name)
		}
		files = append(files, *f)
	}
	return files, nil
}

// lockAndRead takes the migration lock and reads the applied versions.
func lockAndRead(ctx context.Context, d Driver) (unlock func(), applied map[int]time.Time, err error) {
	if unlock, err = d.Lock(ctx); err != nil {
		return nil, nil, fmt.Errorf("migrate: lock: %w", err)
	}
	if applied, err = d.Applied(ctx); err != nil {
		unlock()
		return nil, nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	return unlock, applied, nil
}

// Up applies every migration not yet applied, oldest first, and returns those it applied.
func Up(ctx context.Context, d Driver, files []File) ([]store.Migration, error) {
	unlock, applied, err := lockAndRead(ctx, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var done []store.Migration
	for _, f := range files {
		if _, ok := applied[f.Version]; ok {
			continue
		}
		if err := d.Apply(ctx, f, true); err != nil {
			return done, fmt.Errorf("migrate: up %04d_%s: %w", f.Version, f.Name, err)
		}
		now := clock.Now().UTC()
		done = append(done, store.Migration{Version: f.Version, Name: f.Name, AppliedAt: &now})
	}
	return done, nil
}

// Down undoes every applied migration above version `to`, newest first, and returns those it
// undid.
func Down(ctx context.Context, d Driver, files []File, to int) ([]store.Migration, error) {
	if to < 0 {
		return nil, store.Fieldf("to", "must be 0 or more, got %d", to)
	}
	unlock, applied, err := lockAndRead(ctx, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var done []store.Migration
	for i := len(files) - 1; i >= 0; i-- {
		f := files[i]
		if f.Version <= to {
			break
		}
		if _, ok := applied[f.Version]; !ok {
			continue
		}
		if err := d.Apply(ctx, f, false); err != nil {
			return done, fmt.Errorf("migrate: down %04d_%s: %w", f.Version, f.Name, err)
		}
		done = append(done, store.Migration{Version: f.Version, Name: f.Name})
	}
	return done, nil
}

// Status lists every known migration, oldest first, with when it was applied (nil if not).
// Versions applied by a newer binary that this one does not know are listed with an empty
// name.
func Status(ctx context.Context, d Driver, files []File) ([]store.Migration, error) {
	unlock, applied, err := lockAndRead(ctx, d)
	if err != nil {
		return nil, err
	}
	defer unlock()
	known := map[int]bool{}
	var out []store.Migration
	for _, f := range files {
		known[f.Version] = true
		m := store.Migration{Version: f.Version, Name: f.Name}
		if at, ok := applied[f.Version]; ok {
			at := at.UTC()
			m.AppliedAt = &at
		}
		out = append(out, m)
	}
	for v, at := range applied {
		if !known[v] {
			at := at.UTC()
			out = append(out, store.Migration{Version: v, AppliedAt: &at})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
