package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// etcdServer is the throwaway etcd behind a test API server.
type etcdServer struct {
	url     string // client URL
	readyIn time.Duration
	proc    *process
}

// startEtcd starts a single-member etcd with its data in dir, on new ports
// if it loses its first ones to another process.
func startEtcd(ctx context.Context, bin, dir string, timeout time.Duration) (*etcdServer, error) {
	var e *etcdServer
	err := onFreePorts(func() (err error) {
		e, err = startEtcdOnce(ctx, bin, dir, timeout)
		return err
	})
	return e, err
}

func startEtcdOnce(ctx context.Context, bin, dir string, timeout time.Duration) (*etcdServer, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	clientURL := "http://" + loopbackAddr(ports[0])
	peerURL := "http://" + loopbackAddr(ports[1])
	dataDir := filepath.Join(dir, "etcd-data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	began := time.Now()
	p, err := startProcess("etcd", filepath.Join(dir, "etcd.log"), nil, bin,
		"--name=testenv",
		"--data-dir="+dataDir,
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testenv="+peerURL,
		// The data is thrown away: fsync would only slow every write.
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, p, timeout, httpCheck(http.DefaultClient, clientURL+"/health", nil)); err != nil {
		_ = p.stop(5 * time.Second)
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	return &etcdServer{url: clientURL, readyIn: time.Since(began), proc: p}, nil
}

func (e *etcdServer) stop() error {
	if e == nil {
		return nil
	}
	if err := e.proc.stop(10 * time.Second); err != nil {
		return fmt.Errorf("stop etcd: %w", err)
	}
	return nil
}
