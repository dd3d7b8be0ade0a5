// Package coredns makes the ingress hosts resolve inside the cluster. A pod
// asking for git.localhost would otherwise get its own loopback address;
// with a rewrite rule in CoreDNS it gets the ingress Service, so pods and CI
// jobs reach Gitea by the same URL a browser uses.
//
// The rules are one block in the Corefile, between marker comments: adding
// it again changes nothing, and removing it restores the Corefile byte for
// byte.
package coredns

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/config"
)

// Where kubeadm, kind and k3s keep CoreDNS.
const (
	Namespace      = "kube-system"
	ConfigMapName  = "coredns"
	DeploymentName = "coredns"
	corefileKey    = "Corefile"
	// RestartAnnotation on CoreDNS's pod template holds a hash of the
	// Corefile we wrote: a changed value rolls the pods so the rules apply
	// at once instead of after the kubelet's ConfigMap sync and the reload
	// plugin's interval (up to ~2 minutes).
	RestartAnnotation = "pocketidp.dev/corefile-sha256"
)

const (
	beginMarker = "# pocketidp:begin"
	endMarker   = "# pocketidp:end"
)

// Rules are the names to send to the ingress.
type Rules struct {
	// Target is the ingress Service's DNS name. A name ending in
	// ".svc.cluster.local" follows the cluster's own domain when the
	// Corefile's kubernetes plugin names another one.
	Target string
	// Hosts are rewritten by exact name (git.localhost, ...). IP addresses,
	// "localhost" itself and names outside DNS are skipped.
	Hosts []string
	// LocalhostApps also rewrites every other <name>.localhost (the app
	// hosts the orchestrator makes up later) with one anchored regex: it
	// matches only names ending in .localhost, never localhost itself nor
	// the cluster.local search-path variants a pod tries first.
	LocalhostApps bool
	// Aliases send one name each to its own Service (name → the
	// Service's DNS name). A name may be a single label, such as the
	// course's 5min-idp-control-plane.
	Aliases map[string]string
}

// LocalhostAppsRegex matches <name>.localhost and deeper names, as CoreDNS
// sees them (fully qualified, with the trailing dot).
const LocalhostAppsRegex = `^[^.]+(\.[^.]+)*\.localhost\.$`

