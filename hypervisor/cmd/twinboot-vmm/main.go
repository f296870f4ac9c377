package main

import (
	"os"

	"github.com/twinboot/twinboot/hypervisor/vmm"
)

func main() { os.Exit(vmm.Main()) }
