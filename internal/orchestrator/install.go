package orchestrator

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/pocketidp/pocketidp/internal/secret"
)

// What `up` installs for the orchestrator, and the names it uses.
const (
	InstallNamespace = "pocketidp-orchestrator"
	InstallName      = "orchestrator"
	TokenSecretName  = "orchestrator-token"
	TokenKey         = "token"
	tokenMountDir    = "/etc/pocketidp"
	IssuerSecretName = "orchestrator-issuer"
	issuerMountDir   = "/etc/pocketidp-issuer"
	// HTTPPort serves the API behind the ingress; TLSPort serves it as
	// api.humanitec.io to pods in the cluster (Backstage's plugin), with a
	// self-signed certificate they are told to accept.
	HTTPPort = 8080
	TLSPort  = 8443
	// HumanitecAPIHost is the name Backstage's plugin calls.
	HumanitecAPIHost = "api.humanitec.io"
)

// InstallConfig is what the orchestrator's objects are made from.
type InstallConfig struct {
	Org   string
	Token secret.Value
	// Image is the pocketidp binary's image, loaded into the cluster's
	// nodes by `up` (never pulled).
	Image string
	// IngressClass serves the orchestrator at https://orchestrator.localhost.
	IngressClass string
	// IssuerCertPEM and IssuerKeyPEM, when set, are the intermediate CA
	// (NewIntermediate) that gives app hosts their certificates.
	IssuerCertPEM, IssuerKeyPEM []byte
	// APIAliasIP, when set, is the orchestrator Service's cluster IP:
	// deployed pods then resolve api.humanitec.io to it.
	APIAliasIP string
	// IngressPort, when set, is the host port of the ingress, which the
	// status page's app URLs carry.
	IngressPort int
}

// InstallObjects are the orchestrator's objects in the cluster: its
// namespace, service account with the rights to deploy anything (template
// definitions may render any kind, in any namespace), the token Secret,
// the Deployment running `pocketidp orchestrator serve`, its Service and
// its Ingress.
func InstallObjects(c InstallConfig) ([]runtime.Object, error) {
	if c.Org == "" || c.Token.Empty() || c.Image == "" {
		return nil, fmt.Errorf("the orchestrator's objects need an org, a token and an image")
	}
	if c.IngressClass == "" {
		c.IngressClass = DefaultIngressClass
	}
	labels := map[string]string{labelWorkload: InstallName, labelManagedBy: managedBy}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: InstallNamespace, Labels: labels}
	}
	args := []string{"orchestrator", "serve", "--org", c.Org, "--token-file", tokenMountDir + "/" + TokenKey,
		"--listen", fmt.Sprintf(":%d", HTTPPort), "--tls-listen", fmt.Sprintf(":%d", TLSPort), "--state-namespace", InstallNamespace}
	if c.APIAliasIP != "" {
		args = append(args, "--host-alias", c.APIAliasIP+"="+HumanitecAPIHost)
	}
	if c.IngressPort > 0 {
		args = append(args, "--ingress-port", fmt.Sprint(c.IngressPort))
	}
	volumes := []corev1.Volume{{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: TokenSecretName}}}}
	mounts := []corev1.VolumeMount{{Name: "token", MountPath: tokenMountDir, ReadOnly: true}}
	var issuer []runtime.Object
	if len(c.IssuerCertPEM) > 0 {
		args = append(args, "--issuer-dir", issuerMountDir)
		volumes = append(volumes, corev1.Volume{Name: "issuer", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: IssuerSecretName}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "issuer", MountPath: issuerMountDir, ReadOnly: true})
		issuer = append(issuer, &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: meta(IssuerSecretName),
			Type: corev1.SecretTypeTLS, Data: map[string][]byte{corev1.TLSCertKey: c.IssuerCertPEM, corev1.TLSPrivateKeyKey: c.IssuerKeyPEM}})
	}
	one, no := int32(1), false
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(HTTPPort)}}}
	pt := networkingv1.PathTypePrefix
	objs := []runtime.Object{
		&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: InstallNamespace, Labels: labels}},
		&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(InstallName)},
		&rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
			ObjectMeta: metav1.ObjectMeta{Name: "pocketidp-orchestrator", Labels: labels},
			// Template definitions render objects of any kind in any
			// namespace, as Humanitec's agent may: the orchestrator is
			// the platform's deployer, with the rights of one.
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: InstallName, Namespace: InstallNamespace}}},
		&corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: meta(TokenSecretName),
			Type: corev1.SecretTypeOpaque, Data: map[string][]byte{TokenKey: []byte(c.Token.Reveal())}},
		&appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta(InstallName),
			Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{labelWorkload: InstallName}},
				// One writer of the state at a time.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					ServiceAccountName: InstallName,
					Containers: []corev1.Container{{Name: InstallName, Image: c.Image, ImagePullPolicy: corev1.PullIfNotPresent,
						Command: []string{"/pocketidp"}, Args: args,
						Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: HTTPPort}, {Name: "https", ContainerPort: TLSPort}},
						ReadinessProbe: probe, LivenessProbe: probe,
						VolumeMounts: mounts,
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65532)),
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
					Volumes: volumes,
				}}}},
		&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: meta(InstallName),
			Spec: corev1.ServiceSpec{Selector: map[string]string{labelWorkload: InstallName}, Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromInt32(HTTPPort)},
				{Name: "https", Port: 443, TargetPort: intstr.FromInt32(TLSPort)}}}},
		&networkingv1.Ingress{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"}, ObjectMeta: metav1.ObjectMeta{
			Name: InstallName, Namespace: InstallNamespace, Labels: labels, Annotations: map[string]string{
				"traefik.ingress.kubernetes.io/router.entrypoints": "websecure", "traefik.ingress.kubernetes.io/router.tls": "true"}},
			Spec: networkingv1.IngressSpec{IngressClassName: &c.IngressClass, Rules: []networkingv1.IngressRule{{Host: HostName,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: InstallName, Port: networkingv1.ServiceBackendPort{Name: "http"}}}}}}}}}}},
	}
	return append(objs, issuer...), nil
}

func ptr[T any](v T) *T { return &v }
