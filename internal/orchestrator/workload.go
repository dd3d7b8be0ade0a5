package orchestrator

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// labelWorkload selects a workload's pods.
const labelWorkload = "app.kubernetes.io/name"

// containerSpec is a container of a module's spec, as deltas carry it.
type containerSpec struct {
	ID           string                    `json:"id"`
	Image        string                    `json:"image"`
	Command      []string                  `json:"command"`
	Args         []string                  `json:"args"`
	Variables    map[string]any            `json:"variables"`
	Files        map[string]fileSpec       `json:"files"`
	VolumeMounts map[string]mountSpec      `json:"volume_mounts"`
	Resources    map[string]map[string]any `json:"resources"`
}

type fileSpec struct {
	Value string `json:"value"`
	Mode  string `json:"mode"`
}

type mountSpec struct {
	ID       string `json:"id"`
	SubPath  string `json:"sub_path"`
	ReadOnly bool   `json:"read_only"`
}

type portSpec struct {
	Port          int    `json:"port"`
	ContainerPort int    `json:"container_port"`
	Protocol      string `json:"protocol"`
}

type moduleSpec struct {
	Containers map[string]containerSpec `json:"containers"`
	Service    struct {
		Ports map[string]portSpec `json:"ports"`
	} `json:"service"`
}

// workload is what the engine renders for one module.
type workload struct {
	name      string
	namespace string
	externals map[string]*provisioned
	objects   []runtime.Object
}

// workloadLookup resolves a workload's variables: its externals (also
// Score's ${resources...}), shared values, context and itself.
func (p *plan) workloadLookup(w *workload) Lookup {
	return func(path []string) (any, bool, bool, error) {
		switch path[0] {
		case "externals", "resources":
			if len(path) < 2 {
				return nil, false, false, nil
			}
			r := w.externals[path[1]]
			if r == nil {
				return nil, false, false, fmt.Errorf("workload %s has no resource %q", w.name, path[1])
			}
			return outputValue(r, path[2:])
		case "values":
			if len(path) != 2 {
				return nil, false, false, nil
			}
			v, ok := p.job.Values[path[1]]
			return v, p.job.SecretValues[path[1]], ok, nil
		case "shared":
			return nil, false, false, fmt.Errorf("${shared...} resources are not served by PocketIDP's local orchestrator: give the workload its own resource")
		case "context":
			return p.contextValue(nil, path[1:])
		case "metadata":
			if len(path) == 2 && path[1] == "name" {
				return w.name, false, true, nil
			}
		case "modules":
			if len(path) == 4 && path[2] == "service" && path[3] == "name" {
				return path[1], false, true, nil
			}
		}
		return nil, false, false, nil
	}
}

// renderWorkload makes a module's Deployment, its Service when it has
// ports, and the Secret and ConfigMap its variables and files need.
func (p *plan) renderWorkload(w *workload, spec moduleSpec) error {
	look := p.workloadLookup(w)
	secretData, fileData := map[string]string{}, map[string]string{}
	var containers []corev1.Container
	var volumes []corev1.Volume
	seenVol := map[string]bool{}
	for _, cname := range slices.Sorted(maps.Keys(spec.Containers)) {
		cs := spec.Containers[cname]
		if cs.Image == "" || cs.Image == "." {
			return fmt.Errorf("container %s has no image (%q): deploy with the image the CI built (humctl score deploy --image)", cname, cs.Image)
		}
		c := corev1.Container{Name: cname, Image: cs.Image, Command: cs.Command, Args: cs.Args}
		for _, k := range slices.Sorted(maps.Keys(cs.Variables)) {
			v, secret, err := expandAll(cs.Variables[k], look)
			if err != nil {
				return fmt.Errorf("container %s, variable %s: %w", cname, k, err)
			}
			if secret {
				key := cname + "." + k
				secretData[key] = toString(v)
				c.Env = append(c.Env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: w.name + "-env"}, Key: key}}})
				continue
			}
			c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: toString(v)})
		}
		for i, path := range slices.Sorted(maps.Keys(cs.Files)) {
			f := cs.Files[path]
			v, _, err := expand(f.Value, look)
			if err != nil {
				return fmt.Errorf("container %s, file %s: %w", cname, path, err)
			}
			key := fmt.Sprintf("%s-%d", cname, i)
			fileData[key] = toString(v)
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "files", MountPath: path, SubPath: key, ReadOnly: true})
		}
		for _, path := range slices.Sorted(maps.Keys(cs.VolumeMounts)) {
			m := cs.VolumeMounts[path]
			ext := strings.TrimPrefix(strings.TrimPrefix(m.ID, "externals."), "volumes.")
			r := w.externals[ext]
			if r == nil {
				return fmt.Errorf("container %s mounts %q at %s, which is not a resource of the workload", cname, m.ID, path)
			}
			vol, err := podVolume(r)
			if err != nil {
				return fmt.Errorf("container %s, volume %s: %w", cname, ext, err)
			}
			if !seenVol[vol.Name] {
				seenVol[vol.Name] = true
				volumes = append(volumes, vol)
			}
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: vol.Name, MountPath: path, SubPath: m.SubPath, ReadOnly: m.ReadOnly})
		}
		if err := setResources(&c, cs.Resources); err != nil {
			return fmt.Errorf("container %s: %w", cname, err)
		}
		containers = append(containers, c)
	}
	if len(containers) == 0 {
		return fmt.Errorf("the workload has no containers")
	}
	// Containers that definitions add (location: containers) run beside.
	for _, name := range slices.Sorted(maps.Keys(w.externals)) {
		for _, mf := range w.externals[name].Manifests {
			if mf.Location != locContainers {
				continue
			}
			var c corev1.Container
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(mf.Data, &c); err != nil {
				return fmt.Errorf("resource %s, manifest %s is not a container: %v", name, mf.Name, err)
			}
			containers = append(containers, c)
		}
	}
	if len(fileData) > 0 {
		volumes = append(volumes, corev1.Volume{Name: "files", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: w.name + "-files"}}}})
		w.objects = append(w.objects, &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: w.name + "-files", Namespace: w.namespace}, Data: fileData})
	}
	if len(secretData) > 0 {
		w.objects = append(w.objects, &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Name: w.name + "-env", Namespace: w.namespace}, Type: corev1.SecretTypeOpaque, StringData: secretData})
	}
	sel := map[string]string{labelWorkload: w.name}
	one := int32(1)
	no := false
	w.objects = append(w.objects, &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: w.namespace},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec: corev1.PodSpec{Containers: containers, Volumes: volumes, HostAliases: p.cfg.HostAliases,
					AutomountServiceAccountToken: &no}}},
	})
	if len(spec.Service.Ports) > 0 {
		svc := &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: w.namespace}, Spec: corev1.ServiceSpec{Selector: sel}}
		for _, name := range slices.Sorted(maps.Keys(spec.Service.Ports)) {
			ps := spec.Service.Ports[name]
			svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: name, Port: int32(ps.Port),
				TargetPort: intstr.FromInt32(int32(cmp.Or(ps.ContainerPort, ps.Port))), Protocol: corev1.Protocol(cmp.Or(strings.ToUpper(ps.Protocol), "TCP"))})
		}
		w.objects = append(w.objects, svc)
	}
	return nil
}

