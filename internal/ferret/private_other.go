//go:build !unix

package ferret

// restrictNewFiles does nothing where there is no umask.
func restrictNewFiles() {}

// checkPrivate is true where file modes can be checked.
const checkPrivate = false
