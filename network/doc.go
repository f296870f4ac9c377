// Package network is the lab network: a private network that twinboot
// builds for one run, on which the VM and the container each get an IPv4
// address and reach each other, and the host's own network is never
// touched.
//
// Everything lives in a network namespace twinboot makes for the run
// (twinboot-<pid>-<n>, bound at /run/twinboot/net/<name>/netns): a bridge,
// the "lab host" address on it (the first address of the subnet), a TAP for
// each VM (the VMM opens it from inside the namespace) and the lab side of
// a veth pair for each container (the other end, eth0, is moved into the
// container's own network namespace). There is no uplink, no route out and
// no firewall rule: the host's root namespace is only read (its routes,
// to refuse a subnet that overlaps one).
//
// Reading order:
//
//  1. config.go: the subnet (default 10.88.0.0/24, a flag to change it),
//     checked before anything is made; the sentinels a caller branches on.
//  2. state_linux.go: what a run puts on the host is recorded first, with
//     its owner's PID and start time, so that the next twinboot command
//     removes a network whose owner was SIGKILLed (CleanupStale), and a
//     second run at once gets a subnet of its own (overlap_linux.go).
//  3. netns_linux.go: the namespace itself: unshare(CLONE_NEWNET) on a
//     locked thread, bind-mounted on a file so it outlives the thread;
//     removing the mount frees it, and with it every link inside.
//  4. lab_linux.go: New builds the namespace, the bridge and the lab host
//     address; Close takes them down again.
//  5. ipam_linux.go: addresses. They come from the CNI host-local IPAM
//     allocator (containernetworking/plugins, used as a Go package), with
//     its store in the run's state directory: the same code, file format
//     and locking a container engine uses, so two attachments never get
//     one address, and a release frees it.
//  6. attach_linux.go: a container joins the way the CNI bridge plugin
//     joins one: from inside the container's namespace, the plugins'
//     ip.SetupVethWithName makes the veth pair and moves the lab end into
//     the lab namespace, ipam.ConfigureIface gives eth0 its address; the
//     lab end is put on the bridge with vishvananda/netlink. A VM's TAP
//     (AddTAP) is made inside the lab namespace and put on the same bridge.
//  7. hosts.go: the names: one /etc/hosts for all sides (written into the
//     container's root; the VM's probe writes its own from
//     twinboot.hosts= on the kernel command line), and the ip= word that
//     gives the VM its address and hostname with no DHCP client.
//  8. modules_linux.go: a kernel without tun, bridge or veth gives an
//     error that names the module.
//  9. probe_linux.go: the lab host's side: Dial and Probe reach a serving
//     probe (guest/netprobe) from inside the lab namespace, and
//     ContainerAttach is what a container.Spec's Attach runs: the veth,
//     then /etc/hosts written into the container's root with
//     RESOLVE_IN_ROOT (a symbolic link there can never aim the write at
//     the host's files).
//
// Package compare puts it together with the two sides: `ct run --net`,
// `vm --net`, `run --net` (the reachability matrix) and `net bench`.
//
// Why the plugins' packages and not their binaries: the bridge plugin is a
// program (package main) that an engine executes with CNI_* variables and
// a JSON config on stdin, and it would have to be built and shipped into
// nested mode's L1 machine beside twinboot. Its building blocks are
// importable: pkg/ns (running code in a namespace on a locked thread),
// pkg/ip (the veth pair), pkg/ipam (configuring the interface from an IPAM
// result) and host-local's allocator and disk store. twinboot uses those,
// in the order the bridge plugin calls them, and does the bridge itself
// with netlink: no binary to find, one static twinboot in L1, and a
// reader can follow every step in this package.
package network
