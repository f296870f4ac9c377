package compare

import "github.com/twinboot/twinboot/internal/event"

// The events compare adds to internal/event's Phase, Console, Log, Progress
// and Failure. Sides emit Phase and Console events while they boot; compare
// emits the ones below around them.

// RunStarted opens run Index of Total (Total is 1 for `twinboot run`).
type RunStarted struct {
	Index    int    `json:"index"`
	Total    int    `json:"total"`
	Warmup   bool   `json:"warmup,omitempty"`
	Mode     string `json:"mode"`
	Emulated bool   `json:"emulated"`
}

func (RunStarted) Kind() string { return "run-started" }

// SideDone carries one side's finished measurement (VM, container or peer).
type SideDone struct {
	Index int  `json:"index"`
	Side  Side `json:"side"`
}

func (SideDone) Kind() string { return "side-done" }

// RunDone closes a run with everything measured in it.
type RunDone struct {
	Run Run `json:"run"`
}

func (RunDone) Kind() string { return "run-done" }

// Finished carries the final results document.
type Finished struct {
	Results Results `json:"results"`
}

func (Finished) Kind() string { return "finished" }

// NetDone carries the lab network run's results (`run --net`, the lab's
// network check): each side's address and the reachability matrix.
type NetDone struct {
	Results NetResults `json:"results"`
}

func (NetDone) Kind() string { return "net-done" }

func init() {
	event.Register(NetDone{}.Kind(), func() event.Event { return &NetDone{} })
	event.Register(RunStarted{}.Kind(), func() event.Event { return &RunStarted{} })
	event.Register(SideDone{}.Kind(), func() event.Event { return &SideDone{} })
	event.Register(RunDone{}.Kind(), func() event.Event { return &RunDone{} })
	event.Register(Finished{}.Kind(), func() event.Event { return &Finished{} })
}

// Value lets event.Decode hand back values, not pointers.
func (e *RunStarted) Value() event.Event { return *e }
func (e *SideDone) Value() event.Event   { return *e }
func (e *RunDone) Value() event.Event    { return *e }
func (e *Finished) Value() event.Event   { return *e }
func (e *NetDone) Value() event.Event    { return *e }
