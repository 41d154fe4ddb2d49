"""Every component of the stack, in dependency order."""

from .argo import ArgoRolloutsController, ArgoWorkflowsCRDs
from .argo_workflows import ArgoServer, ArgoWorkflowController
from .git import GitServer
from .helm import Helm
from .keycloak import Keycloak
from .kube import ControllerManager, Etcd, KubeApiserver, Scheduler
from .kwok import Kwok
from .maven import MavenRepository
from .platform import RollwayPlatform
from .registry import Registry

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
    RollwayPlatform,
]
