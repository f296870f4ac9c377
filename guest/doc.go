// Package guest builds what runs inside both worlds: a small Linux kernel
// for the VM (from Debian's linux-source-6.1), the probe program, and one
// root file tree that is used twice, as the container's root directory and,
// packed as a newc cpio archive, as the VM's initramfs.
package guest
