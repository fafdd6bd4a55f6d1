//go:build !unix

package doctor

// diskFree is not available on this platform.
func diskFree(string) (free, total uint64, err error) { return 0, 0, errNoStatfs }
