// Command api is the caseguide service: an HTTP API serving step-by-step protocols for supporting
// child victims of online abuse through an investigation.
//
// Usage:
//
//	api [serve] [flags]      start the service (the default)
//	api validate [-allow-incomplete] [DIR]   check a protocol library folder
//	api healthcheck [URL]    exit 0 when the service answers /readyz (for container health checks)
//	api users COMMAND …      manage users (see users.go)
//	api backup -o FILE       back up the embedded database, also while the service runs
//	api restore FILE         fill an empty DATA_DIR from a backup
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
}
