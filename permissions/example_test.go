package permissions_test

import (
	"fmt"
	"log"

	"github.com/exprsn/ipcmesh/permissions"
	"github.com/exprsn/ipcmesh/subjects"
)

func ExampleForService() {
	p, err := permissions.ForService("ipc", permissions.Service{Name: "exprsn-spark"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("publish:   %q\n", p.Publish)
	fmt.Printf("subscribe: %q\n", p.Subscribe)
	fmt.Println("responses:", p.AllowResponses)
	fmt.Println("inbox:    ", subjects.InboxPrefix("exprsn-spark"))
	// Output:
	// publish:   ["ipc.*.>" "_rpc.ipc.*.>" "$JS.API.STREAM.INFO.MESH_ipc" "$JS.API.STREAM.INFO.MESH_ipc_SCHED" "_INBOX.*.*" "_INBOX_exprsn-spark.*.*"]
	// subscribe: ["ipc.exprsn-spark.>" "ipc.all.>" "ipc.all.> exprsn-spark" "_rpc.ipc.exprsn-spark.>" "_mesh.ipc.stats" "_INBOX_exprsn-spark.>"]
	// responses: false
	// inbox:     _INBOX_exprsn-spark
}

func ExampleConfig() {
	p, err := permissions.ForService("ipc", permissions.Service{Name: "exprsn-auth"})
	if err != nil {
		log.Fatal(err)
	}
	config, err := permissions.Config([]permissions.User{{Name: "exprsn-auth", Permissions: p}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(config)
	// Output:
	// authorization {
	//   users: [
	//     {
	//       user: "exprsn-auth"
	//       password: $EXPRSN_AUTH_PASSWORD
	//       permissions: {
	//         publish: {
	//           allow: [
	//             "ipc.*.>"
	//             "_rpc.ipc.*.>"
	//             "$JS.API.STREAM.INFO.MESH_ipc"
	//             "$JS.API.STREAM.INFO.MESH_ipc_SCHED"
	//             "_INBOX.*.*"
	//             "_INBOX_exprsn-auth.*.*"
	//           ]
	//         }
	//         subscribe: {
	//           allow: [
	//             "ipc.exprsn-auth.>"
	//             "ipc.all.>"
	//             "ipc.all.> exprsn-auth"
	//             "_rpc.ipc.exprsn-auth.>"
	//             "_mesh.ipc.stats"
	//             "_INBOX_exprsn-auth.>"
	//           ]
	//         }
	//       }
	//     }
	//   ]
	// }
}

// A browser that may see new posts and user u42's own events, and nothing
// else.
func ExampleForBrowser() {
	u, err := permissions.ForBrowser("ipc", permissions.Browser{Name: "browser-u42", Feeds: []permissions.Feed{
		{Event: "post:created"},
		{Event: "user:u42:>"}, // "user:u42:notification", "user:u42:presence:update", ...
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("publish:    %q deny %q\n", u.Permissions.Publish, u.Permissions.DenyPublish)
	fmt.Printf("subscribe:  %q\n", u.Permissions.Subscribe)
	fmt.Printf("connection: %q\n", u.ConnectionTypes)
	// Output:
	// publish:    [] deny [">"]
	// subscribe:  ["ipc.all.post.created" "ipc.all.post.created browser-u42" "ipc.all.user.u42.>" "ipc.all.user.u42.> browser-u42"]
	// connection: ["WEBSOCKET"]
}
