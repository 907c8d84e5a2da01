package store

import (
	"context"
	"errors"
	"fmt"
)

// FinishBatchOrEach is how both stores apply finishes: all in one transaction (batch), and if
// that fails — say a dead-letter insert is refused — each again alone, so that one bad row
// cannot hold back the others. A finish that still fails is reported in the joined error and
// its job keeps running until its lease expires and it is rescued.
func FinishBatchOrEach(ctx context.Context, finishes []Finish, batch func(context.Context, []Finish) ([]bool, error)) ([]bool, error) {
	applied, err := batch(ctx, finishes)
	if err == nil || len(finishes) == 1 {
		return applied, err
	}
	applied = make([]bool, len(finishes))
	var errs []error
	for i := range finishes {
		one, err := batch(ctx, finishes[i:i+1])
		if err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", finishes[i].Lease.JobID, err))
			continue
		}
		applied[i] = one[0]
	}
	return applied, errors.Join(errs...)
}
