package orchestrator

import "testing"

func TestResolvePicksTheMostSpecificCriterion(t *testing.T) {
	def := func(id string, crit ...Criterion) *Definition {
		d := &Definition{ID: id, Type: "postgres"}
		for i := range crit {
			c := crit[i]
			if c.Class == "" {
				c.Class = defaultClass
			}
			c.ID = id + "-c"
			d.Criteria = append(d.Criteria, &c)
		}
		return d
	}
	defs := []*Definition{
		def("any-default", Criterion{}),
		def("tf-default", Criterion{Class: "default"}),
		def("on-env-type", Criterion{EnvType: "5min-local"}),
		def("five-min", Criterion{EnvType: "5min-local", Class: "5min"}),
		def("for-res", Criterion{ResID: "modules.w.externals.special"}),
		def("for-app", Criterion{AppID: "shop"}),
		def("for-app-env", Criterion{AppID: "shop", EnvID: "5min-local"}),
		{ID: "deleted", Type: "postgres", Deleted: true, Criteria: []*Criterion{{ID: "x", AppID: "shop", EnvID: "5min-local", ResID: "modules.w.externals.db", Class: "default"}}},
		{ID: "other-type", Type: "mysql", Criteria: []*Criterion{{ID: "y", AppID: "shop", Class: "default"}}},
	}
	local := Context{App: "web", Env: "5min-local", EnvType: "5min-local"}
	for _, tc := range []struct {
		name  string
		ctx   Context
		resID string
		class string
		want  string
	}{
		{"env type beats catch-all", local, "modules.w.externals.db", "", "on-env-type"},
		{"class must agree", local, "modules.w.externals.db", "5min", "five-min"},
		{"res id beats nothing else set", Context{App: "web", Env: "dev", EnvType: "development"}, "modules.w.externals.special", "", "for-res"},
		{"env type beats res id", local, "modules.w.externals.special", "", "on-env-type"},
		{"app beats env type", Context{App: "shop", Env: "x", EnvType: "5min-local"}, "modules.w.externals.db", "", "for-app"},
		{"app and env beat app", Context{App: "shop", Env: "5min-local", EnvType: "5min-local"}, "modules.w.externals.db", "", "for-app-env"},
		{"ties go to the lower id", Context{App: "web", Env: "dev", EnvType: "development"}, "modules.w.externals.db", "", "any-default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := resolve(defs, tc.ctx, "postgres", tc.resID, tc.class)
			if !ok || m.Def.ID != tc.want {
				got := "nothing"
				if ok {
					got = m.Def.ID
				}
				t.Errorf("resolved to %s, want %s", got, tc.want)
			}
		})
	}
	if _, ok := resolve(defs, local, "postgres", "modules.w.externals.db", "huge"); ok {
		t.Error("a class no criterion names resolved")
	}
}
