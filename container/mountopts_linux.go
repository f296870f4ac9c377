package container

import (
	"strings"

	"golang.org/x/sys/unix"
)

// parseMountOptions splits fstab-style options into mount(2) flags and the
// data string the file system itself parses.
func parseMountOptions(opts []string) (uintptr, string) {
	flags, _, data := parseMountOptionsProp(opts)
	return flags, data
}

// propagationFlags are the options that change a mount's propagation; the
// kernel takes them only in a mount(2) call of their own, after the mount.
var propagationFlags = map[string]uintptr{
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parseMountOptionsProp is parseMountOptions that also returns the
// propagation flags, separately.
func parseMountOptionsProp(opts []string) (uintptr, uintptr, string) {
	var flags, prop uintptr
	var data []string
	for _, o := range opts {
		if p, ok := propagationFlags[o]; ok {
			prop |= p
			continue
		}
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw", "defaults", "suid", "dev", "exec", "async", "atime", "diratime", "norelatime", "nostrictatime", "loud":
			// The defaults: nothing to set.
		case "sync":
			flags |= unix.MS_SYNCHRONOUS
		case "dirsync":
			flags |= unix.MS_DIRSYNC
		case "mand":
			flags |= unix.MS_MANDLOCK
		case "nodiratime":
			flags |= unix.MS_NODIRATIME
		case "silent":
			flags |= unix.MS_SILENT
		case "nosuid":
			flags |= unix.MS_NOSUID
		case "nodev":
			flags |= unix.MS_NODEV
		case "noexec":
			flags |= unix.MS_NOEXEC
		case "relatime":
			flags |= unix.MS_RELATIME
		case "strictatime":
			flags |= unix.MS_STRICTATIME
		case "noatime":
			flags |= unix.MS_NOATIME
		case "bind":
			flags |= unix.MS_BIND
		case "rbind":
			flags |= unix.MS_BIND | unix.MS_REC
		default:
			data = append(data, o)
		}
	}
	return flags, prop, strings.Join(data, ",")
}