var dnsName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$`)

// dnsLabels is a DNS name of one label or more.
var dnsLabels = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// Block returns the marked block, each line indented by indent.
func (r Rules) Block(indent string) (string, error) {
	target := strings.TrimSuffix(r.Target, ".")
	if !dnsName.MatchString(target) {
		return "", fmt.Errorf("coredns: target %q is not a DNS name", r.Target)
	}
	lines := []string{beginMarker + " (ingress hosts resolve to the ingress Service; `pocketidp down` removes this block)"}
	seen := map[string]bool{}
	for _, h := range r.Hosts {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if seen[h] || h == "localhost" || net.ParseIP(h) != nil || !dnsName.MatchString(h) {
			continue
		}
		seen[h] = true
		// exact rules rewrite the answer back to the asked name by themselves.
		lines = append(lines, fmt.Sprintf("rewrite stop name exact %s %s", h, target))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Aliases)) {
		to := strings.TrimSuffix(r.Aliases[name], ".")
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		if !dnsLabels.MatchString(name) || !dnsName.MatchString(to) {
			return "", fmt.Errorf("coredns: alias %q → %q is not a pair of DNS names", name, to)
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		lines = append(lines, fmt.Sprintf("rewrite stop name exact %s %s", name, to))
	}
	if r.LocalhostApps {
		lines = append(lines, fmt.Sprintf("rewrite stop name regex %s %s answer auto", LocalhostAppsRegex, target))
	}
	lines = append(lines, endMarker)
	return indent + strings.Join(lines, "\n"+indent) + "\n", nil
}

// serverOpen matches the opening line of the root server block (".:53 {"
// or ". {").
var serverOpen = regexp.MustCompile(`^\s*\.(:53)?\s*\{\s*$`)

// inDomain moves a Service name under cluster.local into domain d.
func inDomain(name, d string) string {
	if svc, ok := strings.CutSuffix(strings.TrimSuffix(name, "."), ".svc.cluster.local"); ok {
		return svc + ".svc." + d
	}
	return name
}

// Patch returns corefile with the block for r in the root server block, in
// place of any block an earlier run left.
func Patch(corefile string, r Rules) (string, error) {
	base, err := Unpatch(corefile)
	if err != nil {
		return "", err
	}
	lines := strings.SplitAfter(base, "\n")
	for i, l := range lines {
		if !serverOpen.MatchString(l) {
			continue
		}
		indent := "    "
		if i+1 < len(lines) {
			if next := lines[i+1]; strings.TrimSpace(next) != "" {
				indent = next[:len(next)-len(strings.TrimLeft(next, " \t"))]
			}
		}
		if d := clusterDomain(base); d != "" && d != "cluster.local" {
			r.Target = inDomain(r.Target, d)
			aliases := make(map[string]string, len(r.Aliases))
			for name, to := range r.Aliases {
				aliases[name] = inDomain(to, d)
			}
			r.Aliases = aliases
		}
		block, err := r.Block(indent)
		if err != nil {
			return "", err
		}
		if !strings.HasSuffix(l, "\n") {
			lines[i] = l + "\n"
		}
		return strings.Join(lines[:i+1], "") + block + strings.Join(lines[i+1:], ""), nil
	}
	return "", errors.New("the Corefile has no root server block (a line `.:53 {`)")
}

// clusterDomain is the first zone of the kubernetes plugin ("kubernetes
// cluster.local in-addr.arpa ..."), "" when there is none.
func clusterDomain(corefile string) string {
	for _, l := range strings.Split(corefile, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "kubernetes" {
			return strings.TrimSuffix(f[1], ".")
		}
	}
	return ""
}

// Unpatch returns corefile without our block (unchanged when there is none).
func Unpatch(corefile string) (string, error) {
	lines := strings.SplitAfter(corefile, "\n")
	var out []string
	in := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, beginMarker):
			if in {
				return "", errors.New("the Corefile has two pocketidp:begin markers")
			}
			in = true
		case t == endMarker:
			if !in {
				return "", errors.New("the Corefile has a pocketidp:end marker without a begin")
			}
			in = false
		case !in:
			out = append(out, l)
		}
	}
	if in {
		return "", errors.New("the Corefile's pocketidp block has no end marker")
	}
	return strings.Join(out, ""), nil
}

// corefileError is a Corefile we cannot edit safely: the user must look.
func corefileError(err error) error {
	return &config.InputError{
		Msg: fmt.Sprintf("edit ConfigMap %s/%s: %v", Namespace, ConfigMapName, err),
		Hint: fmt.Sprintf("fix the Corefile by hand (`kubectl -n %s edit configmap %s`): lines from %q to %q are ours and may be deleted",
			Namespace, ConfigMapName, beginMarker, endMarker),
	}
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:16]
}

// Current reports, changing nothing, whether the Corefile holds exactly
// the block for r and CoreDNS was rolled for it.
func Current(ctx context.Context, cs kubernetes.Interface, r Rules) (bool, error) {
	cm, err := cs.CoreV1().ConfigMaps(Namespace).Get(ctx, ConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read ConfigMap %s/%s: %w", Namespace, ConfigMapName, err)
	}
	cur := cm.Data[corefileKey]
	want, err := Patch(cur, r)
	if err != nil || want != cur {
		return false, nil
	}
	rolled, err := rolledFor(ctx, cs, hash(cur))
	return rolled, err
}

// Apply writes the block for r into CoreDNS's Corefile and rolls CoreDNS
// when it changed. changed is false when everything was already so.
func Apply(ctx context.Context, cs kubernetes.Interface, r Rules) (changed bool, err error) {
	cms := cs.CoreV1().ConfigMaps(Namespace)
	cm, err := cms.Get(ctx, ConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, &config.InputError{
			Msg: fmt.Sprintf("the cluster has no ConfigMap %s/%s, so pods cannot be taught to resolve git.localhost", Namespace, ConfigMapName),
			Hint: "use a cluster whose DNS is CoreDNS configured from kube-system/coredns (kind, kubeadm, k3s), " +
				"or pass --kubeconfig \"\" --context \"\" to let pocketidp create a kind cluster (this also replaces options saved by an earlier run)",
		}
	}
	if err != nil {
		return false, fmt.Errorf("read ConfigMap %s/%s: %w", Namespace, ConfigMapName, err)
	}
	if _, ok := cm.Data[corefileKey]; !ok {
		return false, corefileError(fmt.Errorf("it has no %s key", corefileKey))
	}
	return edit(ctx, cs, cm, func(cur string) (string, error) { return Patch(cur, r) }, true)
}

// edit rewrites the Corefile in cm with fn, saves it when it changed, and
// rolls CoreDNS: to the new Corefile's hash, or back (rollToNew false).
func edit(ctx context.Context, cs kubernetes.Interface, cm *corev1.ConfigMap, fn func(string) (string, error), rollToNew bool) (bool, error) {
	cur := cm.Data[corefileKey]
	next, err := fn(cur)
	if err != nil {
		return false, corefileError(err)
	}
	changed := false
	if next != cur {
		cm.Data[corefileKey] = next
		if _, err := cs.CoreV1().ConfigMaps(Namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return false, fmt.Errorf("update ConfigMap %s/%s: %w", Namespace, ConfigMapName, err)
		}
		changed = true
	}
	h := ""
	if rollToNew {
		h = hash(next)
	}
	rolled, err := roll(ctx, cs, h)
	return changed || rolled, err
}

// Remove takes our block out of the Corefile (byte for byte what was there
// before) and rolls CoreDNS back. Nothing to remove is success.
func Remove(ctx context.Context, cs kubernetes.Interface) (changed bool, err error) {
	cms := cs.CoreV1().ConfigMaps(Namespace)
	cm, err := cms.Get(ctx, ConfigMapName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read ConfigMap %s/%s: %w", Namespace, ConfigMapName, err)
	}
	return edit(ctx, cs, cm, Unpatch, false)
}

// rolledFor reports whether CoreDNS's pod template carries sum (or there
// is no CoreDNS Deployment to roll).
func rolledFor(ctx context.Context, cs kubernetes.Interface, sum string) (bool, error) {
	d, err := cs.AppsV1().Deployments(Namespace).Get(ctx, DeploymentName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("read Deployment %s/%s: %w", Namespace, DeploymentName, err)
	}
	return d.Spec.Template.Annotations[RestartAnnotation] == sum, nil
}

// roll sets (or, with sum "", removes) the restart annotation when it
// differs, which makes the Deployment replace its pods one by one.
func roll(ctx context.Context, cs kubernetes.Interface, sum string) (bool, error) {
	d, err := cs.AppsV1().Deployments(Namespace).Get(ctx, DeploymentName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil // CoreDNS run another way: its reload plugin picks the change up
	}
	if err != nil {
		return false, fmt.Errorf("read Deployment %s/%s: %w", Namespace, DeploymentName, err)
	}
	have, ok := d.Spec.Template.Annotations[RestartAnnotation]
	if (sum == "" && !ok) || (sum != "" && have == sum) {
		return false, nil
	}
	var value any = sum
	if sum == "" {
		value = nil // a merge patch deletes the key
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{
		"metadata": map[string]any{"annotations": map[string]any{RestartAnnotation: value}}}}})
	if _, err := cs.AppsV1().Deployments(Namespace).Patch(ctx, DeploymentName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return false, fmt.Errorf("restart Deployment %s/%s: %w", Namespace, DeploymentName, err)
	}
	return true, nil
}
