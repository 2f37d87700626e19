package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// procMemory reads a field of /proc/<pid>/status (VmRSS: resident now, VmHWM: the peak) in MiB.
func procMemory(t *testing.T, pid int, field string) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("%s: %q", field, v)
			}
			return float64(kb) / 1024
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// Resident memory of the service in a process of its own (serviceBinary): idle, at the peak of 12 concurrent sign-ins (argon2id holds
// 64 MiB per hash, and at most 4 hashes run at once, so the peak stays bounded however many sign in
// together), and after a burst of writes. The figures are logged for the README's sizing.
func TestResidentMemory(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("measures the embedded database too")
	}
	if os.Getenv("CASEGUIDE_MEASURE_MEMORY") == "" {
		t.Skip("a measurement (a minute on a busy machine): CASEGUIDE_MEASURE_MEMORY=1 go test ./api -run TestResidentMemory -v")
	}
	b := startBinary(t, serviceBinary(t), testEnv(t.TempDir(), map[string]string{"REQUEST_TIMEOUT": "120s"})) // sign-ins queue for the 4 hash slots
	defer b.kill(t)
	pid := b.cmd.Process.Pid
	idle := procMemory(t, pid, "VmRSS")

	const signIns = 12
	slow := &http.Client{Timeout: 5 * time.Minute} // 12 hashes through 4 slots take long on a busy machine
	var wg sync.WaitGroup
	statuses := make([]int, signIns)
	for i := range signIns {
		wg.Go(func() {
			body := fmt.Sprintf(`{"username":"admin","password":%q,"device_id":"sizing-%d","device_name":"sizing"}`, adminPassword, i)
			resp, err := slow.Post(b.base+"/v1/auth/login", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, st := range statuses {
		if st != http.StatusOK {
			t.Fatalf("sign-in %d: %d", i, st)
		}
	}
	peak := procMemory(t, pid, "VmHWM")
	afterSignIns := procMemory(t, pid, "VmRSS")

	w := newWorkload(t, b.base, adminPassword)
	for i := range 20 {
		if !w.round(t, fmt.Sprintf("sizing-%d", i), true) {
			t.Fatal("the service stopped answering")
		}
	}
	loaded := procMemory(t, pid, "VmRSS")
	t.Logf("resident memory: idle %.0f MiB; peak during %d concurrent sign-ins %.0f MiB (%.0f MiB above idle); after them %.0f MiB; after 20 rounds of writes (%d writes) %.0f MiB; peak overall %.0f MiB",
		idle, signIns, peak, peak-idle, afterSignIns, w.snapshot().count(), loaded, procMemory(t, pid, "VmHWM"))
	// 4 hashes of 64 MiB at once, and the garbage of finished ones until the collector runs (it lets
	// the heap double): below the 768 MiB 12 unbounded hashes would hold at once.
	if limit := idle + 2*4*64 + 128; peak > limit {
		t.Errorf("peak %.0f MiB during %d sign-ins exceeds %.0f MiB: are password hashes still bounded?", peak, signIns, limit)
	}
}
