package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real binary, killed with SIGKILL while caseworkers write cases, custody events and interview
// logs concurrently, restarts on the same DATA_DIR with every acknowledged write there exactly once
// and every chain (custody, audit) verifying, all checked through the API.
func TestCrashUnderLoadLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	if os.Getenv("MONGODB_TEST_URI") != "" {
		t.Skip("kills the process that runs the embedded database")
	}
	began := time.Now()
	bin := serviceBinary(t)
	dir := t.TempDir()
	env := testEnv(dir, map[string]string{testPasswordsEnv: "1"})
	built := time.Now()

	first := startBinary(t, bin, env)
	w := newWorkload(t, first.base, adminPassword)
	reached := w.waitFor(40)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	wait := w.write(ctx, t, 4, false) // requests cut by the kill are not acknowledged: not errors
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Error("the workload did not reach 40 writes in a minute")
	}
	first.kill(t)
	wait()
	acked := w.snapshot()
	killed := time.Now()

	second := startBinary(t, bin, env)
	defer second.kill(t)
	restarted := time.Now()
	w.signIn(t, second.base)
	w.verify(t, acked)
	t.Logf("%d writes acknowledged before SIGKILL; build %v, start and load %v, restart %v, checks %v",
		acked.count(), built.Sub(began).Round(time.Millisecond), killed.Sub(built).Round(time.Millisecond),
		restarted.Sub(killed).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond))
}

// serviceBinary returns the path of this test binary, which runs as the service in a process of its
// own when runAsBinaryEnv is set (see TestMain and runAsBinary: the same run() main calls), so the
// tests that kill or measure a process need no go build.
func serviceBinary(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// binary is the service running as a child process.
type binary struct {
	cmd  *exec.Cmd
	base string
	done chan struct{}
}

// startBinary runs bin with env (and PATH, HOME) and returns once it listens; its log is read from its
// standard output.
func startBinary(t *testing.T, bin string, env map[string]string) *binary {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), runAsBinaryEnv + "=serve"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &binary{cmd: cmd, done: make(chan struct{})}
	listening := make(chan string, 1)
	var log syncBuffer
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			log.Write(append(sc.Bytes(), '\n'))
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				listening <- line.Addr
			}
		}
		cmd.Wait()
		close(b.done)
	}()
	select {
	case addr := <-listening:
		b.base = "http://" + addr
	case <-b.done:
		t.Fatalf("the service exited: %s\n%s", log.String(), stderr.String())
	case <-time.After(60 * time.Second):
		b.kill(t)
		t.Fatalf("the service did not listen within a minute: %s", log.String())
	}
	if strings.Contains(log.String(), `"level":"ERROR"`) {
		t.Errorf("errors at start:\n%s", log.String())
	}
	return b
}

// kill sends SIGKILL and waits for the process to end.
func (b *binary) kill(t *testing.T) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil && !strings.Contains(err.Error(), "finished") {
		t.Errorf("SIGKILL: %v", err)
	}
	<-b.done
}
