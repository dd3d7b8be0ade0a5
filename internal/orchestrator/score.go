package orchestrator

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// The Score files the course deploys (score.dev/v1b1), read with only the
// fields a deployment uses. (score-go, the reference parser, is not served
// by the module proxy this project builds from.)
type scoreFile struct {
	APIVersion string `json:"apiVersion"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Service struct {
		Ports map[string]struct {
			Port       int    `json:"port"`
			TargetPort int    `json:"targetPort"`
			Protocol   string `json:"protocol"`
		} `json:"ports"`
	} `json:"service"`
	Containers map[string]scoreContainer `json:"containers"`
	Resources  map[string]struct {
		Type   string         `json:"type"`
		Class  string         `json:"class"`
		ID     string         `json:"id"`
		Params map[string]any `json:"params"`
	} `json:"resources"`
}

type scoreContainer struct {
	Image     string                    `json:"image"`
	Command   []string                  `json:"command"`
	Args      []string                  `json:"args"`
	Variables map[string]string         `json:"variables"`
	Files     any                       `json:"files"`
	Volumes   any                       `json:"volumes"`
	Resources map[string]map[string]any `json:"resources"`
}

// scoreAPIVersion is the Score version read.
const scoreAPIVersion = "score.dev/v1b1"

// defaultProfile is the module profile deltas from Score carry.
const defaultProfile = "humanitec/default-module"

// ScoreDelta turns a Score file into the body of a delta that adds its
// workload to env, as `humctl score deploy` sends it; image replaces every
// container image given as ".". ${resources.x.y} placeholders become
// ${externals.x.y}, the module form.
func ScoreDelta(score []byte, env, image string) (map[string]any, error) {
	var s scoreFile
	if err := yaml.UnmarshalStrict(score, &s); err != nil {
		return nil, fmt.Errorf("the Score file does not parse: %v", err)
	}
	if s.APIVersion != scoreAPIVersion {
		return nil, fmt.Errorf("the Score file's apiVersion is %q; PocketIDP's local orchestrator reads %s", s.APIVersion, scoreAPIVersion)
	}
	name := s.Metadata.Name
	if !dnsLabel.MatchString(name) {
		return nil, fmt.Errorf("the Score file's metadata.name %q is not a valid workload name", name)
	}
	toModule := func(v string) string { return strings.ReplaceAll(v, "${resources.", "${externals.") }
	containers := map[string]any{}
	for _, cname := range slices.Sorted(maps.Keys(s.Containers)) {
		c := s.Containers[cname]
		img := c.Image
		if img == "." && image != "" {
			img = image
		}
		vars := map[string]any{}
		for k, v := range c.Variables {
			vars[k] = toModule(v)
		}
		cm := map[string]any{"id": cname, "image": img, "variables": vars}
		if len(c.Command) > 0 {
			cm["command"] = c.Command
		}
		if len(c.Args) > 0 {
			cm["args"] = c.Args
		}
		if len(c.Resources) > 0 {
			cm["resources"] = c.Resources
		}
		files, err := scoreFiles(c.Files, toModule)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", cname, err)
		}
		if len(files) > 0 {
			cm["files"] = files
		}
		mounts, err := scoreVolumes(c.Volumes)
		if err != nil {
			return nil, fmt.Errorf("container %s: %w", cname, err)
		}
		if len(mounts) > 0 {
			cm["volume_mounts"] = mounts
		}
		containers[cname] = cm
	}
	ports := map[string]any{}
	for pname, p := range s.Service.Ports {
		ports[pname] = map[string]any{"port": p.Port, "container_port": max(p.TargetPort, 0), "protocol": p.Protocol}
	}
	externals := map[string]any{}
	for rname, r := range s.Resources {
		e := map[string]any{"type": r.Type}
		if r.Class != "" {
			e["class"] = r.Class
		}
		if r.ID != "" {
			e["id"] = r.ID
		}
		if len(r.Params) > 0 {
			var params map[string]any
			deepCopy(r.Params, &params)
			params = rewrite(params, toModule).(map[string]any)
			e["params"] = params
		}
		externals[rname] = e
	}
	spec := map[string]any{"containers": containers}
	if len(ports) > 0 {
		spec["service"] = map[string]any{"ports": ports}
	}
	return map[string]any{
		"metadata": map[string]any{"env_id": env, "name": "Score deploy of " + name},
		"modules": map[string]any{"add": map[string]any{name: map[string]any{
			"profile": defaultProfile, "spec": spec, "externals": externals}}},
	}, nil
}

// rewrite applies f to every string of a JSON-like tree.
func rewrite(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case map[string]any:
		for k, e := range x {
			x[k] = rewrite(e, f)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = rewrite(e, f)
		}
		return x
	}
	return v
}

// scoreFiles reads a container's files, a list or a map by target.
func scoreFiles(v any, f func(string) string) (map[string]any, error) {
	out := map[string]any{}
	add := func(target string, m map[string]any) error {
		if target == "" {
			return fmt.Errorf("a file has no target")
		}
		if _, ok := m["source"]; ok {
			return fmt.Errorf("file %s: source files are not read by the local orchestrator; inline the content", target)
		}
		content := toString(m["content"])
		if m["noExpand"] != true {
			content = f(content)
		}
		out[target] = map[string]any{"value": content, "mode": toString(orDefault(m["mode"], "0644"))}
		return nil
	}
	return out, byTarget("files", v, add)
}

// scoreVolumes reads a container's volumes, a list or a map by target:
// source ${resources.x} mounts resource x.
func scoreVolumes(v any) (map[string]any, error) {
	out := map[string]any{}
	add := func(target string, m map[string]any) error {
		src := toString(m["source"])
		name, ok := strings.CutPrefix(src, "${resources.")
		if !ok || !strings.HasSuffix(name, "}") {
			return fmt.Errorf("volume %s: source %q is not ${resources.<name>}", target, src)
		}
		mount := map[string]any{"id": "externals." + strings.TrimSuffix(name, "}"), "read_only": m["readOnly"] == true}
		if p := toString(orDefault(m["path"], "")); p != "" {
			mount["sub_path"] = p
		}
		out[target] = mount
		return nil
	}
	return out, byTarget("volumes", v, add)
}

// byTarget calls add for each entry of a Score files or volumes section,
// which is either a list of entries with a target or a map by target.
func byTarget(what string, v any, add func(target string, m map[string]any) error) error {
	switch x := v.(type) {
	case nil:
	case []any:
		for _, e := range x {
			m, _ := e.(map[string]any)
			if err := add(toString(m["target"]), m); err != nil {
				return err
			}
		}
	case map[string]any:
		for target, e := range x {
			m, _ := e.(map[string]any)
			if err := add(target, m); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("%s is a %T, want a list or a map", what, v)
	}
	return nil
}

func orDefault(v, d any) any {
	if v == nil {
		return d
	}
	return v
}
