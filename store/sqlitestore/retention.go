package sqlitestore

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sluicehq/sluice/internal/sqlfile"
	"github.com/sluicehq/sluice/store"
)

//go:embed retention.sql
var retentionSQL string

// qt are the queries of retention, in retention.sql.
var qt = sqlfile.MustParse(retentionSQL)

// PutRetentionPolicy creates or replaces the policy of its kind and scope, audited in the
// same transaction when audit is set.
func (s *Store) PutRetentionPolicy(ctx context.Context, p store.RetentionPolicy, audit *store.Audit) (store.RetentionPolicy, error) {
	var out store.RetentionPolicy
	err := s.write(ctx, func(tx *sql.Tx) error {
		args := []any{sql.Named("kind", string(p.Kind)), sql.Named("app_id", nullID(p.AppID)), sql.Named("type", p.Type),
			sql.Named("max_age_ms", millis(p.MaxAge)), sql.Named("max_count", p.MaxCount)}
		prev, err := scanPolicy(tx.QueryRowContext(ctx, qt.Get("GetRetentionPolicyByScope"), args[:3]...))
		if errors.Is(err, sql.ErrNoRows) {
			out, err = scanPolicy(tx.QueryRowContext(ctx, qt.Get("InsertRetentionPolicy"), append(args, sql.Named("id", p.ID.String()))...))
			if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
				return store.UnknownApp()
			} else if err != nil {
				return err
			}
			return recordAudit(ctx, tx, store.PolicyAudit(audit, store.AuditRetentionCreate, out, nil), 1)
		} else if err != nil {
			return err
		}
		if out, err = scanPolicy(tx.QueryRowContext(ctx, qt.Get("UpdateRetentionPolicy"), args...)); err != nil {
			return err
		}
		return recordAudit(ctx, tx, store.PolicyAudit(audit, store.AuditRetentionUpdate, out, &prev), 1)
	})
	if err != nil {
		return store.RetentionPolicy{}, err
	}
	return out, nil
}

