package main

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/cli-utils/pkg/object"
)

// The lines bench/run.py writes must become the identifiers the watcher filters on, each resource mapped once.
func TestIdentify(t *testing.T) {
	lookups := 0
	kindOf := func(gr schema.GroupResource) (schema.GroupKind, error) {
		lookups++
		kinds := map[string]string{"deployment": "Deployment", "service": "Service", "namespace": "Namespace"}
		return schema.GroupKind{Group: gr.Group, Kind: kinds[gr.Resource]}, nil
	}
	ids, err := identify([]string{"namespace/bench-0", "bench-0/deployment.apps/svc-0", "bench-0/service/svc-0",
		"bench-1/deployment.apps/svc-1"}, kindOf)
	if err != nil {
		t.Fatal(err)
	}
	want := object.ObjMetadataSet{
		{Name: "bench-0", GroupKind: schema.GroupKind{Kind: "Namespace"}},
		{Namespace: "bench-0", Name: "svc-0", GroupKind: schema.GroupKind{Group: "apps", Kind: "Deployment"}},
		{Namespace: "bench-0", Name: "svc-0", GroupKind: schema.GroupKind{Kind: "Service"}},
		{Namespace: "bench-1", Name: "svc-1", GroupKind: schema.GroupKind{Group: "apps", Kind: "Deployment"}},
	}
	if !ids.Equal(want) || lookups != 3 {
		t.Fatalf("got %v after %d lookups, want %v after 3", ids, lookups, want)
	}
	for _, bad := range [][]string{{"a/b/c/d"}, {"deployment"}, {}} {
		if _, err := identify(bad, kindOf); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
