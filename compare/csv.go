package compare

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Row is one line of the CSV export: one side of one run. It is flat on
// purpose, for spreadsheets and `awk`; the JSON document holds the rest.
type Row struct {
	Run          int
	Warmup       bool
	Side         string
	Version      string
	Emulated     bool
	Reason       string
	Error        string
	Protocol     string
	ReadyNS      int64
	Memory       Memory
	ExitsTotal   uint64
	Release      string // kernel release the probe saw
	SameAsHost   bool   // that release is the host's
	BootIDSame   bool   // the probe's boot_id is the host's
	Syscalls     int    // getppid burst size the probe ran
	SyscallNS    int64  // the burst's duration on the guest's clock
	PhaseNS      map[string]int64
	PhaseOrdered []string // phase names in the order they happened
}

// sortPhases puts a row's phases in the order they happened. Columns hold
// the union of every side's phases, so column order alone cannot say that a
// container's "cgroup ready" came before its "READY seen".
func (r *Row) sortPhases() {
	sort.SliceStable(r.PhaseOrdered, func(i, j int) bool {
		return r.PhaseNS[r.PhaseOrdered[i]] < r.PhaseNS[r.PhaseOrdered[j]]
	})
}

// fixedColumns are the CSV columns before the phase columns.
var fixedColumns = []string{
	"run", "warmup", "side", "version", "emulated", "reason", "error", "protocol",
	"ready_ns", MetricConfigured, MetricTouched, MetricVMMOverhead, MetricCgroupPeak,
	MetricRSS, MetricPSS, MetricExits, "kernel_release", "same_as_host", "boot_id_same",
	"syscalls", MetricSyscallNS,
}

// Rows flattens results into CSV rows, warmups included and marked.
func Rows(res Results) []Row {
	var rows []Row
	for i := range res.Runs {
		r := &res.Runs[i]
		for _, s := range sidesOf(r) {
			row := Row{
				Run: r.Index, Warmup: r.Warmup, Side: s.Name, Version: s.Version,
				Emulated: s.Emulated, Reason: s.Reason, Error: s.Error, Protocol: s.Protocol,
				ReadyNS: s.ReadyNS, Memory: s.Memory, PhaseNS: map[string]int64{},
			}
			for _, n := range s.Exits {
				row.ExitsTotal += n
			}
			if rep := s.Report; rep != nil {
				row.Release = rep.KernelRelease
				row.SameAsHost = rep.KernelRelease != "" && rep.KernelRelease == res.Host.KernelRelease
				row.BootIDSame = rep.BootID != "" && rep.BootID == res.Host.BootID
				if rep.Syscalls != nil {
					row.Syscalls, row.SyscallNS = rep.Syscalls.Count, rep.Syscalls.TotalNS
				}
			}
			for _, p := range s.Phases {
				if _, dup := row.PhaseNS[p.Name]; !dup {
					row.PhaseOrdered = append(row.PhaseOrdered, p.Name)
				}
				row.PhaseNS[p.Name] = int64(p.At)
			}
			row.sortPhases()
			rows = append(rows, row)
		}
	}
	return rows
}

