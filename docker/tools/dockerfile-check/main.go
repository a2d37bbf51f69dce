// dockerfile-check runs BuildKit's Dockerfile checks (the ones behind `docker build --check`) on a
// Dockerfile, offline: parse errors, stage and flag errors, and the lint rules (casing, JSON-form
// CMD, undefined variables, ...). Base images are never fetched: a stub answers every image lookup
// with an empty linux/amd64 config, so nothing leaves the machine.
//
// Built by `bash docker/validate.sh --install` in a throwaway module (github.com/moby/buildkit);
// exit 0: no error and no warning, 1: findings, 2: could not run.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
)

const emptyImageConfig = `{"os":"linux","architecture":"amd64",` +
	`"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},` +
	`"rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}`

// offlineResolver answers image metadata lookups without any registry.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	return ref, "", []byte(emptyImageConfig), nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-check PATH/TO/Dockerfile")
		os.Exit(2)
	}
	path := os.Args[1]
	dt, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	src := llb.Scratch()
	smap := llb.NewSourceMap(&src, path, "Dockerfile", dt)
	if smap.Definition, err = src.Marshal(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{SourceMap: smap, MetaResolver: offlineResolver{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, w := range res.Warnings {
		at := ""
		if w.Location != nil && len(w.Location.Ranges) > 0 && w.Location.Ranges[0].Start != nil {
			at = fmt.Sprintf(":%d", w.Location.Ranges[0].Start.Line)
		}
		fmt.Printf("%s%s: warning %s: %s\n", path, at, w.RuleName, w.Detail)
	}
	if res.Error != nil {
		fmt.Printf("%s: error: %s\n", path, res.Error.Message)
		os.Exit(1)
	}
	if len(res.Warnings) > 0 {
		os.Exit(1)
	}
	fmt.Printf("%s: no errors, no warnings\n", path)
}
