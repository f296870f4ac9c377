package density

import "github.com/twinboot/twinboot/internal/event"

// The events of a density run, besides event.Progress (one per READY, per
// kind and step), event.Log and event.Failure (an instance that failed).
// They are registered, so that a run inside nested mode's lab machine
// reaches the host's screen unchanged.

// StepStarted says a step's fleet is about to start.
type StepStarted struct {
	Step  int  `json:"step"` // 1-based
	Steps int  `json:"steps"`
	Fleet Step `json:"fleet"`
}

func (StepStarted) Kind() string { return "density-step-started" }

// InstanceReady says one instance printed its READY line, At after its kind
// was started in this step; Ready of Of are now up. MemoryBytes is its
// memory read at that moment (see Fleet.MemoryBytes), for running totals;
// the step's figures are read again at the window's end.
type InstanceReady struct {
	Step        int    `json:"step"`
	Side        Kind   `json:"side"`
	Index       int    `json:"index"`
	AtNS        int64  `json:"at_ns"`
	Ready       int    `json:"ready"`
	Of          int    `json:"of"`
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
}

func (InstanceReady) Kind() string { return "density-instance-ready" }

// InstanceFailed says one instance did not come up (it is stopped); the
// others of its fleet go on.
type InstanceFailed struct {
	Step  int    `json:"step"`
	Side  Kind   `json:"side"`
	Index int    `json:"index"`
	Err   string `json:"error"`
}

func (InstanceFailed) Kind() string { return "density-instance-failed" }

// StepDone carries one step's measurement, once its fleet is stopped.
type StepDone struct {
	Result StepResult `json:"result"`
	Steps  int        `json:"steps"`
}

func (StepDone) Kind() string { return "density-step-done" }

// Finished carries the whole results document.
type Finished struct {
	Results Results `json:"results"`
}

func (Finished) Kind() string { return "density-finished" }

func (e *StepStarted) Value() event.Event    { return *e }
func (e *InstanceReady) Value() event.Event  { return *e }
func (e *StepDone) Value() event.Event       { return *e }
func (e *InstanceFailed) Value() event.Event { return *e }
func (e *Finished) Value() event.Event       { return *e }

func init() {
	event.Register(StepStarted{}.Kind(), func() event.Event { return &StepStarted{} })
	event.Register(InstanceReady{}.Kind(), func() event.Event { return &InstanceReady{} })
	event.Register(StepDone{}.Kind(), func() event.Event { return &StepDone{} })
	event.Register(InstanceFailed{}.Kind(), func() event.Event { return &InstanceFailed{} })
	event.Register(Finished{}.Kind(), func() event.Event { return &Finished{} })
}
