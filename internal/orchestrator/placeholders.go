package orchestrator

import (
	"fmt"
	"regexp"
	"strings"
)

// placeholderRE finds ${...} placeholders. Go templates use {{ }}, so the
// two never meet.
var placeholderRE = regexp.MustCompile(`\$\{([^{}]+)\}`)

// Lookup resolves one placeholder path (split by splitPath). ok is false
// when the path names nothing; secret reports a value that must only reach
// a workload through a Secret.
type Lookup func(path []string) (v any, secret bool, ok bool, err error)

// splitPath splits a placeholder expression into its parts:
// resources['postgres.5min#db'].outputs.host becomes
// [resources postgres.5min#db outputs host].
func splitPath(expr string) ([]string, error) {
	var out []string
	s := strings.TrimSpace(expr)
	for s != "" {
		switch {
		case strings.HasPrefix(s, "['") || strings.HasPrefix(s, `["`):
			q := s[1]
			end := strings.IndexByte(s[2:], q)
			if end < 0 || !strings.HasPrefix(s[2+end+1:], "]") {
				return nil, fmt.Errorf("placeholder ${%s}: unclosed [%c", expr, q)
			}
			out = append(out, s[2:2+end])
			s = s[2+end+2:]
		case s[0] == '.':
			s = s[1:]
		default:
			i := strings.IndexAny(s, ".[")
			if i < 0 {
				i = len(s)
			}
			out = append(out, s[:i])
			s = s[i:]
		}
	}
	return out, nil
}

// expand replaces every placeholder in s. A string that is one placeholder
// and nothing else keeps the type of what it names (a port stays a
// number).
func expand(s string, look Lookup) (any, bool, error) {
	m := placeholderRE.FindAllStringSubmatchIndex(s, -1)
	if len(m) == 0 {
		return s, false, nil
	}
	anySecret := false
	resolve := func(expr string) (any, error) {
		path, err := splitPath(expr)
		if err != nil {
			return nil, err
		}
		v, sec, ok, err := look(path)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("placeholder ${%s} names nothing this deployment has", expr)
		}
		anySecret = anySecret || sec
		return v, nil
	}
	if len(m) == 1 && m[0][0] == 0 && m[0][1] == len(s) {
		v, err := resolve(s[m[0][2]:m[0][3]])
		return v, anySecret, err
	}
	var b strings.Builder
	last := 0
	for _, loc := range m {
		b.WriteString(s[last:loc[0]])
		v, err := resolve(s[loc[2]:loc[3]])
		if err != nil {
			return nil, false, err
		}
		fmt.Fprint(&b, scalar(v))
		last = loc[1]
	}
	b.WriteString(s[last:])
	return b.String(), anySecret, nil
}

// scalar is how a value reads inside a longer string.
func scalar(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	if v == nil {
		return ""
	}
	return v
}

// expandAll resolves placeholders in every string of a JSON-like tree.
func expandAll(v any, look Lookup) (any, bool, error) {
	switch x := v.(type) {
	case string:
		return expand(x, look)
	case map[string]any:
		out := make(map[string]any, len(x))
		anySecret := false
		for k, e := range x {
			r, sec, err := expandAll(e, look)
			if err != nil {
				return nil, false, err
			}
			out[k], anySecret = r, anySecret || sec
		}
		return out, anySecret, nil
	case []any:
		out := make([]any, len(x))
		anySecret := false
		for i, e := range x {
			r, sec, err := expandAll(e, look)
			if err != nil {
				return nil, false, err
			}
			out[i], anySecret = r, anySecret || sec
		}
		return out, anySecret, nil
	default:
		return v, false, nil
	}
}

// walk follows path into a JSON-like tree.
func walk(v any, path []string) (any, bool) {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}
