package pgstore

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, qt.Get("LockRetentionPolicy"), string(p.Kind), p.AppID, p.Type)
		prev, err := pgx.CollectOneRow(rows, scanPolicy)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		rows, _ = tx.Query(ctx, qt.Get("PutRetentionPolicy"), p.ID, string(p.Kind), p.AppID, p.Type,
			millis(p.MaxAge), p.MaxCount)
		out, err = pgx.CollectExactlyOneRow(rows, scanPolicy)
		if code, _ := pgErrorCode(err); code == codeForeignKeyViolation {
			return store.UnknownApp()
		} else if err != nil {
			return err
		}
		if out.ID == p.ID {
			return recordAudit(ctx, tx, store.PolicyAudit(audit, store.AuditRetentionCreate, out, nil), 1)
		}
		var previous *store.RetentionPolicy
		if prev.ID == out.ID {
			previous = &prev
		}
		return recordAudit(ctx, tx, store.PolicyAudit(audit, store.AuditRetentionUpdate, out, previous), 1)
	})
	if err != nil {
		return store.RetentionPolicy{}, err
	}
	return out, nil
}

// ListRetentionPolicies returns every policy.
func (s *Store) ListRetentionPolicies(ctx context.Context) ([]store.RetentionPolicy, error) {
	rows, err := s.pool.Query(ctx, qt.Get("ListRetentionPolicies"))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanPolicy)
}

// DeleteRetentionPolicy deletes the policy and returns it, or returns store.ErrNotFound;
// audited in the same transaction when audit is set.
func (s *Store) DeleteRetentionPolicy(ctx context.Context, id uuid.UUID, audit *store.Audit) (store.RetentionPolicy, error) {
	var out store.RetentionPolicy
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, qt.Get("DeleteRetentionPolicy"), id)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanPolicy)
		if errors.Is(err, pgx.ErrNoRows) {
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
	exclude := store.ExcludeJSON(b.Exclude)
	dead := b.Kind == store.RetainReplayed || b.Kind == store.RetainUnreplayed
	var kindArg any = string(b.Kind)
	boundQ, selQ, delQ := "TrimJobsBound", "TrimJobs", "DeleteJobs"
	if dead {
		kindArg = b.Kind == store.RetainReplayed
		boundQ, selQ, delQ = "TrimDeadBound", "TrimDead", "DeleteDeadIDs"
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var bound *uuid.UUID
		if b.MaxCount > 0 {
			err := tx.QueryRow(ctx, qt.Get(boundQ), kindArg, b.Scope.AppID, b.Scope.Type, exclude, b.MaxCount).Scan(&bound)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if b.MaxAge <= 0 && bound == nil {
			return nil
		}
		rows, err := tx.Query(ctx, qt.Get(selQ), kindArg, b.Scope.AppID, b.Scope.Type, exclude, millis(b.MaxAge), bound, b.Limit)
		if err != nil {
			return err
		}
		var ids, apps []uuid.UUID
		var types []string
		var ats []time.Time
		var entries []store.DeadJob
		if dead {
			if entries, err = pgx.CollectRows(rows, scanDead); err != nil {
				return err
			}
			for _, d := range entries {
				ids, apps, types, ats = append(ids, d.ID), append(apps, d.AppID), append(types, d.Type), append(ats, d.FailedAt)
			}
		} else {
			var id, app uuid.UUID
			var typ string
			var at time.Time
			_, err = pgx.ForEachRow(rows, []any{&id, &app, &typ, &at}, func() error {
				ids, apps, types, ats = append(ids, id), append(apps, app), append(types, typ), append(ats, at.UTC())
				return nil
			})
			if err != nil {
				return err
			}
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
		if _, err := tx.Exec(ctx, qt.Get(delQ), ids); err != nil {
			return err
		}
		if b.Kind != store.RetainUnreplayed {
			return nil
		}
		for _, g := range res.Groups {
			_, err := tx.Exec(ctx, qt.Get("RecordTrimReport"), store.NewReportID(), b.PolicyID, b.Policy, g.AppID, g.Type,
				g.Count, g.Oldest, g.Newest, g.MinID, g.MaxID, b.ExportFile)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.TrimResult{}, err
	}
	return res, nil
}

// ListTrimReports returns trim reports, newest first.
func (s *Store) ListTrimReports(ctx context.Context, undismissed bool, page store.Page) ([]store.TrimReport, error) {
	rows, err := s.pool.Query(ctx, qt.Get("ListTrimReports"), undismissed, page.Before, page.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanTrimReport)
}

// GetTrimReport returns the report, or store.ErrNotFound.
func (s *Store) GetTrimReport(ctx context.Context, id uuid.UUID) (store.TrimReport, error) {
	rows, _ := s.pool.Query(ctx, qt.Get("GetTrimReport"), id)
	r, err := pgx.CollectExactlyOneRow(rows, scanTrimReport)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	return r, err
}

// DismissTrimReport marks the report dismissed.
func (s *Store) DismissTrimReport(ctx context.Context, id uuid.UUID, by string) (store.TrimReport, error) {
	rows, _ := s.pool.Query(ctx, qt.Get("DismissTrimReport"), id, by)
	r, err := pgx.CollectExactlyOneRow(rows, scanTrimReport)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, store.ErrNotFound
	}
	return r, err
}

// CountTrimReports counts the undismissed reports.
func (s *Store) CountTrimReports(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, qt.Get("CountTrimReports")).Scan(&n)
	return n, err
}

func scanPolicy(row pgx.CollectableRow) (store.RetentionPolicy, error) {
	var p store.RetentionPolicy
	var kind string
	var ageMS int64
	err := row.Scan(&p.ID, &kind, &p.AppID, &p.Type, &ageMS, &p.MaxCount, &p.CreatedAt, &p.UpdatedAt)
	p.Kind = store.RetentionKind(kind)
	p.MaxAge = time.Duration(ageMS) * time.Millisecond
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

func scanTrimReport(row pgx.CollectableRow) (store.TrimReport, error) {
	var r store.TrimReport
	err := row.Scan(&r.ID, &r.PolicyID, &r.Policy, &r.AppID, &r.Type, &r.Count, &r.OldestFailedAt,
		&r.NewestFailedAt, &r.MinID, &r.MaxID, &r.ExportFile, &r.CreatedAt, &r.DismissedAt, &r.DismissedBy)
	r.OldestFailedAt, r.NewestFailedAt, r.CreatedAt = r.OldestFailedAt.UTC(), r.NewestFailedAt.UTC(), r.CreatedAt.UTC()
	r.DismissedAt = utcPtr(r.DismissedAt)
	return r, err
}
