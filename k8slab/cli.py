"""The `k8slab` command: every subcommand (route, rules, trace, diagnose, reach, request, ...)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from . import __version__
from .errors import K8slabError, Problem, shown_problems

__all__ = ["main", "console", "run", "read_inputs", "STDIN", "INPUT_SUFFIXES"]

CLIENT_HELP = "pod/NAME, pod/NAMESPACE/NAME, node/NAME, laptop, other-cluster or internet"
FILE_HELP = ("YAML or JSON manifests, `kubectl get -o yaml` output, a directory of them, "
             "or - for standard input")


def _route_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help=FILE_HELP)
    p.add_argument("--service", required=True, metavar="NAME", help="the Service's name")
    p.add_argument("--namespace", default="default", metavar="NS",
                   help="the Service's namespace (default: default)")
    p.add_argument("--port", metavar="NAME|NUMBER", help="a Service port, by number or name (default: the first)")
    p.add_argument("--client", required=True, metavar="CLIENT", help=CLIENT_HELP)
    p.add_argument("--entry", choices=("ClusterIP", "NodePort", "LoadBalancer", "ExternalIP"),
                   help="force the way in (default: what such a client would use)")
    p.add_argument("--via-node", metavar="NODE", help="the node whose IP an outside client dials")
    p.add_argument("--protocol", type=_upper, choices=("TCP", "UDP", "SCTP"),
                   help="the client's protocol (default: the Service port's own)")
    p.add_argument("--name", metavar="NAME",
                   help="the name a pod or node client types for the Service (web, web.shop, ...): "
                        "its lookup comes first")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="k8slab", description="How a request reaches a pod through a Kubernetes Service.",
        epilog="Try: k8slab route notebooks/manifests/demo.yaml --service web-nodeport --client laptop. "
               "FILE may be - (standard input) or a directory (its *.yaml, *.yml and *.json).")
    parser.add_argument("--version", action="version", version=f"k8slab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("route", help="the path a client's request takes to a Service, or why it fails")
    _route_options(p)
    p.add_argument("--json", action="store_true", help="print the route as JSON")
    p = sub.add_parser("validate", help="check files as the API server would; one line per problem")
    p.add_argument("files", nargs="+", metavar="FILE", help=FILE_HELP)
    p = sub.add_parser("draw", help="draw a route as SVG, PNG or DOT")
    _route_options(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="OUT.svg, OUT.png or OUT.dot")
    _draw_request_options(p)
    p = sub.add_parser("rules", help="the rules kube-proxy writes on a node (iptables-save or nft -f text)")
    p.add_argument("files", nargs="+", metavar="FILE", help=FILE_HELP)
    p.add_argument("--node", required=True, metavar="NODE", help="the node whose kube-proxy writes them")
    p.add_argument("--mode", choices=("iptables", "ipvs", "nftables"),
                   help="print as this kube-proxy mode would (default: the cluster's mode)")
    p.add_argument("--explain", action="store_true", help="say which hop of a route each chain implements")
    p = sub.add_parser("simulate", help="send N requests along a route and count where they land (seeded)")
    _route_options(p)
    p.add_argument("--requests", type=_positive, required=True, metavar="N",
                   help="how many requests to send")
    p.add_argument("--connections", type=_positive, metavar="C",
                   help="connections in all; requests follow their connection (default: one per request)")
    p.add_argument("--clients", type=_positive, default=100, metavar="K",
                   help="distinct client source addresses (default: 100)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S",
                   help="the random seed: the same seed gives the same counts (default: 0)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    _trace_parser(sub)
    _diagnose_parser(sub)
    _reach_parser(sub)
    p = sub.add_parser("dns", help="what a pod's (or node's) DNS lookup of a name gets, try by try")
    p.add_argument("files", nargs="+", metavar="FILE", help=FILE_HELP)
    p.add_argument("--client", required=True, metavar="CLIENT", help="pod/NAME, pod/NAMESPACE/NAME or node/NAME")
    p.add_argument("--name", required=True, metavar="NAME", help="the name as the client types it: web, web.shop, ...")
    p.add_argument("--type", default="A", metavar="TYPE", help="A, AAAA, SRV, CNAME, PTR or ANY (default: A)")
    p.add_argument("--json", action="store_true", help="print the lookup as JSON")
    _request_parser(sub)
    _snapshot_parser(sub)
    _service_cidr_option(sub)
    _summaries(sub)
    return parser


def _request_parser(sub) -> None:
    """`k8slab request`: after the load balancer (DESIGN.md, "k8slab request")."""
    p = sub.add_parser("request", help="what a Gateway (Gateway API) or an Ingress does with one HTTP request")
    p.add_argument("files", nargs="+", metavar="FILE", help=FILE_HELP)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--gateway", metavar="NS/NAME", help="the Gateway the request reaches")
    which.add_argument("--ingress", nargs="?", const="", metavar="CLASS",
                       help="ask the Ingresses instead (of ingressClassName CLASS, if given)")
    p.add_argument("--url", required=True, metavar="URL", help="http://HOST[:PORT]/PATH[?QUERY]")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                   help="a request header (repeatable); Host:NAME overrides the URL's host")
    p.add_argument("--method", default="GET", metavar="M", help="the HTTP method (default: GET)")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.add_argument("-o", "--output", metavar="OUT", help="also draw it: OUT.svg, OUT.png or OUT.dot")


def _draw_request_options(p) -> None:
    """`k8slab draw FILE... --gateway NS/NAME --url URL -o OUT`: a request's picture instead of a
    route's; then --service and --client are not needed."""
    for action in p._actions:
        if action.dest in ("service", "client"):
            action.required = False
            action.help = (action.help + " " if action.help else "") + "(a route; not with --gateway)"
    p.add_argument("--gateway", metavar="NS/NAME", help="draw an HTTP request through this Gateway instead")
    p.add_argument("--url", metavar="URL", help="with --gateway: http://HOST[:PORT]/PATH[?QUERY]")
    p.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="with --gateway")
    p.add_argument("--method", default="GET", metavar="M", help="with --gateway (default: GET)")


