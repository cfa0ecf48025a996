// Package helm holds Spillway's Helm chart (spillway/) and its tests: they
// render the chart with Helm as a library for several value sets, decode
// every manifest strictly into the Kubernetes API types, hold what the
// manifests say against what the binary serves and reads, and lint the
// chart. No cluster and no helm binary are needed. The package has no
// code of its own; Helm and the Kubernetes types are imported by its tests
// alone, so the gateway's binary never links them.
package helm
