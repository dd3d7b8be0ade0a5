package bootstrap

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/pocketidp/pocketidp/internal/cluster"
	"github.com/pocketidp/pocketidp/internal/config"
	"github.com/pocketidp/pocketidp/internal/humanitec"
	"github.com/pocketidp/pocketidp/internal/orchestrator"
	"github.com/pocketidp/pocketidp/internal/orchestrator/image"
	"github.com/pocketidp/pocketidp/internal/secret"
)

// Steps of the local orchestrator: PocketIDP's own, installed in the
// cluster when no Humanitec credentials are given (Options.LocalOrchestrator).
// The Humanitec steps then register with it, unchanged, by URL, org and
// token.
const (
	// StepOrchestratorCredentials makes the org and the one token, kept
	// in the state (and in the token Secret the install step writes).
	StepOrchestratorCredentials = "orchestrator/credentials"
	// StepOrchestratorImage packages the running binary as the
	// orchestrator's image and loads it into the kind nodes.
	StepOrchestratorImage = "orchestrator/image"
	// StepOrchestrator installs it (Engine.Install) and waits for it;
	// `down` removes everything it deployed, and it (Engine.RemoveAll).
	StepOrchestrator = "orchestrator/install"
	// StepOrchestratorReady waits for its API through the ingress, as the
	// Humanitec steps reach it, and checks org and token there.
	StepOrchestratorReady = "orchestrator/ready"
)

// ObjOrchestrator is the state object kind recording that this install put
// the orchestrator into the cluster; id: its namespace.
const ObjOrchestrator = "kube/orchestrator"

// OrchestratorInput is what the local orchestrator's steps need beyond the
// options, and their seams for tests.
type OrchestratorInput struct {
	// Binary is the static Linux pocketidp binary the image is made from
	// (--orchestrator-binary); empty is the running binary.
	Binary string
	// Image, when set, makes the orchestrator's image (tests); nil builds
	// it from Binary.
	Image func() (v1.Image, error)
	// LoadImage, when set, puts the image into the cluster (tests); nil
	// loads it into the kind cluster's nodes.
	LoadImage func(ctx context.Context, ref string, img v1.Image) error
	// ReadyTimeout bounds the wait for the Deployment and then for the API
	// through the ingress; zero is config.DefaultOrchestratorReadyTimeout.
	ReadyTimeout time.Duration
	// URL is the orchestrator as this process reaches it; empty is
	// orchestrator.URL(port) through the ingress. Tests point it at an
	// orchestrator served in-process.
	URL string
	// HTTPClient reaches URL; nil is IngressClient (PocketIDP's CA,
	// *.localhost to the ingress's listen address).
	HTTPClient *http.Client
}

// orchestratorImage is the image reference orchestrator/image loaded, for
// orchestrator/install.
var orchestratorImage = Output[string]{Step: StepOrchestratorImage}

// orchestratorSteps are the local orchestrator's steps (their order: the
// edges in plan.go); none unless it is the install's orchestrator.
func orchestratorSteps(in *Install) []Step {
	if !in.Options.LocalOrchestrator() {
		return nil
	}
	wait := in.orchestratorReadyTimeout()
	return []Step{
		{Action: orchestratorCredentials{in}, Timeout: time.Minute},
		{Action: orchestratorImageStep{in}, Timeout: 5 * time.Minute},
		{Action: orchestratorInstall{in}, Timeout: wait + 2*time.Minute},
		{Action: orchestratorReady{in}, Timeout: wait + time.Minute},
	}
}

func (in *Install) orchestratorReadyTimeout() time.Duration {
	if in.Orchestrator.ReadyTimeout > 0 {
		return in.Orchestrator.ReadyTimeout
	}
	return config.DefaultOrchestratorReadyTimeout
}

// LocalOrchestratorAccess is the local orchestrator's org, token and URL
// as the state keeps them; ok is false before orchestrator/credentials ran.
func (in *Install) LocalOrchestratorAccess() (org string, token secret.Value, url string, ok bool) {
	if in.Store == nil {
		return "", secret.Value{}, "", false
	}
	org, token, url = in.Store.Value(orchestrator.StateOrg), secret.New(in.Store.Value(orchestrator.StateToken)), in.Store.Value(orchestrator.StateURL)
	return org, token, url, org != "" && !token.Empty()
}

// localOrchestratorURL is where this process reaches the orchestrator.
func (in *Install) localOrchestratorURL() string {
	if in.Orchestrator.URL != "" {
		return in.Orchestrator.URL
	}
	return orchestrator.URL(in.Options.Port)
}

