package main

import (
	"context"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// histogram is an HDR-style latency histogram: buckets of 1/64 of a
// power of two of nanoseconds (under 1.6% error), so percentiles come
// from counts, not from an average.
type histogram struct {
	counts [64 * 64]int64
	n      int64
}

func bucket(d time.Duration) int {
	ns := uint64(max(d, 1))
	exp := 63 - bits.LeadingZeros64(ns) // ns in [2^exp, 2^(exp+1))
	if exp < 6 {
		return int(ns)
	}
	sub := (ns >> (exp - 6)) & 63
	return min((exp-5)*64+int(sub), len(histogram{}.counts)-1)
}

func bucketValue(b int) time.Duration {
	if b < 64 {
		return time.Duration(b)
	}
	exp := b/64 + 5
	sub := uint64(b % 64)
	return time.Duration((64 + sub) << (exp - 6))
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucket(d)]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// percentile returns the latency under which p of the requests fell: the
// middle of its bucket, within 0.8%.
func (h *histogram) percentile(p float64) time.Duration {
	want := int64(math.Ceil(p * float64(h.n)))
	var seen int64
	for i, c := range h.counts {
		if seen += c; seen >= want && c > 0 {
			return (bucketValue(i) + bucketValue(i+1)) / 2
		}
	}
	return 0
}

// measurement is one run of one variant.
type measurement struct {
	requests int64
	errors   int64
	elapsed  time.Duration
	cpu      time.Duration // user + system CPU of the whole process
	hist     *histogram    // 32 KB: shared, not copied with the measurement
	peakRSS  int64         // bytes, this run's peak (VmHWM after resetting it); -1 if unknown
	started  int64         // spans, during the measured run
	exported int64
	failed   int64
	dropped  int64
	settled  time.Duration // how long the run waited for the machine to be quiet
}

// drive runs a closed loop: concurrency goroutines each sending a request
// as soon as the last one answered, for d. The caller reads the CPU and
// the peak resident set around it.
func drive(s *server, concurrency int, d time.Duration) measurement {
	start := time.Now()
	deadline := start.Add(d)
	var (
		mu sync.Mutex
		m  = measurement{hist: new(histogram)}
		wg sync.WaitGroup
	)
	for range concurrency {
		wg.Go(func() {
			var h histogram
			var errs int64
			ctx := context.Background()
			for {
				t := time.Now()
				if !t.Before(deadline) {
					break
				}
				if err := s.call(ctx); err != nil {
					errs++
					continue
				}
				h.record(time.Since(t))
			}
			mu.Lock()
			m.hist.merge(&h)
			m.errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	m.elapsed = time.Since(start)
	m.requests = m.hist.n
	return m
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS resets the kernel's record of the process's peak resident
// set (Linux: writing 5 to /proc/self/clear_refs), so that each run
// reports its own.
func resetPeakRSS() error { return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS reads VmHWM, the peak resident set since the last reset.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// settle waits at least least, then until the machine's CPUs were at most
// 10% busy over a tenth of a second (the collector done digesting the
// previous run's spans, other tenants quiet), or until most has passed
// since it was called. It returns how long it waited.
func settle(least, most time.Duration) time.Duration {
	start := time.Now()
	time.Sleep(least)
	for time.Since(start) < most {
		busy0, total0, ok := cpuStat()
		time.Sleep(100 * time.Millisecond)
		busy1, total1, ok1 := cpuStat()
		if !ok || !ok1 || total1 <= total0 || float64(busy1-busy0) <= 0.1*float64(total1-total0) {
			break
		}
	}
	return time.Since(start)
}

// cpuStat reads the machine's busy and total CPU time (in clock ticks)
// from /proc/stat's first line.
func cpuStat() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, false
	}
	// user nice system idle iowait irq softirq steal; guest and
	// guest_nice that follow are already counted in user and nice.
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total += v
		if i != 3 && i != 4 { // idle and iowait
			busy += v
		}
	}
	return busy, total, true
}
