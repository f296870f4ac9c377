package compare

// Peer names, as they appear in Side.Name, Peer.Name and the charts.
const (
	PeerQEMU = "qemu"
	PeerRunc = "runc"
	PeerCrun = "crun"
)