// WriteCSV writes a header and one line per row. Phase columns are the union
// of all rows' phases ("phase:clone"); a side without that phase leaves the
// cell empty, which is not the same as 0 ns.
func WriteCSV(w io.Writer, rows []Row) error {
	var phases []string
	seen := map[string]bool{}
	for _, r := range rows {
		for _, p := range r.PhaseOrdered {
			if !seen[p] {
				seen[p] = true
				phases = append(phases, p)
			}
		}
	}
	cw := csv.NewWriter(w)
	header := append([]string(nil), fixedColumns...)
	for _, p := range phases {
		header = append(header, PhasePrefix+p)
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, r := range rows {
		rec := []string{
			strconv.Itoa(r.Run), strconv.FormatBool(r.Warmup), r.Side, r.Version,
			strconv.FormatBool(r.Emulated), r.Reason, r.Error, r.Protocol,
			strconv.FormatInt(r.ReadyNS, 10), u(r.Memory.ConfiguredBytes), u(r.Memory.TouchedBytes),
			u(r.Memory.VMMOverheadBytes), u(r.Memory.CgroupPeakBytes), u(r.Memory.RSSBytes),
			u(r.Memory.PSSBytes), u(r.ExitsTotal), r.Release, strconv.FormatBool(r.SameAsHost),
			strconv.FormatBool(r.BootIDSame), strconv.Itoa(r.Syscalls), strconv.FormatInt(r.SyscallNS, 10),
		}
		for _, p := range phases {
			if v, ok := r.PhaseNS[p]; ok {
				rec = append(rec, strconv.FormatInt(v, 10))
			} else {
				rec = append(rec, "")
			}
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// ErrBadCSV means a CSV file is not twinboot's export.
var ErrBadCSV = errors.New("not a twinboot CSV export")

// ReadCSV parses WriteCSV's output.
func ReadCSV(rd io.Reader) ([]Row, error) {
	cr := csv.NewReader(rd)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	if len(header) < len(fixedColumns) {
		return nil, fmt.Errorf("%w: %d columns, want at least %d", ErrBadCSV, len(header), len(fixedColumns))
	}
	for i, c := range fixedColumns {
		if header[i] != c {
			return nil, fmt.Errorf("%w: column %d is %q, want %q", ErrBadCSV, i+1, header[i], c)
		}
	}
	phases := header[len(fixedColumns):]
	for _, p := range phases {
		if !strings.HasPrefix(p, PhasePrefix) {
			return nil, fmt.Errorf("%w: unexpected column %q", ErrBadCSV, p)
		}
	}
	var rows []Row
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		p := fieldParser{header: header, rec: rec}
		r := Row{
			Run: p.int(0), Warmup: p.bool(1), Side: rec[2], Version: rec[3], Emulated: p.bool(4),
			Reason: rec[5], Error: rec[6], Protocol: rec[7], ReadyNS: p.int64(8),
			Memory: Memory{
				ConfiguredBytes: p.uint(9), TouchedBytes: p.uint(10), VMMOverheadBytes: p.uint(11),
				CgroupPeakBytes: p.uint(12), RSSBytes: p.uint(13), PSSBytes: p.uint(14),
			},
			ExitsTotal: p.uint(15), Release: rec[16], SameAsHost: p.bool(17), BootIDSame: p.bool(18),
			Syscalls: p.int(19), SyscallNS: p.int64(20), PhaseNS: map[string]int64{},
		}
		for i, col := range phases {
			if cell := rec[len(fixedColumns)+i]; cell != "" {
				name := strings.TrimPrefix(col, PhasePrefix)
				r.PhaseNS[name] = p.int64(len(fixedColumns) + i)
				r.PhaseOrdered = append(r.PhaseOrdered, name)
			}
		}
		if p.err != nil {
			return nil, fmt.Errorf("read csv line %d: %w", line, p.err)
		}
		r.sortPhases()
		rows = append(rows, r)
	}
}

// fieldParser keeps the first conversion error so that a record is parsed
// in one expression and checked once.
type fieldParser struct {
	header, rec []string
	err         error
}

func (p *fieldParser) keep(col int, err error) {
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("column %q: %w", p.header[col], err)
	}
}

func (p *fieldParser) int(i int) int {
	v, err := strconv.Atoi(p.rec[i])
	p.keep(i, err)
	return v
}

func (p *fieldParser) int64(i int) int64 {
	v, err := strconv.ParseInt(p.rec[i], 10, 64)
	p.keep(i, err)
	return v
}

func (p *fieldParser) uint(i int) uint64 {
	v, err := strconv.ParseUint(p.rec[i], 10, 64)
	p.keep(i, err)
	return v
}

func (p *fieldParser) bool(i int) bool {
	v, err := strconv.ParseBool(p.rec[i])
	p.keep(i, err)
	return v
}
