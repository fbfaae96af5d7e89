package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const chartDir = "../../deploy/helm/natter"

// helmBinary is the helm that make builds at its pinned version
// (NATTER_HELM), else one on the PATH. Without one the chart tests skip,
// unless NATTER_REQUIRE_TOOLS=1 (CI) makes that a failure.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("NATTER_HELM"); p != "" {
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if os.Getenv("NATTER_REQUIRE_TOOLS") == "1" {
		t.Fatal("helm not found: set NATTER_HELM (make test builds it)")
	}
	t.Skip("helm not found (make test builds it): the chart was NOT rendered")
	return ""
}

// object is one rendered Kubernetes object.
type object map[string]any

// asObject is v as an object: yaml.v3 decodes the mappings inside an
// object as objects, and those inside a plain map as plain maps.
func asObject(v any) object {
	switch m := v.(type) {
	case object:
		return m
	case map[string]any:
		return m
	}
	return nil
}

// get follows a path of map keys and list indexes through o.
func (o object) get(path ...any) any {
	var v any = o
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = asObject(v)[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func (o object) str(path ...any) string { s, _ := o.get(path...).(string); return s }
func (o object) num(path ...any) int    { n, _ := o.get(path...).(int); return n }

// renderChart runs helm template with the given values files and sets
// and returns the objects by "Kind/name".
func renderChart(t *testing.T, args ...string) map[string]object {
	t.Helper()
	helm := helmBinary(t)
	cmd := exec.Command(helm, append([]string{"template", "chat", chartDir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	objs := map[string]object{}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o object
		if err := dec.Decode(&o); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("rendered YAML: %v", err)
		}
		if o == nil {
			continue
		}
		objs[o.str("kind")+"/"+o.str("metadata", "name")] = o
	}
	return objs
}

func mustObject(t *testing.T, objs map[string]object, key string) object {
	t.Helper()
	o, ok := objs[key]
	if !ok {
		keys := make([]string, 0, len(objs))
		for k := range objs {
			keys = append(keys, k)
		}
		t.Fatalf("no %s among the rendered objects %v", key, keys)
	}
	return o
}

// env is a container's environment: value or "<secret name/key>" or
// "<field path>".
func env(c object) map[string]string {
	m := map[string]string{}
	l, _ := c.get("env").([]any)
	for _, e := range l {
		e := asObject(e)
		switch {
		case e.get("valueFrom", "secretKeyRef") != nil:
			m[e.str("name")] = "secret:" + e.str("valueFrom", "secretKeyRef", "name") + "/" + e.str("valueFrom", "secretKeyRef", "key")
		case e.get("valueFrom", "fieldRef") != nil:
			m[e.str("name")] = "field:" + e.str("valueFrom", "fieldRef", "fieldPath")
		default:
			m[e.str("name")] = e.str("value")
		}
	}
	return m
}

func labelsMatch(t *testing.T, what string, selector, labels any) {
	t.Helper()
	sel, lab := asObject(selector), asObject(labels)
	if len(sel) == 0 {
		t.Errorf("%s: empty selector", what)
	}
	for k, v := range sel {
		if lab[k] != v {
			t.Errorf("%s: selector %s=%v does not match the pods' labels %v", what, k, v, lab)
		}
	}
}

func seconds(t *testing.T, what, d string) int {
	t.Helper()
	v, err := time.ParseDuration(d)
	if err != nil {
		t.Fatalf("%s %q: %v", what, d, err)
	}
	return int(v / time.Second)
}

// checkRoleEnv checks that every NATTER_ variable a pod gets is one of
// its role's flags, and that the chart's natter.toml loads in that role.
func checkRoleEnv(t *testing.T, role string, e map[string]string, toml string) {
	t.Helper()
	m := NewMain()
	m.Role = role
	fs := newServeFlags(m, &bytes.Buffer{})
	vars := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { vars[envName(f.Name)] = true })
	for name := range e {
		if strings.HasPrefix(name, "NATTER_") && !vars[name] {
			t.Errorf("%s pod: %s is no flag of natter %s", role, name, role)
		}
	}
	path := filepath.Join(t.TempDir(), "natter.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseRole(role, "--config", path); err != nil {
		t.Errorf("%s: the chart's natter.toml does not load: %v\n%s", role, err, toml)
	}
}

// TestHelmChart renders deploy/helm/natter against an existing NATS
// cluster (ci/external-nats-values.yaml) and checks what the chart
// promises: edges with readiness on /readyz, a preStop pause and a grace
// period covering --drain-delay and --shutdown-timeout, an HPA, a PDB and
// a topology spread; history replicas with a PVC each and distinct archive
// names; services and an ingress whose routes and timeouts suit
// WebSockets; secrets for the JWT key, the NATS password and the OpenID
// client secret.
func TestHelmChart(t *testing.T) {
	objs := renderChart(t, "-f", chartDir+"/ci/external-nats-values.yaml")
	cm := mustObject(t, objs, "ConfigMap/chat-natter")
	toml := cm.str("data", "natter.toml")

	// Edges.
	dep := mustObject(t, objs, "Deployment/chat-natter-edge")
	pod := asObject(dep.get("spec", "template"))
	podLabels := pod.get("metadata", "labels")
	labelsMatch(t, "edge Deployment", dep.get("spec", "selector", "matchLabels"), podLabels)
	c := asObject(pod.get("spec", "containers", 0))
	if args := fmt.Sprint(c.get("args")); args != "[edge]" {
		t.Errorf("edge args %s", args)
	}
	if c.str("readinessProbe", "httpGet", "path") != "/readyz" || c.str("livenessProbe", "httpGet", "path") != "/healthz" {
		t.Errorf("edge probes: readiness %q liveness %q", c.str("readinessProbe", "httpGet", "path"), c.str("livenessProbe", "httpGet", "path"))
	}
	e := env(c)
	checkRoleEnv(t, "edge", e, toml)
	preStop := c.num("lifecycle", "preStop", "sleep", "seconds")
	drain := seconds(t, "NATTER_DRAIN_DELAY", e["NATTER_DRAIN_DELAY"])
	shutdown := seconds(t, "NATTER_SHUTDOWN_TIMEOUT", e["NATTER_SHUTDOWN_TIMEOUT"])
	grace := pod.num("spec", "terminationGracePeriodSeconds")
	if preStop <= 0 || drain <= 0 || grace < preStop+drain+shutdown+5 {
		t.Errorf("edge shutdown: preStop %ds, drain-delay %ds, shutdown-timeout %ds, grace period %ds (needs at least their sum + 5s)", preStop, drain, shutdown, grace)
	}
	if e["NATTER_NATS"] != "nats://nats-0.nats:4222,nats://nats-1.nats:4222,nats://nats-2.nats:4222" {
		t.Errorf("edge NATTER_NATS %q", e["NATTER_NATS"])
	}
	spread := asObject(pod.get("spec", "topologySpreadConstraints", 0))
	if spread.str("topologyKey") == "" {
		t.Error("edge: no topology spread")
	}
	labelsMatch(t, "edge topology spread", spread.get("labelSelector", "matchLabels"), podLabels)
	hpa := mustObject(t, objs, "HorizontalPodAutoscaler/chat-natter-edge")
	if hpa.str("spec", "scaleTargetRef", "kind") != "Deployment" || hpa.str("spec", "scaleTargetRef", "name") != "chat-natter-edge" || hpa.num("spec", "minReplicas") < 2 {
		t.Errorf("edge HPA: target %v min %d", hpa.get("spec", "scaleTargetRef"), hpa.num("spec", "minReplicas"))
	}
	if dep.get("spec", "replicas") != nil {
		t.Error("edge Deployment sets replicas although the HPA owns them")
	}
	pdb := mustObject(t, objs, "PodDisruptionBudget/chat-natter-edge")
	labelsMatch(t, "edge PDB", pdb.get("spec", "selector", "matchLabels"), podLabels)

	// Secrets the pods refer to exist, with their keys.
	for name, v := range e {
		ref, ok := strings.CutPrefix(v, "secret:")
		if !ok {
			continue
		}
		secret, key, _ := strings.Cut(ref, "/")
		s := mustObject(t, objs, "Secret/"+secret)
		if s.get("data", key) == nil {
			t.Errorf("%s: Secret %s has no key %s", name, secret, key)
		}
	}
	for _, v := range []string{"NATTER_JWT_SECRET", "NATTER_NATS_PASSWORD", "NATTER_OIDC_CLIENT_SECRET"} {
		if !strings.HasPrefix(e[v], "secret:") {
			t.Errorf("edge: %s %q: not from a Secret", v, e[v])
		}
	}

	// History replicas.
	sts := mustObject(t, objs, "StatefulSet/chat-natter-history")
	hpod := asObject(sts.get("spec", "template"))
	hc := asObject(hpod.get("spec", "containers", 0))
	he := env(hc)
	checkRoleEnv(t, "history", he, toml)
	if he["NATTER_ARCHIVE_NAME"] != "field:metadata.name" || he["NATTER_DATA"] != "/data" {
		t.Errorf("history: archive name %q, data %q (want the pod name, /data)", he["NATTER_ARCHIVE_NAME"], he["NATTER_DATA"])
	}
	if sts.str("spec", "volumeClaimTemplates", 0, "metadata", "name") != "data" || hc.str("volumeMounts", 0, "mountPath") != "/data" {
		t.Errorf("history: no PVC at /data: %v %v", sts.get("spec", "volumeClaimTemplates"), hc.get("volumeMounts"))
	}
	if hc.str("readinessProbe", "httpGet", "path") != "/readyz" || hc.num("lifecycle", "preStop", "sleep", "seconds") <= 0 {
		t.Error("history: no /readyz readiness or no preStop pause")
	}
	if hpod.num("spec", "securityContext", "fsGroup") != 65532 {
		t.Error("history: the volume is not writable by the image's user (fsGroup 65532)")
	}
	labelsMatch(t, "history PDB", mustObject(t, objs, "PodDisruptionBudget/chat-natter-history").get("spec", "selector", "matchLabels"), hpod.get("metadata", "labels"))

	// Services and the ingress.
	labelsMatch(t, "edge Service", mustObject(t, objs, "Service/chat-natter-edge").get("spec", "selector"), podLabels)
	labelsMatch(t, "history Service", mustObject(t, objs, "Service/chat-natter-history").get("spec", "selector"), hpod.get("metadata", "labels"))
	ing := mustObject(t, objs, "Ingress/chat-natter")
	routes := map[string]string{}
	paths, _ := ing.get("spec", "rules", 0, "http", "paths").([]any)
	for _, p := range paths {
		p := asObject(p)
		routes[p.str("path")] = p.str("backend", "service", "name")
	}
	for path, svc := range map[string]string{"/ws": "chat-natter-edge", "/": "chat-natter-edge", "/api/invitations": "chat-natter-edge", "/api/me/": "chat-natter-edge", "/api/": "chat-natter-history"} {
		if routes[path] != svc {
			t.Errorf("ingress: %s goes to %q, want %s", path, routes[path], svc)
		}
	}
	idle := seconds(t, "idle timeout", NewMain().IdleTimeout.String())
	for _, a := range []string{"nginx.ingress.kubernetes.io/proxy-read-timeout", "nginx.ingress.kubernetes.io/proxy-send-timeout"} {
		if v, err := strconv.Atoi(ing.str("metadata", "annotations", a)); err != nil || v <= idle {
			t.Errorf("ingress %s = %q: not longer than the idle timeout %ds", a, ing.str("metadata", "annotations", a), idle)
		}
	}
}

// With the official NATS chart as a dependency (values-nats.yaml), Natter
// connects to its Service; with neither that nor URLs, rendering fails
// with a message that says what to set.
func TestHelmChartNATSModes(t *testing.T) {
	objs := renderChart(t, "-f", chartDir+"/values-nats.yaml")
	c := asObject(mustObject(t, objs, "Deployment/chat-natter-edge").get("spec", "template", "spec", "containers", 0))
	if got := env(c)["NATTER_NATS"]; got != "nats://natter-nats:4222" {
		t.Errorf("NATTER_NATS with the NATS chart: %q", got)
	}
	if _, ok := objs["Secret/chat-natter-jwt"]; !ok {
		t.Error("no JWT Secret generated")
	}
	helm := helmBinary(t)
	out, err := exec.Command(helm, "template", "chat", chartDir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "natsConnection.urls") {
		t.Errorf("rendering without NATS: %v\n%s", err, out)
	}
}
