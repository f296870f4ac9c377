package density

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ksmDir holds the kernel's same-page merging controls (CONFIG_KSM).
const ksmDir = "/sys/kernel/mm/ksm"

// ksmd's settings while twinboot measures: a scan of 1000 pages every
// 20 ms (the kernel's defaults are 100 and 20), so that a fleet's guest RAM
// is scanned within seconds rather than minutes. Restored afterwards.
const (
	ksmPagesToScan = 1000
	ksmSleepMS     = 20
	ksmSampleEvery = 250 * time.Millisecond
)

// ksmControl holds the settings found, to put back.
type ksmControl struct {
	saved map[string]string
	order []string
}

// startKSM saves ksmd's settings and sets the scan rate; merging itself is
// turned on by measure, once the fleet is up, so that its time counts from
// there.
func startKSM() (*ksmControl, error) {
	if _, err := os.Stat(filepath.Join(ksmDir, "run")); err != nil {
		return nil, fmt.Errorf("this kernel has no same-page merging (%s: %v)", ksmDir, err)
	}
	k := &ksmControl{saved: map[string]string{}, order: []string{"run", "pages_to_scan", "sleep_millisecs"}}
	for _, name := range k.order {
		v, err := ksmRead(name)
		if err != nil {
			return nil, err
		}
		k.saved[name] = v
	}
	for name, v := range map[string]int{"pages_to_scan": ksmPagesToScan, "sleep_millisecs": ksmSleepMS} {
		if err := ksmWrite(name, strconv.Itoa(v)); err != nil {
			k.restore()
			return nil, err
		}
	}
	return k, nil
}

// restore puts back the settings found (ksmd stops again if it was off;
// pages still merged belong to VMs that are gone by then).
func (k *ksmControl) restore() {
	for _, name := range k.order {
		ksmWrite(name, k.saved[name])
	}
}

// measure turns merging on and follows it over the window: pages_sharing
// (pages saved) every quarter second, and the VMs' summed PSS before and
// after.
func (k *ksmControl) measure(ctx context.Context, vms []*instance, window time.Duration) *KSM {
	r := &KSM{Available: true, PagesToScan: ksmPagesToScan, SleepMS: ksmSleepMS}
	if k.saved["run"] == "1" {
		r.Note = "merging was already on before this run: pages may have been merged before the window"
	}
	r.PSSBeforeBytes = fleetPSS(vms)
	if err := ksmWrite("run", "1"); err != nil {
		r.Available, r.Note = false, err.Error()
		sleep(ctx, window)
		return r
	}
	start := time.Now()
	tick := time.NewTicker(ksmSampleEvery)
	defer tick.Stop()
	end := time.NewTimer(window)
	defer end.Stop()
	sample := func() {
		shared, _ := ksmCount("pages_shared")
		sharing, _ := ksmCount("pages_sharing")
		r.Samples = append(r.Samples, KSMSample{AtNS: int64(time.Since(start)), PagesShared: shared, PagesSharing: sharing})
	}
	sample()
loop:
	for {
		select {
		case <-tick.C:
			sample()
		case <-end.C:
			sample()
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	r.PSSAfterBytes = fleetPSS(vms)
	page := uint64(os.Getpagesize())
	if n := len(r.Samples); n > 0 {
		r.SavedBytes = r.Samples[n-1].PagesSharing * page
		for _, s := range r.Samples {
			if s.PagesSharing > 0 && 2*s.PagesSharing >= r.Samples[n-1].PagesSharing {
				r.HalfNS = s.AtNS
				break
			}
		}
	}
	return r
}

// fleetPSS sums the PSS of the ready VMs' processes.
func fleetPSS(vms []*instance) uint64 {
	var sum uint64
	for _, in := range vms {
		if in.isReady() {
			if m, err := in.memory(); err == nil {
				sum += m
			}
		}
	}
	return sum
}

func ksmRead(name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(ksmDir, name))
	if err != nil {
		return "", fmt.Errorf("ksm: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func ksmWrite(name, v string) error {
	if err := os.WriteFile(filepath.Join(ksmDir, name), []byte(v), 0o644); err != nil {
		return fmt.Errorf("ksm: set %s to %s: %w", name, v, err)
	}
	return nil
}

func ksmCount(name string) (uint64, error) {
	v, err := ksmRead(name)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(v, 10, 64)
}
