package main

import (
	"os"

	"github.com/twinboot/twinboot/container/internal/ctinit"
)

func main() { os.Exit(ctinit.Main()) }