def _draw_checked(args) -> int | None:
    """Route `draw --gateway` to the request picture; say what draw needs when neither is whole."""
    if args.gateway is not None:
        if not args.url:
            raise _usage("k8slab draw: --gateway needs --url")
        args.ingress, args.json = None, False
        return _request(args, quiet=True)
    if not args.service or not args.client:
        raise _usage("k8slab draw: give --service and --client (a route), or --gateway and --url (a request)")
    return None


def _usage(message: str) -> SystemExit:
    print(message, file=sys.stderr)
    return SystemExit(2)


def _request(args, quiet: bool = False) -> int:
    from .gateway import RequestError, ingress_request, parse_request, request
    try:
        req = parse_request(args.url, args.header, args.method)
    except RequestError as e:                    # a usage mistake: exit 2, as argparse's are
        print(f"k8slab request: {e}", file=sys.stderr)
        if args.json:
            _print_json_error(str(e))
        return 2
    cluster = _cluster(args)
    _notes(cluster)
    if args.gateway is not None:
        answer = request(cluster, args.gateway, req)
    else:
        answer = ingress_request(cluster, req, args.ingress or None)
    if not quiet:
        print(json.dumps(answer.to_dict(), indent=2) if args.json else answer.text())
    if args.output:
        from .draw import draw
        draw(answer).save(args.output)
        print(f"wrote {args.output}", file=sys.stderr if not quiet else sys.stdout)
    return 0




def _snapshot_parser(sub) -> None:
    p = sub.add_parser("snapshot", help="read your cluster with your kubectl (read-only `get`) into one file")
    p.add_argument("--context", metavar="C", help="the kubeconfig context (default: kubectl's current one)")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("-n", "--namespace", metavar="NS", help="only this namespace's objects (nodes stay cluster-wide)")
    scope.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write it (JSON, which is YAML)")


