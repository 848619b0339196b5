"""The `k8slab` command: route, validate, draw, rules, simulate, trace and dns over YAML files."""

from __future__ import annotations

import argparse
import json
import sys

from .errors import K8slabError

__all__ = ["main"]

CLIENT_HELP = "pod/NAME, pod/NAMESPACE/NAME, node/NAME, laptop, other-cluster or internet"


def _route_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="YAML manifests or `kubectl get -o yaml` output")
    p.add_argument("--service", required=True, metavar="NAME")
    p.add_argument("--namespace", default="default", metavar="NS")
    p.add_argument("--port", metavar="NAME|NUMBER", help="a Service port, by number or name (default: the first)")
    p.add_argument("--client", required=True, metavar="CLIENT", help=CLIENT_HELP)
    p.add_argument("--entry", choices=("ClusterIP", "NodePort", "LoadBalancer", "ExternalIP"),
                   help="force the way in (default: what such a client would use)")
    p.add_argument("--via-node", metavar="NODE", help="the node whose IP an outside client dials")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k8slab", description="How a request reaches a pod through a Kubernetes Service.",
        epilog="Try: k8slab route notebooks/manifests/demo.yaml --service web-nodeport --client laptop")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("route", help="the path a client's request takes to a Service, or why it fails")
    _route_options(p)
    p.add_argument("--json", action="store_true", help="print the route as JSON")
    p = sub.add_parser("validate", help="check files as the API server would; one line per problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    p = sub.add_parser("draw", help="draw a route as SVG, PNG or DOT")
    _route_options(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="OUT.svg, OUT.png or OUT.dot")
    p = sub.add_parser("rules", help="the iptables-save output kube-proxy writes on a node")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--node", required=True, metavar="NODE")
    p.add_argument("--mode", default="iptables", choices=("iptables", "ipvs", "nftables"))
    p.add_argument("--explain", action="store_true", help="say which hop of a route each chain implements")
    p = sub.add_parser("simulate", help="send N requests along a route and count where they land (seeded)")
    _route_options(p)
    p.add_argument("--requests", type=_positive, required=True, metavar="N")
    p.add_argument("--connections", type=_positive, metavar="C",
                   help="connections in all; requests follow their connection (default: one per request)")
    p.add_argument("--clients", type=_positive, default=100, metavar="K",
                   help="distinct client source addresses (default: 100)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    _trace_parser(sub)
    _diagnose_parser(sub)
    p = sub.add_parser("dns", help="what a pod's (or node's) DNS lookup of a name gets, try by try")
    p.add_argument("files", nargs="+", metavar="FILE", help="YAML manifests or `kubectl get -o yaml` output")
    p.add_argument("--client", required=True, metavar="CLIENT", help="pod/NAME, pod/NAMESPACE/NAME or node/NAME")
    p.add_argument("--name", required=True, metavar="NAME", help="the name as the client types it: web, web.shop, ...")
    p.add_argument("--type", default="A", metavar="TYPE", help="A, AAAA, SRV, CNAME, PTR or ANY (default: A)")
    p.add_argument("--json", action="store_true", help="print the lookup as JSON")
    return parser


def _trace_parser(sub) -> None:
    """`k8slab trace`: one packet through the rules (DESIGN.md, "k8slab trace")."""
    p = sub.add_parser("trace", help="one packet walked through kube-proxy's rules, rule by rule")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--client", required=True, metavar="CLIENT", help=CLIENT_HELP)
    p.add_argument("--dial", required=True, metavar="HOST:PORT", type=_dial,
                   help="what the client connects to: an IPv4 address (or, from a pod or node, a "
                        "Service name) and a port")
    p.add_argument("--protocol", default="tcp", choices=("tcp", "udp", "sctp"))
    p.add_argument("--seed", type=int, metavar="S", help="which random branch the steps follow")
    p.add_argument("--repeat", action="store_true",
                   help="a second connection from the same client (session affinity)")
    p.add_argument("--via-node", metavar="NODE", help="the node the network routes an external IP to")
    p.add_argument("--namespace", default="default", metavar="NS", help="the namespace of pod/NAME")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")


def _diagnose_parser(sub) -> None:
    """`k8slab diagnose`: the Debug Services checks (DESIGN.md, "k8slab diagnose")."""
    p = sub.add_parser("diagnose", help="why a connection fails: the Debug Services checks, then the fix")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--client", required=True, metavar="CLIENT", help=CLIENT_HELP)
    p.add_argument("--dial", required=True, metavar="HOST:PORT", type=_dial,
                   help="what the client connects to, as it typed it: web:8080, web.shop:80, "
                        "10.96.0.11:80, 192.0.2.11:30080, 203.0.113.10:443")
    p.add_argument("--protocol", default="tcp", choices=("tcp", "udp", "sctp"))
    p.add_argument("--json", action="store_true", help="print the diagnosis as JSON")


def _diagnose(args) -> int:
    from .diagnose import DialError, diagnose_files
    try:
        report = diagnose_files(args.files, args.client, args.dial, protocol=args.protocol)
    except DialError as e:
        print(f"k8slab diagnose: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.text())
    return 0


def _dial(text: str) -> str:
    from .trace import DialError, parse_dial
    try:
        parse_dial(text)
    except DialError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--dial "))
    return text


def _trace(args) -> int:
    from .manifests import load
    from .trace import DialError, trace
    cluster = load(*args.files)
    _notes(cluster)
    try:
        t = trace(cluster, args.client, args.dial, protocol=args.protocol, seed=args.seed,
                  repeat=args.repeat, via_node=args.via_node, namespace=args.namespace)
    except DialError as e:
        print(f"k8slab trace: {e}", file=sys.stderr)
        return 2
    print(json.dumps(t.to_dict(), indent=2) if args.json else t.text())
    return 0


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} must be at least 1")
    return n


def _port(text: str | None):
    if text is None:
        return None
    return int(text) if text.isdigit() else text


def _route(args):
    from .manifests import load
    cluster = load(*args.files)
    return cluster, cluster.route(client=args.client, service=args.service, namespace=args.namespace,
                                  port=_port(args.port), entry=args.entry, via_node=args.via_node)


def _notes(cluster) -> None:
    for note in cluster.notes:
        print(f"note: {note}", file=sys.stderr)


def run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "route":
        cluster, r = _route(args)
        _notes(cluster)
        print(json.dumps(r.to_dict(), indent=2) if args.json else r.text())
        return 0
    if args.command == "validate":
        from .manifests import validate_files
        problems = validate_files(args.files)
        for p in problems:
            print(p)
        if problems:
            print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
            return 1
        print(f"ok: no problems in {len(args.files)} file{'s' if len(args.files) != 1 else ''}")
        return 0
    if args.command == "draw":
        from .draw import draw
        cluster, r = _route(args)
        _notes(cluster)
        draw(r).save(args.output)
        print(f"wrote {args.output}")
        return 0
    if args.command == "rules":
        from .manifests import load
        from .proxy import rules
        cluster = load(*args.files)
        _notes(cluster)
        sys.stdout.write(rules(cluster, args.node, mode=args.mode, explain=args.explain))
        return 0
    if args.command == "simulate":
        from .simulate import simulate
        cluster, r = _route(args)
        _notes(cluster)
        sim = simulate(r, args.requests, connections=args.connections, clients=args.clients,
                       seed=args.seed)
        print(json.dumps(sim.to_dict(), indent=2) if args.json else sim.text())
        return 0
    if args.command == "trace":
        return _trace(args)
    if args.command == "diagnose":
        return _diagnose(args)
    if args.command == "dns":
        from .dns import lookup
        from .manifests import load
        cluster = load(*args.files)
        _notes(cluster)
        result = lookup(cluster, args.client, args.name, args.type)
        print(json.dumps(result.to_dict(), indent=2) if args.json else result.text())
        return 0
    raise AssertionError(args.command)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; exit codes: 0 done, 1 invalid input, 2 usage."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except K8slabError as e:
        print(f"k8slab: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
