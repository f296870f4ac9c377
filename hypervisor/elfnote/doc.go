// Package elfnote finds the PVH entry point of an ELF vmlinux: the note
// XEN_ELFNOTE_PHYS32_ENTRY that Linux built with CONFIG_PVH carries. It is
// the one parser of that note, for the hypervisor's PVH loader and for
// nested mode, which checks the lab machine's kernel before QEMU boots it.
package elfnote