// ListRetentionPolicies returns every policy.
func (s *Store) ListRetentionPolicies(ctx context.Context) ([]store.RetentionPolicy, error) {
	out := []store.RetentionPolicy{}
	err := s.read(ctx, func(db querier) error {
		out = out[:0]
		rows, err := db.QueryContext(ctx, qt.Get("ListRetentionPolicies"))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPolicy(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// DeleteRetentionPolicy deletes the policy and returns it, or returns store.ErrNotFound;
// audited in the same transaction when audit is set.
func (s *Store) DeleteRetentionPolicy(ctx context.Context, id uuid.UUID, audit *store.Audit) (store.RetentionPolicy, error) {
	var out store.RetentionPolicy
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanPolicy(tx.QueryRowContext(ctx, qt.Get("DeleteRetentionPolicy"), sql.Named("id", id.String())))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		return recordAudit(ctx, tx, store.PolicyAudit(audit, store.AuditRetentionDelete, out, nil), 1)
	})
	if err != nil {
		return store.RetentionPolicy{}, err
	}
	return out, nil
}

// TrimBatch deletes one bounded batch of what a policy no longer keeps.
func (s *Store) TrimBatch(ctx context.Context, b store.TrimBatch) (store.TrimResult, error) {
	var res store.TrimResult
	if b.MaxAge <= 0 && b.MaxCount <= 0 {
		return res, nil
	}
	dead := b.Kind == store.RetainReplayed || b.Kind == store.RetainUnreplayed
	kindArg := sql.Named("kind", string(b.Kind))
	boundQ, selQ, delQ := "TrimJobsBound", "TrimJobs", "DeleteJobs"
	if dead {
		kindArg = sql.Named("replayed", b.Kind == store.RetainReplayed)
		boundQ, selQ, delQ = "TrimDeadBound", "TrimDead", "DeleteDeadIDs"
	}
	scope := []any{kindArg, sql.Named("app_id", nullID(b.Scope.AppID)), sql.Named("type", b.Scope.Type),
		sql.Named("exclude", store.ExcludeJSON(b.Exclude))}
	run := func(tx *sql.Tx) error {
		res = store.TrimResult{}
		var bound any
		if b.MaxCount > 0 {
			var id string
			err := tx.QueryRowContext(ctx, qt.Get(boundQ), append(scope, sql.Named("max_count", b.MaxCount))...).Scan(&id)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil {
				bound = id
			}
		}
		if b.MaxAge <= 0 && bound == nil {
			return nil
		}
		rows, err := tx.QueryContext(ctx, qt.Get(selQ), append(scope, sql.Named("max_age_ms", millis(b.MaxAge)),
			sql.Named("bound", bound), sql.Named("limit", b.Limit))...)
		if err != nil {
			return err
		}
		var ids, apps []uuid.UUID
		var types []string
		var ats []time.Time
		var entries []store.DeadJob
		err = func() error {
			defer rows.Close()
			for rows.Next() {
				if dead {
					d, err := scanDead(rows)
					if err != nil {
						return err
					}
					entries = append(entries, d)
					ids, apps, types, ats = append(ids, d.ID), append(apps, d.AppID), append(types, d.Type), append(ats, d.FailedAt)
					continue
				}
				var id, app uuid.UUID
				var typ string
				var at int64
				if err := rows.Scan(&id, &app, &typ, &at); err != nil {
					return err
				}
				ids, apps, types, ats = append(ids, id), append(apps, app), append(types, typ), append(ats, fromMicros(at))
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
		res = store.GroupTrimmed(ids, apps, types, ats)
		if b.DryRun || len(ids) == 0 {
			return nil
		}
		if b.Kind == store.RetainUnreplayed && b.BeforeDelete != nil {
			if err := b.BeforeDelete(ctx, entries); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, qt.Get(delQ), sql.Named("ids", jsonParam(ids))); err != nil {
			return err
		}
		if b.Kind != store.RetainUnreplayed {
			return nil
		}
		for _, g := range res.Groups {
			_, err := tx.ExecContext(ctx, qt.Get("RecordTrimReport"), sql.Named("id", store.NewReportID().String()),
				sql.Named("policy_id", nullID(b.PolicyID)), sql.Named("policy", b.Policy),
				sql.Named("app_id", g.AppID.String()), sql.Named("type", g.Type), sql.Named("count", g.Count),
				sql.Named("oldest", micros(g.Oldest)), sql.Named("newest", micros(g.Newest)),
				sql.Named("min_id", g.MinID.String()), sql.Named("max_id", g.MaxID.String()),
				sql.Named("export_file", b.ExportFile))
			if err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if b.DryRun {
		// Reads only; on the writer anyway, so the count is what a batch would see.
		err = s.write(ctx, func(tx *sql.Tx) error {
			if err := run(tx); err != nil {
				return err
			}
			return errDryRun
		})
		if errors.Is(err, errDryRun) {
			err = nil
		}
	} else {
		err = s.write(ctx, run)
	}
	if err != nil {
		return store.TrimResult{}, err
	}
	return res, nil
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// ListTrimReports returns trim reports, newest first.
func (s *Store) ListTrimReports(ctx context.Context, undismissed bool, page store.Page) ([]store.TrimReport, error) {
	out := []store.TrimReport{}
	err := s.read(ctx, func(db querier) error {
		out = out[:0]
		rows, err := db.QueryContext(ctx, qt.Get("ListTrimReports"), sql.Named("undismissed", undismissed),
			sql.Named("before", nullID(page.Before)), sql.Named("limit", page.Limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanTrimReport(rows)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	return out, err
}

// GetTrimReport returns the report, or store.ErrNotFound.
func (s *Store) GetTrimReport(ctx context.Context, id uuid.UUID) (store.TrimReport, error) {
	var out store.TrimReport
	err := s.read(ctx, func(db querier) error {
		var err error
		out, err = scanTrimReport(db.QueryRowContext(ctx, qt.Get("GetTrimReport"), sql.Named("id", id.String())))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.TrimReport{}, store.ErrNotFound
	}
	return out, err
}

// DismissTrimReport marks the report dismissed.
func (s *Store) DismissTrimReport(ctx context.Context, id uuid.UUID, by string) (store.TrimReport, error) {
	var out store.TrimReport
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanTrimReport(tx.QueryRowContext(ctx, qt.Get("DismissTrimReport"), sql.Named("id", id.String()), sql.Named("by", by)))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return store.TrimReport{}, store.ErrNotFound
	}
	return out, err
}

// CountTrimReports counts the undismissed reports.
func (s *Store) CountTrimReports(ctx context.Context) (int64, error) {
	var n int64
	err := s.read(ctx, func(db querier) error {
		return db.QueryRowContext(ctx, qt.Get("CountTrimReports")).Scan(&n)
	})
	return n, err
}

func scanPolicy(row scanner) (store.RetentionPolicy, error) {
	var p store.RetentionPolicy
	var kind string
	var ageMS, created, updated int64
	if err := row.Scan(&p.ID, &kind, &p.AppID, &p.Type, &ageMS, &p.MaxCount, &created, &updated); err != nil {
		return store.RetentionPolicy{}, err
	}
	p.Kind = store.RetentionKind(kind)
	p.MaxAge = time.Duration(ageMS) * time.Millisecond
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func scanTrimReport(row scanner) (store.TrimReport, error) {
	var r store.TrimReport
	var oldest, newest, created int64
	var dismissed sql.NullInt64
	err := row.Scan(&r.ID, &r.PolicyID, &r.Policy, &r.AppID, &r.Type, &r.Count, &oldest, &newest, &r.MinID,
		&r.MaxID, &r.ExportFile, &created, &dismissed, &r.DismissedBy)
	if err != nil {
		return store.TrimReport{}, err
	}
	r.OldestFailedAt, r.NewestFailedAt, r.CreatedAt = fromMicros(oldest), fromMicros(newest), fromMicros(created)
	r.DismissedAt = fromNullMicros(dismissed)
	return r, nil
}
