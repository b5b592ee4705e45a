"""A real Kubernetes control plane on 127.0.0.1 for tests (etcd + kube-apiserver + kube-controller-manager,
apiserver.py) and a small test kubelet that runs Pods' commands as local processes (kubelet.py).
See tests/README.md."""
