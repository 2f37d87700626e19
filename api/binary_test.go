package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// runAsBinaryEnv, set in the environment of this test binary, makes it behave as the service binary
// with the arguments it holds (separated by argSep), so benchmarks can run the service (or a
// subcommand) in a process of its own without a separate build.
const runAsBinaryEnv = "CASEGUIDE_TEST_RUN_AS_BINARY"

// argSep separates the arguments in runAsBinaryEnv (they may hold spaces).
const argSep = "\x1f"

// testPasswordsEnv, set beside runAsBinaryEnv=serve, makes the service hash passwords at the tests'
// cost (testPasswords) instead of the production one.
const testPasswordsEnv = "CASEGUIDE_TEST_CHEAP_PASSWORDS"

// runAsBinary runs the command line args as main would and returns its exit code.
func runAsBinary(args string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if args == "serve" && os.Getenv(testPasswordsEnv) != "" {
		if err := serve(ctx, nil, os.Getenv, os.Stdout, os.Stderr, &serveHooks{password: testPasswords}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	if err := run(ctx, append([]string{"api"}, strings.Split(args, argSep)...), os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
