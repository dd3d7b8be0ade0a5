package charts

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/pocketidp/pocketidp/internal/report"
	"github.com/pocketidp/pocketidp/internal/testenv"
)

// holdPort makes a Service, in a namespace of its own, on node port port.
func (e *env) holdPort(t *testing.T, port int32) *corev1.Service {
	t.Helper()
	ctx := context.Background()
	ns := testenv.UniqueName(t)
	if _, err := e.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := e.kube.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "holder"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, NodePort: port}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// lines is a slog handler's output that a test can wait on.
type lines struct {
	mu   sync.Mutex
	text strings.Builder
	hit  chan struct{}
	want string
	once sync.Once
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.text.Write(p)
	if strings.Contains(l.text.String(), l.want) {
		l.once.Do(func() { close(l.hit) })
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

// TestInstallWaitsForTakenNodePort: an install refused a node port waits
// for it, saying who holds it, and installs once it is free; if it never
// is, the error names the holder and the fix, and nothing is left behind.
func TestInstallWaitsForTakenNodePort(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name    string
		port    int32
		free    bool // the holder goes away while the install waits
		wait    time.Duration
		wantErr bool
	}{
		{name: "freed while waiting", port: 32101, free: true, wait: time.Minute},
		{name: "never freed", port: 32102, wait: time.Second, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			holder := e.holdPort(t, tt.port)
			holderName := holder.Namespace + "/" + holder.Name
			inst := e.installer(t, Options{PortWait: tt.wait})
			rel := Release{
				Name: "np", Namespace: testenv.UniqueName(t),
				Source: Source{Repo: e.repo.URL, Chart: "nodeport", Version: "0.1.0"},
				Values: map[string]any{"nodePort": tt.port},
			}
			out := &lines{hit: make(chan struct{}), want: "held by Service " + holderName}
			ctx := report.With(context.Background(), report.Reporter{Log: slog.New(slog.NewTextHandler(out, nil))})

			type result struct {
				res Result
				err error
			}
			done := make(chan result, 1)
			go func() {
				r, err := inst.Apply(ctx, rel)
				done <- result{r, err}
			}()
			if tt.free {
				select {
				case <-out.hit:
				case r := <-done:
					t.Fatalf("Apply ended without waiting for the port: %+v, %v\nlog:\n%s", r.res, r.err, out)
				}
				if err := e.kube.CoreV1().Services(holder.Namespace).Delete(context.Background(), holder.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			r := <-done
			if !strings.Contains(out.String(), out.want) {
				t.Errorf("the log does not name the holder %s:\n%s", holderName, out)
			}
			if !tt.wantErr {
				if r.err != nil {
					t.Fatalf("Apply: %v\nlog:\n%s", r.err, out)
				}
				if r.res.Outcome != Installed || r.res.Revision != 1 {
					t.Errorf("result = %+v, want installed revision 1", r.res)
				}
				svc, err := e.kube.CoreV1().Services(rel.Namespace).Get(context.Background(), rel.Name, metav1.GetOptions{})
				if err != nil || svc.Spec.Ports[0].NodePort != tt.port {
					t.Errorf("Service = %v, %v; want it on node port %d", svc, err, tt.port)
				}
				return
			}
			var pt *PortTakenError
			if !errors.As(r.err, &pt) || pt.Port != int(tt.port) || pt.Holder != holderName {
				t.Fatalf("Apply = %v, want a PortTakenError for %d held by %s", r.err, tt.port, holderName)
			}
			if msg := r.err.Error(); !strings.Contains(msg, "delete that Service or free the port") {
				t.Errorf("error gives no fix: %s", msg)
			}
			if h := e.history(t, rel); len(h) != 0 {
				t.Errorf("the refused install left %d revisions", len(h))
			}
			if _, err := e.kube.CoreV1().Services(rel.Namespace).Get(context.Background(), rel.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("the refused install left its Service: %v", err)
			}
		})
	}
}

func TestTakenNodePort(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 0},
		{errors.New(`server-side apply failed for object traefik/traefik /v1, Kind=Service: Service "traefik" is invalid: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated`), 30080},
		{errors.New(`Service "x" is invalid: spec.ports[1].nodePort: Invalid value: 40000: provided port is not in the valid range`), 0},
	}
	for _, tt := range tests {
		if got := takenNodePort(tt.err); got != tt.want {
			t.Errorf("takenNodePort(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