// podVolume is the volume a volume resource gives a pod: the one its
// definition renders (location: volumes), named by the manifest.
func podVolume(r *provisioned) (corev1.Volume, error) {
	for _, mf := range r.Manifests {
		if mf.Location != locVolumes {
			continue
		}
		var v corev1.Volume
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(mf.Data, &v); err != nil {
			return v, fmt.Errorf("manifest %s is not a pod volume: %v", mf.Name, err)
		}
		if v.Name == "" {
			v.Name = r.GUResID
		}
		return v, nil
	}
	return corev1.Volume{}, fmt.Errorf("resource %s (%s) gives no volume: its definition needs a manifest with location volumes", r.ResID, r.Type)
}

func setResources(c *corev1.Container, in map[string]map[string]any) error {
	for kind, list := range map[string]*corev1.ResourceList{"limits": &c.Resources.Limits, "requests": &c.Resources.Requests} {
		for name, v := range in[kind] {
			q, err := resource.ParseQuantity(toString(v))
			if err != nil {
				return fmt.Errorf("resources.%s.%s %v: %v", kind, name, v, err)
			}
			if *list == nil {
				*list = corev1.ResourceList{}
			}
			(*list)[corev1.ResourceName(name)] = q
		}
	}
	return nil
}

// renderRoute makes the Ingress for a route resource of workload w, with
// the settings of the ingress resource its dns brought along (class,
// annotations), else Traefik's websecure entry point.
func (p *plan) renderRoute(w *workload, r *provisioned) ([]runtime.Object, error) {
	host := toString(r.Outputs["host"])
	if host == "" {
		return nil, fmt.Errorf("route %s has no host: give it params.host (e.g. ${resources.dns.host})", r.ResID)
	}
	port := int32(toInt(r.Outputs["port"]))
	if port == 0 {
		return nil, fmt.Errorf("route %s has no port: give it params.port, a port of the workload's service", r.ResID)
	}
	class := p.cfg.IngressClass
	ann := map[string]string{
		"traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
		"traefik.ingress.kubernetes.io/router.tls":         "true",
	}
	for _, ing := range p.order {
		if ing.Type != typeIngress || ing.Config == nil {
			continue
		}
		if c, _ := ing.Config["class"].(string); c != "" {
			class = c
		}
		if a, ok := ing.Config["annotations"].(map[string]any); ok {
			ann = map[string]string{}
			for k, v := range a {
				ann[k] = toString(v)
			}
		}
	}
	pt := networkingv1.PathTypePrefix
	name := label(w.name + "-" + r.GUResID)
	ing := &networkingv1.Ingress{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: w.namespace, Annotations: ann},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: cmp.Or(toString(r.Outputs["path"]), "/"), PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: w.name,
					Port: networkingv1.ServiceBackendPort{Number: port}}}}}}}}}},
	}
	objs := []runtime.Object{ing}
	if p.cfg.Issuer != nil {
		sec, err := p.hostCertificate(r, host, w.namespace, name+"-tls")
		if err != nil {
			return nil, err
		}
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: sec.Name}}
		objs = append(objs, sec)
	}
	return objs, nil
}

// hostCertificate is the TLS Secret of a route's host: the certificate the
// route's last deployment kept (in its cookie, a secret collection) while
// it still names the host and is not near its end, else a new one from the
// issuer.
func (p *plan) hostCertificate(r *provisioned, host, namespace, name string) (*corev1.Secret, error) {
	now := time.Now()
	var crt, key string
	if prev := p.previous(r); prev != nil {
		crt, _ = prev.Cookie["tls_crt"].(string)
		key, _ = prev.Cookie["tls_key"].(string)
	}
	if crt == "" || key == "" || !stillGood([]byte(crt), host, now) {
		c, k, err := p.cfg.Issuer.Issue(host, now)
		if err != nil {
			return nil, err
		}
		crt, key = string(c), string(k)
	}
	r.Cookie = map[string]any{"tls_crt": crt, "tls_key": key}
	return &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: []byte(crt), corev1.TLSPrivateKeyKey: []byte(key)}}, nil
}