// localRegistrar is the registrar of a local-orchestrator install: the
// same as Humanitec's, with the org and token from the state and the API
// through the ingress.
func (in *Install) localRegistrar() (humanitec.Orchestrator, error) {
	org, token, _, ok := in.LocalOrchestratorAccess()
	if !ok {
		return nil, fmt.Errorf("the local orchestrator's org and token are not in the state %s yet (step %s makes them): run `pocketidp up`",
			in.Store.Path(), StepOrchestratorCredentials)
	}
	hc := in.Orchestrator.HTTPClient
	if hc == nil {
		var err error
		if hc, err = in.IngressClient(); err != nil {
			return nil, err
		}
	}
	c, err := humanitec.New(humanitec.Config{BaseURL: in.localOrchestratorURL(), Org: org, Token: token, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	return in.newRegistrar(c, token)
}

// --- credentials ---

// orchestratorCredentials makes the org (config.LocalOrchestratorOrg) and
// the one bearer token, and keeps them in the state (0600), where the
// Humanitec and Gitea steps and `pocketidp env` read them. A re-run keeps
// the token. They are never printed.
type orchestratorCredentials struct{ in *Install }

func (orchestratorCredentials) Name() string { return StepOrchestratorCredentials }

func (s orchestratorCredentials) Done(context.Context, *StepContext) (bool, error) {
	org, _, url, ok := s.in.LocalOrchestratorAccess()
	return ok && org == config.LocalOrchestratorOrg(s.in.Store.InstallID()) && url == orchestrator.URL(s.in.Options.Port), nil
}

func (s orchestratorCredentials) Run(_ context.Context, sc *StepContext) error {
	in := s.in
	_, token, _, ok := in.LocalOrchestratorAccess()
	if !ok {
		var err error
		if token, err = orchestrator.NewToken(); err != nil {
			return err
		}
	}
	org := config.LocalOrchestratorOrg(in.Store.InstallID())
	for _, kv := range [][2]string{{orchestrator.StateOrg, org}, {orchestrator.StateToken, token.Reveal()}, {orchestrator.StateURL, orchestrator.URL(in.Options.Port)}} {
		if err := in.Store.SetValue(kv[0], kv[1]); err != nil {
			return err
		}
	}
	sc.Logger().Info("the local orchestrator serves org " + org + "; its token is in " + in.Store.Path() + " (`pocketidp env` prints the exports)")
	return nil
}

// Undo forgets org and token: it runs after every step that needs them,
// the Humanitec removals and the orchestrator's own included.
func (s orchestratorCredentials) Undo(context.Context, *StepContext) error {
	for _, k := range []string{orchestrator.StateOrg, orchestrator.StateToken, orchestrator.StateURL} {
		if err := s.in.Store.SetValue(k, ""); err != nil {
			return err
		}
	}
	return nil
}

// --- image ---

// orchestratorImageStep packages the running pocketidp binary as the
// orchestrator's image (no public image exists) and loads it into the kind
// nodes, which skip it when they have it. The tag is the image's own
// digest, so a new binary rolls the Deployment. It always runs: its output
// is the reference.
type orchestratorImageStep struct{ in *Install }

func (orchestratorImageStep) Name() string { return StepOrchestratorImage }

func (s orchestratorImageStep) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	build := in.Orchestrator.Image
	if build == nil {
		build = func() (v1.Image, error) { return binaryImage(in.Orchestrator.Binary) }
	}
	img, err := build()
	if err != nil {
		return err
	}
	id, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("the orchestrator's image: %w", err)
	}
	ref := image.Ref("sha-" + id.Hex[:12])
	load := in.Orchestrator.LoadImage
	if load == nil {
		if load, err = in.kindImageLoader(ctx); err != nil {
			return err
		}
	}
	if err := load(ctx, ref, img); err != nil {
		return err
	}
	sc.Logger().Info("the orchestrator's image " + ref + " is in the cluster's nodes")
	return orchestratorImage.Set(sc, ref)
}

// binaryImage is the image of the pocketidp binary at path, or of the
// one that runs.
func binaryImage(path string) (v1.Image, error) {
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the pocketidp binary for the orchestrator's image: %w", err)
		}
		path = exe
	}
	img, err := image.BuildFile(path, runtime.GOARCH)
	if err != nil {
		return nil, fixError{err: err, fix: "run a static Linux build of pocketidp (`make build`: CGO_ENABLED=0) or point --orchestrator-binary at one, " +
			"or set HUMANITEC_ORG and HUMANITEC_TOKEN to use Humanitec instead of the local orchestrator"}
	}
	return img, nil
}

