package sluice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sluicehq/sluice/internal/clock"
	"github.com/sluicehq/sluice/internal/periodic"
	"github.com/sluicehq/sluice/internal/validate"
	"github.com/sluicehq/sluice/store"
)

// Schedule is a periodic job: a job of Type enqueued into App at every tick of a cron
// expression or a fixed interval. Register it with Client.Periodic before Start; every
// started client that registered it ticks it, and each tick enqueues exactly one job however
// many processes tick it (see docs/periodic.md).
type Schedule struct {
	// Name identifies the schedule within its app: 1–128 printable ASCII characters without
	// spaces. Required.
	Name string
	// App is the app's id or name. Required.
	App string
	// Type is the job type every tick enqueues. Required.
	Type string
	// Cron is a cron expression with the five standard fields (minute, hour, day of month,
	// month, day of week), or a descriptor: @yearly, @monthly, @weekly, @daily, @hourly. It
	// has no seconds field. Exactly one of Cron and Every is required.
	Cron string
	// TimeZone is the IANA time zone Cron is read in ("Europe/Berlin"). Defaults to UTC.
	TimeZone string
	// Every is a fixed interval, at least a second, in whole milliseconds: the schedule ticks
	// at its multiples since the Unix epoch (every 15m: at :00, :15, :30 and :45 of each hour,
	// UTC).
	Every time.Duration
	// Payload is every job's arguments, as NewJob.Payload. Defaults to {}.
	Payload any
	// Queue, Priority and MaxAttempts are every job's, as in NewJob: they default to the
	// type's queue (or "default"), 0, and the type's attempt budget (or 25).
	Queue       string
	Priority    int
	MaxAttempts int
	// CatchUp says what a tick found late is done with. Defaults to CatchUpLatest.
	CatchUp CatchUp
}

// CatchUp is a schedule's policy for ticks that passed while no process ticked it.
type CatchUp string

// The catch-up policies. Either way at most one job is enqueued per look at a schedule, so a
// process that comes back after a long time enqueues no burst.
const (
	// CatchUpLatest enqueues the most recent due tick however late it is found; the ticks
	// before it that were missed are skipped.
	CatchUpLatest CatchUp = store.CatchUpLatest
	// CatchUpNone enqueues a tick only if it is found within CatchUpGrace of its time; a tick
	// found later is skipped, and the next one is awaited.
	CatchUpNone CatchUp = store.CatchUpNone
)

// CatchUpGrace is how late a tick may be found and still be enqueued under CatchUpNone.
const CatchUpGrace = time.Minute

// ScheduleStaleAfter is how long after a process last registered a schedule it is shown as
// stale: no started client has it any more, so it is not ticking. Started clients register
// their schedules again every scheduleSyncInterval.
const ScheduleStaleAfter = 5 * time.Minute

// scheduleSyncInterval is how often a started client registers its schedules again (marking
// them seen) and re-reads their last ticks.
const scheduleSyncInterval = time.Minute

// maxSkippedCount bounds how many skipped ticks one step counts (a per-second schedule after a
// year away would otherwise count for a while).
const maxSkippedCount = 1_000_000

// ScheduleInfo is a stored schedule: its definition, its last tick and job, when a process
// last registered it, its next tick and whether it is stale.
type ScheduleInfo = store.Schedule

// registered is a schedule registered with Periodic: validated, its app not yet resolved.
type registered struct {
	app  string
	def  store.ScheduleDef
	spec periodic.Spec
}

// Periodic registers a schedule that the client ticks once started. It must be called before
// Start. A bad schedule is a *FieldError naming the field ("name", "app", "type", "cron",
// "every", "timeZone", "payload", "queue", "priority", "maxAttempts", "catchUp"); a second
// schedule of the same app and name is one on "name" wrapping ErrConflict. The app itself is
// looked up by Start.
func (c *Client) Periodic(s Schedule) error {
	r, err := c.prepareSchedule(s)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine != nil {
		return errors.New("sluice: Periodic must be called before Start")
	}
	for _, o := range c.schedules {
		if o.app == s.App && o.def.Name == s.Name {
			return &FieldError{Field: "name", Message: fmt.Sprintf("app %s already has a schedule named %q", validate.Quote(s.App), s.Name), Err: ErrConflict}
		}
	}
	c.schedules = append(c.schedules, r)
	return nil
}

