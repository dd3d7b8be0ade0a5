package orchestrator

import "fmt"

// toString is how a value reads as text (a number from YAML without its
// decimals).
func toString(v any) string { return fmt.Sprint(scalar(v)) }
