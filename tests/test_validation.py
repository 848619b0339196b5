"""Each broken field yields exactly the API server's message; nothing ever raises."""

import copy
import datetime
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8slab._validation import NODE_PORT_RANGE, FieldProblem, validate_object, validate_together

# The format messages, written out in full as the API server prints them.
DNS1035 = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
           "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
           "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
         "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for "
         "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
             "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
             r"validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
KEY_NAME = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
            "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
            "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
               "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
               "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")
IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
PORT = "must be between 1 and 65535, inclusive"
RANGE = "provided port is not in the valid range. The range of valid ports is 30000-32767"
MISMATCH = "`selector` does not match template `labels`"

SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}
POD_SPEC = {"containers": [{"name": "web", "image": "nginx:1.27",
                            "ports": [{"name": "http", "containerPort": 8080}]}]}
TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": POD_SPEC}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "labels": {"app": "web"}},
       "spec": POD_SPEC, "status": {"podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}]}}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE}}
RS, STS, DS = ({**DEPLOY, "kind": kind} for kind in ("ReplicaSet", "StatefulSet", "DaemonSet"))
RC = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "web"},
      "spec": {"replicas": 2, "selector": {"app": "web"}, "template": TEMPLATE}}
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "kind-worker"},
        "spec": {"podCIDR": "10.244.1.0/24"},
        "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.3"}]}}
EPS = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
       "metadata": {"name": "web-abc12", "labels": {"kubernetes.io/service-name": "web"}},
       "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.1.5"], "conditions": {"ready": True}}],
       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}

DELETE = object()


def with_(base, changes):
    """A deep copy of base with each dotted path (e.g. "spec.ports[0].port") set, or deleted."""
    obj = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = [int(s[1:-1]) if s[0] == "[" else s for s in re.findall(r"\[\d+\]|[^.\[]+", path)]
        node = obj
        for step in parents:
            node = node[step] if isinstance(step, int) or step in node else node.setdefault(step, {})
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return obj


def messages(obj, **kwargs):
    return [str(p) for p in validate_object(obj, **kwargs)]


def case(name, obj, *expected):
    """One row: what it proves, the object, and every message the server would print for it."""
    return pytest.param(obj, list(expected), id=name)


NODEPORT = {"spec.type": "NodePort", "spec.ports[0].nodePort": 30080}
LB_LOCAL = {"spec.type": "LoadBalancer", "spec.externalTrafficPolicy": "Local"}
ONLY_LB = "may only be used when `type` is 'LoadBalancer'"
PROTOCOLS = 'supported values: "SCTP", "TCP", "UDP"'


def selector(*exprs):
    return {"spec.selector": {"matchExpressions": [dict(zip(("key", "operator", "values"), e)) for e in exprs]}}