// prepareSchedule validates a schedule and fills in its defaults, all but the app's id.
func (c *Client) prepareSchedule(s Schedule) (registered, error) {
	if err := validate.Identifier("name", s.Name); err != nil {
		return registered{}, err
	}
	if s.App == "" {
		return registered{}, store.Fieldf("app", "is required")
	}
	if _, err := uuid.Parse(s.App); err != nil {
		if err := validate.AppName("app", s.App); err != nil {
			return registered{}, err
		}
	}
	spec, err := periodic.Parse(s.Cron, s.Every, s.TimeZone)
	var perr *periodic.Error
	if errors.As(err, &perr) {
		return registered{}, store.Fieldf(perr.Field, "%s", perr.Message)
	}
	if s.CatchUp == "" {
		s.CatchUp = CatchUpLatest
	}
	if s.CatchUp != CatchUpLatest && s.CatchUp != CatchUpNone {
		return registered{}, store.Fieldf("catchUp", "must be %q or %q, got %s", CatchUpLatest, CatchUpNone, validate.Quote(string(s.CatchUp)))
	}
	if s.Payload == nil {
		s.Payload = struct{}{}
	}
	// The job fields are checked as an enqueue checks them; the unique key a tick gives its job
	// is within bounds for every name.
	ins, err := c.prepareJob("", NewJob{App: s.App, Type: s.Type, Payload: s.Payload, Queue: s.Queue,
		Priority: s.Priority, MaxAttempts: s.MaxAttempts})
	if err != nil {
		return registered{}, err
	}
	tz := s.TimeZone
	if tz == "" {
		tz = "UTC"
	}
	return registered{app: s.App, spec: spec, def: store.ScheduleDef{ID: newID(), Name: s.Name, Type: ins.Type,
		Cron: s.Cron, TimeZone: tz, Every: s.Every, Queue: ins.Queue, Priority: ins.Priority,
		MaxAttempts: ins.MaxAttempts, Payload: ins.Payload, CatchUp: string(s.CatchUp)}}, nil
}

// Schedules returns the stored schedules of the app with this id or name (empty: of every
// app), by app id then name, each with its next tick and whether it is stale. An unknown app
// is a *FieldError on "app" wrapping ErrNotFound.
func (c *Client) Schedules(ctx context.Context, app string) ([]ScheduleInfo, error) {
	var appID *uuid.UUID
	if app != "" {
		id, err := c.resolveApp(ctx, "app", app)
		if err != nil {
			return nil, err
		}
		appID = &id
	}
	out, err := c.store.ListSchedules(ctx, appID)
	for i := range out {
		describeSchedule(&out[i])
	}
	return out, err
}

// GetSchedule returns the stored schedule with this id, or ErrNotFound.
func (c *Client) GetSchedule(ctx context.Context, id uuid.UUID) (ScheduleInfo, error) {
	s, err := c.store.GetSchedule(ctx, id)
	if err == nil {
		describeSchedule(&s)
	}
	return s, err
}

// DeleteSchedule deletes the stored schedule with this id, or returns ErrNotFound. It is for
// schedules no process registers any more (stale ones): a started client that still has it
// registers it again within a minute, with no last tick, so that it starts afresh from its
// next tick.
func (c *Client) DeleteSchedule(ctx context.Context, id uuid.UUID) error {
	return c.store.DeleteSchedule(ctx, id)
}

// describeSchedule fills in what a listing shows beyond the row: the next tick after the later
// of the read and the last tick, and whether the schedule is stale. A definition this machine
// cannot compute (a time zone it lacks) gets no next tick.
func describeSchedule(s *store.Schedule) {
	s.Stale = s.ReadAt.Sub(s.SeenAt) > ScheduleStaleAfter
	spec, err := periodic.Parse(s.Cron, s.Every, cronZone(s))
	if err != nil {
		return
	}
	from := s.ReadAt
	if s.LastTickAt != nil && s.LastTickAt.After(from) {
		from = *s.LastTickAt
	}
	if next := spec.Next(from); !next.IsZero() {
		s.NextTickAt = &next
	}
}

