package orchestrator

import (
	"fmt"
	"strconv"
	"strings"
)

// patch applies one delta update (add, replace or remove at a JSON pointer
// path, RFC 6901 escaping) to doc and returns the result.
func patch(doc any, u Update) (any, error) {
	if !strings.HasPrefix(u.Path, "/") {
		return nil, fmt.Errorf("update path %q does not start with /", u.Path)
	}
	var keys []string
	for _, k := range strings.Split(u.Path[1:], "/") {
		keys = append(keys, strings.NewReplacer("~1", "/", "~0", "~").Replace(k))
	}
	switch u.Op {
	case "add", "replace", "remove":
	default:
		return nil, fmt.Errorf("update op %q is not one of add, replace, remove", u.Op)
	}
	return patchAt(doc, keys, u)
}

func patchAt(node any, keys []string, u Update) (any, error) {
	k, last := keys[0], len(keys) == 1
	switch n := node.(type) {
	case map[string]any:
		if last {
			if u.Op == "remove" {
				delete(n, k)
			} else {
				n[k] = u.Value
			}
			return n, nil
		}
		child, ok := n[k]
		if !ok || child == nil {
			if u.Op == "remove" {
				return n, nil
			}
			// Adding below a missing key makes the objects on the way.
			child = map[string]any{}
		}
		c, err := patchAt(child, keys[1:], u)
		if err != nil {
			return nil, err
		}
		n[k] = c
		return n, nil
	case []any:
		i, err := strconv.Atoi(k)
		if k == "-" {
			i = len(n)
		} else if err != nil || i < 0 || i > len(n) {
			return nil, fmt.Errorf("update path element %q is not an index of a list of %d", k, len(n))
		}
		if last {
			switch {
			case u.Op == "remove" && i < len(n):
				return append(n[:i], n[i+1:]...), nil
			case u.Op == "add":
				return append(n[:i], append([]any{u.Value}, n[i:]...)...), nil
			case i < len(n):
				n[i] = u.Value
				return n, nil
			}
			return nil, fmt.Errorf("update path index %d is past the end of a list of %d", i, len(n))
		}
		if i >= len(n) {
			return nil, fmt.Errorf("update path index %d is past the end of a list of %d", i, len(n))
		}
		c, err := patchAt(n[i], keys[1:], u)
		if err != nil {
			return nil, err
		}
		n[i] = c
		return n, nil
	default:
		return nil, fmt.Errorf("update path goes through %T, which has no element %q", node, k)
	}
}
