"""reconciler: GitOps for robot-fleet configuration on the Miru platform."""

__version__ = "0.1.0"
