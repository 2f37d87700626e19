package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/childsafe-protocols/caseguide/internal/i18n"
	"github.com/childsafe-protocols/caseguide/internal/protocol"
	"github.com/childsafe-protocols/caseguide/protocols"
)

// validate checks a protocol library folder (default: the shipped one, embedded in the binary) and
// prints every problem as "error: file:line: message". Missing translations are errors too unless
// -allow-incomplete is given, which prints them as "warning: file:line: message". It returns an error when any problem counts.
func validate(args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("validate", flag.ContinueOnError)
	fset.SetOutput(stderr)
	allowIncomplete := fset.Bool("allow-incomplete", false, "report missing translations without failing")
	if err := fset.Parse(args); err != nil {
		return err
	}
	var fsys fs.FS = protocols.FS
	dir := "(shipped library)"
	if fset.NArg() > 0 {
		dir = fset.Arg(0)
		fsys = os.DirFS(dir)
	}
	docs, problems, err := loadLibrary(fsys)
	if err != nil {
		return err
	}
	failing, warnings := 0, 0
	for _, p := range problems {
		if fset.NArg() > 0 {
			p.File = dir + "/" + p.File
		}
		if p.Incomplete && *allowIncomplete {
			warnings++
			fmt.Fprintln(stdout, "warning: "+p.String())
			continue
		}
		failing++
		fmt.Fprintln(stdout, "error: "+p.String())
	}
	if failing > 0 {
		return fmt.Errorf("validate: %d error(s), %d warning(s) in %s", failing, warnings, dir)
	}
	fmt.Fprintf(stdout, "%s: %d protocol(s) valid, %d warning(s) (missing translations)\n", dir, len(docs), warnings)
	return nil
}

// loadLibrary reads and validates a protocol library. It returns an error only when the validator
// itself cannot be built; the library's own problems are returned as problems.
func loadLibrary(fsys fs.FS) ([]protocol.Document, protocol.Problems, error) {
	v, err := protocol.NewValidator(protocols.ProtocolSchema, protocols.TranslationSchema, i18n.Codes())
	if err != nil {
		return nil, nil, err
	}
	docs, problems := v.LoadDir(fsys)
	return docs, problems, nil
}