def _snapshot(args) -> int:
    from .manifests import load_texts
    from .snapshot import snapshot
    taken = snapshot(args.output, context=args.context, namespace=args.namespace,
                     all_namespaces=args.all_namespaces).text().splitlines()
    print("\n".join(taken[:-1]), flush=True)
    # Read back as every command will read it: the learner hears now whether k8slab reads this
    # cluster, and what it does not model; and a large snapshot is built here, once, so that
    # the first command on it starts warm (load_texts keeps what it builds; issue 22's budget).
    texts, problems = read_inputs([args.output])
    try:
        if problems:
            raise K8slabError(problems=problems)
        cluster = load_texts(texts)
    except K8slabError as e:
        print(f"k8slab cannot read {args.output} as it is:\n{e}", file=sys.stderr)
        return 1
    r = cluster.facts.service_range
    where = (f"Service range {', '.join(r.cidrs)} (from {r.source})" if r.source != "kubeadm" else
             "Service range not in the file (k8slab assumes kubeadm's; give --service-cidr)")
    mode = getattr(cluster.proxy, "mode", None) or "iptables (kube-proxy's default)"
    print(f"k8slab reads it: {len(cluster.services)} Services, {len(cluster.pods)} pods, "
          f"{len(cluster.nodes)} nodes; {where}; kube-proxy mode {mode}")
    _notes(cluster)
    print(taken[-1])
    return 0


def _service_cidr_option(sub) -> None:
    """--service-cidr on every command that reads FILEs (issue 22): the cluster's Service range
    when the files do not say it (ServiceCIDR objects or default/kubernetes come first)."""
    for p in sub.choices.values():
        if any(a.dest == "files" for a in p._actions) and not any(a.dest == "service_cidr" for a in p._actions):
            p.add_argument("--service-cidr", metavar="CIDR",
                           help="the cluster's Service range when the files do not say it "
                                "(default: kubeadm's 10.96.0.0/12)")


def _summaries(sub) -> None:
    """Each subcommand's --help opens with the one-line summary the command list shows (argparse
    shows `help=` only in the list): every subcommand, whoever adds it."""
    for action in sub._choices_actions:
        p = sub.choices[action.dest]
        if p.description is None and action.help:
            p.description = action.help[:1].upper() + action.help[1:] + "."


def _upper(text: str) -> str:
    """--protocol in any case (tcp, TCP, Tcp), as the API server's TCP/UDP/SCTP spell it."""
    return text.upper()


def _lower(text: str) -> str:
    """--protocol in any case, for the commands that print it in lower case (trace, diagnose)."""
    return text.lower()


def _dial_options(p, dial_help: str) -> None:
    """FILE..., --client, --dial HOST:PORT and --protocol: what trace and diagnose share."""
    p.add_argument("files", nargs="+", metavar="FILE", help=FILE_HELP)
    p.add_argument("--client", required=True, metavar="CLIENT", help=CLIENT_HELP)
    p.add_argument("--dial", required=True, metavar="HOST:PORT", type=_dial, help=dial_help)
    p.add_argument("--protocol", default="tcp", type=_lower, choices=("tcp", "udp", "sctp"),
                   help="the client's protocol, in any case (default: tcp)")


def _trace_parser(sub) -> None:
    """`k8slab trace`: one packet through the rules (DESIGN.md, "k8slab trace")."""
    p = sub.add_parser("trace", help="one packet walked through kube-proxy's rules, rule by rule")
    _dial_options(p, "what the client connects to: an IPv4 address (or, from a pod or node, a "
                     "Service name) and a port")
    p.add_argument("--seed", type=_seed, metavar="S", help="which random branch the steps follow")
    p.add_argument("--repeat", action="store_true",
                   help="a second connection from the same client (session affinity)")
    p.add_argument("--via-node", metavar="NODE", help="the node the network routes an external IP to")
    p.add_argument("--namespace", default="default", metavar="NS", help="the namespace of pod/NAME")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")


