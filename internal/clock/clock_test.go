package clock

import (
	"testing"
	"time"
)

func TestSkew(t *testing.T) {
	defer Skew(0)
	Skew(10 * time.Minute)
	if d := Now().Sub(time.Now()); d < 9*time.Minute || d > 11*time.Minute {
		t.Fatalf("skewed +10m, Now is %v off time.Now", d)
	}
	start := Now()
	if d := Since(start); d < 0 || d > time.Minute {
		t.Fatalf("Since a skewed reading = %v, want a small elapsed time", d)
	}
	if d := Until(start.Add(time.Hour)); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("Until an hour after a skewed reading = %v", d)
	}
	Skew(-10 * time.Minute)
	if d := time.Now().Sub(Now()); d < 9*time.Minute || d > 11*time.Minute {
		t.Fatalf("skewed -10m, Now is %v behind time.Now", d)
	}
}
