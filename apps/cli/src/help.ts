import { FAULT_EXAMPLES } from "./faults.ts";
import { UDP_FAULT_EXAMPLES } from "./udp/flags.ts";

export const HELP = `echo-cli: a byte-exact TCP (and UDP) echo server for Node.js and Bun

Usage: echo-cli [options]
       echo-cli bench [HOST:PORT] [options]   (a load client; see echo-cli bench --help)

Serves echo: every byte a client sends comes back, in order, until the
client half-closes; then the server half-closes too.

Options:
  --host HOST             address to listen on (default 127.0.0.1); ::1 for IPv6
                          loopback, :: for every address (IPv4 too where the OS allows)
  -p, --port PORT         port to listen on, 0 picks a free one (default 1337)
  --unix PATH             listen on a unix domain socket instead of TCP; a stale
                          socket file nobody answers on is replaced, and removed on exit
  --driver NAME           auto, node, bun or deno (default auto: bun on Bun, deno on
                          Deno, node on Node);
                          the ECHO_CLI_DRIVER environment variable sets it too
  --max-connections N     close connections above N at once (counted; logged with --verbose);
                          with --workers each worker gets an equal share of N (N >= workers),
                          so the total stays within N and a worker whose share is full
                          refuses even when another has room
  --idle-timeout TIME     half-close, then close, a connection with nothing moving either
                          way and nothing owed to its peer for TIME (default off); a
                          connection whose echo is still queued is never idle
  --send-timeout TIME     abort a connection whose peer takes none of its queued echo for
                          TIME, logged as stalled (default off); progress shows only as
                          the kernel's send buffer (several MB) drains, so a peer reading
                          slower than about a third of it per TIME counts as stalled
  --proxy-protocol        require a PROXY protocol header (v1 or v2, as HAProxy's send-proxy
                          and send-proxy-v2 send it) before each connection's bytes: it is
                          not echoed, and the client it names is the one logged; without a
                          valid header in time a connection is closed, counted in the
                          summary and, with --verbose, logged with the reason
  --proxy-header-timeout TIME  how long a connection has to send its whole PROXY
                          header (default 3s)
  --workers N|auto        serve from N worker processes on one address (auto: one per
                          CPU), under one supervisor that prints one banner and one summary,
                          drains them all on SIGINT/SIGTERM and restarts a worker that dies;
                          on Linux the kernel spreads connections with SO_REUSEPORT (Bun,
                          Node >= 22.12), elsewhere node:cluster does (Node only); TCP only
  --metrics HOST:PORT     serve Prometheus metrics at http://HOST:PORT/metrics: connections
                          accepted, open, refused and closed by outcome, bytes, durations,
                          clients, faults; with --workers, the sum over every worker
  --tls                   serve TLS; without --cert, with a certificate made at start for
                          the host, localhost, 127.0.0.1 and ::1 (the banner prints its
                          SHA-256 fingerprint and an openssl s_client command to try it)
  --cert FILE --key FILE  serve this PEM certificate (and chain) and its unencrypted key;
                          these and the flags below imply --tls. A file that cannot be
                          read, is not PEM, a key that is encrypted or does not match:
                          exit 1; an expired certificate serves, with a warning
  --cert-out FILE         write the certificate made at start, for clients to trust
  --client-auth --ca FILE require a client certificate signed by a CA in FILE (mutual TLS)
  --udp                   serve UDP echo (RFC 862) too, on the same host and port: each
                          datagram goes back whole to its sender; off by default
  --udp-only              serve UDP echo and no TCP
  --udp-rate N|off        replies per second to one source address, in bursts of N; past
                          it datagrams are dropped and counted (default 1000). Datagrams
                          from source ports 0, 7, 9, 13, 17, 19 and 37 (echo, discard,
                          daytime, qotd, chargen, time) never get a reply
  --udp-fault SPEC        misbehave on datagrams, decided per reply; repeatable, applied
                          in order, seeded by --fault-seed:
${UDP_FAULT_EXAMPLES.map(([example, meaning]) => `                            ${example.padEnd(27)}${meaning}`).join("\n")}
  --drain-timeout TIME    on SIGINT/SIGTERM, how long open connections get to
                          finish (default 2s)
  -q, --quiet             print nothing but errors
  --verbose               print a line per connection: peer, bytes, duration, outcome;
                          and per dropped datagram, with the reason (at most 20 a second)
  --hexdump               dump each TCP connection's traffic to stderr, in hex and ASCII
  --hexdump-limit BYTES   bytes dumped per connection and direction (default 4096)
  --fault SPEC            misbehave on purpose; repeatable, applied in order. Add
                          @P% to apply it to P% of connections (reset-after=64KiB@10%):
${FAULT_EXAMPLES.map(([example, meaning]) => `                            ${example.padEnd(27)}${meaning}`).join("\n")}
  --fault-seed N          seeds which connections get which faults, and the datagram
                          faults (default: picked at start and printed); the same seed
                          and the same order of connections or datagrams give the same faults
  --log-format FORMAT     text or json (one JSON object per line) (default text)
  --ready-file FILE       once listening, write the JSON listening event
                          ({"event":"listening","address":"tcp://127.0.0.1:PORT"}) to FILE,
                          whole, even with --quiet; removed on exit. For scripts using --port 0
  -h, --help              show this help
  -V, --version           print the version

TIME is a duration such as 500ms, 2s or 1m (a bare number is seconds), BYTES a
size such as 4096, 64KiB or 1.5MiB; fault specs use the same grammar.

On SIGINT or SIGTERM the server stops accepting, echoes what already arrived,
half-closes every connection, waits up to the drain timeout, aborts the rest
and exits 0. A second signal exits at once. When file descriptors run short,
new connections are closed at once and a warning says so, at most every 10 s.

Exit status: 0 after a clean stop, 1 when the server cannot start (address in
use, permission denied, unknown host, missing directory), 2 for bad usage.

Colors: only on a terminal, and never with NO_COLOR set.

Runtime: the published bin runs on Node. To run on Bun: bunx --bun @echo-cli/cli
(or bun apps/cli/dist/cli.js in this repository). --driver bun on Node re-runs
the command under Bun when bun is on the PATH. To run on Deno:
deno run -A npm:@echo-cli/cli (or deno run -A apps/cli/dist/cli.js); on Deno
there is no --workers and no UDP, and TLS needs --driver node.`;
