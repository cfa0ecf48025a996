// Package bench implements `spillway bench`: load against the gateway, against
// a bare Go reverse proxy and against the upstream directly, in one run, so
// the cost the gateway adds can be read off a single table.
//
// # Targets
//
// Every scenario is run against three targets, one after the other, each with
// the same number of concurrent keep-alive clients, the same duration and the
// same request body, all on 127.0.0.1:
//
//   - mock: the simulated upstream (`spillway mock`) called directly, in its
//     Azure OpenAI shape (/openai/deployments/{deployment}/chat/completions).
//     This is the ceiling: what the load generator and the upstream manage
//     with nothing in between.
//   - bare-proxy: a plain net/http/httputil.ReverseProxy (a Rewrite hook that
//     only calls SetURL, the default transport with enough idle connections,
//     a buffer pool, full duplex; see NewProxy) in front of the same mock.
//     This is the floor any Go proxy pays: one more hop, one more HTTP parse
//     and write on each side.
//   - gateway: `spillway serve` in front of the same mock, called in the
//     OpenAI shape (/v1/chat/completions with a client key), so the request
//     goes through authentication, routing and the body rewrite for Azure.
//   - nginx, with --nginx: nginx (the system's binary, a config of bench's
//     own; see NginxConfig) as a reverse proxy in front of the same mock,
//     keep-alive to it, no access log, no response buffering. This is the
//     floor of an L7 proxy, an event loop in C; its CPU per request is its
//     master's and its workers' (TreeCPU).
//
// By default bench starts the mock, the bare proxy and the gateway as separate
// OS processes (it re-executes its own binary: `spillway mock`,
// `spillway bench --proxy-only` and `spillway serve` with a generated config),
// so that on a small machine the load generator, the proxy under test and the
// upstream do not share a Go scheduler, and it stops them at the end. With
// --upstream and --gateway it measures processes that are already running.
//
// # Scenarios
//
//   - chat: non-streaming chat completions; the latency is the time from
//     sending the request to having read the whole body.
//   - stream: the same with "stream": true; bench also reports the time to
//     first byte (first byte of the body, that is the first SSE event) and
//     checks that every stream ends with `data: [DONE]`.
//
// Each target gets a warm-up (default 1s, not counted) that opens the
// keep-alive connections, then the measured run (default 10s). Workers stop
// starting requests at the deadline and let the requests in flight finish;
// req/s is the number of 2xx responses divided by the time until the last one
// finished. p50 and p99 are exact (nearest rank over every sample, not a
// histogram) and count 2xx responses only. Errors (transport errors, bodies
// cut short, streams without [DONE]) and non-2xx statuses are counted
// separately; a run with any of them is reported loudly and its numbers should
// not be trusted.
//
// # Streams
//
// `spillway bench --streams N` (HoldStreams) holds N slow streams open at
// once against the bare proxy and against the gateway, each round on fresh
// processes, and reports each process's RSS growth per stream. The mock
// serves plain HTTP unless --upstream-tls (SpawnOptions.UpstreamTLS): then
// it serves HTTPS, HTTP/2 offered by ALPN as Azure OpenAI and OpenAI do,
// with a certificate of a throwaway authority (NewUpstreamTLS) that the bare
// proxy and the gateway trust through SSL_CERT_FILE, and both multiplex
// their streams over a few upstream connections. The mock counts what it
// serves by HTTP version (mock.Protocols); each row says how its target
// talked to the mock.
//
// # Reading the result
//
// "gateway/bare-proxy throughput" is the gateway's req/s divided by the bare
// proxy's: 1.0 means the gateway costs no more throughput than the thinnest
// possible Go proxy. "added latency vs bare proxy" is the gateway's p50 (p99)
// minus the bare proxy's p50 (p99): the price of the gateway's own work above
// the floor any proxy pays. The same difference against the mock line includes
// that floor. On a busy machine differences of a few tens of microseconds are
// noise; compare runs, not single numbers. "gateway peak RSS" is the
// gateway process's VmHWM (Linux only) after the scenario.
package bench