def _diagnose_parser(sub) -> None:
    """`k8slab diagnose`: the Debug Services checks (DESIGN.md, "k8slab diagnose")."""
    p = sub.add_parser("diagnose", help="why a connection fails: the Debug Services checks, then the fix")
    _dial_options(p, "what the client connects to, as it typed it: web:8080, web.shop:80, "
                     "10.96.0.11:80, 192.0.2.11:30080, 203.0.113.10:443")
    p.add_argument("--json", action="store_true", help="print the diagnosis as JSON")


def _diagnose(args) -> int:
    from .diagnose import DialError, diagnose_texts
    texts, problems = read_inputs(args.files)      # `-` and directories, as every command reads them
    if problems:
        raise K8slabError(problems=problems)
    try:
        report = diagnose_texts(texts, args.client, args.dial, protocol=args.protocol,
                                service_cidr=args.service_cidr)
    except DialError as e:
        print(f"k8slab diagnose: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.text())
    return 0


def _reach_parser(sub) -> None:
    """`k8slab reach`: who may talk to whom (DESIGN.md, "k8slab reach")."""
    p = sub.add_parser("reach", help="NetworkPolicy: every pod to every pod (a truth table), or one pair explained")
    p.add_argument("files", nargs="+", metavar="FILE", help=FILE_HELP)
    p.add_argument("--from", dest="source", metavar="CLIENT", help=CLIENT_HELP + " (with --to: one pair)")
    p.add_argument("--to", dest="target", metavar="pod/NS/NAME|IP", help="the pod (or address) receiving")
    p.add_argument("--port", type=_positive, default=80, metavar="N",
                   help="the port the pod receives on (after DNAT: the targetPort; default 80)")
    p.add_argument("--protocol", type=_upper, default="TCP", choices=("TCP", "UDP", "SCTP"),
                   help="the connection's protocol, in any case (default: TCP)")
    p.add_argument("--json", action="store_true", help="print the table or the pair as JSON")


def _reach(args) -> int:
    from . import policy
    from .routing import client_address, parse_client
    cluster = _cluster(args)
    _notes(cluster)
    if (args.source is None) != (args.target is None):
        print("k8slab reach: give both --from and --to (one pair), or neither (the whole table)", file=sys.stderr)
        return 2
    if args.source is None:
        m = policy.matrix(cluster, args.port, args.protocol)
        print(m.json_text() if args.json else m.text())
        return 0
    who = parse_client(cluster, args.source)
    target = args.target
    dst = None
    if target.startswith("pod/"):
        ns, _, name = target[4:].rpartition("/")
        dst = cluster.pod(name, ns or "default")
        if dst is None:
            raise K8slabError(f"--to {target}: no pod {name!r} in namespace {ns or 'default'!r}")
        dst_ip, dst_name = dst.ip, f"pod/{dst.key}"
    else:
        dst_ip, dst_name = target, target
        dst = next((p for p in cluster.pods if p.ip == target and not p.host_network), None)
        if dst is not None:
            dst_name = f"pod/{dst.key}"
    src = who.pod if who.kind == "pod" else None
    seen_node = who.node.name if who.kind == "node" else None
    src_name = f"pod/{src.key}" if src is not None else args.source
    d = policy.decide(cluster, src=src, dst=dst, port=args.port, protocol=args.protocol, dst_ip=dst_ip,
                      seen_ip=client_address(who), seen_node=seen_node, src_name=src_name)
    if args.json:
        print(json.dumps(policy.pair_dict(d, src_name, dst_name), indent=2))
    else:
        fix = policy.fix_for(cluster, d, src, dst, client_address(who))
        print(policy.pair_text(cluster, d, src_name, dst_name, fix))
    return 0


def _dial(text: str) -> str:
    from .trace import DialError, parse_dial
    try:
        parse_dial(text)
    except DialError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--dial "))
    except (ValueError, TypeError) as e:      # never argparse's "invalid _dial value"
        raise argparse.ArgumentTypeError(f"{text[:60]!r}: {e}") from None
    return text


def _trace(args) -> int:
    from .trace import DialError, trace
    cluster = _cluster(args)
    _notes(cluster)
    try:
        t = trace(cluster, args.client, args.dial, protocol=args.protocol, seed=args.seed,
                  repeat=args.repeat, via_node=args.via_node, namespace=args.namespace)
    except DialError as e:
        print(f"k8slab trace: {e}", file=sys.stderr)
        if args.json:
            _print_json_error(str(e))
        return 2
    print(json.dumps(t.to_dict(), indent=2) if args.json else t.text())
    return 0


def _seed(text: str) -> int:
    """A seed in ASCII digits (int() would also take "٨"), of a sane length."""
    if not (text.strip().isascii() and text.strip().lstrip("+-").isdigit()) or len(text.strip()) > 30:
        shown = text if len(text) <= 40 else text[:30] + "..."
        raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number (ASCII digits, at most 30)")
    return int(text)


def _positive(text: str) -> int:
    shown = text if len(text) <= 40 else text[:30] + "..."
    # ASCII digits only: int() also reads "٨٠" and "８０", which no shell user means as 80.
    if not (text.strip().isascii() and text.strip().lstrip("+-").isdigit()) or len(text.strip()) > 30:
        raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number (ASCII digits, at most 30)")
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number")
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} must be at least 1")
    return n