// cronZone is the time zone to parse a stored schedule with: none for an interval.
func cronZone(s *store.Schedule) string {
	if s.Cron == "" {
		return ""
	}
	return s.TimeZone
}

// PeriodicObserver is what an Observer also implements to count periodic ticks; package
// metrics' observer does.
type PeriodicObserver interface {
	// TickEnqueued reports that this client enqueued the job of a schedule's tick, lag after
	// the tick's time (by the clock ticks are read from, the database's).
	TickEnqueued(app uuid.UUID, schedule string, lag time.Duration)
	// TicksSkipped reports n ticks of a schedule that this client recorded as skipped by the
	// catch-up policy.
	TicksSkipped(app uuid.UUID, schedule string, n int64)
}

// tickClock is the clock ticks are read from and waited for: the database's, or a test's fake.
type tickClock interface {
	now(ctx context.Context) (time.Time, error)
	// wait returns once the clock reads until or later, or ctx ends, or wake fires; readAt is
	// the reading until was worked out from.
	wait(ctx context.Context, readAt, until time.Time, wake <-chan time.Time)
}

// dbClock reads the database clock and waits on the local one for the difference.
type dbClock struct{ st store.Store }

func (d dbClock) now(ctx context.Context) (time.Time, error) { return d.st.Now(ctx) }

func (d dbClock) wait(ctx context.Context, readAt, until time.Time, wake <-chan time.Time) {
	t := time.NewTimer(until.Sub(readAt))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// fakeClock is a test's clock (clock.UseForTicks).
type fakeClock struct{ f *clock.Fake }

func (f fakeClock) now(context.Context) (time.Time, error) { return f.f.Now(), nil }

func (f fakeClock) wait(ctx context.Context, readAt, until time.Time, wake <-chan time.Time) {
	woken, done := make(chan struct{}), make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-wake:
			close(woken)
		case <-done:
		}
	}()
	f.f.WaitUntil(ctx, readAt, until, woken)
}

// scheduler ticks the schedules of one started client.
type scheduler struct {
	e      *engine
	clock  tickClock
	regs   []registered
	defs   []store.ScheduleDef // with app ids, in regs' order
	state  []store.Schedule    // as last read, in regs' order
	synced time.Time           // local time of the last sync; zero: sync now
}

// newScheduler resolves the apps of the registered schedules.
func (c *Client) newScheduler(ctx context.Context, e *engine) (*scheduler, error) {
	s := &scheduler{e: e, regs: c.schedules, clock: dbClock{c.store}}
	if f := clock.ForTicks(); f != nil {
		s.clock = fakeClock{f}
	}
	for _, r := range c.schedules {
		id, err := c.resolveApp(ctx, "app", r.app)
		if err != nil {
			return nil, fmt.Errorf("sluice: schedule %q: %w", r.def.Name, err)
		}
		d := r.def
		d.AppID = id
		s.defs = append(s.defs, d)
	}
	return s, nil
}

