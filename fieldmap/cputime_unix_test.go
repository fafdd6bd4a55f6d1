//go:build unix

package fieldmap

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the user+system CPU time of the process. Benchmarks
// report it per op ("cpu-ns/op") because wall time on a shared, loaded
// machine measures the queue for the CPU, not the code.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	if d := processCPU() - start; d > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