def _port(text: str | None):
    if text is None:
        return None
    # A number in ASCII digits (a 5,000-digit one is no port either: left a name, it matches none).
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else text


def _route(args):
    from .routing import route
    cluster = _cluster(args)
    return cluster, route(cluster, client=args.client, service=args.service, namespace=args.namespace,
                          port=_port(args.port), entry=args.entry, via_node=args.via_node,
                          protocol=args.protocol, name=args.name)


# -- FILE arguments: paths, `-` for standard input, directories as `kubectl apply -f DIR` ---------
#: What FILE `-` means, and how messages name what came from it.
STDIN = "-"
STDIN_NAME = "<stdin>"
#: The files a directory contributes, as kubectl reads them (cli-runtime's resource.FileExtensions).
INPUT_SUFFIXES = (".json", ".yaml", ".yml")


def _expand(files) -> list[str]:
    """FILE arguments with each directory replaced by its manifests, the way `kubectl apply -f DIR`
    reads one (k8s.io/cli-runtime/pkg/resource/visitor.go, ExpandPathsToFileVisitors): not
    recursive, only names ending in .json, .yaml or .yml as written (`.YAML` is skipped), in
    name order (filepath.Walk sorts names bytewise; Python's str order is the same for UTF-8)."""
    paths: list[str] = []
    stdin = 0
    for f in files:
        if f == STDIN:
            stdin += 1
            if stdin > 1:
                raise K8slabError("FILE -: standard input can be read once; give - only once")
            paths.append(f)
        elif os.path.isdir(f):
            try:
                names = sorted(os.listdir(f))
            except OSError as e:
                raise K8slabError(problems=[Problem(f, e.strerror or str(e))]) from None
            inside = [os.path.join(f, n) for n in names
                      if n.endswith(INPUT_SUFFIXES) and not os.path.isdir(os.path.join(f, n))]
            if not inside:
                raise K8slabError(problems=[Problem(
                    f, "a directory with no *.yaml, *.yml or *.json files in it (k8slab reads a "
                       "directory's manifests as kubectl apply -f does: not its subdirectories)")])
            paths.extend(inside)
        else:
            paths.append(f)
    return paths