// kindImageLoader loads into the kind cluster's nodes: PocketIDP's own
// cluster, or an existing cluster whose context names a kind cluster
// (kind-<name>). Any other cluster cannot get the image this way (pushing
// it to the in-cluster registry is not done yet): a clear error, before
// anything of the orchestrator is made.
func (in *Install) kindImageLoader(ctx context.Context) (func(context.Context, string, v1.Image) error, error) {
	name := in.Options.Name
	if in.Options.ExistingCluster() {
		acc, err := in.Kube(ctx)
		if err != nil {
			return nil, err
		}
		kindName, ok := strings.CutPrefix(acc.Context, "kind-")
		if !ok {
			return nil, fixError{err: fmt.Errorf("the local orchestrator's image can only be loaded into a kind cluster's nodes, and context %s is not a kind cluster", acc.Context),
				fix: "set HUMANITEC_ORG and HUMANITEC_TOKEN to register with Humanitec instead, or pass --skip-humanitec to build everything but the orchestrator, or use PocketIDP's own kind cluster (no --kubeconfig/--context)"}
		}
		name = kindName
	}
	k, err := in.kind(ctx)
	if err != nil {
		return nil, err
	}
	l, ok := k.Engine.(cluster.ImageLoader)
	if !ok {
		return nil, fmt.Errorf("the container engine %s cannot load images into kind nodes", k.Engine.Name())
	}
	return func(ctx context.Context, ref string, img v1.Image) error { return l.LoadImage(ctx, name, ref, img) }, nil
}

// --- install ---

// orchestratorInstall applies the orchestrator's objects (the Service
// first, whose cluster IP becomes api.humanitec.io for deployed pods) with
// the org, the token, the image and an intermediate CA for app hosts, and
// waits for its Deployment. Undo removes everything the orchestrator
// deployed, and the orchestrator.
type orchestratorInstall struct{ in *Install }

func (orchestratorInstall) Name() string { return StepOrchestrator }

// Done when the Deployment runs the image, is available, and the token
// and issuer in the cluster are the current ones.
func (s orchestratorInstall) Done(ctx context.Context, sc *StepContext) (bool, error) {
	in := s.in
	ref, err := orchestratorImage.Get(sc)
	if err != nil || ref == "" {
		return false, err
	}
	_, token, _, ok := in.LocalOrchestratorAccess()
	if !ok {
		return false, nil
	}
	cs, err := in.Clientset(ctx)
	if err != nil {
		return false, err
	}
	dep, err := cs.AppsV1().Deployments(orchestrator.InstallNamespace).Get(ctx, orchestrator.InstallName, metav1.GetOptions{})
	if err != nil {
		return false, nil
	}
	ctrs := dep.Spec.Template.Spec.Containers
	if len(ctrs) == 0 || ctrs[0].Image != ref || dep.Status.AvailableReplicas < 1 {
		return false, nil
	}
	tok, err := cs.CoreV1().Secrets(orchestrator.InstallNamespace).Get(ctx, orchestrator.TokenSecretName, metav1.GetOptions{})
	if err != nil || string(tok.Data[orchestrator.TokenKey]) != token.Reveal() {
		return false, nil
	}
	crt, _, err := in.currentIssuer(ctx, cs)
	return err == nil && crt != nil, nil
}

func (s orchestratorInstall) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	ref, err := orchestratorImage.Get(sc)
	if err != nil {
		return err
	}
	org, token, _, ok := in.LocalOrchestratorAccess()
	if !ok || ref == "" {
		return fmt.Errorf("the orchestrator needs its token (step %s) and image (step %s)", StepOrchestratorCredentials, StepOrchestratorImage)
	}
	acc, err := in.Kube(ctx)
	if err != nil {
		return err
	}
	cs, err := acc.Clientset()
	if err != nil {
		return err
	}
	crt, key, err := in.currentIssuer(ctx, cs)
	if err != nil {
		return err
	}
	if crt == nil {
		if crt, key, err = in.newIssuer(); err != nil {
			return err
		}
		sc.Logger().Info("made the intermediate CA that gives app hosts their certificates (it can sign only " + orchestrator.IssuerDomain + " names)")
	}
	eng, err := orchestrator.NewEngine(acc.RESTConfig, orchestrator.EngineConfig{Logger: sc.Logger()})
	if err != nil {
		return err
	}
	// Recorded first: a run stopped half-way leaves objects `down` knows
	// to remove.
	if err := in.Store.AddObject(ObjOrchestrator, orchestrator.InstallNamespace); err != nil {
		return err
	}
	cfg := orchestrator.InstallConfig{Org: org, Token: token, Image: ref, IngressClass: config.IngressClass, IssuerCertPEM: crt, IssuerKeyPEM: key,
		IngressPort: in.Options.Port}
	if err := eng.Install(ctx, cfg, in.orchestratorReadyTimeout()); err != nil {
		return fmt.Errorf("install the local orchestrator: %w", err)
	}
	sc.Logger().Info("the local orchestrator runs in namespace " + orchestrator.InstallNamespace + ", at " + orchestrator.URL(in.Options.Port))
	return nil
}