// run ticks the schedules until ctx ends.
func (s *scheduler) run(ctx context.Context) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	for ctx.Err() == nil {
		now, next, err := s.pass(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.e.log.Warn("sluice: ticking periodic schedules failed; will retry", "error", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		resync := time.NewTimer(scheduleSyncInterval - clock.Since(s.synced))
		s.clock.wait(ctx, now, next, resync.C)
		resync.Stop()
	}
}

// pass registers the schedules again when it is time, then ticks each that is due, and
// returns the time it read and the earliest next tick.
func (s *scheduler) pass(ctx context.Context) (now, next time.Time, err error) {
	if s.state == nil || clock.Since(s.synced) >= scheduleSyncInterval {
		state, err := s.e.st.SyncSchedules(ctx, s.defs)
		if err != nil {
			return now, next, fmt.Errorf("register schedules: %w", err)
		}
		s.state, s.synced = state, clock.Now()
	}
	if now, err = s.clock.now(ctx); err != nil {
		return now, next, fmt.Errorf("read the database clock: %w", err)
	}
	for i := range s.state {
		if err := s.step(ctx, i, now); err != nil {
			return now, next, err
		}
		if n := s.regs[i].spec.Next(now); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	if next.IsZero() {
		next = now.Add(scheduleSyncInterval)
	}
	return now, next, nil
}

// step ticks schedule i if a tick is due at now: the latest tick at or before now, if it is
// later than the schedule's last. A schedule's first tick is recorded without a job (it
// starts with the tick after); a later one enqueues its job unless the catch-up policy skips
// it. Ticks between the last and this one were missed and are counted as skipped.
func (s *scheduler) step(ctx context.Context, i int, now time.Time) error {
	sch, spec := s.state[i], s.regs[i].spec
	tick := spec.Prev(now)
	if tick.IsZero() || (sch.LastTickAt != nil && !tick.After(*sch.LastTickAt)) {
		return nil
	}
	p := store.TickParams{ScheduleID: sch.ID, Tick: tick}
	if sch.LastTickAt != nil {
		p.Skipped = spec.Between(*sch.LastTickAt, tick, maxSkippedCount)
		if sch.CatchUp == store.CatchUpNone && now.Sub(tick) > CatchUpGrace {
			p.Skipped++
		} else {
			p.Job = &store.InsertJob{ID: newID(), AppID: sch.AppID, Type: sch.Type, Queue: sch.Queue,
				Priority: sch.Priority, Payload: sch.Payload, MaxAttempts: sch.MaxAttempts,
				UniqueKey: TickKey(sch.Name, tick)}
		}
	}
	res, err := s.e.st.TickSchedule(ctx, p)
	if errors.Is(err, ErrAppDisabled) && p.Job != nil {
		// The app is disabled: the tick passes, counted as skipped.
		p.Job = nil
		p.Skipped++
		res, err = s.e.st.TickSchedule(ctx, p)
	}
	if errors.Is(err, ErrNotFound) {
		s.synced = time.Time{} // deleted by an operator: register it again on the next pass
		s.e.log.Warn("sluice: a periodic schedule was deleted while this client runs it; registering it again",
			"app_id", sch.AppID, "schedule", sch.Name)
		return nil
	}
	if err != nil {
		return fmt.Errorf("tick schedule %q: %w", sch.Name, err)
	}
	s.state[i] = res.Schedule
	if !res.Won {
		return nil
	}
	obs, _ := s.e.cfg.Observer.(PeriodicObserver)
	if p.Skipped > 0 {
		s.e.log.Info("sluice: periodic ticks skipped (catch-up policy)", "app_id", sch.AppID, "schedule", sch.Name,
			"skipped", p.Skipped, "catch_up", sch.CatchUp, "last_tick", sch.LastTickAt, "tick", tick)
		if obs != nil {
			obs.TicksSkipped(sch.AppID, sch.Name, p.Skipped)
		}
	}
	if res.Job == nil {
		return nil
	}
	s.e.log.Debug("sluice: periodic tick enqueued", jobAttrs(&res.Job.Job, "schedule", sch.Name, "tick", tick)...)
	if obs != nil {
		obs.TickEnqueued(sch.AppID, sch.Name, now.Sub(tick))
	}
	if !res.Job.Duplicate {
		if o := s.e.cfg.Observer; o != nil {
			o.JobEnqueued(&res.Job.Job)
		}
		s.e.client.wakeFor([]store.InsertJob{*p.Job})
	}
	return nil
}

// TickKey is the unique key of the job a schedule's tick enqueues:
// "periodic:NAME@2026-11-27T12:00:00.000Z".
func TickKey(schedule string, tick time.Time) string {
	return "periodic:" + schedule + "@" + tick.UTC().Format(store.TimeFormat)
}
