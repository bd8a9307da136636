// Package kubernetes holds the Kubernetes manifests of the Fluent Bit
// DaemonSet (apply with `kubectl apply -k deploy/kubernetes`); it has no
// Go code, only the test that decodes every manifest strictly as the kind
// it claims and cross-checks them.
package kubernetes
