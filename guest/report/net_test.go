package report

import "testing"

func TestHostsRoundTrip(t *testing.T) {
	hs := []Host{{"labhost", "10.88.0.1"}, {"twinboot-vm", "10.88.0.2"}}
	got, err := ParseHosts(HostsValue(hs))
	if err != nil || len(got) != 2 || got[1] != hs[1] {
		t.Fatalf("ParseHosts(HostsValue) = %v, %v", got, err)
	}
	if want := "127.0.0.1\tlocalhost\n10.88.0.1\tlabhost\n10.88.0.2\ttwinboot-vm\n"; HostsFile(hs) != want {
		t.Errorf("HostsFile = %q", HostsFile(hs))
	}
	for _, bad := range []string{"labhost", "=10.0.0.1", "x=notanip"} {
		if _, err := ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) accepted", bad)
		}
	}
}

func TestParsePeer(t *testing.T) {
	a, p, b, err := ParsePeer("twinboot-ct:8080")
	if err != nil || a != "twinboot-ct:8080" || p != DefaultPeerPings || b != DefaultPeerBytes {
		t.Errorf("bare peer: %q %d %d %v", a, p, b, err)
	}
	a, p, b, err = ParsePeer(PeerValue("10.88.0.3:8080", 20, 1<<20))
	if err != nil || a != "10.88.0.3:8080" || p != 20 || b != 1<<20 {
		t.Errorf("sized peer: %q %d %d %v", a, p, b, err)
	}
	for _, bad := range []string{"", "nohost", "h:1,2", "h:1,x,3", "h:1,-1,3"} {
		if _, _, _, err := ParsePeer(bad); err == nil {
			t.Errorf("ParsePeer(%q) accepted", bad)
		}
	}
}
