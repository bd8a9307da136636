package kubernetes_test

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/nri-audit/nri-audit/examples/efk/efktest"
)

// manifest is one decoded document.
type manifest struct {
	file string
	kind string
	name string
	ns   string
	obj  any
}

// decodeStrict decodes a document as the typed object of its kind,
// refusing unknown fields (a misspelt or misplaced key fails here instead
// of being dropped by the API server).
func decodeStrict(doc []byte) (any, metav1.TypeMeta, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, tm, err
	}
	var obj any
	switch tm.APIVersion + "/" + tm.Kind {
	case "v1/Namespace":
		obj = &corev1.Namespace{}
	case "v1/ServiceAccount":
		obj = &corev1.ServiceAccount{}
	case "v1/ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1/Secret":
		obj = &corev1.Secret{}
	case "apps/v1/DaemonSet":
		obj = &appsv1.DaemonSet{}
	default:
		return nil, tm, fmt.Errorf("apiVersion %q kind %q: not a kind these manifests use", tm.APIVersion, tm.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, tm, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, tm, nil
}

func meta(obj any) metav1.ObjectMeta {
	switch o := obj.(type) {
	case *corev1.Namespace:
		return o.ObjectMeta
	case *corev1.ServiceAccount:
		return o.ObjectMeta
	case *corev1.ConfigMap:
		return o.ObjectMeta
	case *corev1.Secret:
		return o.ObjectMeta
	case *appsv1.DaemonSet:
		return o.ObjectMeta
	}
	panic(fmt.Sprintf("meta of %T", obj))
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

func loadManifests(t *testing.T) (map[string]manifest, kustomization) {
	t.Helper()
	var k kustomization
	b, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: %s %s", k.APIVersion, k.Kind)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range k.Resources {
		listed[r] = true
	}
	out := map[string]manifest{}
	for _, f := range files {
		if f == "kustomization.yaml" {
			continue
		}
		if !listed[f] {
			t.Errorf("%s is not in kustomization.yaml resources", f)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSep.Split(string(b), -1) {
			if len(bytes.TrimSpace([]byte(doc))) == 0 {
				continue
			}
			obj, tm, err := decodeStrict([]byte(doc))
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			m := meta(obj)
			key := tm.Kind + "/" + m.Name
			if _, dup := out[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			out[key] = manifest{file: f, kind: tm.Kind, name: m.Name, ns: m.Namespace, obj: obj}
		}
	}
	for r := range listed {
		if _, err := os.Stat(r); err != nil {
			t.Errorf("kustomization.yaml resource %s: %v", r, err)
		}
	}
	return out, k
}

func TestManifestsDecodeStrictly(t *testing.T) {
	ms, k := loadManifests(t)
	ns, ok := ms["Namespace/"+k.Namespace]
	if !ok {
		t.Fatalf("no Namespace %q", k.Namespace)
	}
	if lvl := meta(ns.obj).Labels["pod-security.kubernetes.io/enforce"]; lvl != "privileged" {
		t.Errorf("namespace pod-security enforce %q: hostPath volumes need privileged", lvl)
	}
	for key, m := range ms {
		if m.kind != "Namespace" && m.ns != k.Namespace {
			t.Errorf("%s (%s): namespace %q, want %q", key, m.file, m.ns, k.Namespace)
		}
	}
	for _, kind := range []string{"DaemonSet", "ConfigMap", "ServiceAccount"} {
		found := false
		for _, m := range ms {
			found = found || m.kind == kind
		}
		if !found {
			t.Errorf("no %s", kind)
		}
	}
}

// TestDecodeStrictRejects proves the strict decoding catches the mistakes
// it is there for.
func TestDecodeStrictRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec:\n  selctor: {}\n",
		"misplaced field":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nimage: y\n",
		"wrong type":       "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec: {template: {spec: {containers: {name: a}}}}\n",
		"unknown kind":     "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n",
		"wrong apiVersion": "apiVersion: extensions/v1beta1\nkind: DaemonSet\nmetadata: {name: x}\n",
	} {
		if _, _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// parseGoMemLimit reads GOMEMLIMIT's syntax: bytes with an optional B,
// KiB, MiB, GiB or TiB suffix.
func parseGoMemLimit(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("GOMEMLIMIT %q: %w", s, err)
	}
	return n * mult, nil
}

func TestParseGoMemLimit(t *testing.T) {
	for in, want := range map[string]int64{"150MiB": 150 << 20, "1GiB": 1 << 30, "4096": 4096, "10B": 10} {
		if got, err := parseGoMemLimit(in); err != nil || got != want {
			t.Errorf("parseGoMemLimit(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"150Mi", "150MB", "", "x"} {
		if _, err := parseGoMemLimit(in); err == nil {
			t.Errorf("parseGoMemLimit(%q) accepted", in)
		}
	}
}

func TestDaemonSet(t *testing.T) {
	ms, k := loadManifests(t)
	ds, ok := ms["DaemonSet/nri-audit-fluent-bit"].obj.(*appsv1.DaemonSet)
	if !ok {
		t.Fatal("no DaemonSet nri-audit-fluent-bit")
	}
	spec := ds.Spec.Template.Spec

	sel := ds.Spec.Selector
	if sel == nil || len(sel.MatchLabels) == 0 {
		t.Fatal("DaemonSet without selector")
	}
	for k, v := range sel.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not select the pod template (labels %v)", k, v, ds.Spec.Template.Labels)
		}
	}
	if _, ok := ms["ServiceAccount/"+spec.ServiceAccountName]; !ok || spec.ServiceAccountName == "" {
		t.Errorf("serviceAccountName %q is not a ServiceAccount of the manifests", spec.ServiceAccountName)
	}
	tolerateAll := false
	for _, tol := range spec.Tolerations {
		tolerateAll = tolerateAll || (tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == "")
	}
	if !tolerateAll {
		t.Errorf("tolerations %v: want one that tolerates every taint (audit every node)", spec.Tolerations)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	imageNamed := false
	for _, img := range k.Images {
		imageNamed = imageNamed || img.Name == c.Image || img.Name+":"+img.NewTag == c.Image
	}
	if !imageNamed {
		t.Errorf("image %q is not set by kustomization.yaml images", c.Image)
	}

	// Resources and the Go memory limit under the container limit.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
	}
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		t.Fatal("no memory limit")
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			if e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Optional == nil || !*e.ValueFrom.SecretKeyRef.Optional {
				t.Errorf("env %s: only optional secret references expected", e.Name)
			}
			env[e.Name] = "" // an absent optional secret: Fluent Bit sees an empty value
			continue
		}
		env[e.Name] = e.Value
	}
	gml, ok := env["GOMEMLIMIT"]
	if !ok {
		t.Fatal("no GOMEMLIMIT")
	}
	goLimit, err := parseGoMemLimit(gml)
	if err != nil || goLimit <= 0 || goLimit > limit.Value()*3/4 {
		t.Errorf("GOMEMLIMIT %q (%v): want at most 3/4 of the %s memory limit, leaving room for Fluent Bit's C memory", gml, err, limit.String())
	}

	// Host mounts: the journal and machine-id read-only, the state dir writable.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	vols := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("volumeMount %s: no volume %q", m.MountPath, m.Name)
		}
	}
	for _, p := range []string{"/var/log/journal", "/run/log/journal", "/etc/machine-id"} {
		m, ok := mounts[p]
		if !ok {
			t.Errorf("%s is not mounted", p)
			continue
		}
		v := vols[m.Name]
		if !m.ReadOnly || v.HostPath == nil || v.HostPath.Path != p {
			t.Errorf("%s: mount %+v volume %+v, want the host path, read-only", p, m, v.VolumeSource)
		}
	}
	if v := vols[mounts["/etc/machine-id"].Name]; v.HostPath == nil || v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathFile {
		t.Error("/etc/machine-id: hostPath type must be File (a missing file must not become a directory)")
	}
	stateDir := env["NRI_AUDIT_STATE_DIR"]
	sm, ok := mounts[stateDir]
	if !ok || sm.ReadOnly {
		t.Errorf("state dir %q: not a writable mount", stateDir)
	} else if v := vols[sm.Name]; v.HostPath == nil && v.EmptyDir == nil {
		t.Errorf("state dir %q: want a hostPath or emptyDir volume", stateDir)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || len(sc.Capabilities.Drop) == 0 {
		t.Errorf("securityContext %+v: want a read-only root, no privilege escalation, capabilities dropped", sc)
	}

	// Probes on the Fluent Bit HTTP server port.
	portNames := map[string]int32{}
	for _, p := range c.Ports {
		portNames[p.Name] = p.ContainerPort
	}
	for name, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if pr == nil || pr.HTTPGet == nil {
			t.Errorf("%s probe: want httpGet", name)
			continue
		}
		if _, ok := portNames[pr.HTTPGet.Port.String()]; !ok && pr.HTTPGet.Port.IntValue() == 0 {
			t.Errorf("%s probe port %s is not a container port", name, pr.HTTPGet.Port.String())
		}
	}

	// The configuration: from the ConfigMap, at the path args -c names,
	// valid for the plugin with the DaemonSet's env, writing its state on
	// the state mount.
	if len(c.Args) != 2 || c.Args[0] != "-c" {
		t.Fatalf("args %v, want -c <config>", c.Args)
	}
	cm, ok := mounts[path.Dir(c.Args[1])]
	if !ok {
		t.Fatalf("config %s: its directory is not mounted", c.Args[1])
	}
	cmVol := vols[cm.Name]
	if cmVol.ConfigMap == nil {
		t.Fatalf("config mount %s is not a ConfigMap", cm.MountPath)
	}
	cmObj, ok := ms["ConfigMap/"+cmVol.ConfigMap.Name]
	if !ok {
		t.Fatalf("ConfigMap %s is not in the manifests", cmVol.ConfigMap.Name)
	}
	data, ok := cmObj.obj.(*corev1.ConfigMap).Data[path.Base(c.Args[1])]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cmVol.ConfigMap.Name, path.Base(c.Args[1]))
	}
	if p, ok := portNames["http"]; !ok || p != 2020 {
		t.Errorf("container port http = %d, want 2020 (http_port)", p)
	}
	cfg, err := efktest.ParseFluentBitYAML([]byte(data), env)
	if err != nil {
		t.Fatalf("ConfigMap fluent-bit.yaml: %v", err)
	}
	if cfg.Service["http_server"] != "on" || cfg.Service["http_port"] != "2020" || cfg.Service["health_check"] != "on" {
		t.Errorf("service %v: the probes need http_server on, http_port 2020, health_check on", cfg.Service)
	}
	if !strings.HasPrefix(cfg.Service["storage.path"], stateDir+"/") {
		t.Errorf("storage.path %q is not on the state mount %s", cfg.Service["storage.path"], stateDir)
	}
	var journal *efktest.Section
	for i := range cfg.Inputs {
		if cfg.Inputs[i].Name == "systemd" {
			journal = &cfg.Inputs[i]
		}
	}
	if journal == nil {
		t.Fatal("no systemd input")
	}
	if db := journal.Get("db"); path.Dir(db) != stateDir {
		t.Errorf("systemd db %q is not on the state mount %s", db, stateDir)
	}
	if p := journal.Get("path"); p != "" {
		t.Errorf("systemd path %q: leave it unset so libsystemd opens the machine's journal (both /var and /run)", p)
	}
	filters := journal.Props["systemd_filter"]
	sort.Strings(filters)
	if strings.Join(filters, ",") != "SYSLOG_IDENTIFIER=containerd,SYSLOG_IDENTIFIER=crio,SYSLOG_IDENTIFIER=nri-audit" {
		t.Errorf("systemd_filter %v", filters)
	}
	var out *efktest.Section
	for i := range cfg.Outputs {
		if cfg.Outputs[i].Name == "nri_audit" {
			out = &cfg.Outputs[i]
		}
	}
	if out == nil {
		t.Fatal("no nri_audit output")
	}
	if _, err := efktest.CheckNRIAuditOutput(*out); err != nil {
		t.Errorf("ConfigMap fluent-bit.yaml: %v", err)
	}
	// The same plugin path and config mount the image uses.
	root, err := efktest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dfb, err := os.ReadFile(filepath.Join(root, "examples/efk/Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df, err := efktest.ParseDockerfile(dfb)
	if err != nil {
		t.Fatal(err)
	}
	fb, ok := df.Stage("fluent-bit")
	if !ok {
		t.Fatal("Dockerfile has no fluent-bit stage")
	}
	var soDest string
	for _, in := range fb.Instr {
		if in.Cmd == "COPY" && len(in.Args) == 2 && strings.HasSuffix(in.Args[0], "out_nri_audit.so") {
			soDest = in.Args[1]
		}
	}
	if len(cfg.Plugins) != 1 || cfg.Plugins[0] != soDest {
		t.Errorf("ConfigMap loads plugins %v, the image has the .so at %q", cfg.Plugins, soDest)
	}
}
