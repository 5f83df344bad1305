// kstatus-wait waits, the way Flux does, until a set of objects is Current by kstatus: the benchmark's
// peer for deploy-gate (bench/run.py, issue 17). It checks rollouts only: a Service is Current as soon as
// it exists, whatever its endpoints.
//
//	kstatus-wait -kubeconfig FILE -timeout 60s [-f OBJECTS]
//
// OBJECTS (default stdin) has one object a line, `kubectl apply -o name` with the namespace in front:
// NAMESPACE/RESOURCE[.GROUP]/NAME, or RESOURCE[.GROUP]/NAME for a cluster-scoped object.
// Exit 0 when every object is Current, 1 when one is Failed or the deadline passes, 2 on a usage error.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/aggregator"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/collector"
	"sigs.k8s.io/cli-utils/pkg/kstatus/polling/event"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/cli-utils/pkg/kstatus/watcher"
	"sigs.k8s.io/cli-utils/pkg/object"
)

func main() {
	kubeconfig := flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline for every object to be Current")
	objects := flag.String("f", "-", "file with the objects, one a line (- for stdin)")
	// Flux's controllers' defaults (--kube-api-qps, --kube-api-burst): client-go's 5/10 would throttle the
	// status readers' ReplicaSet and Pod lists, which is not how Flux runs.
	qps := flag.Float64("qps", 50, "client-side rate limit, requests per second")
	burst := flag.Int("burst", 300, "client-side rate limit burst")
	flag.Parse()
	started := time.Now()
	code, verdict := run(*kubeconfig, *objects, *timeout, float32(*qps), *burst)
	fmt.Printf("kstatus-wait: %s (%.2f s)\n", verdict, time.Since(started).Seconds())
	os.Exit(code)
}

// run returns the exit code and the one-line verdict.
func run(kubeconfig, objects string, timeout time.Duration, qps float32, burst int) (int, string) {
	lines, err := readLines(objects)
	if err != nil {
		return 2, err.Error()
	}
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return 2, err.Error()
	}
	config.QPS, config.Burst = qps, burst
	dynamicClient, err := dynamic.NewForConfig(config)
	if err != nil {
		return 2, err.Error()
	}
	discoveryClient, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return 2, err.Error()
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discoveryClient))
	ids, err := identify(lines, func(gr schema.GroupResource) (schema.GroupKind, error) {
		gvk, err := mapper.KindFor(gr.WithVersion(""))
		return gvk.GroupKind(), err
	})
	if err != nil {
		return 2, err.Error()
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	events := watcher.NewDefaultStatusWatcher(dynamicClient, mapper).Watch(ctx, ids, watcher.Options{})
	statuses := collector.NewResourceStatusCollector(ids)
	var failed *event.ResourceStatus
	done := statuses.ListenWithObserver(events, collector.ObserverFunc(
		func(c *collector.ResourceStatusCollector, _ event.Event) {
			all := make([]*event.ResourceStatus, 0, len(c.ResourceStatuses))
			for _, rs := range c.ResourceStatuses {
				all = append(all, rs)
			}
			switch aggregator.AggregateStatus(all, status.CurrentStatus) {
			case status.CurrentStatus:
				cancel()
			case status.FailedStatus:
				failed = firstWith(all, status.FailedStatus)
				cancel()
			}
		}))
	var fatal error
	for result := range done {
		fatal = errors.Join(fatal, result.Err)
	}
	observation := statuses.LatestObservation()
	switch {
	case failed != nil:
		return 1, fmt.Sprintf("FAILED: %s is Failed: %s", failed.Identifier, failed.Message)
	case aggregator.AggregateStatus(observation.ResourceStatuses, status.CurrentStatus) == status.CurrentStatus:
		return 0, fmt.Sprintf("OK: %d objects Current", len(ids))
	case fatal != nil && !errors.Is(fatal, context.DeadlineExceeded) && !errors.Is(fatal, context.Canceled):
		return 1, fmt.Sprintf("ERROR: %v", fatal)
	}
	var pending []string
	for _, rs := range observation.ResourceStatuses {
		if rs.Status != status.CurrentStatus {
			pending = append(pending, fmt.Sprintf("%s %s", rs.Identifier, rs.Status))
		}
	}
	return 1, fmt.Sprintf("TIMEOUT after %s: %d of %d not Current, first %s", timeout, len(pending), len(ids),
		pending[0])
}

// firstWith is the first status (by identifier, so the verdict is stable) that is s.
func firstWith(all []*event.ResourceStatus, s status.Status) *event.ResourceStatus {
	sorted := event.ResourceStatuses(all)
	sort.Sort(sorted)
	for _, rs := range sorted {
		if rs.Status == s {
			return rs
		}
	}
	return nil
}

func readLines(path string) ([]string, error) {
	var input io.Reader = os.Stdin
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		input = file
	}
	var lines []string
	scanner := bufio.NewScanner(input)
	for scanner.Scan() {
		if line := strings.TrimSpace(scanner.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	return lines, scanner.Err()
}

// identify turns NAMESPACE/RESOURCE[.GROUP]/NAME lines into kstatus identifiers; kindOf maps a resource
// (singular or plural, as kubectl prints and takes it) to its kind, once per resource.
func identify(lines []string, kindOf func(schema.GroupResource) (schema.GroupKind, error)) (object.ObjMetadataSet, error) {
	kinds := map[schema.GroupResource]schema.GroupKind{}
	ids := make(object.ObjMetadataSet, 0, len(lines))
	for _, line := range lines {
		parts := strings.Split(line, "/")
		namespace := ""
		switch len(parts) {
		case 2:
		case 3:
			namespace, parts = parts[0], parts[1:]
		default:
			return nil, fmt.Errorf("%q: want NAMESPACE/RESOURCE[.GROUP]/NAME or RESOURCE[.GROUP]/NAME", line)
		}
		gr := schema.ParseGroupResource(parts[0])
		kind, known := kinds[gr]
		if !known {
			var err error
			if kind, err = kindOf(gr); err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
			kinds[gr] = kind
		}
		ids = append(ids, object.ObjMetadata{Namespace: namespace, Name: parts[1], GroupKind: kind})
	}
	if len(ids) == 0 {
		return nil, errors.New("no objects given")
	}
	return ids, nil
}