// Undo: everything the orchestrator deployed, in every environment, then
// the orchestrator; nothing when the kind cluster goes next anyway.
func (s orchestratorInstall) Undo(ctx context.Context, sc *StepContext) error {
	in := s.in
	if !in.Store.HasObject(ObjOrchestrator, orchestrator.InstallNamespace) {
		return nil
	}
	if !in.clusterGoes() {
		acc, err := in.Kube(ctx)
		switch {
		case errors.Is(err, cluster.ErrNotFound):
			// Gone with the cluster.
		case err != nil:
			return err
		default:
			eng, err := orchestrator.NewEngine(acc.RESTConfig, orchestrator.EngineConfig{Logger: sc.Logger()})
			if err != nil {
				return err
			}
			if err := eng.RemoveAll(ctx); err != nil {
				return fmt.Errorf("remove the local orchestrator and what it deployed: %w", err)
			}
			sc.Logger().Info("removed the local orchestrator and everything it deployed")
		}
	}
	return in.Store.RemoveObject(ObjOrchestrator, orchestrator.InstallNamespace)
}

// currentIssuer is the intermediate CA in the cluster when it is still
// good: signed by the install's CA and not near its end. Otherwise nil
// (make a new one).
func (in *Install) currentIssuer(ctx context.Context, cs kubernetes.Interface) (certPEM, keyPEM []byte, err error) {
	sec, err := cs.CoreV1().Secrets(orchestrator.InstallNamespace).Get(ctx, orchestrator.IssuerSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the orchestrator's issuer: %w", err)
	}
	ca, err := in.tlsStore().LoadCA()
	if err != nil {
		return nil, nil, err
	}
	crt, key := sec.Data[corev1.TLSCertKey], sec.Data[corev1.TLSPrivateKeyKey]
	if !issuerGood(crt, ca.Cert, time.Now()) {
		return nil, nil, nil
	}
	return crt, key, nil
}

// issuerGood: PEM, signed by root, a CA, valid for another month.
func issuerGood(certPEM []byte, root *x509.Certificate, now time.Time) bool {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return false
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil || !c.IsCA || !bytes.Equal(c.RawIssuer, root.RawSubject) || c.CheckSignatureFrom(root) != nil {
		return false
	}
	return now.Add(30 * 24 * time.Hour).Before(c.NotAfter)
}

// newIssuer makes the intermediate CA with the install's CA, which lends
// its key for this one signature: the root key never enters the cluster.
func (in *Install) newIssuer() (certPEM, keyPEM []byte, err error) {
	ca, err := in.tlsStore().LoadCA()
	if err != nil {
		return nil, nil, fmt.Errorf("the install's CA (made by step %s): %w", StepTLS, err)
	}
	err = ca.Lend(func(root *x509.Certificate, key crypto.Signer) error {
		certPEM, keyPEM, err = orchestrator.NewIntermediate(root, key, time.Now())
		return err
	})
	return certPEM, keyPEM, err
}

// --- ready ---

// orchestratorReady waits until the orchestrator answers through the
// ingress, as the Humanitec steps reach it, and accepts org and token
// there: the local counterpart of humanitec/check. It has no Done.
type orchestratorReady struct{ in *Install }

func (orchestratorReady) Name() string { return StepOrchestratorReady }

func (s orchestratorReady) Run(ctx context.Context, sc *StepContext) error {
	in := s.in
	o, err := in.humanitec()
	if err != nil {
		return err
	}
	var last error
	timeout := in.orchestratorReadyTimeout()
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		last = o.Check(ctx)
		if last != nil {
			sc.Progress(0, 0, "waiting for "+in.localOrchestratorURL()+": "+last.Error())
		}
		return last == nil, nil
	})
	if err == nil {
		return nil
	}
	fix := "check that " + orchestrator.HostName + " reaches the ingress on port " + fmt.Sprint(in.Options.Port) +
		" (kubectl -n " + orchestrator.InstallNamespace + " get ingress,pods; kubectl -n " + orchestrator.InstallNamespace + " logs deploy/" + orchestrator.InstallName + ")"
	if h := in.IngressHint(); h != "" {
		fix = h
	}
	if last == nil {
		last = err
	}
	return fixError{err: fmt.Errorf("the local orchestrator does not answer at %s after %s: %w", in.localOrchestratorURL(), timeout, last), fix: fix}
}
