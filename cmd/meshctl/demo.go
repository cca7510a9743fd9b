package main

import (
	"github.com/exprsn/ipcmesh/examples/demo"
	"github.com/spf13/cobra"
)

// demoCommand is `meshctl demo`, the same as `make demo`.
func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run the example services on an embedded server and print their flows",
		Long: `Run the five example services (timeline, herald twice, spark, auth,
moderator) in this process, on an embedded NATS server with JetStream in a
temporary directory, and print a trace of their flows: pub/sub, the event
chain from a new post through moderation to a notification back at its
source, request and reply, bulk events, HTTP, a worker catching up after
being offline, and dead letters. It needs no server and ignores --server.`,
		Example: "  meshctl demo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return demo.Run(cmd.Context(), cmd.OutOrStdout())
		},
	}
}
