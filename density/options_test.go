package density

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPlanScalesEachKind(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  Options
		want []Step
	}{
		{"the issue's example", Options{VMs: 4, Containers: 16, Steps: []int{1, 2, 4}}, []Step{{1, 4}, {2, 8}, {4, 16}}},
		{"same sizes", Options{VMs: 8, Containers: 8, Steps: []int{1, 2, 4, 8}}, []Step{{1, 1}, {2, 2}, {4, 4}, {8, 8}}},
		{"rounded up, never 0", Options{VMs: 3, Containers: 1, Steps: []int{1, 2, 4}}, []Step{{1, 1}, {2, 1}, {3, 1}}},
		{"one kind", Options{Containers: 8, Steps: []int{1, 8}}, []Step{{0, 1}, {0, 8}}},
		{"no steps: full size", Options{VMs: 2, Containers: 5}, []Step{{2, 5}}},
	} {
		if got := c.opt.Plan(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Plan() = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestValidateRefusesBadInput(t *testing.T) {
	for _, c := range []struct {
		opt  Options
		want string
	}{
		{Options{}, "nothing to start"},
		{Options{VMs: -1, Containers: 1}, "negative"},
		{Options{Containers: -3}, "negative"},
		{Options{VMs: MaxVMs + 1}, "more than"},
		{Options{Containers: MaxContainers + 1}, "more than"},
		{Options{VMs: 1, Steps: []int{2, 1}}, "ascend"},
		{Options{VMs: 1, Steps: []int{0, 1}}, "≥ 1"},
		{Options{VMs: 1, Window: time.Millisecond}, "window"},
		{Options{VMs: 1, VMMemBytes: 1 << 20}, "MiB"},
	} {
		err := c.opt.Validate()
		if !errors.Is(err, ErrBadOptions) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want ErrBadOptions saying %q", c.opt, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("the error is not one line: %q", err)
		}
	}
	if err := (Options{VMs: 4, Containers: 16, Steps: []int{1, 2, 4}}).Validate(); err != nil {
		t.Errorf("the issue's example is refused: %v", err)
	}
}

func TestFitsSaysWhatIsMissing(t *testing.T) {
	opt := Options{VMs: 4, Containers: 16, VMMemBytes: 128 << 20}
	need := opt.NeedBytes()
	if want := 4*(128<<20+VMMOverheadEstimate) + 16*ContainerEstimate; need != want {
		t.Fatalf("NeedBytes = %d, want %d", need, want)
	}
	if err := opt.Fits(need+reserveBytes, "here"); err != nil {
		t.Errorf("a fleet that fits exactly is refused: %v", err)
	}
	err := opt.Fits(need, "the test machine")
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "the test machine") || !strings.Contains(err.Error(), "4 VMs of 128 MiB") {
		t.Errorf("Fits with too little memory = %v", err)
	}
}