CASES = [
    # --- valid objects -------------------------------------------------------------------
    case("valid-clusterip-service", SVC),
    case("valid-nodeport-service", with_(SVC, NODEPORT)),
    case("valid-local-loadbalancer", with_(SVC, {**LB_LOCAL, "spec.healthCheckNodePort": 31000})),
    case("headless-service-needs-no-ports", with_(SVC, {"spec.clusterIP": "None", "spec.ports": DELETE})),
    case("externalname-may-end-in-a-dot-and-keep-ports",
         with_(SVC, {"spec.type": "ExternalName", "spec.externalName": "db.example.com."})),
    case("whole-float-port-is-an-integer", with_(SVC, {"spec.ports[0].port": 80.0})),
    case("targetport-zero-defaults-to-port", with_(SVC, {"spec.ports[0].targetPort": 0})),
    case("affinity-config-is-dropped-when-affinity-is-none",
         with_(SVC, {"spec.sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}})),
    case("session-affinity-timeout-defaults", with_(SVC, {"spec.sessionAffinity": "ClientIP"})),
    case("clusterip-with-externalips-is-externally-accessible",
         with_(SVC, {"spec.externalIPs": ["192.0.2.10"], "spec.externalTrafficPolicy": "Local"})),
    case("same-port-number-for-tcp-and-udp",
         with_(SVC, {"spec.ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]})),
    # issue 23.7: apimachinery/pkg/api/validation/ip.go parseIP under StrictIPCIDRValidation
    # (KEP-4858, on by default since 1.33): sloppy-parsable, but not for a new object.
    case("clusterip-leading-zero-is-refused", with_(SVC, {"spec.clusterIP": "10.96.0.010"}),
         'spec.clusterIPs[0]: Invalid value: "10.96.0.010": must not have leading 0s'),
    case("valid-pod", POD),
    case("pod-names-are-subdomains", with_(POD, {"metadata.name": "web.v1"})),
    case("valid-deployment", DEPLOY),
    case("matchexpressions-selector-matches", with_(DEPLOY, selector(("app", "In", ["web", "api"])))),
    case("valid-replicaset", RS),
    case("valid-statefulset", STS),
    case("valid-daemonset", DS),
    case("valid-replicationcontroller", RC),
    case("rc-selector-defaults-to-template-labels", with_(RC, {"spec.selector": DELETE})),
    case("valid-node", NODE),
    case("node-namespace-is-cleared", with_(NODE, {"metadata.namespace": "default"})),
    case("valid-endpointslice", EPS),
    case("endpointslice-ports-have-no-range", with_(EPS, {"ports[0].port": 70000})),
    case("unknown-kinds-are-not-checked", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad"}}),
    case("empty-yaml-document", None),
    # --- kind and apiVersion -------------------------------------------------------------
    case("service-under-apps-v1", with_(SVC, {"apiVersion": "apps/v1"}),
         'apiVersion: no matches for kind "Service" in version "apps/v1"'),
    case("deployment-under-removed-version", with_(DEPLOY, {"apiVersion": "extensions/v1beta1"}),
         'apiVersion: no matches for kind "Deployment" in version "extensions/v1beta1"'),
    case("apiversion-missing", with_(SVC, {"apiVersion": DELETE}), "apiVersion: apiVersion not set"),
    case("document-is-a-list", ["not", "an", "object"],
         "json: cannot unmarshal array into Go value of type map[string]interface {}"),
    # --- metadata ------------------------------------------------------------------------
    case("service-name-uppercase", with_(SVC, {"metadata.name": "Web"}),
         f'metadata.name: Invalid value: "Web": {DNS1035}'),
    case("service-name-starts-with-digit", with_(SVC, {"metadata.name": "1web"}),
         f'metadata.name: Invalid value: "1web": {DNS1035}'),
    case("service-name-too-long", with_(SVC, {"metadata.name": "a" * 64}),
         f'metadata.name: Invalid value: "{"a" * 64}": must be no more than 63 characters'),
    case("name-missing", with_(SVC, {"metadata.name": DELETE}),
         "metadata.name: Required value: name or generateName is required"),
    case("generatename-instead-of-name", with_(SVC, {"metadata.name": DELETE, "metadata.generateName": "web-"})),
    case("namespace-not-a-dns-label", with_(SVC, {"metadata.namespace": "Team_A"}),
         f'metadata.namespace: Invalid value: "Team_A": {LABEL}'),
    case("label-key-with-space", with_(SVC, {"metadata.labels": {"app name": "web"}}),
         f'metadata.labels: Invalid value: "app name": {KEY_NAME}'),
    case("label-key-with-two-slashes", with_(SVC, {"metadata.labels": {"a/b/c": "web"}}),
         "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, "
         "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
         "or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
         "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
    case("label-key-empty-prefix", with_(SVC, {"metadata.labels": {"/app": "web"}}),
         'metadata.labels: Invalid value: "/app": prefix part must be non-empty'),
    case("label-value-starts-with-dash", with_(SVC, {"metadata.labels": {"app": "-web"}}),
         f'metadata.labels: Invalid value: "-web": {LABEL_VALUE}'),
    case("label-value-is-a-number", with_(SVC, {"metadata.labels": {"version": 1.0}}),
         "metadata.labels[version]: json: cannot unmarshal number into Go struct field "
         "ObjectMeta.metadata.labels of type string"),
    case("label-value-yaml-yes-is-a-bool", with_(SVC, {"metadata.labels": {"canary": True}}),
         "metadata.labels[canary]: json: cannot unmarshal bool into Go struct field "
         "ObjectMeta.metadata.labels of type string"),
    case("label-value-yaml-date-is-a-string", with_(SVC, {"metadata.labels": {"on": datetime.date(2024, 5, 1)}})),
    case("metadata-is-a-list-and-nothing-follows-from-it", with_(SVC, {"metadata": ["web"]}),
         "metadata: json: cannot unmarshal array into Go struct field Service.metadata of type v1.ObjectMeta"),
    # --- Service spec --------------------------------------------------------------------
    case("service-type-misspelt", with_(SVC, {"spec.type": "Nodeport"}),
         'spec.type: Unsupported value: "Nodeport": supported values: "ClusterIP", "ExternalName", '
         '"LoadBalancer", "NodePort"'),
    case("ports-missing", with_(SVC, {"spec.ports": DELETE}), "spec.ports: Required value"),
    case("ports-is-a-string", with_(SVC, {"spec.ports": "80"}),
         "spec.ports: json: cannot unmarshal string into Go struct field ServiceSpec.spec.ports of type "
         "[]v1.ServicePort"),
    case("port-entry-is-a-string", with_(SVC, {"spec.ports": ["80"]}),
         "spec.ports[0]: json: cannot unmarshal string into Go struct field ServiceSpec.spec.ports of type "
         "v1.ServicePort"),
    case("port-out-of-range", with_(SVC, {"spec.ports[0].port": 70000}),
         f"spec.ports[0].port: Invalid value: 70000: {PORT}"),
    case("port-missing-and-targetport-defaults-to-it",
         with_(SVC, {"spec.ports[0].port": DELETE, "spec.ports[0].targetPort": DELETE}),
         f"spec.ports[0].port: Invalid value: 0: {PORT}", f"spec.ports[0].targetPort: Invalid value: 0: {PORT}"),
    case("port-is-a-string", with_(SVC, {"spec.ports[0].port": "eighty"}),
         "spec.ports[0].port: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port "
         "of type int32"),
    case("port-is-a-fraction", with_(SVC, {"spec.ports[0].port": 80.5}),
         "spec.ports[0].port: json: cannot unmarshal number 80.5 into Go struct field ServicePort.spec.ports.port "
         "of type int32"),
    case("protocol-lowercase", with_(SVC, {"spec.ports[0].protocol": "tcp"}),
         f'spec.ports[0].protocol: Unsupported value: "tcp": {PROTOCOLS}'),
    case("second-port-unnamed", with_(SVC, {"spec.ports": [{"name": "http", "port": 80}, {"port": 443}]}),
         "spec.ports[1].name: Required value"),
    case("port-name-not-a-dns-label", with_(SVC, {"spec.ports[0].name": "HTTP"}),
         f'spec.ports[0].name: Invalid value: "HTTP": {LABEL}'),
    case("port-names-repeat",
         with_(SVC, {"spec.ports": [{"name": "http", "port": 80}, {"name": "http", "port": 81}]}),
         'spec.ports[1].name: Duplicate value: "http"'),
    case("port-and-protocol-repeat",
         with_(SVC, {"spec.ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80, "targetPort": 81}]}),
         'spec.ports[1]: Duplicate value: {"Name":"","Protocol":"TCP","AppProtocol":null,"Port":80,'
         '"TargetPort":0,"NodePort":0}'),
    case("targetport-quoted-number", with_(SVC, {"spec.ports[0].targetPort": "80"}),
         'spec.ports[0].targetPort: Invalid value: "80": must contain at least one letter (a-z)'),
    case("targetport-name-with-underscore", with_(SVC, {"spec.ports[0].targetPort": "http_web"}),
         'spec.ports[0].targetPort: Invalid value: "http_web": must contain only alpha-numeric characters '
         "(a-z, 0-9), and hyphens (-)"),
    case("targetport-name-hyphens", with_(SVC, {"spec.ports[0].targetPort": "-web--api"}),
         'spec.ports[0].targetPort: Invalid value: "-web--api": must not contain consecutive hyphens',
         'spec.ports[0].targetPort: Invalid value: "-web--api": must not begin or end with a hyphen'),
    case("targetport-name-too-long", with_(SVC, {"spec.ports[0].targetPort": "metrics-exporter"}),
         'spec.ports[0].targetPort: Invalid value: "metrics-exporter": must be no more than 15 characters'),
    case("targetport-negative", with_(SVC, {"spec.ports[0].targetPort": -1}),
         f"spec.ports[0].targetPort: Invalid value: -1: {PORT}"),
    case("targetport-is-a-bool", with_(SVC, {"spec.ports[0].targetPort": True}),
         "spec.ports[0].targetPort: json: cannot unmarshal bool into Go value of type int32"),
    case("nodeport-on-clusterip", with_(SVC, {"spec.ports[0].nodePort": 30080}),
         "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    case("nodeport-below-range", with_(SVC, {**NODEPORT, "spec.ports[0].nodePort": 80}),
         f"spec.ports[0].nodePort: Invalid value: 80: {RANGE}"),
    case("nodeport-twice-for-one-protocol",
         with_(SVC, {"spec.type": "NodePort", "spec.ports": [{"name": "a", "port": 80, "nodePort": 30080},
                                                             {"name": "b", "port": 81, "nodePort": 30080}]}),
         "spec.ports[1].nodePort: Duplicate value: 30080"),
    case("nodeport-shared-by-tcp-and-udp",
         with_(SVC, {"spec.type": "NodePort",
                     "spec.ports": [{"name": "a", "port": 53, "protocol": "UDP", "nodePort": 30053},
                                    {"name": "b", "port": 53, "nodePort": 30053}]})),
    case("externalname-missing", with_(SVC, {"spec.type": "ExternalName"}), "spec.externalName: Required value"),
    case("externalname-uppercase", with_(SVC, {"spec.type": "ExternalName", "spec.externalName": "DB.example.com"}),
         f'spec.externalName: Invalid value: "DB.example.com": {SUBDOMAIN}'),
    case("externalname-with-clusterip",
         with_(SVC, {"spec.type": "ExternalName", "spec.externalName": "db.example.com",
                     "spec.clusterIP": "10.96.0.50"}),
         "spec.clusterIPs: Forbidden: may not be set for ExternalName services"),
    case("headless-nodeport", with_(SVC, {**NODEPORT, "spec.clusterIP": "None"}),
         "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort services"),
    case("headless-loadbalancer", with_(SVC, {"spec.type": "LoadBalancer", "spec.clusterIP": "None"}),
         "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for LoadBalancer services"),
    case("clusterip-not-an-ip", with_(SVC, {"spec.clusterIP": "10.96.0.300"}),
         f'spec.clusterIPs[0]: Invalid value: "10.96.0.300": {IP}'),
    case("clusterips-disagree-with-clusterip",
         with_(SVC, {"spec.clusterIP": "10.96.0.10", "spec.clusterIPs": ["10.96.0.11"]}),
         'spec.clusterIPs: Invalid value: ["10.96.0.11"]: first value must match `clusterIP`'),
    case("clusterips-without-clusterip", with_(SVC, {"spec.clusterIPs": ["10.96.0.11"]}),
         'spec.clusterIPs: Invalid value: ["10.96.0.11"]: must be empty when `clusterIP` is not specified'),
    case("clusterips-two-ipv4",
         with_(SVC, {"spec.clusterIP": "10.96.0.10", "spec.clusterIPs": ["10.96.0.10", "10.96.0.11"]}),
         'spec.clusterIPs: Invalid value: ["10.96.0.10","10.96.0.11"]: may specify no more than one IP '
         "for each IP family"),
    case("external-traffic-policy-on-clusterip", with_(SVC, {"spec.externalTrafficPolicy": "Local"}),
         'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'),
    case("external-traffic-policy-old-name", with_(SVC, {**NODEPORT, "spec.externalTrafficPolicy": "Global"}),
         'spec.externalTrafficPolicy: Unsupported value: "Global": supported values: "Cluster", "Local"'),
    case("internal-traffic-policy-unknown", with_(SVC, {"spec.internalTrafficPolicy": "Node"}),
         'spec.internalTrafficPolicy: Unsupported value: "Node": supported values: "Cluster", "Local"'),
    case("health-check-port-on-nodeport",
         with_(SVC, {**NODEPORT, "spec.externalTrafficPolicy": "Local", "spec.healthCheckNodePort": 31000}),
         "spec.healthCheckNodePort: Invalid value: 31000: may only be set when `type` is 'LoadBalancer' "
         "and `externalTrafficPolicy` is 'Local'"),
    case("health-check-port-below-range", with_(SVC, {**LB_LOCAL, "spec.healthCheckNodePort": 8080}),
         "spec.healthCheckNodePort: Internal error occurred: failed to allocate requested HealthCheck "
         f"NodePort 8080: {RANGE}"),
    case("health-check-port-is-own-nodeport",
         with_(SVC, {**LB_LOCAL, "spec.ports[0].nodePort": 31000, "spec.healthCheckNodePort": 31000}),
         "spec.healthCheckNodePort: Internal error occurred: failed to allocate requested HealthCheck "
         "NodePort 31000: provided port is already allocated"),
    case("session-affinity-unknown", with_(SVC, {"spec.sessionAffinity": "Sticky"}),
         'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'),
    case("session-affinity-timeout-too-long",
         with_(SVC, {"spec.sessionAffinity": "ClientIP",
                     "spec.sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 90000}}}),
         "spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 90000: must be greater than 0 "
         "and less than 86400"),
    case("selector-value-with-space", with_(SVC, {"spec.selector": {"app": "web server"}}),
         f'spec.selector: Invalid value: "web server": {LABEL_VALUE}'),
    case("external-ips-special-or-bad", with_(SVC, {"spec.externalIPs": ["0.0.0.0", "127.0.0.1", "192.0.2"]}),
         'spec.externalIPs[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
         'spec.externalIPs[1]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
         f'spec.externalIPs[2]: Invalid value: "192.0.2": {IP}'),
    case("source-ranges-on-clusterip", with_(SVC, {"spec.loadBalancerSourceRanges": ["10.0.0.0/8"]}),
         f"spec.LoadBalancerSourceRanges: Forbidden: {ONLY_LB}"),
    case("source-range-bad-cidr",
         with_(SVC, {"spec.type": "LoadBalancer", "spec.loadBalancerSourceRanges": [" 10.0.0.0/8", "10.0.0.0/33"]}),
         f'spec.LoadBalancerSourceRanges[1]: Invalid value: "10.0.0.0/33": {CIDR}'),
    case("allocate-node-ports-on-nodeport", with_(SVC, {**NODEPORT, "spec.allocateLoadBalancerNodePorts": False}),
         f"spec.allocateLoadBalancerNodePorts: Forbidden: {ONLY_LB}"),
    case("load-balancer-class-on-clusterip", with_(SVC, {"spec.loadBalancerClass": "example.com/lb"}),
         f"spec.loadBalancerClass: Forbidden: {ONLY_LB}"),
    case("traffic-distribution-unknown", with_(SVC, {"spec.trafficDistribution": "PreferNearby"}),
         'spec.trafficDistribution: Unsupported value: "PreferNearby": supported values: "PreferClose", "PreferSameNode", "PreferSameZone"'),
    case("publish-not-ready-is-a-string", with_(SVC, {"spec.publishNotReadyAddresses": "yes"}),
         "spec.publishNotReadyAddresses: json: cannot unmarshal string into Go struct field "
         "ServiceSpec.spec.publishNotReadyAddresses of type bool"),
    # --- Pods and templates --------------------------------------------------------------
    case("pod-without-containers", with_(POD, {"spec.containers": DELETE}), "spec.containers: Required value"),
    case("container-name-and-image-missing",
         with_(POD, {"spec.containers[0].name": DELETE, "spec.containers[0].image": DELETE}),
         "spec.containers[0].name: Required value", "spec.containers[0].image: Required value"),
    case("container-name-not-a-dns-label", with_(POD, {"spec.containers[0].name": "Web_1"}),
         f'spec.containers[0].name: Invalid value: "Web_1": {LABEL}'),
    case("container-names-repeat",
         with_(POD, {"spec.containers": [{"name": "web", "image": "a"}, {"name": "web", "image": "b"}]}),
         'spec.containers[1].name: Duplicate value: "web"'),
    case("unnamed-containers-are-duplicates-too", with_(POD, {"spec.containers": [{"image": "a"}, {"image": "b"}]}),
         "spec.containers[0].name: Required value", "spec.containers[1].name: Required value",
         'spec.containers[1].name: Duplicate value: ""'),
    case("container-port-missing", with_(POD, {"spec.containers[0].ports[0].containerPort": DELETE}),
         "spec.containers[0].ports[0].containerPort: Required value"),
    case("container-port-too-big", with_(POD, {"spec.containers[0].ports[0].containerPort": 80800}),
         f"spec.containers[0].ports[0].containerPort: Invalid value: 80800: {PORT}"),
    case("container-port-name-uppercase", with_(POD, {"spec.containers[0].ports[0].name": "HTTP"}),
         'spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain only alpha-numeric characters '
         "(a-z, 0-9), and hyphens (-)",
         'spec.containers[0].ports[0].name: Invalid value: "HTTP": must contain at least one letter (a-z)'),
    case("container-port-names-repeat",
         with_(POD, {"spec.containers[0].ports": [{"name": "http", "containerPort": 80},
                                                  {"name": "http", "containerPort": 81}]}),
         'spec.containers[0].ports[1].name: Duplicate value: "http"'),
    case("port-names-are-unique-per-container-only",
         with_(POD, {"spec.containers": [
             {"name": "a", "image": "a", "ports": [{"name": "http", "containerPort": 80}]},
             {"name": "b", "image": "b", "ports": [{"name": "http", "containerPort": 81}]}]})),
    case("container-port-protocol-http", with_(POD, {"spec.containers[0].ports[0].protocol": "HTTP"}),
         f'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": {PROTOCOLS}'),
    case("pod-node-name-bad", with_(POD, {"spec.nodeName": "Kind_Worker"}),
         f'spec.nodeName: Invalid value: "Kind_Worker": {SUBDOMAIN}'),
    case("restart-policy-unknown", with_(POD, {"spec.restartPolicy": "Sometimes"}),
         'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    case("status-pod-ip-bad", with_(POD, {"status.podIP": "10.244.1"}),
         f'status.podIP: Invalid value: "10.244.1": {IP}'),
    case("status-conditions-not-a-list", with_(POD, {"status.conditions": "Ready"}),
         "status.conditions: json: cannot unmarshal string into Go struct field PodStatus.status.conditions "
         "of type []v1.PodCondition"),
    # --- Deployment, ReplicaSet, StatefulSet, DaemonSet, ReplicationController ------------------
    case("deployment-name-uppercase", with_(DEPLOY, {"metadata.name": "Web"}),
         f'metadata.name: Invalid value: "Web": {SUBDOMAIN}'),
    case("deployment-selector-missing", with_(DEPLOY, {"spec.selector": DELETE}),
         "spec.selector: Required value",
         f'spec.template.metadata.labels: Invalid value: {{"app":"web"}}: {MISMATCH}'),
    case("deployment-selector-mismatch", with_(DEPLOY, {"spec.selector.matchLabels": {"app": "api"}}),
         f'spec.template.metadata.labels: Invalid value: {{"app":"web"}}: {MISMATCH}'),
    case("template-without-labels", with_(DEPLOY, {"spec.template.metadata.labels": DELETE}),
         f"spec.template.metadata.labels: Invalid value: null: {MISMATCH}"),
    case("deployment-selector-empty", with_(DEPLOY, {"spec.selector": {}}),
         "spec.selector: Invalid value: {}: empty selector is invalid for deployment"),
    case("selector-operator-unknown", with_(DEPLOY, selector(("app", "Equals", ["web"]))),
         'spec.selector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator',
         'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Equals","values":["web"]}]}: '
         "invalid label selector"),
    case("selector-in-without-values", with_(DEPLOY, selector(("app", "In"))),
         "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is "
         "'In' or 'NotIn'",
         'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"In"}]}: '
         "invalid label selector"),
    case("selector-exists-with-values", with_(DEPLOY, selector(("app", "Exists", ["web"]))),
         "spec.selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is "
         "'Exists' or 'DoesNotExist'",
         'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Exists","values":["web"]}]}: '
         "invalid label selector"),
    case("replicas-negative", with_(DEPLOY, {"spec.replicas": -1}),
         "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    case("replicas-is-a-string", with_(DEPLOY, {"spec.replicas": "3"}),
         "spec.replicas: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas "
         "of type int32"),
    case("deployment-pods-must-restart-always", with_(DEPLOY, {"spec.template.spec.restartPolicy": "Never"}),
         'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    case("template-container-port-zero",
         with_(DEPLOY, {"spec.template.spec.containers[0].ports[0].containerPort": 0}),
         "spec.template.spec.containers[0].ports[0].containerPort: Required value"),
    case("template-label-value-bad",
         with_(DEPLOY, {"spec.template.metadata.labels": {"app": "web", "tier": "front end"}}),
         f'spec.template.labels: Invalid value: "front end": {LABEL_VALUE}'),
    case("selector-value-is-a-number", with_(DEPLOY, {"spec.selector.matchLabels": {"app": 1}}),
         "spec.selector.matchLabels[app]: json: cannot unmarshal number into Go struct field "
         "LabelSelector.spec.selector.matchLabels of type string"),
    case("replicaset-empty-selector-says-deployment", with_(RS, {"spec.selector": {}}),
         "spec.selector: Invalid value: {}: empty selector is invalid for deployment"),
    case("statefulset-name-must-be-a-dns-label", with_(STS, {"metadata.name": "web.v1"}),
         'metadata.name: Invalid value: "web.v1": must not contain dots'),
    case("statefulset-service-name-is-a-string", with_(STS, {"spec.serviceName": 5}),
         "spec.serviceName: json: cannot unmarshal number into Go struct field StatefulSetSpec.spec.serviceName "
         "of type string"),
    case("statefulset-pod-spec-is-not-checked", with_(STS, {"spec.template.spec.containers": DELETE})),
    case("statefulset-pods-must-restart-always", with_(STS, {"spec.template.spec.restartPolicy": "OnFailure"}),
         'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"'),
    case("statefulset-selector-empty", with_(STS, {"spec.selector": {}}),
         "spec.selector: Invalid value: {}: empty selector is invalid for statefulset"),
    case("statefulset-bad-selector-has-no-detail", with_(STS, selector(("app", "Equals"))),
         'spec.selector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator',
         'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Equals"}]}'),
    case("daemonset-selector-missing-is-only-a-mismatch", with_(DS, {"spec.selector": DELETE}),
         f'spec.template.metadata.labels: Invalid value: {{"app":"web"}}: {MISMATCH}'),
    case("daemonset-selector-empty", with_(DS, {"spec.selector": {}}),
         "spec.selector: Invalid value: {}: empty selector is invalid for daemonset"),
    case("rc-selector-mismatch", with_(RC, {"spec.selector": {"app": "api"}}),
         f'spec.template.metadata.labels: Invalid value: {{"app":"web"}}: {MISMATCH}'),
    case("rc-without-template", with_(RC, {"spec.selector": DELETE, "spec.template": DELETE}),
         "spec.selector: Required value", "spec.template: Required value"),
    # --- Node and EndpointSlice -----------------------------------------------------------
    case("node-name-bad", with_(NODE, {"metadata.name": "Worker_1"}),
         f'metadata.name: Invalid value: "Worker_1": {SUBDOMAIN}'),
    case("node-pod-cidr-bad", with_(NODE, {"spec.podCIDR": "10.244.1.0/40"}),
         f'spec.podCIDRs[0]: Invalid value: "10.244.1.0/40": {CIDR}'),
    case("node-two-ipv4-pod-cidrs", with_(NODE, {"spec.podCIDRs": ["10.244.1.0/24", "10.245.1.0/24"]}),
         'spec.podCIDRs: Invalid value: ["10.244.1.0/24","10.245.1.0/24"]: may specify no more than one '
         "CIDR for each IP family"),
    case("node-address-is-a-list", with_(NODE, {"status.addresses[0].address": ["172.18.0.3"]}),
         "status.addresses[0].address: json: cannot unmarshal array into Go struct field "
         "NodeAddress.status.addresses.address of type string"),
    case("address-type-missing", with_(EPS, {"addressType": DELETE}), "addressType: Required value"),
    case("address-type-ip", with_(EPS, {"addressType": "IP"}),
         'addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'),
    case("endpoint-without-addresses", with_(EPS, {"endpoints[0].addresses": []}),
         "endpoints[0].addresses: Required value: must contain at least 1 address"),
    case("endpoint-with-101-addresses",
         with_(EPS, {"endpoints[0].addresses": [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(101)]}),
         "endpoints[0].addresses: Too many: 101: must have at most 100 items"),
    case("endpoint-address-not-an-ip", with_(EPS, {"endpoints[0].addresses": ["10.244.1.300"]}),
         'endpoints[0].addresses[0]: Invalid value: "10.244.1.300": must be a valid IPv4 address',
         'endpoints[0].addresses[0]: Invalid value: "10.244.1.300": must be a valid IP address'),
    case("endpoint-ipv6-address-in-ipv4-slice", with_(EPS, {"endpoints[0].addresses": ["fd00::5"]}),
         'endpoints[0].addresses[0]: Invalid value: "fd00::5": must be a valid IPv4 address'),
    case("endpoint-address-link-local", with_(EPS, {"endpoints[0].addresses": ["169.254.169.254"]}),
         'endpoints[0].addresses[0]: Invalid value: "169.254.169.254": may not be in the link-local range '
         "(169.254.0.0/16, fe80::/10)"),
    case("endpoint-fqdn-single-label", with_(EPS, {"addressType": "FQDN", "endpoints[0].addresses": ["localhost"]}),
         'endpoints[0].addresses[0]: Invalid value: "localhost": should be a domain with at least two '
         "segments separated by dots"),
    case("endpointslice-unnamed-ports-clash", with_(EPS, {"ports": [{"port": 80}, {"port": 443}]}),
         'ports[1].name: Duplicate value: ""'),
    case("endpointslice-port-name-and-protocol", with_(EPS, {"ports[0].name": "HTTP", "ports[0].protocol": "HTTP"}),
         f'ports[0].name: Invalid value: "HTTP": {LABEL}',
         f'ports[0].protocol: Unsupported value: "HTTP": {PROTOCOLS}'),
]


@pytest.mark.parametrize(("obj", "expected"), CASES)
def test_validate_object(obj, expected):
    assert messages(obj) == expected


def test_node_port_range_can_be_changed():
    svc = with_(SVC, {**NODEPORT, "spec.ports[0].nodePort": 30080})
    assert messages(svc, node_port_range=(31000, 31999)) == [
        "spec.ports[0].nodePort: Invalid value: 30080: provided port is not in the valid range. "
        "The range of valid ports is 31000-31999"]
    assert NODE_PORT_RANGE == (30000, 32767)


def test_problem_prints_with_and_without_path():
    assert str(FieldProblem("spec.type", "Required value")) == "spec.type: Required value"
    assert str(FieldProblem("", "apiVersion not set")) == "apiVersion not set"


def test_strings_print_as_go_quotes_them():
    svc = with_(SVC, {"metadata.name": 'we"b\tä\x01'})
    assert messages(svc)[0].startswith(r'metadata.name: Invalid value: "we\"b\tä\x01": ')


# --- validate_together --------------------------------------------------------------------


def together(objs):
    return [(i, str(p)) for i, p in validate_together(objs)]


def test_together_second_object_with_same_name_already_exists():
    assert together([SVC, with_(SVC, {"metadata.namespace": "default"}), DEPLOY, DEPLOY]) == [
        (1, 'metadata.name: services "web" already exists'),
        (3, 'metadata.name: deployments.apps "web" already exists')]


def test_together_same_name_in_other_namespace_or_kind_is_fine():
    assert together([SVC, with_(SVC, {"metadata.namespace": "shop"}), DEPLOY, RS, POD]) == []


def test_together_nodes_ignore_namespaces():
    assert together([NODE, with_(NODE, {"metadata.namespace": "other"})]) == [
        (1, 'metadata.name: nodes "kind-worker" already exists')]


def test_together_node_port_taken_by_another_service():
    other = with_(SVC, {**NODEPORT, "metadata.name": "api", "metadata.namespace": "shop"})
    assert together([with_(SVC, NODEPORT), other]) == [
        (1, "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated")]


def test_together_recreated_service_reports_its_port_not_its_name():
    # The allocator runs before storage, so this is what `kubectl create` says the second time.
    assert together([with_(SVC, NODEPORT), with_(SVC, NODEPORT)]) == [
        (1, "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated")]


def test_together_cluster_ip_taken():
    first = with_(SVC, {"spec.clusterIP": "10.96.0.10"})
    second = with_(SVC, {"metadata.name": "dns", "spec.clusterIP": "10.96.0.10"})  # the same address
    assert together([first, second]) == [
        (1, 'spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: '
            "provided IP is already allocated")]


def test_together_health_check_port_taken_by_a_node_port():
    lb = with_(SVC, {**LB_LOCAL, "metadata.name": "lb", "spec.healthCheckNodePort": 30080})
    assert together([with_(SVC, NODEPORT), lb]) == [
        (1, "spec.healthCheckNodePort: Internal error occurred: failed to allocate requested HealthCheck "
            "NodePort 30080: provided port is already allocated")]


def test_together_rejected_or_unallocated_objects_hold_nothing():
    invalid = with_(SVC, {**NODEPORT, "metadata.name": "Bad"})  # rejected by validation
    headless = with_(SVC, {"metadata.name": "db", "spec.clusterIP": "None"})
    assert together([invalid, headless, with_(headless, {"metadata.name": "db2"}), with_(SVC, NODEPORT),
                     None, "junk", {"kind": "ConfigMap"}]) == []


# --- Nothing raises -------------------------------------------------------------------------

# Anything PyYAML's safe loader can produce, keys included.
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.dates()
JUNK = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=12) | st.integers() | st.booleans() | st.none(), inner, max_size=4), max_leaves=12)

FULL_SERVICE = with_(SVC, {
    **LB_LOCAL, "spec.healthCheckNodePort": 31000,
    "spec.clusterIP": "10.96.0.10", "spec.clusterIPs": ["10.96.0.10"],
    "spec.ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080, "protocol": "TCP",
                    "appProtocol": "http"}],
    "spec.externalIPs": ["192.0.2.1"], "spec.ipFamilies": ["IPv4"], "spec.loadBalancerSourceRanges": ["10.0.0.0/8"],
    "spec.sessionAffinity": "ClientIP", "spec.sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}})
FULL_DEPLOY = with_(DEPLOY, {"spec.selector.matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}],
                             "spec.template.metadata.labels.tier": "a"})
TARGETS = [FULL_SERVICE, FULL_DEPLOY, STS, DS, RC, POD, NODE, EPS]


def places(node, path=()):
    """The path to every value inside node, so that any one of them can be swapped out."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield path + (key,)
        yield from places(child, path + (key,))


def test_fuzz_targets_start_valid():
    assert [messages(obj) for obj in TARGETS] == [[]] * len(TARGETS)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_value_anywhere_in_a_valid_object_never_raises(data):
    obj = copy.deepcopy(data.draw(st.sampled_from(TARGETS)))
    *parents, last = data.draw(st.sampled_from(list(places(obj))))
    node = obj
    for key in parents:
        node = node[key]
    node[last] = data.draw(JUNK)
    problems = validate_object(obj)
    assert isinstance(problems, list) and all(isinstance(p, FieldProblem) for p in problems)
    assert all(str(p) for p in problems)
    assert all(isinstance(p, FieldProblem) for _, p in validate_together([obj, obj, SVC]))


@settings(max_examples=100, deadline=None)
@given(junk=JUNK)
def test_any_document_or_spec_never_raises(junk):
    assert all(isinstance(p, FieldProblem) for p in validate_object(junk))
    for kind in ("Service", "Deployment", "EndpointSlice"):
        version = "discovery.k8s.io/v1" if kind == "EndpointSlice" else "apps/v1" if kind == "Deployment" else "v1"
        obj = {"apiVersion": version, "kind": kind, "metadata": junk, "spec": junk, "endpoints": junk}
        assert all(isinstance(p, FieldProblem) for p in validate_object(obj))
