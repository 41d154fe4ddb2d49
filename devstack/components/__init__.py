"""Every component of the stack, in dependency order."""

from .argo import ArgoRolloutsController, ArgoWorkflowsCRDs
from .argo_workflows import ArgoServer, ArgoWorkflowController
from .containerd import Containerd
from .dns import CoreDNS
from .git import GitServer
from .helm import Helm
from .images import RollwayImages
from .keycloak import Keycloak
from .kube import ControllerManager, Etcd, KubeApiserver, Scheduler
from .kwok import Kwok
from .maven import MavenRepository
from .network import NodeNetwork, NodeRelay
from .node import Kubelet, KubeProxy, NodeAccess
from .platform import RollwayPlatform
from .postgres import Postgres
from .prometheus import Prometheus, PrometheusDiscovery
from .registry import Registry
from .release import RollwayRelease
from .storage import LocalPathProvisioner

ALL = [
    Helm,
    Etcd,
    KubeApiserver,
    ControllerManager,
    Scheduler,
    Kwok,
    ArgoRolloutsController,
    ArgoWorkflowsCRDs,
    ArgoWorkflowController,
    ArgoServer,
    Registry,
    MavenRepository,
    GitServer,
    Keycloak,
    Postgres,
    # the real node: the fence comes first, the runtime before the kubelet
    NodeNetwork,
    NodeRelay,
    NodeAccess,
    Containerd,
    CoreDNS,
    Kubelet,
    KubeProxy,
    RollwayPlatform,
    LocalPathProvisioner,
    PrometheusDiscovery,
    Prometheus,
    RollwayImages,
    RollwayRelease,
]
