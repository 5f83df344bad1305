// Command kube runs one component of the test cluster, chosen by the name it
// was invoked as (a symlink named kubectl runs kubectl) or by its first
// argument. One binary links the shared packages once instead of seven times,
// which matters for the cold build on a 2-core machine. etcd is the
// go.etcd.io/etcd/server/v3 version that k8s.io/kubernetes itself requires.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	_ "time/tzdata" // for CronJob time zone support, as upstream's mains

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// cobraRunner runs an upstream cobra command the way its own main does.
func cobraRunner(newCommand func() *cobra.Command) func(args []string) int {
	return func(args []string) int {
		command := newCommand()
		command.SetArgs(args)
		return cli.Run(command)
	}
}

var components = map[string]func(args []string) int{
	"etcd": func(args []string) int {
		etcdmain.Main(append([]string{"etcd"}, args...))
		return 0
	},
	"kube-apiserver":          cobraRunner(apiserver.NewAPIServerCommand),
	"kube-controller-manager": cobraRunner(controllermanager.NewControllerManagerCommand),
	"kube-scheduler":          cobraRunner(func() *cobra.Command { return scheduler.NewSchedulerCommand() }),
	"kubelet":                 cobraRunner(kubelet.NewKubeletCommand),
	"kube-proxy":              cobraRunner(proxy.NewProxyCommand),
	"kubectl":                 cobraRunner(kubectl.NewDefaultKubectlCommand),
}

func main() {
	name, args := filepath.Base(os.Args[0]), os.Args[1:]
	if _, ok := components[name]; !ok && len(args) > 0 {
		name, args = args[0], args[1:]
	}
	run, ok := components[name]
	if !ok {
		names := make([]string, 0, len(components))
		for n := range components {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(os.Stderr, "usage: kube COMPONENT [FLAGS]; components: %v\n", names)
		os.Exit(2)
	}
	os.Exit(run(args))
}