def _read_stdin() -> str:
    """Standard input as text, within the size k8slab reads from a file."""
    from .manifests import MAX_FILE_BYTES
    stream = sys.stdin
    if stream is None:
        raise K8slabError(problems=[Problem(STDIN_NAME, "no standard input to read")])
    try:
        binary = getattr(stream, "buffer", None)
        data = binary.read(MAX_FILE_BYTES + 1) if binary is not None else stream.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as e:      # closed, or not readable
        raise K8slabError(problems=[Problem(STDIN_NAME, f"cannot read standard input ({e})")]) from None
    if len(data) > MAX_FILE_BYTES:
        raise K8slabError(problems=[Problem(
            STDIN_NAME, f"more than {MAX_FILE_BYTES // 2**20} MiB; k8slab reads inputs up to that size")])
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise K8slabError(problems=[Problem(STDIN_NAME, f"not UTF-8 text (byte {e.start})")]) from None
    if _empty(text):
        # Most often the command before the pipe failed (`kubectl get ... -o yaml | k8slab ...`):
        # say so, rather than "no Service" or "ok: no problems".
        raise K8slabError(problems=[Problem(
            STDIN_NAME, "the input was empty: standard input held no manifests (did the "
                        "command before the | fail? kubectl says no objects passed to apply)")])
    return text


def _empty(text: str) -> bool:
    """No YAML object at all: only blank lines, comments and document markers."""
    return all(not line.strip() or line.lstrip().startswith("#") or line.strip() in ("---", "...")
               for line in text.splitlines())


def read_inputs(files) -> tuple[list[tuple[str, str]], list[Problem]]:
    """(name, text) for every FILE argument, directories expanded and `-` read from standard
    input (named `<stdin>`), and the problems met on the way; one bad file stops none."""
    from .manifests import read_text
    texts, problems = [], []
    for path in _expand(files):
        try:
            texts.append((STDIN_NAME, _read_stdin()) if path == STDIN else (path, read_text(path)))
        except K8slabError as e:
            problems.extend(e.problems or [Problem(path, str(e))])
    return texts, problems


def _cluster(args):
    """The cluster the FILE arguments describe, or K8slabError listing every problem."""
    from .manifests import load_texts
    texts, problems = read_inputs(args.files)
    if problems:
        raise K8slabError(problems=problems)
    return load_texts(texts, service_cidr=getattr(args, "service_cidr", None))


def _validate(files, service_cidr: str | None = None) -> tuple[list[Problem], int]:
    """Every problem in the FILE arguments, and how many files were read."""
    from . import manifests
    paths = _expand(files)
    if STDIN not in paths:
        return manifests.validate_files(paths, service_cidr), len(paths)
    texts, problems = read_inputs(paths)
    return problems + manifests.validate_texts(texts, service_cidr), len(paths)


def _notes(cluster) -> None:
    for note in cluster.notes:
        print(f"note: {note}", file=sys.stderr)


