// Command coredns is CoreDNS with only the plugins the test cluster's
// Corefile uses; the upstream main links every plugin (cloud SDKs included),
// which would multiply the cold build time for nothing. Plugins run in
// upstream's directive order whatever the import order here.
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
