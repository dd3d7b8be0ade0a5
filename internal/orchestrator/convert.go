package orchestrator

import "fmt"

// toString is how a value reads as text (a number from YAML without its
// decimals).
func toString(v any) string { return fmt.Sprint(scalar(v)) }

// toInt reads a number that JSON, YAML or a placeholder gave.
func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	case string:
		var n int
		_, _ = fmt.Sscan(x, &n)
		return n
	}
	return 0
}
