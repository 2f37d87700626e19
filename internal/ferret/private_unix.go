//go:build unix

package ferret

import "syscall"

// restrictNewFiles makes every file and folder the process creates from now on private to its owner
// (umask 077). SQLite, under FerretDB, creates each database file (and its -wal and -shm files, which
// take the database file's mode) with mode 0644 and offers no setting for it, and FerretDB creates a
// database's file whenever a database is first used, so only the process's umask covers them all.
func restrictNewFiles() { syscall.Umask(0o077) }

// checkPrivate is true where file modes can be checked.
const checkPrivate = true
