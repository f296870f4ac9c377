package main

import "unsafe"

// aligned returns n bytes aligned to 4 KiB, as O_DIRECT needs.
func aligned(n int) []byte {
	b := make([]byte, n+benchBlock)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (benchBlock - 1))
	if off != 0 {
		off = benchBlock - off
	}
	return b[off : off+n]
}
