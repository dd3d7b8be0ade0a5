package testenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// writeAuthFiles writes the API server's static token file, holding one admin
// in system:masters (which bypasses RBAC), and a service-account signing key.
func writeAuthFiles(dir string) (token, tokenFile, saKeyFile string, err error) {
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", "", "", fmt.Errorf("admin token: %w", err)
	}
	token = hex.EncodeToString(buf)
	tokenFile = filepath.Join(dir, "tokens.csv")
	// token,user,uid,"group,group"
	line := fmt.Sprintf("%s,testenv-admin,testenv-admin,\"system:masters\"\n", token)
	if err := os.WriteFile(tokenFile, []byte(line), 0o600); err != nil {
		return "", "", "", fmt.Errorf("write token file: %w", err)
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", "", fmt.Errorf("service account key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", "", fmt.Errorf("service account key: %w", err)
	}
	saKeyFile = filepath.Join(dir, "service-account.key")
	// One PEM private key serves as both the signing key and, since the API
	// server derives the public half, the verification key.
	pemData := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(saKeyFile, pemData, 0o600); err != nil {
		return "", "", "", fmt.Errorf("write service account key: %w", err)
	}
	return token, tokenFile, saKeyFile, nil
}

// writeKubeconfig writes a kubeconfig whose only context, KubeContext, is the
// admin on this API server, for code that takes a kubeconfig path (Helm, the
// product's own cluster client).
func writeKubeconfig(dir, server string, caData []byte, token string) (string, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[KubeContext] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caData}
	cfg.AuthInfos[KubeContext] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[KubeContext] = &clientcmdapi.Context{Cluster: KubeContext, AuthInfo: KubeContext, Namespace: "default"}
	cfg.CurrentContext = KubeContext
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	return path, nil
}
