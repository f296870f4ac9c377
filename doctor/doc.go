// Package doctor inspects the host for `twinboot doctor`: which KVM it has,
// which cgroup layout, which tools, whether the guest is built, and which
// mode `--mode auto` will choose. The facts themselves come from package
// internal/host, the same ones every other command reads; the doctor only
// adds the tools, the guest build and the verdict.
package doctor
