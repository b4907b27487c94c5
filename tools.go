//go:build tools

// Package tools pins the libraries the product brief requires, so that the
// packages that grow into them in parallel agree on one version. It is removed
// once every library is imported by real code.
package tools

import (
	_ "github.com/hashicorp/hcl/v2"
	_ "github.com/hashicorp/hcl/v2/hclsyntax"
	_ "github.com/hashicorp/hcl/v2/hclwrite"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/kevinburke/ssh_config"
	_ "github.com/sergi/go-diff/diffmatchpatch"
	_ "github.com/spf13/cobra"
	_ "github.com/zclconf/go-cty/cty"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/crypto/ssh/knownhosts"
	_ "golang.org/x/term"
)
