// Package spec holds the setup of the namespace of the five example
// services, mesh.json: their streams, durable handlers and what each may
// do. meshctl reads the file (meshctl serve --spec
// examples/service/spec/mesh.json --auth DIR); the demo loads it with Load
// to run the services with least privilege (go run ./examples/demo -auth).
// examples/service's TestSpecMatchesTheServices keeps it matching the
// services.
package spec

import (
	_ "embed"

	"github.com/exprsn/ipcmesh/setup"
)

//go:embed mesh.json
var meshJSON []byte

// Load returns the example services' spec, mesh.json, validated.
func Load() (setup.Spec, error) { return setup.Parse(meshJSON) }
