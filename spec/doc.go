// Package spec reads pgrepl's HCL spec into typed values (Spec, Cluster,
// Node, …) that the planner, observation and apply read; nothing downstream
// touches HCL. Every problem in a spec is an hcl.Diagnostic with file, line
// and column, and a spec with errors yields no clusters. The language is
// described in docs/spec.md.
//
// Values read through env() and file() carry a cty "sensitive" mark. Only a
// Secret (the replication password, an admin DSN) may hold one; anywhere else
// it is an error, so that no secret reaches a plan, a log or a diagnostic.
package spec
