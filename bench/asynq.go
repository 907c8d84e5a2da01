package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// asynqQueue is the queue every Asynq job goes to.
const asynqQueue = "default"

// asynqEnqueuers is how many goroutines Asynq's bulk insert uses: Asynq enqueues one task
// per call (one Lua script per task), so a batch is many concurrent calls.
const asynqEnqueuers = 64

// asynqSystem is Asynq against the local Redis at its defaults but for Concurrency.
func asynqSystem(name string, concurrency int) System {
	return System{Name: name,
		Config: fmt.Sprintf("asynq.Config{Concurrency: %d}, other fields default (TaskCheckInterval 1 s, one queue); bulk insert = %d goroutines calling Enqueue (Asynq has no batch insert); Redis without persistence (appendonly no): its outcomes are in memory, not fsynced", concurrency, asynqEnqueuers),
		Open: func(ctx context.Context, env *Env, spec Spec) (Instance, error) {
			return openAsynq(ctx, env, spec, concurrency)
		}}
}

// asynqInstance is an Asynq client and server on one Redis database.
type asynqInstance struct {
	spec      Spec
	db        int
	owned     bool
	redis     *redis.Client
	client    *asynq.Client
	server    *asynq.Server
	inspector *asynq.Inspector
	opts      []asynq.Option

	mu      sync.Mutex
	started bool
}

func openAsynq(ctx context.Context, env *Env, spec Spec, concurrency int) (Instance, error) {
	in := &asynqInstance{spec: spec, db: env.opts.RedisDB, owned: spec.Database == ""}
	if !in.owned {
		n, err := strconv.Atoi(spec.Database)
		if err != nil {
			return nil, fmt.Errorf("asynq: database %q is not a Redis DB index", spec.Database)
		}
		in.db = n
	}
	opt := asynq.RedisClientOpt{Addr: env.opts.RedisAddr, DB: in.db}
	in.redis = redis.NewClient(&redis.Options{Addr: env.opts.RedisAddr, DB: in.db})
	if in.owned {
		if err := in.redis.FlushDB(ctx).Err(); err != nil {
			in.redis.Close()
			return nil, fmt.Errorf("asynq: FLUSHDB: %w", err)
		}
	}
	in.client = asynq.NewClient(opt)
	in.inspector = asynq.NewInspector(opt)
	if spec.MaxAttempts > 0 {
		in.opts = append(in.opts, asynq.MaxRetry(spec.MaxAttempts-1))
	}
	if spec.Role != RoleProducer {
		in.server = asynq.NewServer(opt, asynq.Config{
			Concurrency: concurrency,
			Queues:      map[string]int{asynqQueue: 1},
			Logger:      quietAsynqLogger{},
			LogLevel:    asynq.FatalLevel,
		})
	}
	return in, nil
}

func (in *asynqInstance) Database() string { return strconv.Itoa(in.db) }

func (in *asynqInstance) task(a Args) (*asynq.Task, error) {
	payload, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(jobType, payload), nil
}

func (in *asynqInstance) Enqueue(ctx context.Context, a Args) error {
	t, err := in.task(a)
	if err != nil {
		return err
	}
	_, err = in.client.EnqueueContext(ctx, t, in.opts...)
	return err
}

func (in *asynqInstance) EnqueueBatch(ctx context.Context, jobs []Args) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(asynqEnqueuers)
	for _, a := range jobs {
		g.Go(func() error { return in.Enqueue(ctx, a) })
	}
	return g.Wait()
}

func (in *asynqInstance) Start(ctx context.Context) error {
	h := in.spec.Handler
	err := in.server.Start(asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		var a Args
		if err := json.Unmarshal(t.Payload(), &a); err != nil {
			return err
		}
		return h(ctx, a)
	}))
	if err == nil {
		in.mu.Lock()
		in.started = true
		in.mu.Unlock()
	}
	return err
}

func (in *asynqInstance) Stop(context.Context) error {
	in.mu.Lock()
	started := in.started
	in.started = false
	in.mu.Unlock()
	if started {
		in.server.Shutdown()
	}
	return nil
}

// info reads the queue's counters; a queue Redis has not seen yet counts zero everywhere.
func (in *asynqInstance) info() (*asynq.QueueInfo, error) {
	info, err := in.inspector.GetQueueInfo(asynqQueue)
	if err != nil && strings.Contains(err.Error(), asynq.ErrQueueNotFound.Error()) {
		return &asynq.QueueInfo{}, nil
	}
	return info, err
}

func (in *asynqInstance) Outstanding(context.Context) (int64, error) {
	info, err := in.info()
	if err != nil {
		return 0, err
	}
	return int64(info.Pending + info.Active + info.Scheduled + info.Retry), nil
}

func (in *asynqInstance) Completed(context.Context) (int64, error) {
	info, err := in.info()
	if err != nil {
		return 0, err
	}
	return int64(info.ProcessedTotal - info.FailedTotal), nil
}

func (in *asynqInstance) Dead(context.Context) (int64, error) {
	info, err := in.info()
	if err != nil {
		return 0, err
	}
	return int64(info.Archived), nil
}

func (in *asynqInstance) Close(ctx context.Context) error {
	errs := []error{in.Stop(ctx), in.client.Close(), in.inspector.Close()}
	if in.owned {
		errs = append(errs, in.redis.FlushDB(ctx).Err())
	}
	errs = append(errs, in.redis.Close())
	return errors.Join(errs...)
}

// quietAsynqLogger discards Asynq's logs: every system runs without logging.
type quietAsynqLogger struct{}

func (quietAsynqLogger) Debug(...any) {}
func (quietAsynqLogger) Info(...any)  {}
func (quietAsynqLogger) Warn(...any)  {}
func (quietAsynqLogger) Error(...any) {}
func (quietAsynqLogger) Fatal(...any) {}

// redisVersion asks Redis its version, for the report header.
func redisVersion(ctx context.Context, addr string) string {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "unreachable: " + err.Error()
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "unknown"
}
