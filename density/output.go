package density

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/twinboot/twinboot/compare"
	"github.com/twinboot/twinboot/internal/event"
)

// WriteJSON writes r as one indented JSON document.
func WriteJSON(w io.Writer, r Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write density results: %w", err)
	}
	return nil
}

// DecodeResults reads one density results document, checking its schema
// first.
func DecodeResults(rd io.Reader) (Results, error) {
	b, err := io.ReadAll(rd)
	if err != nil {
		return Results{}, fmt.Errorf("read density results: %w", err)
	}
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return Results{}, fmt.Errorf("parse density results: %w", err)
	}
	if probe.Schema == nil || *probe.Schema != Schema {
		got := "none"
		if probe.Schema != nil {
			got = strconv.Quote(*probe.Schema)
		}
		return Results{}, fmt.Errorf("%w %s (want %q)", compare.ErrUnknownSchema, got, Schema)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return Results{}, fmt.Errorf("parse density results: %w", err)
	}
	return r, nil
}

// IsResults says whether the JSON document b is a density results document
// (of any version): `twinboot chart` takes both kinds of file.
func IsResults(b []byte) bool {
	var probe struct {
		Schema string `json:"schema"`
	}
	return json.Unmarshal(b, &probe) == nil && len(probe.Schema) > len("twinboot.density/") && probe.Schema[:len("twinboot.density/")] == "twinboot.density/"
}

// ReadResultsFile reads a density results document from path.
func ReadResultsFile(path string) (Results, error) {
	f, err := os.Open(path)
	if err != nil {
		return Results{}, fmt.Errorf("open density results: %w", err)
	}
	defer f.Close()
	return DecodeResults(f)
}

// CSVHeader is the first line of WriteCSV: one row per step and kind.
var CSVHeader = []string{
	"step", "kind", "asked", "ready", "failed", "first_ready_ns", "last_ready_ns",
	"memory_bytes", "per_instance_bytes", "touched_bytes", "idle_cpu_ns", "window_ns",
	"mem_available_before_bytes", "mem_available_during_bytes", "emulated",
}

// WriteCSV writes one row per step and kind.
func WriteCSV(w io.Writer, r Results) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, s := range r.Steps {
		for _, kind := range []Kind{event.Container, event.VM} {
			f := fleetOf(s, kind)
			if f == nil {
				continue
			}
			cw.Write([]string{strconv.Itoa(s.Index), string(kind), strconv.Itoa(f.Asked), strconv.Itoa(f.Ready), strconv.Itoa(f.Failed),
				i(f.FirstReadyNS), i(f.LastReadyNS), u(f.MemoryBytes), u(f.PerInstanceBytes), u(f.TouchedBytes), i(f.IdleCPUNS), i(s.WindowNS),
				u(s.MemAvailableBefore), u(s.MemAvailableDuring), strconv.FormatBool(r.Emulated)})
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write density csv: %w", err)
	}
	return nil
}

// WriteTable prints the results for people: one line per step and kind,
// then the marginal costs, the goals and what KSM gave back.
func WriteTable(w io.Writer, r Results) error {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	mode := "mode " + r.Mode
	if r.Emulated {
		mode += " (emulated)"
	}
	where := fmt.Sprintf("%s, Linux %s, %d CPUs, %d MiB", r.Host.Hostname, r.Host.KernelRelease, r.Host.CPUs, r.Host.MemTotalKB>>10)
	if o := r.Outer; o != nil {
		where = fmt.Sprintf("%s (%d CPUs) → lab machine (Linux %s, %d vCPUs, %d MiB)", o.Hostname, o.CPUs, r.Host.KernelRelease, r.Host.CPUs, r.Host.MemTotalKB>>10)
	}
	fmt.Fprintf(tw, "twinboot density · %s · %s · %s\n", mode, where, r.Created.UTC().Format("2006-01-02 15:04 UTC"))
	if r.Emulated {
		fmt.Fprintf(tw, "Timings are emulated (nested mode): compare them with each other, never with native figures.\n")
	}
	fmt.Fprintf(tw, "Each step starts its containers at once, then its VMs at once; all stay up, idle, for %s.\n\n", ms(r.Config.WindowNS))
	fmt.Fprintln(tw, "step\tkind\tN\tREADY\tfirst READY\tall READY\tmemory\tper instance\tidle CPU\tMemAvailable before → during\t")
	for _, s := range r.Steps {
		for _, kind := range []Kind{event.Container, event.VM} {
			f := fleetOf(s, kind)
			if f == nil {
				continue
			}
			cpu := "-"
			if s.WindowNS > 0 {
				cpu = fmt.Sprintf("%.1f%%", 100*float64(f.IdleCPUNS)/float64(s.WindowNS))
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%d → %d MiB\t\n", s.Index, plural(kind), f.Asked, f.Ready, f.Asked,
				ms(f.FirstReadyNS), ms(f.LastReadyNS), mib(float64(f.MemoryBytes)), mib(float64(f.PerInstanceBytes)), cpu,
				s.MemAvailableBefore>>20, s.MemAvailableDuring>>20)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "Memory: VMs = PSS of each VMM process (guest RAM it touched included); containers = their cgroups' memory.")
	fmt.Fprintln(tw, "Idle CPU: CPU time used over the window, as a share of one CPU.")
	if len(r.Fit) > 0 {
		fmt.Fprintln(tw, "\nOne more instance costs (least-squares fit of the measured totals over the steps):")
		for _, kind := range []Kind{event.Container, event.VM} {
			if f := r.Fit[kind]; f != nil {
				extra := ""
				if kind == event.VM {
					extra = fmt.Sprintf(" (guest RAM touched per VM: %s)", mib(f.TouchedPerInstanceBytes))
				}
				fmt.Fprintf(tw, "  %s\t%s of memory%s, %s more to all-READY\t\n", kind, mib(f.MarginalBytes), extra, ms(int64(f.MarginalReadyNS)))
			}
		}
	}
	fmt.Fprintln(tw, "\nGoals:")
	for _, g := range r.Goals {
		verdict := "not measured"
		if g.Met != nil {
			verdict = map[bool]string{true: "met", false: "NOT met"}[*g.Met]
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t\n", g.Name, g.Target, g.Measured, verdict, g.Note)
	}
	if k := r.KSM; k != nil {
		fmt.Fprintln(tw)
		if !k.Available {
			fmt.Fprintf(tw, "KSM: not measured: %s\n", k.Note)
		} else {
			fmt.Fprintf(tw, "KSM (step %d, %d pages every %d ms): %s saved after %s (half of it after %s); VMs' PSS %s → %s\n",
				k.Step, k.PagesToScan, k.SleepMS, mib(float64(k.SavedBytes)), ms(lastAt(k.Samples)), ms(k.HalfNS),
				mib(float64(k.PSSBeforeBytes)), mib(float64(k.PSSAfterBytes)))
			if k.Note != "" {
				fmt.Fprintf(tw, "  %s\n", k.Note)
			}
		}
	}
	for _, s := range r.Steps {
		for _, kind := range []Kind{event.Container, event.VM} {
			f := fleetOf(s, kind)
			if f == nil {
				continue
			}
			for _, in := range f.Instances {
				if in.Error != "" {
					fmt.Fprintf(tw, "failed: step %d, %s %d: %s\n", s.Index, kind, in.Index, in.Error)
				}
			}
		}
	}
	return tw.Flush()
}

func lastAt(s []KSMSample) int64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1].AtNS
}

// ErrNoSteps means a results document holds no step to draw.
var ErrNoSteps = errors.New("the density results hold no step")
