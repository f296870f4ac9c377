package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twinboot/twinboot/guest/report"
)

// The disk benchmark: the same three measurements on a VM's virtio disk
// and on a container's file, so that the path through the hypervisor and
// the path through the host kernel alone can be compared.
const (
	benchChunk     = 1 << 20
	benchBlock     = 4096
	benchRandReads = 2000
	benchMaxBytes  = 256 << 20
)

// diskBench measures path: a sequential read of all of it (up to 256 MiB),
// a sequential write of its second half (then fdatasync), and 4 KiB random
// reads. Reads use O_DIRECT where the file system allows it, so that the
// guest's page cache does not answer for the disk.
func diskBench(path string) report.DiskBench {
	d := report.DiskBench{Path: path}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_DIRECT, 0)
	d.Direct = err == nil
	if err != nil {
		f, err = os.OpenFile(path, os.O_RDWR, 0)
	}
	if err != nil {
		d.Error = err.Error()
		return d
	}
	defer f.Close()
	size, err := f.Seek(0, 2)
	if err != nil || size < 2*benchChunk {
		d.Error = fmt.Sprintf("size %d (%v): want at least 2 MiB", size, err)
		return d
	}
	size = min(size, benchMaxBytes) &^ (benchChunk - 1)
	buf := aligned(benchChunk)

	start := time.Now()
	for off := int64(0); off < size; off += benchChunk {
		if _, err := f.ReadAt(buf, off); err != nil {
			d.Error = fmt.Sprintf("read at %d: %v", off, err)
			return d
		}
	}
	d.ReadBytes, d.ReadMBps = size, mbps(size, time.Since(start))

	// Random 4 KiB reads over the whole of it.
	blk := buf[:benchBlock]
	lat := make([]time.Duration, benchRandReads)
	rng := rand.New(rand.NewPCG(1, 2)) // the same offsets everywhere
	for i := range lat {
		off := rng.Int64N(size/benchBlock) * benchBlock
		t := time.Now()
		if _, err := f.ReadAt(blk, off); err != nil {
			d.Error = fmt.Sprintf("random read at %d: %v", off, err)
			return d
		}
		lat[i] = time.Since(t)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	d.RandReads = len(lat)
	d.RandP50us = us(lat[len(lat)/2])
	d.RandP99us = us(lat[len(lat)*99/100])
	d.RandMeanus = us(sum / time.Duration(len(lat)))

	// Sequential write of the second half, then fdatasync: the flush is
	// part of the cost.
	for i := range buf {
		buf[i] = byte(i)
	}
	half := size / 2
	start = time.Now()
	for off := half; off < size; off += benchChunk {
		binary.LittleEndian.PutUint64(buf, uint64(off))
		if _, err := f.WriteAt(buf, off); err != nil {
			d.Error = fmt.Sprintf("write at %d: %v", off, err)
			return d
		}
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		d.Error = fmt.Sprintf("fdatasync: %v", err)
		return d
	}
	d.WriteBytes, d.WriteMBps = size-half, mbps(size-half, time.Since(start))
	return d
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }
func us(d time.Duration) float64            { return float64(d.Nanoseconds()) / 1e3 }

// printDiskBench prints the benchmark's line, in one write.
func printDiskBench(d report.DiskBench) {
	b, _ := json.Marshal(d)
	os.Stdout.WriteString(report.DiskBenchPrefix + string(b) + "\n")
}
