package outfile

import "golang.org/x/sys/unix"

func mountTiny(dir string) error { return unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4k") }
func unmount(dir string) error   { return unix.Unmount(dir, unix.MNT_DETACH) }
