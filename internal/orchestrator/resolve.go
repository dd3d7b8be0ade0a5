package orchestrator

import (
	"cmp"
	"slices"
)

// Context is where a resource is resolved: the app, its environment and
// that environment's type.
type Context struct {
	App, Env, EnvType string
}

// Match is the definition a resource resolves to, and the criterion that
// picked it.
type Match struct {
	Def       *Definition
	Criterion *Criterion
}

// specificity ranks a criterion: a field that is set counts more than all
// fields after it, in the order app, env, env type, res id, class. The most
// specific matching criterion wins.
func specificity(c *Criterion) int {
	n := 0
	for _, set := range []bool{c.AppID != "", c.EnvID != "", c.EnvType != "", c.ResID != "", c.Class != defaultClass} {
		n <<= 1
		if set {
			n |= 1
		}
	}
	return n
}

// matches reports whether every field c sets agrees with the resource.
// The class always has to agree ("default" when the resource names none).
func (c *Criterion) matches(ctx Context, resID, class string) bool {
	ok := func(want, got string) bool { return want == "" || want == got }
	return ok(c.AppID, ctx.App) && ok(c.EnvID, ctx.Env) && ok(c.EnvType, ctx.EnvType) && ok(c.ResID, resID) &&
		c.Class == cmp.Or(class, defaultClass)
}

// resolve picks the definition for a resource of type typ, id resID and
// class class among defs: the one with the most specific matching
// criterion; ties go to the lower definition id, so the choice is stable.
// ok is false when no definition matches.
func resolve(defs []*Definition, ctx Context, typ, resID, class string) (Match, bool) {
	var best Match
	bestScore := -1
	sorted := slices.Clone(defs)
	slices.SortFunc(sorted, func(a, b *Definition) int { return cmp.Compare(a.ID, b.ID) })
	for _, d := range sorted {
		if d.Type != typ || d.Deleted {
			continue
		}
		for _, c := range d.Criteria {
			if !c.matches(ctx, resID, class) {
				continue
			}
			if sc := specificity(c); sc > bestScore {
				best, bestScore = Match{Def: d, Criterion: c}, sc
			}
		}
	}
	return best, bestScore >= 0
}