# -- errors: human on stderr always; with --json, JSON on stdout too --------------------------------
class _UsageExit(SystemExit):
    """argparse's exit 2 for a mistake in the command line, carrying its message."""

    def __init__(self, message: str):
        super().__init__(2)
        self.message = message


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout at the terminal's width, found without `import shutil`: argparse
    imports it (and bz2, lzma with it, ~3 ms) for every parser it builds, help or not."""

    width: int | None = None

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            width = _Formatter.width = _Formatter.width or _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    # shutil.get_terminal_size's rule: $COLUMNS, else the terminal on stdout, else 80.
    try:
        if int(os.environ["COLUMNS"]) > 0:
            return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors raised as _UsageExit so that `--json` can report them too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)      # subcommands' parsers too
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise _UsageExit(message)


def _wants_json(argv) -> bool:
    argv = list(argv)
    return "--json" in (argv[:argv.index("--")] if "--" in argv else argv)


def _problem_dict(p) -> dict:
    if isinstance(p, Problem):
        return {"file": p.file, "kind": p.kind, "name": p.name, "path": p.path, "message": p.message}
    return {"message": str(p)}


def _print_json_error(message: str, problems=()) -> None:
    print(json.dumps({"error": message, "problems": [_problem_dict(p) for p in problems]}, indent=2))


def run(argv: list[str]) -> int:
    """The command line in-process: 0 done, 1 invalid input (messages on stderr; with --json, also
    `{"error": ..., "problems": [...]}` on stdout). A usage mistake exits 2 as argparse does
    (SystemExit), after the same JSON when --json was asked for; so do --help and --version (0)."""
    want_json = _wants_json(argv)
    if not [a for a in argv if not a.startswith("-")] and not {"-h", "--help", "--version"} & set(argv):
        # `k8slab` alone: the commands, each with its one line, rather than "COMMAND is required".
        parser = _parser()
        parser.print_help(sys.stderr)
        print("\nk8slab: give a command; `k8slab COMMAND --help` says more about each", file=sys.stderr)
        if want_json:
            _print_json_error("give a command")
        raise _UsageExit("give a command")
    try:
        args = _parser().parse_args(argv)
    except _UsageExit as e:
        if want_json:
            _print_json_error(e.message)
        raise
    try:
        if args.command in _ANSWERS_ONLY:
            return _answer_once_checked(args)
        return _command(args)
    except K8slabError as e:
        print(f"k8slab: {e}", file=sys.stderr)
        if want_json:
            _print_json_error(str(e), e.problems)
        return 1


#: Commands whose only effect is what they print: on a large snapshot they may work out their
#: answer while the input's checks still run (manifests.deferred_checks), and print it after.
_ANSWERS_ONLY = frozenset({"route", "trace", "dns", "diagnose", "rules", "simulate", "request", "reach"})


def _answer_once_checked(args) -> int:
    """_command, with what it prints held until every input it loaded has passed its checks:
    then printed as it was written (notes first); or dropped, and the problems raised, when
    one failed them, since an answer about a half-valid cluster must never be shown."""
    from .manifests import Reread
    try:
        return _held_answer(args)
    except Reread:
        # The input needed converting (a float port, a number as a key): the answer held was
        # worked out from it unconverted; it is dropped, and worked out again in one step.
        return _command(args)


def _held_answer(args) -> int:
    """_command inside manifests.deferred_checks, what it prints held until the checks end."""
    import io
    from .manifests import deferred_checks
    held_out, held_err = io.StringIO(), io.StringIO()
    real_out, real_err = sys.stdout, sys.stderr
    failure = None
    with deferred_checks() as checks:
        sys.stdout, sys.stderr = held_out, held_err
        try:
            code = _command(args)
        except KeyboardInterrupt:
            raise
        except BaseException as e:           # the checks come first: bad input explains it
            failure = e
        finally:
            sys.stdout, sys.stderr = real_out, real_err
        checks.wait()
    real_err.write(held_err.getvalue())      # what was printed before a failure, as without holding
    real_out.write(held_out.getvalue())
    if failure is not None:
        raise failure
    return code


def _command(args) -> int:
    if args.command == "route":
        cluster, r = _route(args)
        _notes(cluster)
        print(json.dumps(r.to_dict(), indent=2) if args.json else r.text())
        return 0
    if args.command == "validate":
        problems, count = _validate(args.files, args.service_cidr)
        for line in shown_problems(problems):      # the first hundred, then how many more
            print(line)
        if problems:
            print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
            return 1
        print(f"ok: no problems in {count} file{'s' if count != 1 else ''}")
        return 0
    if args.command == "draw":
        if (done := _draw_checked(args)) is not None:
            return done
        from .draw import draw
        cluster, r = _route(args)
        _notes(cluster)
        draw(r).save(args.output)
        print(f"wrote {args.output}")
        return 0
    if args.command == "rules":
        from .proxy import rules
        cluster = _cluster(args)
        _notes(cluster)
        mode = args.mode or cluster.proxy.mode or "iptables"
        sys.stdout.write(rules(cluster, args.node, mode=mode, explain=args.explain))
        return 0
    if args.command == "simulate":
        from .simulate import simulate
        cluster, r = _route(args)
        _notes(cluster)
        if not r.reachable:
            return _no_requests_arrive(r, args)
        sim = simulate(r, args.requests, connections=args.connections, clients=args.clients,
                       seed=args.seed)
        print(json.dumps(sim.to_dict(), indent=2) if args.json else sim.text())
        return 0
    if args.command == "trace":
        return _trace(args)
    if args.command == "diagnose":
        return _diagnose(args)
    if args.command == "request":
        return _request(args)
    if args.command == "reach":
        return _reach(args)
    if args.command == "snapshot":
        return _snapshot(args)
    if args.command == "dns":
        from .dns import lookup
        cluster = _cluster(args)
        _notes(cluster)
        result = lookup(cluster, args.client, args.name, args.type)
        print(json.dumps(result.to_dict(), indent=2) if args.json else result.text())
        return 0
    raise AssertionError(args.command)


def _no_requests_arrive(r, args) -> int:
    """`simulate` on a route that reaches no pod: an answer (zero counts and the reason), not an
    error. The JSON is DESIGN.md's simulate shape, plus the route's reachable, code and reason."""
    connections = args.requests if args.connections is None else args.connections
    if connections > args.requests:       # the check simulate() makes on a reachable route
        raise K8slabError(f"connections: at most {args.requests:,} (got {connections:,})")
    port = f":{r.port.port}" if r.port else ""
    if args.json:
        print(json.dumps({"requests": args.requests, "connections": connections,
                          "clients": args.clients, "pods": {}, "expected": {},
                          "reachable": False, "code": r.code, "reason": r.reason}, indent=2))
        return 0
    print(f"{r.client} -> {r.service.key}{port}: unreachable ({r.code}): none of the "
          f"{args.requests:,} request{'s' if args.requests != 1 else ''} reaches a pod.\n\n"
          f"Why: {r.reason}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; exit codes: 0 done, 1 invalid input, 2 usage."""
    for stream in (sys.stdout, sys.stderr):   # a name no terminal can print is escaped, not fatal
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except K8slabError as e:
        print(f"k8slab: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:       # the output could not be written (a full disk); reading is K8slabError's
        print(f"k8slab: could not write the output: {e.strerror or e}", file=sys.stderr)
        return 1


def console() -> None:
    """The `k8slab` command itself (and `python -m k8slab`): main(), then exit with its code.

    Two process-only settings, here and never in main() (a program that calls main() goes on
    living): a high collector threshold, and an exit without Python's teardown.
    """
    import gc
    import os
    # A run allocates mostly trees (YAML, the model, DOT lines) that reference counting frees;
    # at the default threshold (700) the collector still runs ~40 times, ~5 ms, looking for
    # cycles that hardly exist. A high first threshold, as mypy's command line sets, leaves a
    # few collections, so memory stays bounded on a huge input.
    gc.set_threshold(100_000, 20, 20)
    # This process runs no other thread: a large snapshot may be checked in a forked child
    # while the model is built here (_forked says why only the command line forks).
    from .manifests import allow_forking
    allow_forking()
    code = main()
    # Python's finalization frees every object the run made, one by one, then collects: ~15 ms
    # after a draw, and ~0.15 s after a 5,000-Service snapshot (issue 22's budget), for memory
    # the OS takes back at once. So the output is flushed, as finalization would, and the
    # process ends there. (Nothing k8slab registers with atexit matters past this point: the
    # renderer's release only keeps wasmtime quiet during a teardown that no longer happens.)
    try:
        sys.stdout.flush()
    except BrokenPipeError:               # `k8slab rules ... | head`: the reader left; not an error
        pass
    except OSError as e:                  # a full disk, say: the output is incomplete, so say so
        print(f"k8slab: could not write the output: {e.strerror or e}", file=sys.stderr)
        code = code or 1
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":
    console()
