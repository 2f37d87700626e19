package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/childsafe-protocols/caseguide/internal/identity"
)

// errUsage is returned for a command line that names no known subcommand.
var errUsage = errors.New("usage: api [serve|validate|healthcheck|users|seed|backup|restore] [flags]")

// run dispatches to a subcommand. args includes the program name; getenv, stdout and stderr stand for
// the process's so tests can run the binary's whole behaviour in process. It returns when the
// subcommand is done or, for serve, after ctx is cancelled and shutdown has completed.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args[1:]
	if len(rest) > 0 && rest[0] != "" && rest[0][0] != '-' {
		cmd, rest = rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr, nil)
	case "validate":
		return validate(rest, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, rest, getenv)
	case "users":
		return usersCommand(ctx, rest, getenv, os.Stdin, stdout, stderr, identity.PasswordParams{})
	case "seed":
		return seedCommand(ctx, rest, getenv, stdout, stderr, identity.PasswordParams{})
	case "backup":
		return backupCommand(ctx, rest, getenv, stdout, stderr)
	case "restore":
		return restoreCommand(rest, getenv, stdout, stderr)
	default:
		return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
	}
}
